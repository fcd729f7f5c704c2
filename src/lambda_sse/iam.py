"""Call an ``AWS_IAM`` Function URL from Python: an httpx auth that signs each request (SigV4).

Extra ``lambda-sse[iam]`` (httpx, botocore)::

    import httpx
    from lambda_sse.iam import IAMAuth
    from lambda_sse.sse import EventSource

    auth = IAMAuth(region="eu-west-1")  # botocore's credential chain: env, profile, SSO, ...
    with httpx.Client(auth=auth) as client:
        client.post(url, json={"prompt": "hi"})  # the body is hashed and signed too
        for event in EventSource(url, client=client):  # re-signed on every reconnect
            print(event.data)

httpx runs the auth flow for every request it sends, so each EventSource reconnect gets a fresh
``X-Amz-Date`` and signs its ``Last-Event-ID``; refreshable credentials (SSO, assumed roles) are
read afresh each time. Requests carry ``X-Amz-Content-SHA256``, which CloudFront's origin access
control requires on every POST to a Function URL
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from lambda_sse.aws import FUNCTION_URL_SERVICE
from lambda_sse.errors import ConfigError
from lambda_sse.sigv4 import sign

__all__ = ["IAMAuth"]


class IAMAuth(httpx.Auth):
    """SigV4 for Lambda Function URLs (service ``lambda``), as an httpx auth.

    - ``region``: the function's region (required: a URL's region is part of its signature;
      default: the botocore session's configured region).
    - ``credentials``: a botocore ``Credentials`` object, or anything with
      ``get_frozen_credentials()`` or ``access_key``/``secret_key``/``token``; default: botocore's
      chain (``botocore.session.Session(profile=profile).get_credentials()``).
    - ``service``: ``lambda`` for Function URLs.
    - ``clock``: seconds since the epoch, for tests.
    """

    requires_request_body = True

    def __init__(
        self,
        region: str | None = None,
        *,
        credentials: Any = None,
        profile: str | None = None,
        service: str = FUNCTION_URL_SERVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if credentials is None or region is None:
            session = _botocore_session(profile)
            if credentials is None:
                credentials = session.get_credentials()
                if credentials is None:
                    raise ConfigError(
                        "no AWS credentials found by botocore's chain; set AWS_PROFILE or "
                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass credentials=",
                        key="credentials",
                    )
            if region is None:
                region = session.get_config_variable("region")
                if not region:
                    raise ConfigError(
                        "no region: pass IAMAuth(region=...) (the function's region)",
                        key="region",
                    )
        self.region = region
        self.service = service
        self._credentials = credentials
        self._clock = clock

    def _frozen(self) -> tuple[str, str, str | None]:
        creds = self._credentials
        frozen = getattr(creds, "get_frozen_credentials", None)
        if frozen is not None:
            creds = frozen()
        return creds.access_key, creds.secret_key, getattr(creds, "token", None)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        access_key, secret_key, token = self._frozen()
        url = request.url
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers.raw]
        for name in ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"):
            if name in request.headers:
                del request.headers[name]
        added = sign(
            request.method,
            url.raw_path.partition(b"?")[0].decode("ascii"),
            url.query.decode("ascii"),
            headers,
            request.content,
            access_key=access_key,
            secret_key=secret_key,
            token=token,
            region=self.region,
            service=self.service,
            now=self._clock(),
        )
        for name, value in added:
            request.headers[name] = value
        yield request


def _botocore_session(profile: str | None) -> Any:
    try:
        import botocore.session
    except ImportError:
        raise ConfigError(
            "lambda_sse.iam needs botocore: pip install 'lambda-sse[iam]'", key="iam"
        ) from None
    return botocore.session.Session(profile=profile)
