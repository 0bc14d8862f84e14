"""The shape every derived proof shares: inputs, failures and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRODUCT_DIR = "templates"
LAUNCH_DIR = "launch"
BOOTSTRAP = "launch/studio-catalog-bootstrap.yaml"


@dataclass(frozen=True)
class AuditInputs:
    """What a proof may read: parsed templates keyed by path relative to the project root
    (``templates/studio-domain.yaml``, ``launch/studio-catalog-bootstrap.yaml``)."""

    templates: Mapping[str, Mapping[str, Any]]
    root: Path = field(default_factory=Path)

    @property
    def products(self) -> dict[str, Mapping[str, Any]]:
        return {k: v for k, v in self.templates.items() if k.startswith(PRODUCT_DIR + "/")}

    @property
    def bootstrap(self) -> Mapping[str, Any]:
        try:
            return self.templates[BOOTSTRAP]
        except KeyError:
            raise LookupError(f"{BOOTSTRAP} is missing: run `studio-factory build`") from None


@dataclass(frozen=True)
class Failure:
    """One requirement not met. ``source`` says where the requirement comes from."""

    template: str
    resource: str
    action: str
    arn: str
    source: str
    reason: str = ""

    def line(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return (
            f"{self.template} {self.resource}: {self.action} on {self.arn}{why} "
            f"(required by {self.source})"
        )


@dataclass(frozen=True)
class ProofResult:
    proof_id: str
    title: str
    checked: int
    failures: tuple[Failure, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures
