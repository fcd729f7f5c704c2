"""Build tiny wheels on disk, so packaging tests exercise pip's platform selection offline.

A wheel is a zip with the package files and a ``.dist-info`` folder (METADATA, WHEEL, RECORD);
the file name carries the tags pip matches against ``--platform``/``--python-version``
(PEP 427, PEP 425).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, str],
    requires: Sequence[str] = (),
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into ``directory`` and return its path."""
    dist_info = f"{name}-{version}.dist-info"
    pure = tag.endswith("-none-any")
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel_meta = (
        f"Wheel-Version: 1.0\nGenerator: lambda-sse-tests\n"
        f"Root-Is-Purelib: {'true' if pure else 'false'}\nTag: {tag}\n"
    )
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = metadata.encode()
    contents[f"{dist_info}/WHEEL"] = wheel_meta.encode()
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in contents.items())
    record += f"{dist_info}/RECORD,,\n"
    path = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist_info}/RECORD", record)
    return path
