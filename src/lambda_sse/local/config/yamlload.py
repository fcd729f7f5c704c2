"""YAML loading that accepts CloudFormation's short-form tags as plain data.

``!Ref X`` becomes ``{"Ref": "X"}``, ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``
and every other ``!Name`` becomes ``{"Fn::Name": value}``, the long form CloudFormation itself
would read (docs: AWS CloudFormation "Intrinsic function reference"). Resolution happens
later, and only where the emulator needs a value.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import yaml

from lambda_sse.local.config.common import ConfigFileError

__all__ = ["MAX_VALUES", "load_yaml"]

# A real serverless.yml or template.yaml holds a few thousand values. Aliases (&a / *a) share one
# parsed value between several places, so a few hundred bytes can stand for billions of values
# (the "billion laughs"); every later walk of the document would take that long.
MAX_VALUES = 200_000

# The short forms CloudFormation documents; each maps to its long-form key.
_SHORT_TAGS = (
    "Base64",
    "Cidr",
    "Condition",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Length",
    "ToJsonString",
)


class _Loader(yaml.SafeLoader):
    """SafeLoader plus the CloudFormation tags; nothing else is constructed."""

    # Own tables, from SafeConstructor's: other libraries register tags on yaml.SafeLoader
    # itself (aws-sam-translator adds a catch-all "!" at import), which a subclass would
    # otherwise inherit, turning unknown tags into data instead of errors.
    yaml_constructors: ClassVar[dict[Any, Any]] = dict(
        yaml.constructor.SafeConstructor.yaml_constructors
    )
    yaml_multi_constructors: ClassVar[dict[Any, Any]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML 1.2 says keys are unique; PyYAML keeps the last silently. A merge (<<) then an
        # explicit key is an override, not a duplicate: only the node's own keys count.
        seen: dict[Hashable, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise _Duplicate(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} (first on line "
                    f"{first}); YAML keeps only the last one, so remove or rename one of them"
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class _Duplicate(Exception):
    """Raised inside the loader; turned into a ConfigFileError naming the file."""


def _construct_node(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


def _long_form(key: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return {key: _construct_node(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    value = _construct_node(loader, node)
    if isinstance(value, str):
        # "!GetAtt Resource.Attribute.Sub" splits at the first dot only.
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {"Fn::GetAtt": value}


_Loader.add_constructor("!Ref", _long_form("Ref"))
_Loader.add_constructor("!GetAtt", _get_att)
for _tag in _SHORT_TAGS:
    # "!Condition" is the short form of the "Condition" key, not of a function.
    _Loader.add_constructor(
        f"!{_tag}", _long_form("Condition" if _tag == "Condition" else f"Fn::{_tag}")
    )


def load_yaml(path: Path) -> Any:
    """Parse ``path``; a missing file or bad YAML raises :class:`ConfigFileError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(
            f"{path}: file not found; check the path or run from the project folder",
            file=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read it ({exc})", file=str(path)) from None
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except _Duplicate as exc:
        raise ConfigFileError(f"{path}: {exc}", file=str(path)) from None
    except RecursionError:
        raise ConfigFileError(
            f"{path}: values nested too deeply to read; flatten the nesting", file=str(path)
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigFileError(
            f"{path}:{where}: invalid YAML: {exc.problem}; fix the syntax there",
            file=str(path),
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: invalid YAML: {exc}", file=str(path)) from None
    _check_size(document, path)
    return document


def _check_size(document: Any, path: Path) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_VALUES` values, or that contains
    itself. Linear in the parsed nodes: each shared value is sized once (no recursion)."""
    sizes: dict[int, int] = {}
    # (value, children pushed?) pairs: an explicit stack, so depth costs no Python frames.
    stack: list[tuple[Any, bool]] = [(document, False)]
    open_ids: set[int] = set()
    while stack:
        value, expanded = stack.pop()
        if isinstance(value, Mapping):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        ident = id(value)
        if expanded:
            open_ids.discard(ident)
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            if total > MAX_VALUES:
                raise ConfigFileError(
                    f"{path}: the YAML aliases (&name / *name) expand to over {MAX_VALUES} "
                    "values; a config that large is an alias bomb: write the values out or "
                    "share fewer levels of aliases",
                    file=str(path),
                )
            sizes[ident] = total
            continue
        if ident in sizes:
            continue
        if ident in open_ids:
            raise ConfigFileError(
                f"{path}: a YAML alias refers to itself (an anchor used inside its own value); "
                "remove that alias",
                file=str(path),
            )
        open_ids.add(ident)
        stack.append((value, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
