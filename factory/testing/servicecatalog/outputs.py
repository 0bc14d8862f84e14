"""A provisioned product's outputs: the template's ``Outputs`` with the simple values resolved.

No CloudFormation stack runs, so only what the template and the launch parameters determine is
resolved: literals, ``Ref`` to parameters and pseudo parameters, ``Fn::Sub``, ``Fn::Join``,
``Fn::Select``, ``Fn::If`` with ``Conditions`` (``Fn::Equals``/``Not``/``And``/``Or``,
``Condition``) and outputs with a ``Condition``. Not resolved (the value reads
``{{standin:unresolved ...}}``): ``Ref`` to a resource, ``Fn::GetAtt``, ``Fn::ImportValue``,
``Fn::GetAZs``, ``Fn::FindInMap`` and anything else that needs a running stack; SSM parameter types
keep the parameter name they were given instead of the value CloudFormation would read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Unresolved", "resolve_outputs"]

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class Unresolved(Exception):
    """A value that only a running stack would know."""


class _Context:
    def __init__(
        self, template: Mapping[str, Any], values: Mapping[str, str], pseudo: Mapping[str, str]
    ) -> None:
        self.template = template
        self.values = {**_defaults(template), **values, **pseudo}
        self.conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            spec = (self.template.get("Conditions") or {}).get(name)
            if spec is None:
                raise Unresolved(f"Condition {name}")
            self.conditions[name] = bool(self.evaluate(spec))
        return self.conditions[name]

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.evaluate(item) for item in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        ((function, argument),) = node.items()
        handler = _FUNCTIONS.get(function)
        if handler is None:
            raise Unresolved(function)
        return handler(self, argument)


def _defaults(template: Mapping[str, Any]) -> dict[str, str]:
    defaults = {}
    for key, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, dict) and "Default" in spec:
            defaults[str(key)] = str(spec["Default"])
    return defaults


def _ref(ctx: _Context, name: Any) -> Any:
    if name in ctx.values:
        return ctx.values[name]
    raise Unresolved(f"Ref {name}")


def _sub(ctx: _Context, argument: Any) -> str:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    local = {key: ctx.evaluate(value) for key, value in variables.items()}

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name in local:
            return str(local[name])
        if "." in name:
            raise Unresolved(f"Fn::Sub ${{{name}}}")
        return str(_ref(ctx, name))

    return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")


def _join(ctx: _Context, argument: Any) -> str:
    separator, items = argument
    return str(separator).join(str(item) for item in ctx.evaluate(items))


def _select(ctx: _Context, argument: Any) -> Any:
    index, items = ctx.evaluate(argument)
    return items[int(index)]


def _if(ctx: _Context, argument: Any) -> Any:
    name, when_true, when_false = argument
    return ctx.evaluate(when_true if ctx.condition(name) else when_false)


def _equals(ctx: _Context, argument: Any) -> bool:
    left, right = ctx.evaluate(argument)
    return str(left) == str(right)


_FUNCTIONS = {
    "Ref": _ref,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda ctx, argument: not ctx.evaluate(argument[0]),
    "Fn::And": lambda ctx, argument: all(ctx.evaluate(argument)),
    "Fn::Or": lambda ctx, argument: any(ctx.evaluate(argument)),
    "Condition": lambda ctx, name: ctx.condition(name),
}


def resolve_outputs(
    template: Mapping[str, Any], values: Mapping[str, str], pseudo: Mapping[str, str]
) -> list[dict[str, str]]:
    """``RecordOutput`` entries for the template's Outputs under the given parameter values."""
    ctx = _Context(template, values, pseudo)
    outputs = []
    for key, spec in (template.get("Outputs") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        try:
            if "Condition" in spec and not ctx.condition(str(spec["Condition"])):
                continue
            value = str(ctx.evaluate(spec.get("Value")))
        except (Unresolved, ValueError, TypeError, IndexError, KeyError) as exc:
            value = f"{{{{standin:unresolved {exc}}}}}"
        output = {"OutputKey": str(key), "OutputValue": value}
        description = spec.get("Description")
        if isinstance(description, str):
            output["Description"] = description
        outputs.append(output)
    return outputs
