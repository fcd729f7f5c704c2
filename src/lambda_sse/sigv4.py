"""AWS Signature Version 4, sans-IO: sign a request, or check one as AWS does.

Strings and bytes in, strings out; no clock, no sockets, standard library only. The steps follow
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html:

1. canonical request: method, canonical URI (the path as sent, dot segments and repeated slashes
   removed, then percent-encoded once more: every service but S3 encodes twice), canonical query
   (names and values decoded, re-encoded with RFC 3986's unreserved set, sorted), the signed
   headers (lower-case names, values trimmed and inner spaces collapsed, repeats joined by ","),
   their names, and the payload's SHA-256 (``x-amz-content-sha256`` when the request sends it);
2. string to sign: algorithm, ``x-amz-date``, scope ``date/region/service/aws4_request``, the
   canonical request's SHA-256;
3. key: HMAC chain ``"AWS4" + secret`` -> date -> region -> service -> ``aws4_request``;
4. signature: hex HMAC of the string to sign.

:func:`sign` adds the headers a client sends; :func:`check` verifies a received request against
a credential lookup and raises :class:`~lambda_sse.errors.SignatureError` naming what is wrong.
Only the ``Authorization`` header form is read (not presigned query strings).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar
from urllib.parse import quote, unquote

from lambda_sse.aws import SIGV4_ALGORITHM, SIGV4_MAX_SKEW_SECONDS, SIGV4_TERMINATOR
from lambda_sse.errors import OptionError, SignatureError

__all__ = [
    "EMPTY_SHA256",
    "UNSIGNED_HEADERS",
    "Authorization",
    "Secret",
    "Verified",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "check",
    "parse_authorization",
    "sign",
    "signing_key",
    "string_to_sign",
]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
# Headers a signer leaves out: hop-by-hop or rewritten on the way (botocore leaves out expect,
# transfer-encoding, user-agent and x-amzn-trace-id too).
UNSIGNED_HEADERS = frozenset(
    {"authorization", "connection", "expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"}
)

K = TypeVar("K")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4; AWS also drops empty segments (repeated slashes).
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
        else:
            out.append(segment)
    tail = "/" if path.endswith("/") and out else ""
    return "/" + "/".join(out) + tail


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a path as it was sent (still percent-encoded once)."""
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def canonical_query(raw_query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="~"), quote(unquote(value), safe="~")))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _header_values(headers: Iterable[tuple[str, str]], names: Sequence[str]) -> list[str]:
    wanted: dict[str, list[str]] = {name: [] for name in names}
    for name, value in headers:
        values = wanted.get(name.lower())
        if values is not None:
            values.append(" ".join(value.split()))
    return [",".join(wanted[name]) for name in names]


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    values = _header_values(headers, signed_headers)
    lines = "".join(f"{n}:{v}\n" for n, v in zip(signed_headers, values, strict=True))
    return "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(raw_query),
            lines,
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{SIGV4_ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, SIGV4_TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _signature(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def amz_date(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def sign(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    token: str | None,
    region: str,
    service: str,
    now: float,
) -> list[tuple[str, str]]:
    """The headers to add to a request: ``x-amz-date``, ``x-amz-content-sha256`` (always sent:
    CloudFront's origin access control needs it on every POST), ``x-amz-security-token`` for
    temporary credentials, and ``Authorization``. ``headers`` must include ``host``; every
    header but :data:`UNSIGNED_HEADERS` is signed."""
    stamp = amz_date(now)
    payload_hash = hashlib.sha256(body).hexdigest()
    added = [("x-amz-date", stamp), ("x-amz-content-sha256", payload_hash)]
    if token:
        added.append(("x-amz-security-token", token))
    added_names = {name for name, _ in added}
    all_headers = [(n, v) for n, v in headers if n.lower() not in added_names] + added
    names = sorted({n.lower() for n, _ in all_headers} - UNSIGNED_HEADERS)
    if "host" not in names:
        raise OptionError("a SigV4 request must carry a Host header", key="headers")
    canonical = canonical_request(method, raw_path, raw_query, all_headers, names, payload_hash)
    scope = f"{stamp[:8]}/{region}/{service}/{SIGV4_TERMINATOR}"
    signature = _signature(
        signing_key(secret_key, stamp[:8], region, service),
        string_to_sign(stamp, scope, canonical),
    )
    added.append(
        (
            "Authorization",
            f"{SIGV4_ALGORITHM} Credential={access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}",
        )
    )
    return added


@dataclass(frozen=True)
class Authorization:
    """The parts of an ``Authorization: AWS4-HMAC-SHA256 ...`` header."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{SIGV4_TERMINATOR}"


def parse_authorization(value: str) -> Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != SIGV4_ALGORITHM:
        raise SignatureError("not a SigV4 Authorization header", reason="algorithm")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            fields[name] = item
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if n not in fields]
    if missing:
        raise SignatureError(f"the Authorization header lacks {', '.join(missing)}", reason="parse")
    credential = fields["Credential"].split("/")
    if len(credential) != 5 or credential[4] != SIGV4_TERMINATOR:
        raise SignatureError(
            "Credential must be KEY/DATE/REGION/SERVICE/aws4_request", reason="scope"
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    if list(signed) != sorted({h.lower() for h in signed}):
        raise SignatureError("SignedHeaders must be lower-case, sorted, unique", reason="parse")
    return Authorization(
        access_key=credential[0],
        date=credential[1],
        region=credential[2],
        service=credential[3],
        signed_headers=signed,
        signature=fields["Signature"],
    )


@dataclass(frozen=True)
class Secret(Generic[K]):
    """What a lookup returns for a known access key: its secret, the session token that must come
    with it (temporary credentials), and the caller's identity (anything)."""

    secret_key: str
    token: str | None
    identity: K


@dataclass(frozen=True)
class Verified(Generic[K]):
    access_key: str
    identity: K


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")))


def check(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    region: str,
    service: str,
    lookup: Callable[[str], Secret[K] | None],
    now: float,
    max_skew: float = SIGV4_MAX_SKEW_SECONDS,
) -> Verified[K]:
    """Verify a request's SigV4 ``Authorization`` header; raise :class:`SignatureError` (with a
    ``reason``) when it is missing, malformed, for another scope, too old or too new, for an
    unknown key, without the right session token, for another body, or simply wrong."""
    header = _header(headers, "authorization")
    if header is None:
        raise SignatureError("no Authorization header", reason="missing")
    auth = parse_authorization(header)
    if auth.service != service or auth.region != region:
        raise SignatureError(
            f"signed for {auth.region}/{auth.service}, expected {region}/{service}",
            reason="scope",
        )
    if "host" not in auth.signed_headers:
        raise SignatureError("the Host header must be signed", reason="signed_headers")
    stamp = _header(headers, "x-amz-date")
    if stamp is None or not _AMZ_DATE.fullmatch(stamp):
        raise SignatureError("no valid X-Amz-Date header", reason="date")
    if "x-amz-date" not in auth.signed_headers:
        raise SignatureError("X-Amz-Date must be signed", reason="signed_headers")
    if stamp[:8] != auth.date:
        raise SignatureError("the credential scope's date is not X-Amz-Date's", reason="scope")
    skew = _epoch(stamp) - now
    if abs(skew) > max_skew:
        raise SignatureError(
            f"signature {'expired' if skew < 0 else 'not yet current'}: X-Amz-Date {stamp} is "
            f"{abs(skew):.0f} s off the server's clock (limit {max_skew:g} s)",
            reason="skew",
        )
    secret = lookup(auth.access_key)
    if secret is None:
        raise SignatureError(f"unknown access key {auth.access_key}", reason="key")
    token = _header(headers, "x-amz-security-token")
    if token != secret.token:
        raise SignatureError(
            "the session token is missing" if token is None else "the session token is wrong",
            reason="token",
        )
    for name in auth.signed_headers:
        if _header(headers, name) is None:
            raise SignatureError(f"signed header {name!r} is missing", reason="signed_headers")
    actual_hash = hashlib.sha256(body).hexdigest()
    declared = _header(headers, "x-amz-content-sha256")
    if declared is not None and declared != actual_hash:
        # Lambda does not accept UNSIGNED-PAYLOAD (CloudFront OAC docs), nor a wrong hash.
        raise SignatureError("X-Amz-Content-SHA256 is not the body's hash", reason="payload")
    canonical = canonical_request(
        method, raw_path, raw_query, headers, auth.signed_headers, actual_hash
    )
    expected = _signature(
        signing_key(secret.secret_key, auth.date, region, service),
        string_to_sign(stamp, auth.scope, canonical),
    )
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError("the signature does not match", reason="signature")
    return Verified(auth.access_key, secret.identity)
