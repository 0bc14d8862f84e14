"""``studio-factory audit``: policy hygiene, separation-of-duties questions, and the proofs
derived from AWS's own data (``factory.audit.derived``)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table

from factory.audit.derived import AuditInputs, ProofResult, run_all
from factory.audit.evaluator import AllowListError, parse_allow_list, scan_templates
from factory.audit.hygiene import FINDINGS, HygieneReport
from factory.audit.proofs import Answer, audit_bootstrap
from factory.cli.console import console as make_console
from factory.cli.errors import UserError
from factory.launch import bootstrap

DEFAULT_ALLOW_LIST = Path("policy-allowlist.yaml")
ALLOW_LIST_FIX = (
    "each entry is a mapping with template, resource, sid, finding and reason "
    "(see policy-allowlist.yaml)"
)
REBUILD = "re-run `studio-factory build` (or undo the hand edit)"


def _text(path: Path, where: str, fix: str) -> str:
    """The file as UTF-8 text, or a UserError naming it (binary, unreadable)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(where, (error.strerror or str(error)).lower(), fix) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            where, f"not UTF-8 text (byte {error.start}: a binary file?)", fix
        ) from None
    if "\x00" in text:
        raise UserError(where, f"not text (NUL byte at offset {text.index(chr(0))})", fix)
    return text


def _yaml_error(where: str, error: yaml.YAMLError, fix: str) -> UserError:
    """A YAML syntax error as ``file:line:col: not valid YAML: <problem>``."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        where = f"{where}:{mark.line + 1}:{mark.column + 1}"
    problem = getattr(error, "problem", None) or getattr(error, "reason", None) or str(error)
    return UserError(where, f"not valid YAML: {' '.join(str(problem).split())}", fix)


def _load_templates(root: Path) -> dict[str, dict]:
    """Every template, read by the project's one CloudFormation loader (factory.cfn_yaml:
    cfn-lint's decoder, as build lints them)."""
    from factory.cfn_yaml import TemplateError, load_template

    paths = sorted([*(root / "templates").glob("*.yaml"), *(root / "launch").glob("*.yaml")])
    if not paths:
        raise UserError(
            f"--root {root}",
            "no templates in templates/ or launch/",
            "run `studio-factory build`, or pass the project root as --root",
        )
    loaded: dict[str, dict] = {}
    for path in paths:
        name = path.relative_to(root).as_posix()
        text = _text(path, name, REBUILD)
        try:
            template = load_template(text, name=name)
        except TemplateError as error:
            where = f"{name}:{error.line}:{error.column}" if error.line else name
            raise UserError(where, error.message, REBUILD) from None
        _check_shape(name, template, text)
        loaded[name] = template
    return loaded


def _check_shape(name: str, template: Any, text: str) -> None:
    """What the scan and the proofs rely on: Resources, each a mapping with a string Type and
    mapping Properties."""

    def fail(path: tuple[str, ...], what: str) -> UserError:
        line = _line_of(text, path)
        return UserError(f"{name}:{line}" if line else name, what, REBUILD)

    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        at = ("Resources",) if isinstance(template, Mapping) else ()
        raise fail(at, "not a CloudFormation template (no Resources mapping)")
    for logical, resource in template["Resources"].items():
        if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
            raise fail(
                ("Resources", logical),
                f"Resources.{logical}: not a resource (a mapping with a string Type)",
            )
        if not isinstance(resource.get("Properties", {}), Mapping):
            raise fail(
                ("Resources", logical, "Properties"),
                f"Resources.{logical}.Properties: not a mapping",
            )


def _line_of(text: str, path: tuple[str, ...]) -> int | None:
    """1-based line of the value at ``path`` (mapping keys), or None (tags need no loader:
    composing builds nodes only)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        if node is None:
            return None
    return node.start_mark.line + 1 if node is not None else None


def _entry_lines(text: str) -> list[int]:
    """1-based line of each top-level list entry (for errors), or [] when not a list."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [item.start_mark.line + 1 for item in node.value]


def load_allow_list(path: Path, shown: str) -> tuple:
    """Read and validate the allow-list; every problem is a UserError naming ``shown`` (the
    path as the user gave it) and, where known, the line."""
    text = _text(path, shown, "name the YAML allow-list (see policy-allowlist.yaml)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _yaml_error(shown, error, ALLOW_LIST_FIX) from None
    try:
        return parse_allow_list(data)
    except AllowListError as error:
        message = str(error)
        where = shown
        found = re.match(r"entry (\d+):", message)
        lines = _entry_lines(text)
        if found and int(found.group(1)) < len(lines):
            where = f"{shown}:{lines[int(found.group(1))]}"
        elif not found:
            where = f"{shown}:1"
        fix = ALLOW_LIST_FIX
        if "unknown finding" in message:
            fix = f"a finding is one of: {', '.join(FINDINGS)}"
        raise UserError(where, message, fix) from None


def _allow_list(root: Path, path: Path | None) -> tuple:
    if path is None:
        default = root / DEFAULT_ALLOW_LIST
        return load_allow_list(default, str(DEFAULT_ALLOW_LIST)) if default.exists() else ()
    full = path if path.is_absolute() else root / path
    if not full.exists():
        raise UserError(
            f"--allow-list {path}",
            "no such file",
            f"looked for {full}; a relative path is relative to --root",
        )
    if not full.is_file():
        raise UserError(f"--allow-list {path}", "not a file", "name a YAML file")
    return load_allow_list(full, str(path))


def _run(root: Path, allow_list: Path | None) -> tuple[HygieneReport, list[Answer], list[Any]]:
    templates = _load_templates(root)
    entries = _allow_list(root, allow_list)
    report = scan_templates(templates, entries)
    boot = templates.get(f"launch/{bootstrap.NAME}.yaml")
    if boot is None:
        raise UserError(f"launch/{bootstrap.NAME}.yaml", "missing", "run `studio-factory build`")
    answers = audit_bootstrap(boot)
    proofs = run_all(AuditInputs(templates, root))
    return report, answers, proofs


def _print_human(
    report: HygieneReport, answers: list[Answer], proofs: list[ProofResult], limit: int
) -> None:
    console = make_console()
    for finding in report.findings:
        console.print(
            f"policy: {finding.template} {finding.resource} {finding.sid}: "
            f"{finding.finding}: {finding.message}",
            markup=False,
        )
    for entry in report.unused:
        console.print(f"allow-list entry matches nothing (remove it): {entry}", markup=False)
    table = Table(title="Separation of duties", title_justify="left")
    for column in ("", "persona", "promise", "decision"):
        table.add_column(column)
    for answer in answers:
        table.add_row(
            "ok" if answer.ok else "FAIL",
            answer.question.persona,
            answer.question.text,
            answer.reason,
        )
    console.print(table)
    derived = Table(title="Requirements derived from AWS data", title_justify="left")
    for column in ("", "proof", "promise", "checked", "failures"):
        derived.add_column(column, justify="right" if column in ("checked", "failures") else "left")
    for proof in proofs:
        derived.add_row(
            "ok" if proof.ok else "FAIL",
            proof.proof_id,
            proof.title,
            str(proof.checked),
            str(len(proof.failures)),
        )
    console.print(derived)
    for proof in proofs:
        shown = proof.failures if limit <= 0 else proof.failures[:limit]
        for failure in shown:
            console.print(f"FAIL {proof.proof_id}: {failure.line()}", markup=False, soft_wrap=True)
        if len(shown) < len(proof.failures):
            hidden = len(proof.failures) - len(shown)
            console.print(f"FAIL {proof.proof_id}: ... and {hidden} more (--max-failures 0)")
    console.print(
        f"{len(report.suppressed)} finding(s) accepted by the allow-list, "
        f"{len(report.findings)} open"
    )


def _as_json(
    report: HygieneReport, answers: list[Answer], proofs: list[ProofResult]
) -> Mapping[str, Any]:
    """The documented ``--output json`` shape (README, "Proofs")."""
    return {
        "ok": _ok(report, answers, proofs),
        "hygiene": {
            "open": [vars(f) for f in report.findings],
            "accepted": len(report.suppressed),
            "unused_allow_list_entries": [str(e) for e in report.unused],
        },
        "questions": [
            {
                "persona": a.question.persona,
                "promise": a.question.text,
                "ok": a.ok,
                "decision": a.reason,
            }
            for a in answers
        ],
        "proofs": [
            {
                "id": p.proof_id,
                "promise": p.title,
                "ok": p.ok,
                "checked": p.checked,
                "failures": [vars(f) for f in p.failures],
            }
            for p in proofs
        ],
    }


def _ok(report: HygieneReport, answers: list[Answer], proofs: list[ProofResult]) -> bool:
    return (
        not report.findings
        and not report.unused
        and all(a.ok for a in answers)
        and all(p.ok for p in proofs)
    )


@click.command("audit")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project root holding templates/ and launch/.",
)
@click.option(
    "--allow-list",
    "allow_list",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Accepted hygiene findings, each with a reason (relative to --root). "
    f"Default: {DEFAULT_ALLOW_LIST} if present.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one document on stdout (shape in the README).",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=25,
    show_default=True,
    help="Failures printed per proof (0: all).",
)
def command(root: Path, allow_list: Path | None, output: str, max_failures: int) -> None:
    """Prove the personas' duties and limits offline, from AWS's own data; scan every policy.

    Exit 0 when every proof holds, 1 otherwise.
    """
    report, answers, proofs = _run(root, allow_list)
    if output == "json":
        click.echo(json.dumps(_as_json(report, answers, proofs), indent=2, sort_keys=True))
    else:
        _print_human(report, answers, proofs, max_failures)
    sys.exit(0 if _ok(report, answers, proofs) else 1)
