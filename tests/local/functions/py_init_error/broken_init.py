"""A module that fails while it is imported: the init phase reports an init error."""

from __future__ import annotations


def _initialise() -> None:
    raise RuntimeError("cannot initialise on purpose")


_initialise()


def handler(event: object, context: object) -> None:
    return None
