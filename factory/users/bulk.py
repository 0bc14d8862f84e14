"""`users import FILE.csv`: validate the whole file, plan, then provision with bounded
concurrency, continuing past per-person failures (issue 10).

The file is checked as a whole before any provisioning call, and every problem is reported
with its line: invalid names (SageMaker's UserProfileName rule), people listed twice,
generic or shared names (one person, one profile: seed 001), unknown personas. People who
already have a profile are planned as `already present`, so re-running the same file after a
crash or a partial failure provisions only the rest.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.publish.aws import error_code
from factory.users.provision import PERSON, Result, provisioned_name

COLUMNS = ("person", "persona", "email", "team", "cost_center")
OPTIONAL = ("allow_generic",)
#: Names that are not one person: shared, role-like or placeholder accounts. A row may keep
#: one only with `allow_generic` set to `yes` (an explicit, reviewed exception).
GENERIC = re.compile(
    r"^(team|teams|shared|share|admin|administrator|root|test|testing|tester|demo|guest|"
    r"default.*|user\d*|users|service|svc.*|everyone|all|common|sandbox|temp|tmp)$",
    re.IGNORECASE,
)
DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class Row:
    line: int
    person: str
    persona: str
    email: str = ""
    team: str = ""
    cost_center: str = ""
    allow_generic: bool = False

    @property
    def tags(self) -> dict[str, str]:
        return {k: v for k, v in (("Team", self.team), ("CostCenter", self.cost_center)) if v}


class ImportProblems(ValueError):
    """Every problem of the file, one per line: `<file>:<line>: <what>; <what is allowed>`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def read_rows(path: Path) -> list[Row]:
    """Parse the CSV (UTF-8, a header row). Raises ImportProblems listing every problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        raise ImportProblems([problem]) from None
    except OSError as exc:
        raise ImportProblems([f"{path}: cannot read ({exc.strerror or exc})"]) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("person", "persona") if c not in header]
    unknown = [h for h in header if h not in (*COLUMNS, *OPTIONAL)]
    problems = []
    if missing:
        problems.append(
            f"{path}:1: header: missing column(s) {', '.join(missing)}; "
            f"columns: {', '.join(COLUMNS)} (+ optional {', '.join(OPTIONAL)})"
        )
    if unknown:
        problems.append(
            f"{path}:1: header: unknown column(s) {', '.join(unknown)}; "
            f"allowed: {', '.join((*COLUMNS, *OPTIONAL))}"
        )
    if problems:
        raise ImportProblems(problems)
    rows = []
    for record in reader:
        values = {k.strip(): (v or "").strip() for k, v in record.items() if k}
        if not any(values.values()):
            continue  # blank line
        rows.append(
            Row(
                line=reader.line_num,
                person=values.get("person", ""),
                persona=values.get("persona", ""),
                email=values.get("email", ""),
                team=values.get("team", ""),
                cost_center=values.get("cost_center", ""),
                allow_generic=values.get("allow_generic", "").lower() == "yes",
            )
        )
    return rows


def validate(path: Path, rows: list[Row], personas: Mapping[str, Any]) -> None:
    """Every problem at once, with its line; raises ImportProblems."""
    problems: list[str] = []
    first: dict[str, int] = {}
    for row in rows:
        where = f"{path}:{row.line}"
        if not PERSON.fullmatch(row.person):
            problems.append(
                f"{where}: person {row.person!r}: not a valid SageMaker user profile name; "
                "allowed: letters, digits and hyphens, starting with a letter or digit, at "
                "most 63 characters"
            )
        key = row.person.lower()
        if key in first:
            problems.append(
                f"{where}: person {row.person!r}: listed twice (first on line {first[key]}); "
                "one person, one profile"
            )
        else:
            first[key] = row.line
        if GENERIC.fullmatch(row.person) and not row.allow_generic:
            problems.append(
                f"{where}: person {row.person!r}: a generic or shared name; one person, one "
                "profile (name the person, or set allow_generic to yes on this row)"
            )
        if row.persona not in personas:
            close = difflib.get_close_matches(row.persona, list(personas), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}: persona {row.persona!r}: unknown{hint}; allowed: "
                f"{', '.join(sorted(personas))}"
            )
    if problems:
        raise ImportProblems(problems)


@dataclass(frozen=True)
class Planned:
    row: Row
    action: str  # create | already present


def plan(rows: list[Row], present: set[str]) -> list[Planned]:
    return [
        Planned(row, "already present" if provisioned_name(row.person) in present else "create")
        for row in rows
    ]


def apply(
    planned: list[Planned],
    provision_one: Callable[[Row], Result],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Provision every `create` with at most `concurrency` in flight; a failure is recorded
    and the others go on (botocore's standard retry mode retries throttling)."""
    results: dict[int, Result] = {}
    for index, item in enumerate(planned):
        if item.action != "create":
            results[index] = Result(item.row.person, provisioned_name(item.row.person), item.action)

    def run(index: int, row: Row) -> None:
        try:
            result = provision_one(row)
        except Exception as exc:  # one person's failure must not stop the others
            code = error_code(exc) or type(exc).__name__
            result = Result(row.person, provisioned_name(row.person), "failed", f"{code}: {exc}")
        results[index] = result
        if on_done is not None:
            on_done(result)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for index, item in enumerate(planned):
            if item.action == "create":
                pool.submit(run, index, item.row)
    return [results[i] for i in range(len(planned))]
