"""IAM size quotas, per partition, with every optional statement switched on.

Quotas (IAM User Guide, "IAM and AWS STS quotas",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): the inline
policies of one role together at most 10,240 characters, a managed policy at most 6,144, a
role trust policy at most 2,048 (the default; raisable to 4,096); whitespace is not counted.

Worst case, as the guide's numbers apply to the policy as IAM stores it:

* every partition whose ARNs differ (``aws``, ``aws-cn``, ``aws-us-gov``), with that
  partition's longest region name from botocore's ``partitions.json`` and a 12-digit account;
* every resource that has a ``Condition`` exists (all hidden-tool denies at once), and each
  ``Fn::If`` takes its longer branch;
* parameters take realistic maximal values (the longest allowed value, ``MaxLength``, every
  allowed value of a list, or a maximal identifier of the kind the name says), and names
  CloudFormation generates take IAM's maximum (role 64, managed policy 128 characters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore

from factory.audit.derived._policies import INLINE, MANAGED, TRUST, policy_documents
from factory.audit.derived.base import AuditInputs, Failure, ProofResult
from factory.audit.resolver import ResolveError, TemplateResolver

ORDER = 50
PROOF_ID = "policy-sizes"
TITLE = "IAM policy sizes fit the quotas in every partition, every option on"
SOURCE = 'IAM User Guide, "IAM and AWS STS quotas" (whitespace not counted)'

# IAM User Guide, "IAM and AWS STS quotas" (characters, whitespace excluded).
QUOTAS = {INLINE: 10_240, MANAGED: 6_144, TRUST: 2_048}
QUOTA_NAMES = {
    INLINE: "aggregate inline policies per role",
    MANAGED: "managed policy",
    TRUST: "role trust policy",
}
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
ACCOUNT = "123456789012"  # account IDs are always 12 digits
# Service Catalog names its stacks SC-<account>-pp-<13 characters> (Admin Guide, "Launch
# constraints"; seen in every provisioned product's stack ARN).
STACK_NAME = f"SC-{ACCOUNT}-pp-abcdefghijklm"
# IAM API Reference, CreateRole RoleName / CreatePolicy PolicyName maximum lengths.
GENERATED_NAME_LENGTH = {"AWS::IAM::Role": 64, "AWS::IAM::ManagedPolicy": 128}
DEFAULT_NAME_LENGTH = 64
LIST_ITEMS = 5  # free-form list parameters (CIDRs, endpoint IDs, role ARNs): entries assumed
_KEY_ID = "01234567-89ab-cdef-0123-456789abcdef"  # KMS key IDs are UUIDs
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Size:
    partition: str
    template: str
    subject: str  # role logical id (inline, trust) or managed policy logical id
    kind: str
    characters: int

    @property
    def quota(self) -> int:
        return QUOTAS[self.kind]

    @property
    def margin(self) -> int:
        return self.quota - self.characters


@cache
def longest_region(partition: str) -> str:
    """The partition's longest region name, from botocore's ``partitions.json``."""
    data = json.loads((Path(botocore.__file__).parent / "data/partitions.json").read_text())
    for entry in data["partitions"]:
        if entry["id"] == partition:
            regions = [name for name in entry["regions"] if _REGION.match(name)]
            return max(sorted(regions), key=len)
    raise LookupError(f"botocore knows no partition {partition!r}")


def policy_characters(document: Any) -> int:
    """Characters IAM counts: the JSON text without whitespace."""
    return len(_WHITESPACE.sub("", json.dumps(document, separators=(",", ":"))))


def _role_arn(partition: str, name_length: int = 64) -> str:
    return f"arn:{partition}:iam::{ACCOUNT}:role/{'x' * name_length}"


def _maximal_text(name: str, declaration: Mapping[str, Any], partition: str) -> str:
    region = longest_region(partition)
    lowered = name.lower()
    if "MaxLength" in declaration:
        return "x" * int(declaration["MaxLength"])
    if lowered.endswith("principalarnpattern"):
        # IAM Identity Center roles: aws-reserved/sso.amazonaws.com/<region>/
        # AWSReservedSSO_<permission set, up to 32>_<16 hex> (IAM Identity Center User Guide,
        # "IAM roles created by IAM Identity Center"); a pattern keeps the suffix as *.
        return (
            f"arn:{partition}:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{region}/"
            f"AWSReservedSSO_{'x' * 32}_*"
        )
    if lowered.endswith("accountid"):
        return ACCOUNT
    if lowered.endswith("cidrs"):
        return "255.255.255.255/32"
    if lowered.endswith("vpceids"):
        return "vpce-0123456789abcdef0"  # vpce- + 17 hex (EC2 API Reference, VpcEndpointId)
    if lowered.endswith("kmskeyarn"):
        return f"arn:{partition}:kms:{region}:{ACCOUNT}:key/{_KEY_ID}"
    if lowered.endswith("domainid"):
        return "d-" + "x" * 12  # SageMaker domain IDs: d- and 12 characters
    if lowered.endswith(("arn", "arns")):
        return _role_arn(partition)
    default = declaration.get("Default")
    return str(default) if default not in (None, "") else "x" * DEFAULT_NAME_LENGTH


def maximal_parameters(template: Mapping[str, Any], partition: str) -> dict[str, Any]:
    """A realistic maximal value for every parameter of the template."""
    values: dict[str, Any] = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        kind = str(declaration.get("Type", "String"))
        is_list = kind == "CommaDelimitedList" or kind.startswith("List<")
        allowed = [str(v) for v in declaration.get("AllowedValues", []) if str(v)]
        if kind == "Number":
            values[name] = declaration.get("MaxValue", declaration.get("Default", 0))
        elif is_list:
            values[name] = allowed or [_maximal_text(name, declaration, partition)] * LIST_ITEMS
        elif allowed:
            values[name] = max(allowed, key=len)
        else:
            values[name] = _maximal_text(name, declaration, partition)
    return values


class _WorstCase(TemplateResolver):
    """Every conditional resource exists, every ``Fn::If`` takes its longer branch."""

    def condition(self, name: str) -> bool:
        return True

    def exists(self, logical_id: str) -> bool:
        return True

    def _if(self, argument: Any) -> Any:
        _, when_true, when_false = argument
        options = [self.resolve(when_true), self.resolve(when_false)]
        return max(options, key=lambda value: len(repr(value)))

    def _name(self, logical_id: str, prop: str) -> str:
        properties = self.resources[logical_id].get("Properties", {})
        if prop in properties:
            return super()._name(logical_id, prop)
        kind = str(self.resources[logical_id].get("Type"))
        return "x" * GENERATED_NAME_LENGTH.get(kind, DEFAULT_NAME_LENGTH)

    def _get_att(self, argument: Any) -> str:
        value = super()._get_att(argument)
        logical_id, attribute = (
            argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
        )
        if attribute == "Arn" and not value.startswith("arn:"):
            kind = str(self.resources[logical_id].get("Type"))
            service = kind.split("::")[1].lower() if kind.count("::") == 2 else "x"
            partition, region = self.context["AWS::Partition"], self.context["AWS::Region"]
            return f"arn:{partition}:{service}:{region}:{ACCOUNT}:{'x' * 64}"
        return value


def _resolver(template: Mapping[str, Any], partition: str) -> _WorstCase:
    context = {
        "AWS::Partition": partition,
        "AWS::Region": longest_region(partition),
        "AWS::AccountId": ACCOUNT,
        "AWS::StackName": STACK_NAME,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        **maximal_parameters(template, partition),
    }
    return _WorstCase(template, context)


def template_sizes(name: str, template: Mapping[str, Any], partition: str) -> list[Size]:
    """Worst-case sizes: per role (inline aggregate, trust) and per managed policy."""
    resolver = _resolver(template, partition)
    totals: dict[tuple[str, str], int] = {}
    for doc in policy_documents(template):
        if doc.kind not in QUOTAS:
            continue
        characters = policy_characters(resolver.resolve(doc.document))
        subjects = doc.roles if doc.kind == INLINE else (doc.resource,)
        for subject in subjects:
            key = (subject, doc.kind)
            totals[key] = totals.get(key, 0) + characters
    return [
        Size(partition, name, subject, kind, characters)
        for (subject, kind), characters in sorted(totals.items())
    ]


def all_sizes(inputs: AuditInputs) -> list[Size]:
    return [
        size
        for partition in PARTITIONS
        for name, template in sorted(inputs.templates.items())
        for size in template_sizes(name, template, partition)
    ]


def largest(sizes: list[Size]) -> dict[tuple[str, str, str], Size]:
    """The largest size over partitions, per (template, subject, kind)."""
    found: dict[tuple[str, str, str], Size] = {}
    for size in sizes:
        key = (size.template, size.subject, size.kind)
        if key not in found or size.characters > found[key].characters:
            found[key] = size
    return found


def report_lines(inputs: AuditInputs) -> list[str]:
    """Largest size and margin per role/policy, for the audit's printout."""
    return [
        f"{s.template} {s.subject} {QUOTA_NAMES[s.kind]}: {s.characters}/{s.quota} "
        f"({s.partition}, margin {s.margin})"
        for s in largest(all_sizes(inputs)).values()
    ]


def check(inputs: AuditInputs) -> ProofResult:
    failures: list[Failure] = []
    checked = 0
    try:
        sizes = all_sizes(inputs)
    except ResolveError as error:
        failure = Failure("*", "*", "resolve", "*", SOURCE, f"cannot resolve templates: {error}")
        return ProofResult(PROOF_ID, TITLE, 0, (failure,))
    for size in largest(sizes).values():
        checked += 1
        if size.margin < 0:
            failures.append(
                Failure(
                    template=size.template,
                    resource=size.subject,
                    action=QUOTA_NAMES[size.kind],
                    arn=f"partition {size.partition} ({longest_region(size.partition)})",
                    source=SOURCE,
                    reason=f"{size.characters} characters, quota {size.quota} "
                    f"({-size.margin} over) with every optional statement on",
                )
            )
    return ProofResult(PROOF_ID, TITLE, checked, tuple(failures))
