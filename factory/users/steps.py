"""The changes `users` commands plan and apply: one small frozen dataclass per kind, with
`describe()` and `apply(ctx)` (DESIGN: plan, then apply), run by :mod:`factory.users.runner`.

`apply` makes one Service Catalog call with botocore's retries off (the runner retries) and
returns a :class:`Result` whose status is `launched` / `updating` / `removing` with the record
id; :mod:`factory.users.watch` then follows the records to their end.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.client import BaseClient

from factory.aws import error_code
from factory.users import provision
from factory.users.provision import Result, Target, provisioned_name


@dataclass(frozen=True)
class Context:
    sc: BaseClient  # one attempt per call: the runner retries
    target: Target | None  # None: terminating needs no product version


@dataclass(frozen=True)
class Launch:
    person: str
    persona: str
    parameters: tuple[tuple[str, str], ...]
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return provisioned_name(self.person)

    def describe(self) -> str:
        return f"create {self.name} ({self.persona})"

    def apply(self, ctx: Context) -> Result:
        parameters = [{"Key": k, "Value": v} for k, v in self.parameters]
        assert ctx.target is not None
        try:
            record = provision.launch(ctx.sc, ctx.target, self.person, parameters, dict(self.tags))
        except Exception as exc:
            if error_code(exc) != "DuplicateResourceException":
                raise
            # Launched meanwhile (another admin, or a retried call whose first attempt went
            # through after its token expired): the state check wins, nothing is launched.
            return Result(self.person, self.name, "already present", "name taken")
        return Result(self.person, self.name, "launched", record_id=record)


@dataclass(frozen=True)
class Update:
    person: str
    pp_id: str
    from_version: str
    to_version: str
    from_persona: str
    to_persona: str
    parameters: tuple[tuple[str, str], ...]
    #: The product's LastRecordId when planned: part of the UpdateToken, so retries within a
    #: run replay one update, and a re-run after a failed update makes a new attempt instead
    #: of replaying the failed record (API reference: same token, same response).
    last_record: str = ""

    @property
    def name(self) -> str:
        return provisioned_name(self.person)

    def changes(self) -> list[str]:
        found = []
        if self.from_version != self.to_version:
            found.append(f"version {self.from_version or '?'} -> {self.to_version}")
        if self.from_persona != self.to_persona:
            found.append(f"persona {self.from_persona or '(unknown)'} -> {self.to_persona}")
        return found

    def describe(self) -> str:
        return f"update {self.name}: {', '.join(self.changes()) or 'parameters'}"

    def apply(self, ctx: Context) -> Result:
        parameters = [{"Key": k, "Value": v} for k, v in self.parameters]
        assert ctx.target is not None
        record = provision.update(ctx.sc, ctx.target, self.pp_id, parameters, self.last_record)
        return Result(self.person, self.name, "updating", record_id=record)


@dataclass(frozen=True)
class Remove:
    person: str
    pp_id: str
    last_record: str = ""  # as Update.last_record: a re-run after a failed termination retries

    @property
    def name(self) -> str:
        return provisioned_name(self.person)

    def describe(self) -> str:
        return f"remove {self.name} (apps and spaces are drained first)"

    def apply(self, ctx: Context) -> Result:
        try:
            record = provision.terminate(ctx.sc, self.pp_id, self.last_record)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return Result(self.person, self.name, "absent", "already terminated")
        return Result(self.person, self.name, "removing", record_id=record)


Step = Launch | Update | Remove


def failed(step: Step, exc: BaseException) -> Result:
    code = error_code(exc) if isinstance(exc, Exception) else ""
    return Result(step.person, step.name, "failed", f"{code or type(exc).__name__}: {exc}")
