"""``studio-factory audit``: policy hygiene, separation-of-duties questions, and the proofs
derived from AWS's own data (``factory.audit.derived``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from factory.audit.derived import AuditInputs, ProofResult, run_all
from factory.audit.evaluator import AllowListError, load_allow_list, scan_templates
from factory.audit.hygiene import HygieneReport
from factory.audit.proofs import Answer, audit_bootstrap
from factory.launch import bootstrap

DEFAULT_ALLOW_LIST = Path("policy-allowlist.yaml")


class _UserError(Exception):
    """A mistake in the input: reported as ``error: <where>: <what>``, exit 1."""


def _load_templates(root: Path) -> dict[str, dict]:
    import cfn_flip

    paths = sorted([*(root / "templates").glob("*.yaml"), *(root / "launch").glob("*.yaml")])
    if not paths:
        raise _UserError(
            f"{root}: no templates in templates/ or launch/; run `studio-factory build`"
        )
    loaded: dict[str, dict] = {}
    for path in paths:
        name = str(path.relative_to(root))
        try:
            template = cfn_flip.load_yaml(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError, OSError) as error:
            raise _UserError(f"{name}: not a readable template ({error}); re-run build") from None
        if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
            raise _UserError(
                f"{name}: not a CloudFormation template; re-run `studio-factory build`"
            )
        loaded[name] = template
    return loaded


def _allow_list(root: Path, path: Path | None) -> tuple:
    if path is None:
        default = root / DEFAULT_ALLOW_LIST
        return load_allow_list(default) if default.exists() else ()
    full = path if path.is_absolute() else root / path
    if not full.is_file():
        raise _UserError(f"--allow-list {path}: no such file")
    try:
        return load_allow_list(full)
    except (AllowListError, ValueError, UnicodeDecodeError) as error:
        raise _UserError(f"{path}: {error}; see policy-allowlist.yaml for the format") from None


def _run(root: Path, allow_list: Path | None) -> tuple[HygieneReport, list[Answer], list[Any]]:
    templates = _load_templates(root)
    report = scan_templates(templates, _allow_list(root, allow_list))
    boot = templates.get(f"launch/{bootstrap.NAME}.yaml")
    if boot is None:
        raise _UserError(f"launch/{bootstrap.NAME}.yaml: missing; run `studio-factory build`")
    answers = audit_bootstrap(boot)
    proofs = run_all(AuditInputs(templates, root))
    return report, answers, proofs


def _print_human(
    report: HygieneReport, answers: list[Answer], proofs: list[ProofResult], limit: int
) -> None:
    console = Console(highlight=False, stderr=False)
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
    try:
        report, answers, proofs = _run(root, allow_list)
    except _UserError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    if output == "json":
        click.echo(json.dumps(_as_json(report, answers, proofs), indent=2, sort_keys=True))
    else:
        _print_human(report, answers, proofs, max_failures)
    sys.exit(0 if _ok(report, answers, proofs) else 1)
