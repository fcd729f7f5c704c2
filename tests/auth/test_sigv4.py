"""SigV4 verification against botocore's own signer and our signer; every tampering refused."""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from lambda_sse.errors import SignatureError
from lambda_sse.sigv4 import Secret, canonical_query, canonical_uri, check, sign

REGION = "eu-west-1"
AK, SK, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1"
TEMP_AK = "ASIATEMPORARY0000001"
KEYS: dict[str, Secret[str]] = {
    AK: Secret(SK, None, "developer"),
    TEMP_AK: Secret(SK, TOKEN, "role"),
}
Headers = list[tuple[str, str]]


def lookup(key: str) -> Secret[str] | None:
    return KEYS.get(key)


def botocore_signed(
    method: str, url: str, body: bytes = b"", *, key: str = AK, token: str | None = None,
    headers: dict[str, str] | None = None, region: str = REGION,
) -> Headers:  # fmt: skip
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(BotoCredentials(key, SK, token), "lambda", region).add_auth(request)
    # What goes on the wire: the Host header an HTTP client adds, then botocore's headers.
    return [("Host", urlsplit(url).netloc), *request.headers.items()]


def verify(
    method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes = b"",
    *, now: float | None = None, region: str = REGION,
) -> str:  # fmt: skip
    parts = urlsplit(url)
    verified = check(
        method, parts.path, parts.query, headers, body, region=region, service="lambda",
        lookup=lookup, now=time.time() if now is None else now,
    )  # fmt: skip
    return verified.identity


URL = "http://127.0.0.1:9001/stream/a%20b/c~d?topic=news&after=10&empty="


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_botocore_signed_requests_verify(method: str) -> None:
    body = b'{"prompt": "hello"}' if method == "POST" else b""
    headers = botocore_signed(method, URL, body, headers={"Content-Type": "application/json"})
    assert verify(method, URL, headers, body) == "developer"


def test_botocore_with_session_token_and_content_sha256() -> None:
    body = b"x" * 1000
    sha = hashlib.sha256(body).hexdigest()
    headers = botocore_signed(
        "POST", URL, body, key=TEMP_AK, token=TOKEN, headers={"X-Amz-Content-SHA256": sha}
    )
    assert verify("POST", URL, headers, body) == "role"


def test_paths_canonicalize_like_botocore() -> None:
    for url in (
        "http://h:1/",
        "http://h:1/a/./b/../c//d/",
        "http://h:1/%E2%9C%93/x%2Fy",
        "http://h:1/p?b=2&a=1&a=0&c=%20x",
    ):
        assert verify("GET", url, botocore_signed("GET", url)) == "developer", url
    assert canonical_uri("/a b") == "/a%20b"
    assert canonical_uri("/a%20b") == "/a%2520b"  # encoded twice, as every service but S3
    assert canonical_query("b=2&a=%7e&a=1") == "a=1&a=~&b=2"


def our_signed(method: str, url: str, body: bytes = b"", *, token: str | None = None,
               key: str = AK, now: float | None = None) -> Headers:  # fmt: skip
    parts = urlsplit(url)
    base = [("Host", parts.netloc), ("Content-Type", "application/json")]
    added = sign(
        method, parts.path, parts.query, base, body, access_key=key, secret_key=SK,
        token=token, region=REGION, service="lambda", now=time.time() if now is None else now,
    )  # fmt: skip
    return base + added


def test_our_signer_agrees_with_botocore_on_the_signature() -> None:
    # Same inputs, same clock second: botocore's Authorization equals ours.
    body = b'{"a": 1}'
    now = time.time()
    ours = {n.lower(): v for n, v in our_signed("POST", URL, body, now=now)}
    sha = ours["x-amz-content-sha256"]
    headers = {"Content-Type": "application/json", "X-Amz-Content-SHA256": sha}
    request = AWSRequest(method="POST", url=URL, data=body, headers=headers)
    request.context["timestamp"] = ours["x-amz-date"]
    SigV4Auth(BotoCredentials(AK, SK), "lambda", REGION).add_auth(request)
    assert request.headers["Authorization"] == ours["authorization"]


def expect_refused(reason: str, method: str, url: str, headers: Headers, body: bytes = b"",
                   **kwargs: object) -> None:  # fmt: skip
    with pytest.raises(SignatureError) as caught:
        verify(method, url, headers, body, **kwargs)  # type: ignore[arg-type]
    assert caught.value.reason == reason, caught.value


@pytest.mark.parametrize("signer", ["botocore", "ours"])
def test_each_tampering_is_refused(signer: str) -> None:
    body = b'{"prompt": "hello"}'

    def signed(token: str | None = None, key: str = AK) -> Headers:
        if signer == "botocore":
            return botocore_signed("POST", URL, body, token=token, key=key)
        return our_signed("POST", URL, body, token=token, key=key)

    headers = signed()
    assert verify("POST", URL, headers, body) == "developer"
    expect_refused("signature", "PUT", URL, headers, body)  # method
    expect_refused("signature", "POST", URL.replace("/stream/", "/admin/"), headers, body)  # path
    expect_refused("signature", "POST", URL.replace("after=10", "after=11"), headers, body)
    expect_refused("signature", "POST", URL + "&extra=1", headers, body)  # query
    if signer == "ours":  # declared hash differs from the body
        expect_refused("payload", "POST", URL, headers, body + b" ")
    else:
        expect_refused("signature", "POST", URL, headers, body + b" ")  # body
    # Skew from the signing time itself, not from the clock now: a slow machine must not move it.
    stamp = next(v for n, v in headers if n.lower() == "x-amz-date")
    signed_at = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
    expect_refused("skew", "POST", URL, headers, body, now=signed_at + 301)  # too old
    expect_refused("skew", "POST", URL, headers, body, now=signed_at - 301)  # from the future
    expect_refused("scope", "POST", URL, headers, body, region="us-east-1")  # another region
    other_date = [(n, "20200101T000000Z" if n.lower() == "x-amz-date" else v) for n, v in headers]
    expect_refused("scope", "POST", URL, other_date, body)  # date changed after signing
    tampered_host = [(n, "evil:1" if n.lower() == "host" else v) for n, v in headers]
    expect_refused("signature", "POST", URL, tampered_host, body)
    no_auth = [(n, v) for n, v in headers if n.lower() != "authorization"]
    expect_refused("missing", "POST", URL, no_auth, body)
    # Temporary credentials: the token must come, and be the right one.
    temp = signed(token=TOKEN, key=TEMP_AK)
    assert verify("POST", URL, temp, body) == "role"
    wrong_token = [(n, "forged" if n.lower() == "x-amz-security-token" else v) for n, v in temp]
    expect_refused("token", "POST", URL, wrong_token, body)
    without_token = [(n, v) for n, v in temp if n.lower() != "x-amz-security-token"]
    expect_refused("token", "POST", URL, without_token, body)
    expect_refused("key", "POST", URL, signed(key="AKIAUNKNOWN000000000"), body)
    # The signature itself, one hex digit off.
    forged = [
        (n, v[:-1] + ("0" if v[-1] != "0" else "1") if n.lower() == "authorization" else v)
        for n, v in headers
    ]
    expect_refused("signature", "POST", URL, forged, body)


def test_malformed_authorization_headers() -> None:
    now = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = [("Host", "h:1"), ("X-Amz-Date", now)]
    cases = {
        "Basic dXNlcjpwYXNz": "algorithm",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x": "parse",
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{now[:8]}/{REGION}/lambda/aws4, "
        "SignedHeaders=host;x-amz-date, Signature=00": "scope",
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{now[:8]}/{REGION}/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00": "scope",
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{now[:8]}/{REGION}/lambda/aws4_request, "
        "SignedHeaders=x-amz-date, Signature=00": "signed_headers",
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{now[:8]}/{REGION}/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-custom, Signature=00": "signed_headers",
    }
    for value, reason in cases.items():
        expect_refused(reason, "GET", "http://h:1/", [*base, ("Authorization", value)])
