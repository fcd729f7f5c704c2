"""Which function a Lambda API request names, as Lambda resolves ``FunctionName`` (pure).

Accepted, as on AWS (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): a name,
``name:qualifier``, a partial ARN ``123456789012:function:name`` and a full ARN
``arn:aws:lambda:REGION:ACCOUNT:function:name``, each with an optional qualifier, or the
qualifier in the ``Qualifier`` query parameter. The name is the one ``lambda-sse invoke`` takes
(the serverless.yml key or the SAM logical id) or the name the function has once deployed
(``{service}-{stage}-{key}`` or ``name:`` in serverless.yml; ``FunctionName`` in SAM). Locally
every account id and region are accepted. Only ``$LATEST`` exists here: other qualifiers
(versions, aliases) are not found, as an unpublished version is not found on AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lambda_sse import aws
from lambda_sse.errors import LambdaAPIError
from lambda_sse.local.model import FunctionConfig, ProjectConfig

__all__ = ["ACCOUNT", "Resolved", "function_arn", "resolve"]

ACCOUNT = "000000000000"  # the account id of every local ARN (as the environments use)
LATEST = "$LATEST"
_PATTERN = re.compile(aws.FUNCTION_NAME_PATTERN)


@dataclass(frozen=True)
class Resolved:
    function: FunctionConfig
    arn: str  # the unqualified ARN, with the name the request used


def function_arn(project: ProjectConfig, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{project.region}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _validation(value: str, member: str, constraint: str) -> LambdaAPIError:
    # AWS's wording for a request that fails the model's constraints.
    return LambdaAPIError(
        "ValidationException",
        400,
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def resolve(project: ProjectConfig, reference: str, qualifier: str | None) -> Resolved:
    """The function ``reference`` (already percent-decoded) names. Raises
    :class:`LambdaAPIError`: ``ValidationException`` for a malformed name,
    ``InvalidParameterValueException`` when the ARN's qualifier and ``Qualifier`` differ,
    ``ResourceNotFoundException`` for an unknown function or a qualifier other than
    ``$LATEST``."""
    if not reference or len(reference) > aws.FUNCTION_REFERENCE_LIMIT:
        raise _validation(
            reference,
            "functionName",
            f"Member must have length less than or equal to {aws.FUNCTION_REFERENCE_LIMIT}",
        )
    match = _PATTERN.fullmatch(reference)
    if match is None:
        raise _validation(
            reference,
            "functionName",
            f"Member must satisfy regular expression pattern: {aws.FUNCTION_NAME_PATTERN}",
        )
    name, arn_qualifier = match.group(7), match.group(9)
    if len(name) > aws.FUNCTION_NAME_LIMIT:
        raise _validation(
            name,
            "functionName",
            f"Member must have length less than or equal to {aws.FUNCTION_NAME_LIMIT}",
        )
    if qualifier is not None and len(qualifier) > aws.QUALIFIER_LIMIT:
        raise _validation(
            qualifier,
            "qualifier",
            f"Member must have length less than or equal to {aws.QUALIFIER_LIMIT}",
        )
    if arn_qualifier and qualifier and arn_qualifier != qualifier:
        raise LambdaAPIError(
            "InvalidParameterValueException",
            400,
            "The derived qualifier from the function name does not match the specified qualifier.",
        )
    wanted = arn_qualifier or qualifier
    function = _find(project, name)
    if function is None or (wanted is not None and wanted != LATEST):
        raise LambdaAPIError(
            "ResourceNotFoundException",
            404,
            f"Function not found: {function_arn(project, name, wanted)}",
        )
    return Resolved(function, function_arn(project, name))


def _find(project: ProjectConfig, name: str) -> FunctionConfig | None:
    # The key first: a key that equals another function's deployed name is the key's.
    for fn in project.functions:
        if fn.name == name:
            return fn
    for fn in project.functions:
        if fn.deployed_name == name:
            return fn
    return None
