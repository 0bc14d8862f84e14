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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.naming import domain_ssm_parameter, team_ssm_parameter
from factory.portfolio.personas import Persona, provisioning_parameters
from factory.products.user_profile import DOMAIN_LINKS
from factory.users.provision import PERSON, provisioned_name
from factory.users.steps import Launch

COLUMNS = ("person", "persona", "email", "team", "cost_center")
OPTIONAL = ("allow_generic", "sso_user", "domain", "team_role")
#: Tag naming the domain a profile was launched into (create-only: it never changes).
DOMAIN_TAG = "studio-factory:domain"
#: SageMaker DomainName (botocore model): the domain product's name, part of its SSM paths.
DOMAIN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
#: The team-role product's TeamName rule (factory/products/team_role.py).
TEAM_ROLE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
#: Tag a launch carries when the row gives an email: who to ask about a profile's cost
#: (seed: per-person audit and cost attribution). Set at launch only: updates send no tags.
EMAIL_TAG = "studio-factory:email"
#: A plausible address (not RFC 5322): one @, no spaces, a dot in the domain.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: IAM Identity Center UserName as the product's SsoUserName parameter accepts it.
SSO_USER = re.compile(r"^[\w+=,.@-]{1,128}$")
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
    sso_user: str = ""
    domain: str = ""  # the domain product's name; "" = the user-profile product's default
    team_role: str = ""  # a studio-team-role launch's TeamName; "" = the domain's team role

    @property
    def tags(self) -> dict[str, str]:
        pairs = (
            ("Team", self.team),
            ("CostCenter", self.cost_center),
            (EMAIL_TAG, self.email),
            (DOMAIN_TAG, self.domain),
        )
        return {k: v for k, v in pairs if v}


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
                sso_user=values.get("sso_user", ""),
                domain=values.get("domain", ""),
                team_role=values.get("team_role", ""),
            )
        )
    return rows


def validate(path: Path, rows: list[Row], personas: Mapping[str, Any]) -> None:
    """Every problem at once, with its line; raises ImportProblems."""
    problems: list[str] = []
    first: dict[str, int] = {}
    for row in rows:
        where = f"{path}:{row.line}"
        problems += row_problems(where, row, personas)
        key = row.person.lower()  # SageMaker: "This value is not case sensitive"
        if key in first:
            problems.append(
                f"{where}: person {row.person!r}: listed twice (first on line {first[key]}); "
                "one person, one profile"
            )
        else:
            first[key] = row.line
    if problems:
        raise ImportProblems(problems)


def validate_row(where: str, row: Row, personas: Mapping[str, Any]) -> None:
    problems = row_problems(where, row, personas)
    if problems:
        raise ImportProblems(problems)


def row_problems(where: str, row: Row, personas: Mapping[str, Any]) -> list[str]:
    """What is wrong with one person's values (SageMaker's name rule, one person one
    profile, the email and SSO user formats, a known persona)."""
    problems = []
    where = f"{where}: " if where else ""
    if not PERSON.fullmatch(row.person):
        problems.append(
            f"{where}person {row.person!r}: not a valid SageMaker user profile name; "
            "allowed: letters, digits and hyphens, starting with a letter or digit, at "
            "most 63 characters"
        )
    if GENERIC.fullmatch(row.person) and not row.allow_generic:
        problems.append(
            f"{where}person {row.person!r}: a generic or shared name; one person, one "
            "profile (name the person, or set allow_generic to yes on this row)"
        )
    if row.email and not EMAIL.fullmatch(row.email):
        problems.append(
            f"{where}email {row.email!r}: not an email address; allowed: name@domain, or empty"
        )
    if row.sso_user and not SSO_USER.fullmatch(row.sso_user):
        problems.append(
            f"{where}sso_user {row.sso_user!r}: not an IAM Identity Center user name; "
            "allowed: 1-128 letters, digits and + = , . @ _ -"
        )
    if row.domain and not DOMAIN.fullmatch(row.domain):
        problems.append(
            f"{where}domain {row.domain!r}: not a SageMaker domain name; allowed: letters, "
            "digits and hyphens, starting with a letter or digit, at most 63 characters"
        )
    if row.team_role and not TEAM_ROLE.fullmatch(row.team_role):
        problems.append(
            f"{where}team_role {row.team_role!r}: not a team name; allowed: the TeamName of a "
            "studio-team-role launch (1-32 lowercase letters, digits and hyphens)"
        )
    known = personas.get(row.persona)
    if row.team_role and known is not None and known.execution_role_mode != "Team":
        problems.append(
            f"{where}team_role {row.team_role!r}: persona {row.persona!r} runs as a "
            f"{known.execution_role_mode} role; a team role applies to Team personas only"
        )
    if row.persona not in personas:
        close = difflib.get_close_matches(row.persona, list(personas), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            f"{where}persona {row.persona!r}: unknown{hint}; allowed: {', '.join(sorted(personas))}"
        )
    return problems


@dataclass(frozen=True)
class Planned:
    row: Row
    action: str  # create | already present | broken
    detail: str = ""


def plan(rows: list[Row], present: Mapping[str, Mapping[str, Any]]) -> list[Planned]:
    """`present`: the listing by name. A product in ERROR (its launch failed) keeps its name
    until terminated (Service Catalog User Guide, "Viewing Provisioned Product Information"):
    it is not the person's profile, and launching again would be refused, so it is reported."""
    return [_planned(row, present.get(provisioned_name(row.person))) for row in rows]


def _planned(row: Row, item: Mapping[str, Any] | None) -> Planned:
    if item is None:
        return Planned(row, "create")
    if item.get("Status") == "ERROR":
        why = str(item.get("StatusMessage", "")) or "its launch failed"
        fix = f"remove it (users remove {row.person} --yes), then import again"
        return Planned(row, "broken", f"provisioned product in ERROR ({why}); {fix}")
    return Planned(row, "already present")


def launch_step(row: Row, persona: Persona, extra_tags: Mapping[str, str] | None = None) -> Launch:
    """The launch of one row: the persona's parameters, the person's identity, the tags."""
    parameters = provisioning_parameters(persona, row.person)
    if row.sso_user:
        parameters.append({"Key": "SsoUserName", "Value": row.sso_user})
    if row.team_role:
        # The team-role product publishes its ARN there; the profile's TeamExecutionRoleArn
        # parameter is SSM-typed, so the launch reads the team's role (ExecutionRoleMode Team).
        parameters.append(
            {"Key": "TeamExecutionRoleArn", "Value": team_ssm_parameter(row.team_role)}
        )
    if row.domain:
        parameters += [
            {"Key": name, "Value": domain_ssm_parameter(key, row.domain)}
            for name, (_, key) in DOMAIN_LINKS.items()
        ]
    return Launch(
        person=row.person,
        persona=row.persona,
        parameters=tuple((p["Key"], p["Value"]) for p in parameters),
        tags=tuple(sorted({**row.tags, **(extra_tags or {})}.items())),
    )
