"""The credentials ``lambda-sse dev`` hands its own functions, in one place.

Lambda gives every function its execution role's temporary credentials as ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). Locally they are
fixed dummies: a function that signs a request to another function's AWS_IAM Function URL with
them is trusted by the emulator, as the role would be on AWS, and they open nothing on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACCOUNT_ID", "FUNCTION_CREDENTIALS", "Credentials", "function_environment"]

ACCOUNT_ID = "000000000000"  # the account every local ARN and event names


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r}, secret_key='***', token=...)"


# ASIA: the prefix of temporary (STS) access key ids, as a role's credentials are.
FUNCTION_CREDENTIALS = Credentials(
    access_key="ASIALAMBDASSELOCAL01",
    secret_key="lambda-sse-local-function-secret-not-an-aws-key",
    token="lambda-sse-local-function-session-token",
)


def function_environment() -> dict[str, str]:
    """The credential variables of a local function's environment."""
    creds = FUNCTION_CREDENTIALS
    env = {"AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key}
    if creds.token:
        env["AWS_SESSION_TOKEN"] = creds.token
    return env
