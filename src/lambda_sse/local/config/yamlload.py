"""YAML loading that accepts CloudFormation's short-form tags as plain data.

``!Ref X`` becomes ``{"Ref": "X"}``, ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``
and every other ``!Name`` becomes ``{"Fn::Name": value}``, the long form CloudFormation itself
would read (docs: AWS CloudFormation "Intrinsic function reference"). Resolution happens
later, and only where the emulator needs a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import yaml

from lambda_sse.local.config.common import ConfigFileError

__all__ = ["load_yaml"]

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
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigFileError(
            f"{path}:{where}: invalid YAML: {exc.problem}; fix the syntax there",
            file=str(path),
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: invalid YAML: {exc}", file=str(path)) from None
