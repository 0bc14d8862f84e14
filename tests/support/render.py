"""Render emitted templates with parameters, as CloudFormation would, using cloud-radar.

CloudFormation resolves ``AWS::SSM::Parameter::Value<...>`` parameters before it evaluates
conditions; cloud-radar keeps the SSM parameter *name*. ``render`` therefore turns those
parameters into plain strings whose value is the resolved one given by the test (or a
recognisable placeholder), so conditions such as "the domain is SSO" behave for real.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import cfn_yaml
from cloud_radar.cf.unit import Template, _template

ROOT = Path(__file__).resolve().parents[2]

SSM_DEFAULTS = {
    "DomainId": "d-abcdefghijkl",
    "DomainAuthMode": "IAM",
    "TeamExecutionRoleArn": "arn:aws:iam::111111111111:role/studio-catalog/execution/team",
    "DomainVpcId": "vpc-0123456789abcdef0",
    "DomainKmsKeyArn": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-123456",
    "PermissionsBoundaryArn": "arn:aws:iam::111111111111:policy/studio-catalog/boundary",
    "DrainFunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:drain",
}

#: Values of `{{resolve:ssm:...}}` dynamic references, as the account would hold them.
LIFECYCLE_ARN = "arn:aws:sagemaker:us-east-1:111111111111:studio-lifecycle-config/ml-team-{}"
#: cloud-radar resolves both branches of an Fn::If, so the unset set ("") needs a value too.
DYNAMIC_REFERENCES = {
    "ssm": {
        f"/studio-catalog/lifecycle-configs/{name}/{kind}-arn": LIFECYCLE_ARN.format(kind)
        for kind in ("jupyterlab", "code-editor")
        for name in ("ml-team", "")
    }
}

NETWORK = {
    "VpcId": "vpc-0123456789abcdef0",
    "SubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
}


class _JsonCopy:
    """Stands in for the ``yaml`` module inside cloud-radar's template module.

    cloud-radar keeps ``yaml.dump(template)`` and parses it back (``yaml.load``) on every
    render: a deep copy through pure-Python PyYAML, ~18 s of the suite's CPU. The templates
    given to it are JSON data already (:func:`load`), so a JSON round trip is the same copy.
    """

    FullLoader = None

    @staticmethod
    def dump(value: Any) -> str:
        return json.dumps(value)

    @staticmethod
    def load(text: str, Loader: Any = None) -> Any:  # Loader: PyYAML's keyword
        return json.loads(text)


if hasattr(_template, "yaml"):  # cloud-radar <1: the only two calls are dump and load
    _template.yaml = _JsonCopy  # type: ignore[assignment]


@cache
def load(path: str) -> dict[str, Any]:
    """Parse a template with cfn-lint's decoder (understands ``!Ref`` short forms)."""
    data = cfn_yaml.load(str(ROOT / path))
    return json.loads(json.dumps(data))


def render(path: str, params: dict[str, str] | None = None) -> Any:
    """A cloud-radar ``Stack`` of ``path`` launched with ``params`` (strings, as the console)."""
    template = json.loads(json.dumps(load(path)))  # a deep copy, faster than copy.deepcopy
    values = dict(params or {})
    for name, spec in template.get("Parameters", {}).items():
        if spec["Type"].startswith("AWS::SSM::Parameter::Value<"):
            spec["Type"] = "String"
            spec.pop("Default", None)
            values.setdefault(name, SSM_DEFAULTS.get(name, f"resolved-{name}"))
    template.pop("Rules", None)  # evaluated separately by rules_fail()
    return Template(template, dynamic_references=DYNAMIC_REFERENCES).create_stack(values)


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=True)


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Policy statements, without the ``''`` cloud-radar leaves for ``AWS::NoValue``."""
    return [s for s in document["Statement"] if s]


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(document) if "Sid" in s}


def rules_fail(path: str, params: dict[str, str]) -> list[str]:
    """Evaluate the template's ``Rules`` (which cloud-radar ignores) like CloudFormation.

    Supports the rule functions the products use: Ref, Fn::Equals, Fn::Not, Fn::And,
    Fn::Or and Fn::Contains. Returns the ``AssertDescription`` of every failed assertion.
    """
    template = load(path)
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        raw = params.get(name, str(spec.get("Default", "")))
        is_list = "CommaDelimitedList" in spec["Type"] or spec["Type"].startswith("List<")
        values[name] = [v.strip() for v in raw.split(",")] if is_list else raw

    def ev(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            ops = {
                "Ref": lambda a: values[a],
                "Fn::Equals": lambda a: ev(a[0]) == ev(a[1]),
                "Fn::Not": lambda a: not ev(a[0]),
                "Fn::And": lambda a: all(ev(x) for x in a),
                "Fn::Or": lambda a: any(ev(x) for x in a),
                "Fn::Contains": lambda a: ev(a[1]) in ev(a[0]),
            }
            if fn in ops:
                return ops[fn](arg)
        return node

    failed = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not ev(rule["RuleCondition"]):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not ev(a["Assert"])]
    return failed
