"""Function URL ``AuthType: AWS_IAM``: the credentials the emulator trusts, the check, the 403.

A request must carry a SigV4 signature for the service ``lambda`` in the function's region
(https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html) made with one of the trusted
credentials: the developer's own (botocore's chain, loaded lazily and never from an instance or
container metadata endpoint), the credentials ``lambda-sse dev`` hands its functions, and keys
given with ``--iam-key``. Anything else gets 403 ``AccessDeniedException`` with Lambda's message;
the console says which check failed. The v2 event then carries ``requestContext.authorizer.iam``
(https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): the access key as signed;
account, ARN and ids are local stand-ins where only STS could tell them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lambda_sse.aws import (
    FUNCTION_URL_FORBIDDEN,
    FUNCTION_URL_FORBIDDEN_TYPE,
    FUNCTION_URL_SERVICE,
    INVALID_TOKEN_MESSAGE,
)
from lambda_sse.errors import ConfigError, SignatureError
from lambda_sse.local.credentials import ACCOUNT_ID, FUNCTION_CREDENTIALS, Credentials
from lambda_sse.local.frontdoor.replies import Reply
from lambda_sse.local.frontdoor.request import Request
from lambda_sse.sigv4 import Secret, check

__all__ = [
    "Caller",
    "TrustStore",
    "developer_credentials",
    "forbidden",
    "iam_context",
    "parse_key_option",
    "verify_request",
]


@dataclass(frozen=True)
class Caller:
    source: str  # "developer", "functions", "--iam-key"
    account_id: str
    user_arn: str
    user_id: str


class TrustStore:
    """Access key -> secret, session token and caller."""

    def __init__(self) -> None:
        self._keys: dict[str, Secret[Caller]] = {}

    def add(self, credentials: Credentials, caller: Caller) -> None:
        self._keys[credentials.access_key] = Secret(
            credentials.secret_key, credentials.token, caller
        )

    def lookup(self, access_key: str) -> Secret[Caller] | None:
        return self._keys.get(access_key)

    def sources(self) -> list[tuple[str, str]]:
        """(access key, source) pairs, for the start-up notice."""
        return [(key, secret.identity.source) for key, secret in self._keys.items()]

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def build(
        cls, *, developer: Credentials | None, extra: Iterable[Credentials] = ()
    ) -> TrustStore:
        store = cls()
        store.add(
            FUNCTION_CREDENTIALS,
            Caller(
                "functions",
                ACCOUNT_ID,
                f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/lambda-sse-local-role/lambda-sse-dev",
                "AROALAMBDASSELOCAL01:lambda-sse-dev",
            ),
        )
        if developer is not None:
            account = ACCOUNT_ID
            store.add(
                developer,
                Caller(
                    "developer",
                    account,
                    f"arn:aws:iam::{account}:user/local-developer",
                    "AIDALAMBDASSELOCAL01",
                ),
            )
        for index, creds in enumerate(extra, start=1):
            store.add(
                creds,
                Caller(
                    "--iam-key",
                    ACCOUNT_ID,
                    f"arn:aws:iam::{ACCOUNT_ID}:user/iam-key-{index}",
                    f"AIDALAMBDASSEKEY{index:04d}",
                ),
            )
        return store


def developer_credentials(profile: str | None = None) -> Credentials | None:
    """The developer's credentials through botocore's chain (environment, shared files, SSO,
    ``credential_process``, assumed roles), without the instance and container metadata
    providers (they would reach for the network). None when nothing is configured."""
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError:
        return None
    try:
        session = botocore.session.Session(profile=profile)
        resolver = session.get_component("credential_provider")
        for name in ("iam-role", "container-role"):
            if resolver.get_provider(name) is not None:
                resolver.remove(name)
        found = session.get_credentials()
        if found is None:
            return None
        frozen = found.get_frozen_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(
            f"AWS credentials: {exc}; fix the profile, or pass --no-auth", key="AWS_PROFILE"
        ) from None
    return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)


def parse_key_option(text: str) -> Credentials:
    """``ACCESS_KEY:SECRET[:SESSION_TOKEN]`` from ``--iam-key``."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ConfigError(
            "--iam-key: write ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]", key="--iam-key"
        )
    return Credentials(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


def verify_request(
    store: TrustStore, request: Request, region: str, now: float
) -> tuple[str, Caller]:
    """(access key, caller) of a correctly signed request; raises SignatureError."""
    verified = check(
        request.method,
        request.raw_path,
        request.raw_query,
        request.headers,
        request.body,
        region=region,
        service=FUNCTION_URL_SERVICE,
        lookup=store.lookup,
        now=now,
    )
    return verified.access_key, verified.identity


def forbidden(error: SignatureError) -> Reply:
    message = INVALID_TOKEN_MESSAGE if error.reason == "token" else FUNCTION_URL_FORBIDDEN
    return Reply(
        403,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", FUNCTION_URL_FORBIDDEN_TYPE),
        ],
        json.dumps({"Message": message}).encode(),
    )


def iam_context(access_key: str, caller: Caller) -> dict[str, Any]:
    """``requestContext.authorizer`` of a v2 event behind AWS_IAM."""
    return {
        "iam": {
            "accessKey": access_key,
            "accountId": caller.account_id,
            "callerId": caller.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": caller.user_arn,
            "userId": caller.user_id,
        }
    }
