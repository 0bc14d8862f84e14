"""Checkov (static security analysis) over every emitted CloudFormation template.

checkov lives in its own virtualenv, ``.venv-checkov`` (``make checkov-env``, pinned by
``requirements/checkov.txt``): checkov 3.x pins boto3/botocore exactly and would downgrade the
project's own. The scan runs once per module as a subprocess and every test reads its JSON report.

Two checkov behaviours shape how the scan is run:

* checkov evaluates ``Conditions`` with the parameters' ``Default`` values and silently drops every
  resource whose ``Condition`` comes out false, so a resource the product creates only on request
  (a per-person role, a personal security group, a private space) would never be checked. The
  scan therefore reads a copy of the templates in which each resource-level ``Condition:`` line is
  commented out. Line numbers and repo-relative paths stay those of the real files. Properties
  chosen by ``Fn::If`` are still checked only on the branch the defaults select.
* several ``--directory`` options make checkov print one JSON document per directory and re-scan
  the first directory's files under the later ones; the copy has a single root instead.

A finding is fixed in the generator, or suppressed on the resource with a reason, which checkov
reads from ``Metadata: {checkov: {skip: [{id: CKV_AWS_xx, comment: "why"}]}}``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.shared import once_per_run

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SKIP_ENV = "STUDIO_FACTORY_SKIP_CHECKOV"
PRODUCT_DIR = "templates"
TEMPLATE_DIRS = (PRODUCT_DIR, "launch")
TIMEOUT_S = 600
# What checkov reports for a skip that has no usable ``comment``.
NO_REASON = {"", "no comment provided"}
# checkov options that could also arrive through the environment or a stray config file.
_ENV_PREFIXES = ("CKV_", "BC_", "PRISMA_", "CHECKOV_")
_ENV_NAMES = {"LOG_LEVEL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
_CONDITION_LINE = re.compile(r"(?P<indent>[ \t]*)Condition:[ \t]*\S+[ \t]*(?:#.*)?\n?")


@dataclass(frozen=True)
class Scan:
    """The parsed checkov report, plus what the test expected it to cover."""

    command: list[str]
    duration_s: float
    reports: list[dict[str, Any]]
    templates: list[str]  # repo-relative paths of every template handed to checkov
    expected_resources: int

    def records(self, kind: str) -> list[Any]:
        """``passed_checks``, ``failed_checks``, ``skipped_checks`` or ``parsing_errors``."""
        return [rec for rep in self.reports for rec in rep.get("results", {}).get(kind, [])]

    def parsing_errors(self) -> list[Any]:
        return self.records("parsing_errors")

    def resource_count(self) -> int:
        return sum(int(rep.get("summary", {}).get("resource_count", 0)) for rep in self.reports)


def _template_files() -> list[Path]:
    files: list[Path] = []
    for folder in TEMPLATE_DIRS:
        files += sorted((ROOT / folder).glob("*.yaml"))
    return files


def _resources_node(text: str) -> yaml.MappingNode | None:
    """The ``Resources`` mapping node, composed without constructing CloudFormation tags."""
    document = yaml.compose(text)
    if not isinstance(document, yaml.MappingNode):
        return None
    for key, value in document.value:
        if key.value == "Resources" and isinstance(value, yaml.MappingNode):
            return value
    return None


def unconditional_copy(text: str) -> tuple[str, int]:
    """Comment out each resource-level ``Condition:`` line, keeping every line where it was.

    Returns the new text and the number of resources in the template.
    """
    resources = _resources_node(text)
    if resources is None:
        return text, 0
    lines = text.splitlines(keepends=True)
    for _, resource in resources.value:
        if not isinstance(resource, yaml.MappingNode):
            continue
        for key, _value in resource.value:
            if key.value != "Condition":
                continue
            number = key.start_mark.line
            match = _CONDITION_LINE.fullmatch(lines[number])
            assert match, f"line {number + 1}: expected a block-style `Condition: Name` line"
            indent = match["indent"]
            lines[number] = f"{indent}# {lines[number][len(indent) :]}"
    return "".join(lines), len(resources.value)


def _checkov_env(home: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_ENV_PREFIXES) and name not in _ENV_NAMES
    }
    env["HOME"] = str(home)  # no ~/.checkov.yaml
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"  # no PyPI call for the banner
    return env


def _describe(rec: dict[str, Any]) -> str:
    first, last = rec.get("file_line_range") or ["?", "?"]
    path = str(rec.get("file_path", "?")).lstrip("/")
    return f"{rec.get('check_id')} {rec.get('resource')} {path}:{first}-{last}"


def _suppress_comment(rec: dict[str, Any]) -> str:
    result = rec.get("check_result") or {}
    return str(result.get("suppress_comment") or rec.get("suppress_comment") or "").strip()


class CheckovUnavailable(Exception):
    """checkov is missing, crashed, timed out or printed no usable report."""


def run_checkov(work: Path) -> Scan:
    """Scan an unconditional copy of every template, laid out under ``work``, with checkov."""
    if not CHECKOV.is_file():
        raise CheckovUnavailable(
            f"checkov is not installed at {CHECKOV.relative_to(ROOT)}: run `make checkov-env` "
            f"(or set {SKIP_ENV}=1 to skip the checkov scan)"
        )
    files = _template_files()
    if not files:
        raise CheckovUnavailable(f"no templates found under {', '.join(TEMPLATE_DIRS)}")
    scan_root, home = work / "scan", work / "home"
    home.mkdir(parents=True)
    expected_resources = 0
    for src in files:
        text, resources = unconditional_copy(src.read_text(encoding="utf-8"))
        expected_resources += resources
        dst = scan_root / src.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(text, encoding="utf-8")

    command = [
        str(CHECKOV),
        "--directory",
        str(scan_root),
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--skip-download",  # no Prisma Cloud / Bridgecrew calls
    ]
    shown = " ".join(command)
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            command,
            cwd=scan_root,
            env=_checkov_env(home),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckovUnavailable(f"checkov did not finish within {TIMEOUT_S}s: {shown}") from exc
    duration_s = time.perf_counter() - started

    # Exit status 1 only means "some check failed"; anything else is checkov itself failing.
    if proc.returncode not in (0, 1):
        raise CheckovUnavailable(
            f"checkov exited {proc.returncode}: {shown}\n{proc.stderr[-4000:]}"
        )
    try:
        payload = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CheckovUnavailable(
            f"checkov printed no single JSON document ({exc}): {shown}\n"
            f"stdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[-2000:]}"
        ) from exc
    # One framework gives one report object, several give a list of them.
    documents = payload if isinstance(payload, list) else [payload]
    return Scan(
        command=command,
        duration_s=duration_s,
        reports=[doc for doc in documents if isinstance(doc, dict)],
        templates=[str(src.relative_to(ROOT)) for src in files],
        expected_resources=expected_resources,
    )


def scan_key() -> str | None:
    """What the report depends on: checkov's version (its pinned environment), the exact text
    handed to it for each template and this module (the command, the copy). None when checkov
    is not installed (nothing is cached then)."""
    versions = sorted(CHECKOV.parents[1].glob("lib/python*/site-packages/checkov/version.py"))
    if not CHECKOV.is_file() or not versions:
        return None
    digest = hashlib.sha256()
    for part in (versions[0], ROOT / "requirements" / "checkov.txt", Path(__file__)):
        digest.update(part.read_bytes() if part.is_file() else b"-")
    for src in _template_files():
        digest.update(str(src.relative_to(ROOT)).encode())
        digest.update(unconditional_copy(src.read_text(encoding="utf-8"))[0].encode())
    return digest.hexdigest()


def cached_scan(config: pytest.Config, work: Path) -> Scan | str:
    """:func:`run_checkov`, or its report for the same key (:func:`scan_key`) from an earlier
    run, kept in pytest's cache (``.pytest_cache``): checkov is deterministic for one version
    and one input, and its scan costs ~17 s of CPU. A failed scan is not cached."""
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    key = scan_key() if cache is not None else None
    entry = f"studio-factory/checkov/{key}"
    if key is not None:
        stored = cache.get(entry, None)
        if isinstance(stored, dict):
            return Scan(**stored)
    try:
        scan = run_checkov(work)
    except CheckovUnavailable as exc:
        return str(exc)
    if key is not None:
        cache.set(entry, dataclasses.asdict(scan))
    return scan


@pytest.fixture(scope="module")
def checkov_scan(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Scan | str:
    """The scan, run once for the test run (xdist workers share it: tests.support.shared) or
    taken from an earlier run's cache for the same checkov and templates, or why there is none
    (each test then fails)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: checkov scan skipped")

    def scan(directory: Path) -> Scan | str:
        return cached_scan(pytestconfig, directory)

    return once_per_run(tmp_path_factory, "checkov", scan)


def _scan(outcome: Scan | str) -> Scan:
    if isinstance(outcome, str):
        pytest.fail(outcome, pytrace=False)
    return outcome


def test_unconditional_copy_keeps_lines_and_drops_only_resource_conditions() -> None:
    text = (
        "Conditions:\n"
        "  Make: !Equals [!Ref 'Flag', 'true']\n"
        "Resources:\n"
        "  Thing:\n"
        "    Condition: Make\n"
        "    Properties:\n"
        "      Condition: not-a-resource-attribute\n"
        "    Type: AWS::SNS::Topic\n"
        "  Other:\n"
        "    Type: AWS::SNS::Topic\n"
        "Outputs:\n"
        "  Arn:\n"
        "    Condition: Make\n"
        "    Value: !Ref 'Thing'\n"
    )
    copy, resources = unconditional_copy(text)
    assert resources == 2
    assert len(copy.splitlines()) == len(text.splitlines())
    before = text.splitlines()
    changed = [
        (number, line)
        for number, line in enumerate(copy.splitlines(), 1)
        if line != before[number - 1]
    ]
    assert changed == [(5, "    # Condition: Make")]


def test_checkov_scanned_every_template(checkov_scan: Scan | str) -> None:
    """A checkov that silently parses nothing (or drops resources) must not pass."""
    scan = _scan(checkov_scan)
    assert scan.reports, f"checkov returned no report: {' '.join(scan.command)}"
    assert not scan.parsing_errors(), f"checkov could not parse: {scan.parsing_errors()}"
    assert scan.resource_count() > 0, "checkov counted no resource at all"
    assert scan.resource_count() == scan.expected_resources, (
        f"checkov counted {scan.resource_count()} resources, the templates hold "
        f"{scan.expected_resources}: some template or resource was not scanned"
    )
    passed = scan.records("passed_checks")
    passed_files = {str(rec.get("file_path", "")).lstrip("/") for rec in passed}
    products = [path for path in scan.templates if path.startswith(f"{PRODUCT_DIR}/")]
    assert products, f"no product template under {PRODUCT_DIR}/"
    missing = [
        path
        for path in products
        if path not in passed_files and not _types(path) <= TYPES_CHECKOV_HAS_NO_POLICY_FOR
    ]
    assert not missing, f"no passed checkov check in {missing}: checkov did not really scan them"


#: Resource types no checkov 3.x policy applies to: a template made only of these passes no
#: check, yet was scanned (the resource count above proves it).
TYPES_CHECKOV_HAS_NO_POLICY_FOR = frozenset({"AWS::SageMaker::Space"})


def _types(path: str) -> set[str]:
    from factory.cfn_yaml import load_template

    template = load_template((ROOT / path).read_text(encoding="utf-8"), name=path)
    return {str(r.get("Type")) for r in template.get("Resources", {}).values()}


def test_no_failed_checkov_checks(checkov_scan: Scan | str) -> None:
    failed = _scan(checkov_scan).records("failed_checks")
    if failed:
        lines = sorted(f"  {_describe(rec)}: {rec.get('check_name')}" for rec in failed)
        pytest.fail(
            f"{len(failed)} failed checkov check(s) (check resource file:lines: name):\n"
            + "\n".join(lines)
            + "\nFix the resource in its generator, or suppress it on the resource with a reason: "
            "Metadata: {checkov: {skip: [{id: CKV_AWS_xx, comment: why}]}}",
            pytrace=False,
        )


def test_every_checkov_suppression_has_a_reason(checkov_scan: Scan | str) -> None:
    unexplained = sorted(
        f"  {_describe(rec)}: {rec.get('check_name')}"
        for rec in _scan(checkov_scan).records("skipped_checks")
        if _suppress_comment(rec).lower() in NO_REASON
    )
    if unexplained:
        pytest.fail(
            "checkov suppressions without a reason (give each skip a non-empty `comment`):\n"
            + "\n".join(unexplained),
            pytrace=False,
        )
