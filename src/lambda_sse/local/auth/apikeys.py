"""REST API keys, sans-IO: generated values, the lookup and API Gateway's 403.

A method with ``apiKeyRequired`` (serverless.yml ``private: true``, SAM ``Auth.ApiKeyRequired``)
needs an ``x-api-key`` header holding an enabled key of the stage's usage plan; otherwise API
Gateway answers 403 ``{"message": "Forbidden"}`` without invoking the function
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
The event then carries the key in ``requestContext.identity.apiKey`` (and its id in
``apiKeyId``).
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Iterable

from lambda_sse.aws import API_KEY_MIN_LENGTH
from lambda_sse.local.frontdoor.replies import Reply, apigw_error
from lambda_sse.local.model import ApiKey

__all__ = ["ApiKeyTable", "forbidden", "generate_value", "key_id"]

_ALPHABET = string.ascii_letters + string.digits


def generate_value(length: int = 40) -> str:
    """A value like the ones API Gateway generates: letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(max(length, API_KEY_MIN_LENGTH)))


def key_id(key: ApiKey) -> str:
    """A stable 10-character id (API Gateway's ids are 10 lower-case letters and digits)."""
    return hashlib.sha256(key.name.encode()).hexdigest()[:10]


def forbidden() -> Reply:
    return apigw_error(403, "Forbidden", error_type="ForbiddenException")


class ApiKeyTable:
    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_value = {key.value: key for key in keys}

    def __len__(self) -> int:
        return len(self._by_value)

    def find(self, value: str | None) -> ApiKey | None:
        """The enabled key with this value, or None (missing, unknown or disabled)."""
        if not value:
            return None
        key = self._by_value.get(value)
        return key if key is not None and key.enabled else None
