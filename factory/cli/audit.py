"""``studio-factory audit``: policy hygiene of every template + separation-of-duties proofs."""

from __future__ import annotations

import sys
from pathlib import Path

import cfn_flip
import click
from rich.console import Console
from rich.table import Table

from factory.audit.evaluator import load_allow_list, scan_templates
from factory.audit.proofs import audit_bootstrap
from factory.launch import bootstrap


def _templates(root: Path) -> dict[str, dict]:
    paths = sorted([*(root / "templates").glob("*.yaml"), *(root / "launch").glob("*.yaml")])
    return {str(p.relative_to(root)): cfn_flip.load_yaml(p.read_text()) for p in paths}


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
    default=Path("policy-allowlist.yaml"),
    show_default=True,
    help="Accepted hygiene findings, each with a reason (relative to --root).",
)
def command(root: Path, allow_list: Path) -> None:
    """Prove the personas' separation of duties and scan every IAM policy offline."""
    console = Console(highlight=False)
    templates = _templates(root)
    entries = load_allow_list(root / allow_list) if (root / allow_list).exists() else ()
    report = scan_templates(templates, entries)
    failed = False
    for finding in report.findings:
        console.print(
            f"policy: {finding.template} {finding.resource} {finding.sid}: "
            f"{finding.finding}: {finding.message}",
            markup=False,
        )
        failed = True
    for entry in report.unused:
        console.print(f"allow-list entry matches nothing (remove it): {entry}", markup=False)
        failed = True
    boot = templates.get(f"launch/{bootstrap.NAME}.yaml")
    if boot is None:
        console.print("launch/ has no bootstrap template: run `studio-factory build`")
        sys.exit(1)
    table = Table(title="Separation of duties", title_justify="left")
    for column in ("", "persona", "promise", "decision"):
        table.add_column(column)
    for answer in audit_bootstrap(boot):
        table.add_row(
            "ok" if answer.ok else "FAIL",
            answer.question.persona,
            answer.question.text,
            answer.reason,
        )
        failed |= not answer.ok
    console.print(table)
    console.print(
        f"{len(report.suppressed)} finding(s) accepted by the allow-list, "
        f"{len(report.findings)} open"
    )
    sys.exit(1 if failed else 0)
