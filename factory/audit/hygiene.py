"""Policy hygiene scan of every IAM policy document in a CloudFormation template.

The scan reads the unresolved template: both branches of every `Fn::If` are scanned, so a
finding is reported if any configuration could produce it. Only Allow statements are checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from factory.audit.actions import (
    WRITE_ACCESS_LEVELS,
    UnknownActionError,
    access_level,
    expand_action_pattern,
    known_actions,
)
from factory.audit.patterns import any_match, as_list, has_wildcard

FINDINGS: Mapping[str, str] = {
    "action-star": 'Allow with Action "*"',
    "iam-wildcard": "Allow with a wildcard IAM action (iam:*, iam:Create*, ...)",
    "service-wildcard": "Allow with a service-wide wildcard such as sagemaker:*",
    "resource-star-write": 'Allow of write actions on Resource "*" (or NotResource)',
    "passrole-unconstrained": "Allow of iam:PassRole without an iam:PassedToService condition",
}

_SERVICE_WILDCARD = re.compile(r"^[^:*?]+:\*$")
_EXAMPLES = 3


@dataclass(frozen=True)
class _Location:
    resource_type: str
    document_property: str
    kind: str
    list_property: str | None = None
    resource_star_is_self: bool = False


_LOCATIONS: tuple[_Location, ...] = (
    _Location("AWS::IAM::Role", "PolicyDocument", "identity", list_property="Policies"),
    _Location("AWS::IAM::User", "PolicyDocument", "identity", list_property="Policies"),
    _Location("AWS::IAM::Group", "PolicyDocument", "identity", list_property="Policies"),
    _Location("AWS::IAM::ManagedPolicy", "PolicyDocument", "identity"),
    _Location("AWS::IAM::Policy", "PolicyDocument", "identity"),
    _Location("AWS::IAM::RolePolicy", "PolicyDocument", "identity"),
    _Location("AWS::S3::BucketPolicy", "PolicyDocument", "resource"),
    _Location("AWS::KMS::Key", "KeyPolicy", "resource", resource_star_is_self=True),
    _Location("AWS::SQS::QueuePolicy", "PolicyDocument", "resource"),
    _Location("AWS::SNS::TopicPolicy", "PolicyDocument", "resource"),
    _Location(
        "AWS::SecretsManager::ResourcePolicy",
        "ResourcePolicy",
        "resource",
        resource_star_is_self=True,
    ),
)


class AllowListError(ValueError):
    """The allow-list file is malformed."""


@dataclass(frozen=True)
class Finding:
    template: str
    resource: str
    resource_type: str
    policy: str
    kind: str
    sid: str
    finding: str
    message: str


@dataclass(frozen=True)
class AllowEntry:
    template: str
    resource: str
    sid: str
    finding: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (self.template, self.resource, self.sid, self.finding) == (
            finding.template,
            finding.resource,
            finding.sid,
            finding.finding,
        )


@dataclass(frozen=True)
class HygieneReport:
    findings: tuple[Finding, ...]
    suppressed: tuple[tuple[Finding, AllowEntry], ...]
    unused: tuple[AllowEntry, ...]

    @property
    def ok(self) -> bool:
        return not self.findings and not self.unused


@dataclass(frozen=True)
class _Document:
    resource: str
    location: _Location
    policy: str
    document: Any


def branches(node: Any) -> Iterator[Any]:
    """Values a node can take: both `Fn::If` branches, lists flattened, `AWS::NoValue` dropped."""
    if isinstance(node, list):
        for item in node:
            yield from branches(item)
    elif isinstance(node, Mapping) and list(node) == ["Fn::If"]:
        for branch in as_list(node["Fn::If"])[1:]:
            yield from branches(branch)
    elif node != {"Ref": "AWS::NoValue"} and node is not None:
        yield node


def _strings(node: Any) -> list[str]:
    return [value for value in branches(node) if isinstance(value, str)]


def _named_documents(
    logical_id: str, properties: Mapping[str, Any], location: _Location
) -> Iterator[tuple[str, Any]]:
    if location.list_property is None:
        yield logical_id, properties.get(location.document_property)
        return
    for index, item in enumerate(branches(properties.get(location.list_property))):
        if isinstance(item, Mapping):
            name = item.get("PolicyName")
            label = name if isinstance(name, str) else f"{location.list_property}[{index}]"
            yield f"{logical_id}/{label}", item.get(location.document_property)


def _documents(template: Mapping[str, Any]) -> Iterator[_Document]:
    locations = {location.resource_type: location for location in _LOCATIONS}
    for logical_id, resource in template.get("Resources", {}).items():
        location = locations.get(resource.get("Type"))
        if location is None:
            continue
        properties = resource.get("Properties", {})
        for policy, document in _named_documents(logical_id, properties, location):
            for variant in branches(document):
                yield _Document(logical_id, location, policy, variant)


def _statements(document: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if not isinstance(document, Mapping):
        return
    for index, node in enumerate(as_list(document.get("Statement"))):
        for statement in branches(node):
            if isinstance(statement, Mapping):
                yield index, statement


def _granted_actions(statement: Mapping[str, Any]) -> list[str]:
    if "NotAction" in statement:
        excluded = _strings(statement["NotAction"])
        return [a for a in known_actions() if not any_match(excluded, a, ignore_case=True)]
    granted: list[str] = []
    for pattern in _strings(statement.get("Action")):
        try:
            granted.extend(expand_action_pattern(pattern))
        except UnknownActionError:
            granted.append(pattern)
    return granted


def _is_write(action: str) -> bool:
    level = access_level(action)
    return level is None or level in WRITE_ACCESS_LEVELS


def _resource_is_star(statement: Mapping[str, Any]) -> bool:
    return "NotResource" in statement or "*" in _strings(statement.get("Resource"))


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for block in branches(statement.get("Condition")):
        bodies = block.values() if isinstance(block, Mapping) else ()
        keys.update(key.lower() for body in bodies if isinstance(body, Mapping) for key in body)
    return keys


def _examples(actions: Sequence[str]) -> str:
    shown = ", ".join(actions[:_EXAMPLES])
    more = len(actions) - _EXAMPLES
    return f"{shown} and {more} more" if more > 0 else shown


def _pattern_findings(actions: Sequence[str]) -> Iterator[tuple[str, str]]:
    if "*" in actions:
        yield "action-star", 'grants every action ("*")'
    iam = [a for a in actions if a.lower().startswith("iam:") and has_wildcard(a)]
    if iam:
        yield "iam-wildcard", f"grants IAM wildcard {', '.join(iam)}"
    services = [
        a for a in actions if _SERVICE_WILDCARD.match(a) and not a.lower().startswith("iam:")
    ]
    if services:
        yield "service-wildcard", f"grants service-wide wildcard {', '.join(services)}"


def _statement_findings(
    statement: Mapping[str, Any], location: _Location
) -> Iterator[tuple[str, str]]:
    if statement.get("Effect") != "Allow":
        return
    yield from _pattern_findings(_strings(statement.get("Action")))
    granted = _granted_actions(statement)
    if _resource_is_star(statement) and not location.resource_star_is_self:
        writes = [action for action in granted if _is_write(action)]
        if writes:
            yield "resource-star-write", f'Resource "*" with write actions {_examples(writes)}'
    passes_role = any(action.lower() == "iam:passrole" for action in granted)
    if passes_role and "iam:passedtoservice" not in _condition_keys(statement):
        yield "passrole-unconstrained", "iam:PassRole without an iam:PassedToService condition"


def scan_template(name: str, template: Mapping[str, Any]) -> list[Finding]:
    """Hygiene findings of one template; `name` is how allow-list entries refer to it."""
    findings: list[Finding] = []
    for doc in _documents(template):
        for index, statement in _statements(doc.document):
            sid = statement.get("Sid")
            label = sid if isinstance(sid, str) and sid else f"#{index}"
            for code, message in _statement_findings(statement, doc.location):
                findings.append(
                    Finding(
                        template=name,
                        resource=doc.resource,
                        resource_type=doc.location.resource_type,
                        policy=doc.policy,
                        kind=doc.location.kind,
                        sid=label,
                        finding=code,
                        message=message,
                    )
                )
    return list(dict.fromkeys(findings))


_ENTRY_KEYS = ("template", "resource", "sid", "finding", "reason")


def _entry(index: int, raw: Any) -> AllowEntry:
    if not isinstance(raw, Mapping):
        raise AllowListError(f"entry {index}: expected a mapping, got {raw!r}")
    unknown = set(raw) - set(_ENTRY_KEYS)
    missing = [key for key in _ENTRY_KEYS if not str(raw.get(key) or "").strip()]
    if unknown:
        raise AllowListError(f"entry {index}: unknown keys {sorted(unknown)}")
    if missing:
        raise AllowListError(f"entry {index}: {', '.join(missing)} required and must be non-empty")
    if raw["finding"] not in FINDINGS:
        raise AllowListError(f"entry {index}: unknown finding {raw['finding']!r}")
    return AllowEntry(**{key: str(raw[key]).strip() for key in _ENTRY_KEYS})


def parse_allow_list(data: Any) -> tuple[AllowEntry, ...]:
    """Validate allow-list data: a list of {template, resource, sid, finding, reason}."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise AllowListError("the allow-list must be a YAML list of entries")
    return tuple(_entry(index, raw) for index, raw in enumerate(data))


def load_allow_list(path: str | Path) -> tuple[AllowEntry, ...]:
    return parse_allow_list(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def apply_allow_list(findings: Sequence[Finding], entries: Sequence[AllowEntry]) -> HygieneReport:
    remaining: list[Finding] = []
    suppressed: list[tuple[Finding, AllowEntry]] = []
    used: set[AllowEntry] = set()
    for finding in findings:
        entry = next((e for e in entries if e.matches(finding)), None)
        if entry is None:
            remaining.append(finding)
        else:
            suppressed.append((finding, entry))
            used.add(entry)
    unused = tuple(entry for entry in entries if entry not in used)
    return HygieneReport(tuple(remaining), tuple(suppressed), unused)


def scan_templates(
    templates: Mapping[str, Mapping[str, Any]], allow_list: Sequence[AllowEntry] = ()
) -> HygieneReport:
    """Scan several templates (name -> template) against one allow-list."""
    findings = [f for name, template in templates.items() for f in scan_template(name, template)]
    return apply_allow_list(findings, allow_list)
