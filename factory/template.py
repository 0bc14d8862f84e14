"""Helpers every product generator uses on top of troposphere.

``ProductTemplate`` records, for each parameter, the console group and label it belongs
to, and emits ``AWS::CloudFormation::Interface`` from that, so no parameter can be added
without a place in the Service Catalog launch form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from awacs.aws import PolicyDocument, Statement
from troposphere import (
    AWSHelperFn,
    Equals,
    If,
    Join,
    Not,
    NoValue,
    Parameter,
    Ref,
    Select,
    Split,
    Template,
)

POLICY_VERSION = "2012-10-17"


@dataclass
class ProductTemplate:
    """A troposphere ``Template`` plus the console layout of its parameters."""

    description: str
    template: Template = field(init=False)
    _groups: dict[str, list[str]] = field(default_factory=dict, init=False)
    _labels: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.template = Template(Description=self.description)
        self.template.set_version("2010-09-09")

    def parameter(self, group: str, name: str, label: str, **props: Any) -> Parameter:
        """Add a parameter to ``group`` with a console ``label``; ``Description`` is required."""
        if "Description" not in props:
            raise ValueError(f"parameter {name} needs a Description for the launch form")
        if "ConstraintDescription" not in props and (
            "AllowedPattern" in props or "MinLength" in props or "MaxLength" in props
        ):
            raise ValueError(f"parameter {name} is constrained but has no ConstraintDescription")
        self._groups.setdefault(group, []).append(name)
        self._labels[name] = label
        return self.template.add_parameter(Parameter(name, **props))

    def condition(self, name: str, expression: AWSHelperFn) -> str:
        self.template.add_condition(name, expression)
        return name

    def finish(self) -> Template:
        """Attach the console interface metadata and return the template."""
        self.template.set_metadata(
            {
                "AWS::CloudFormation::Interface": {
                    "ParameterGroups": [
                        {"Label": {"default": group}, "Parameters": names}
                        for group, names in self._groups.items()
                    ],
                    "ParameterLabels": {
                        name: {"default": label} for name, label in self._labels.items()
                    },
                }
            }
        )
        return self.template


def list_is_set(parameter: str) -> AWSHelperFn:
    """Condition: a ``CommaDelimitedList`` parameter holds at least one non-empty value."""
    return Not(Equals(Join("", Ref(parameter)), ""))


def list_contains(parameter: str, value: str) -> AWSHelperFn:
    """Condition: ``value`` is one item of a ``CommaDelimitedList`` parameter.

    CloudFormation conditions have no membership test (``Fn::Contains`` exists only in
    Rules). Wrapping the joined list in commas and splitting it on ``,value,`` changes
    the first fragment exactly when the item is present; the commas make the match
    exact, so ``Models`` does not match ``ModelEvaluation``.
    """
    fenced = Join("", [",", Join(",", Ref(parameter)), ","])
    return Not(Equals(fenced, Select(0, Split(f",{value},", fenced))))


def policy(statements: Iterable[Statement | AWSHelperFn]) -> dict[str, Any]:
    """A policy document whose statements may be wrapped in ``Fn::If``.

    awacs' ``PolicyDocument`` only accepts ``Statement`` objects, so conditional
    statements are placed in a plain mapping that troposphere serialises the same way.
    """
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def document(statements: list[Statement]) -> PolicyDocument:
    return PolicyDocument(Version=POLICY_VERSION, Statement=statements)


def when(condition: str, statement: Statement) -> AWSHelperFn:
    return If(condition, statement, NoValue)


def checkov_skip(**reasons: str) -> dict[str, Any]:
    """Resource ``Metadata`` suppressing checkov checks, each with the reason it does not apply."""
    return {
        "checkov": {
            "skip": [{"id": check, "comment": reason} for check, reason in sorted(reasons.items())]
        }
    }
