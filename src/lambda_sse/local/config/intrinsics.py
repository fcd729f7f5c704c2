"""CloudFormation intrinsic functions, resolved as far as a local run can.

``Ref`` to a parameter gives its default (or an override), pseudo parameters get local values,
``Fn::Sub``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::If`` and the
condition functions are evaluated (docs: AWS CloudFormation "Intrinsic function reference").
What only exists once deployed (``Ref`` to a resource, ``Fn::GetAtt``, ``Fn::ImportValue``)
becomes a placeholder string with a warning where a placeholder is harmless (environment
variables), and an error elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lambda_sse.local.config.common import Context, join_key

__all__ = ["NO_VALUE", "Intrinsics"]

NO_VALUE = object()  # AWS::NoValue: the property is removed
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_MAX_DEPTH = 30
_LOCAL_TYPES = frozenset(
    {"AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::Serverless::Function"}
)


class Intrinsics:
    def __init__(
        self,
        template: Mapping[str, Any],
        context: Context,
        *,
        region: str,
        stack_name: str,
        overrides: Mapping[str, str],
    ) -> None:
        self._context = context
        self._resources = template.get("Resources") or {}
        self._mappings = template.get("Mappings") or {}
        self._conditions = template.get("Conditions") or {}
        self._values: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::StackName": stack_name,
            "AWS::AccountId": "000000000000",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:000000000000:stack/{stack_name}/local"
            ),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        parameters = template.get("Parameters") or {}
        if isinstance(parameters, Mapping):
            for name, spec in parameters.items():
                if name in overrides:
                    self._values[name] = overrides[name]
                elif isinstance(spec, Mapping) and "Default" in spec:
                    self._values[name] = spec["Default"]

    def resolve(self, value: Any, key: str, *, soft: bool = False, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self._context.error(
                key, "intrinsic functions nest too deep", "simplify the value"
            )
        if isinstance(value, list):
            items = [
                self.resolve(v, join_key(key, i), soft=soft, depth=depth + 1)
                for i, v in enumerate(value)
            ]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if (
                name == "Ref"
                or (isinstance(name, str) and name.startswith("Fn::"))
                or name == "Condition"
            ):
                return self._function(str(name), argument, key, soft, depth + 1)
        result: dict[str, Any] = {}
        for k, v in value.items():
            resolved = self.resolve(v, join_key(key, str(k)), soft=soft, depth=depth + 1)
            if resolved is not NO_VALUE:
                result[str(k)] = resolved
        return result

    def _unresolved(self, what: str, key: str, soft: bool) -> str:
        if not soft:
            raise self._context.error(
                key,
                f"{what} exists only once deployed",
                "give a literal value here (or a parameter with a Default)",
            )
        self._context.warn(
            key, f"{what} exists only once deployed; the local value is a placeholder"
        )
        return what

    def _ref(self, name: Any, key: str, soft: bool) -> Any:
        if not isinstance(name, str):
            raise self._context.error(key, "Ref needs a name", "write `!Ref Name`")
        if name in self._values:
            return self._values[name]
        if name in self._resources:
            resource = self._resources[name]
            if isinstance(resource, Mapping) and resource.get("Type") in _LOCAL_TYPES:
                return name  # resources the emulator itself models: the id is the identity
            # sam local resolves a resource's Ref to its logical id; so do we, with a warning.
            return self._unresolved(name, key, soft)
        raise self._context.error(
            key, f"Ref to unknown name {name!r}", "declare it under Parameters or Resources"
        )

    def _function(self, name: str, arg: Any, key: str, soft: bool, depth: int) -> Any:
        fn_key = join_key(key, name)
        if name == "Ref":
            return self._ref(arg, fn_key, soft)
        if name == "Condition":
            return self._condition(arg, fn_key, depth)
        if name == "Fn::GetAtt":
            parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self._unresolved(".".join(str(p) for p in parts), fn_key, soft)
        if name == "Fn::ImportValue":
            return self._unresolved(f"ImportValue {arg}", fn_key, soft)
        if name == "Fn::Sub":
            return self._sub(arg, fn_key, soft, depth)
        args = self.resolve(arg, fn_key, soft=soft, depth=depth)
        if name == "Fn::Join" and _is_list(args, 2) and isinstance(args[1], list):
            return str(args[0]).join(str(item) for item in args[1])
        if name == "Fn::Select" and _is_list(args, 2) and isinstance(args[1], list):
            index = int(args[0])
            if not 0 <= index < len(args[1]):
                raise self._context.error(
                    fn_key, f"index {index} is out of range", "pick an existing item"
                )
            return args[1][index]
        if name == "Fn::Split" and _is_list(args, 2):
            return str(args[1]).split(str(args[0]))
        if name == "Fn::FindInMap" and _is_list(args, 3):
            try:
                return self._mappings[args[0]][args[1]][args[2]]
            except (KeyError, TypeError):
                raise self._context.error(
                    fn_key, f"no mapping entry {args}", "add it under Mappings"
                ) from None
        if name == "Fn::If" and _is_list(arg, 3):
            chosen = arg[1] if self._condition(arg[0], fn_key, depth) else arg[2]
            return self.resolve(chosen, fn_key, soft=soft, depth=depth)
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self._evaluate(name, args, fn_key, depth)
        raise self._context.error(
            fn_key, f"{name} cannot be resolved locally", "give a literal value here"
        )

    def _sub(self, arg: Any, key: str, soft: bool, depth: int) -> str:
        if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], Mapping):
            text, variables = arg[0], self.resolve(arg[1], key, soft=soft, depth=depth)
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise self._context.error(key, "Fn::Sub needs a string", "write `!Sub 'text ${Name}'`")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # "${!Literal}" writes "${Literal}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._unresolved(name, key, soft)
            return str(self._ref(name, key, soft))

        return _SUB_VARIABLE.sub(replace, text)

    def _condition(self, name: Any, key: str, depth: int) -> bool:
        if not isinstance(name, str) or name not in self._conditions:
            raise self._context.error(
                key, f"unknown condition {name!r}", "declare it under Conditions"
            )
        value = self.resolve(self._conditions[name], f"Conditions.{name}", depth=depth + 1)
        if not isinstance(value, bool):
            raise self._context.error(
                f"Conditions.{name}", "not a condition", "use Fn::Equals, Fn::Not, ..."
            )
        return value

    def _evaluate(self, name: str, args: Any, key: str, depth: int) -> bool:
        if not isinstance(args, list):
            raise self._context.error(key, f"{name} needs a list", "write `!Equals [a, b]`")
        if name == "Fn::Equals" and len(args) == 2:
            return str(args[0]) == str(args[1])
        values = [bool(a) for a in args]
        if name == "Fn::Not" and len(values) == 1:
            return not values[0]
        if name == "Fn::And":
            return all(values)
        if name == "Fn::Or":
            return any(values)
        raise self._context.error(
            key, f"{name} has the wrong arguments", "see CloudFormation's docs"
        )


def _is_list(value: Any, length: int) -> bool:
    return isinstance(value, list) and len(value) == length
