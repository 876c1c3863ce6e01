"""A small CloudFormation intrinsic-function resolver (no AWS calls).

Resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::Sub``,
``Fn::If``/``Condition`` (with ``Fn::Equals``/``Not``/``And``/``Or``), ``Fn::FindInMap``,
``Fn::Base64``, ``Fn::GetAZs``, ``Fn::ToJsonString``, ``Fn::ImportValue`` and the pseudo parameters.
Resource references and imports are answered by callbacks, so the caller decides what a ``Ref`` of
each resource is (a moto ARN, a name...) and which stack exports a name.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NO_VALUE", "Resolver", "UnresolvableError"]

ACCOUNT = "123456789012"
REGION = "us-east-1"


class UnresolvableError(ValueError):
    """A token the resolver cannot answer (an export no stack of the world has, an unknown logical id...)."""


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Resolve intrinsics in a template fragment.

    ``ref(logical_id)`` and ``get_att(logical_id, attribute)`` answer resource references,
    ``import_value(name)`` an ``Fn::ImportValue`` (without it, imports are unresolvable);
    parameters resolve to ``parameters[name]`` or their ``Default``.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
        stack_name: str = "Stack",
        account: str = ACCOUNT,
        region: str = REGION,
        parameters: Mapping[str, Any] | None = None,
        import_value: Callable[[str], Any] | None = None,
    ) -> None:
        self.template = template
        self._ref = ref
        self._get_att = get_att
        self._import_value = import_value
        self.pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/batchkit",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self.parameters = dict(parameters or {})
        self._conditions: dict[str, bool] = {}

    # -- public ---------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic resolved (``AWS::NoValue`` entries dropped)."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def resolve_string(self, value: Any) -> str:
        resolved = self.resolve(value)
        if not isinstance(resolved, str):
            return json.dumps(resolved)
        return resolved

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            if name in self.parameters:
                return self.parameters[name]
            declared = parameters[name]
            if "Default" in declared:
                return declared["Default"]
            raise UnresolvableError(f"parameter {name} has no default: pass parameters={{{name!r}: ...}}")
        if name not in self.template.get("Resources", {}):
            raise UnresolvableError(f"Ref to unknown logical id {name!r}")
        return self._ref(name)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise UnresolvableError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    # -- functions ------------------------------------------------------------------------------------

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            if logical_id not in self.template.get("Resources", {}):
                raise UnresolvableError(f"Fn::GetAtt of unknown logical id {logical_id!r}")
            return self._get_att(logical_id, self.resolve(attribute))
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(_text(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return _text(left) == _text(right)
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if key == "Fn::FindInMap":
            name, first, second = self.resolve(argument)
            return self.template["Mappings"][name][first][second]
        if key == "Fn::Base64":
            return base64.b64encode(_text(self.resolve(argument)).encode()).decode()
        if key == "Fn::GetAZs":
            region = self.resolve(argument) or self.pseudo["AWS::Region"]
            return [f"{region}{zone}" for zone in "abc"]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        if key == "Fn::ImportValue":
            name = self.resolve(argument)
            if self._import_value is None:
                raise UnresolvableError(
                    f"Fn::ImportValue {name!r}: build the stack that exports it in the same world "
                    "(build_world(app) builds every stack of an app)"
                )
            return self._import_value(_text(name))
        raise UnresolvableError(f"{key} is not supported by the testing kit's resolver: {argument!r}")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _text(self._function("Fn::GetAtt", [logical_id, attribute]))
            return _text(self.ref(name))

        return _SUB.sub(replace, text).replace("${!", "${")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise UnresolvableError(f"expected a string, got {value!r}")
