"""Proofs whose requirements are derived from AWS's machine-readable data, not from memory.

Each proof module in this package exposes ``PROOF_ID``, ``TITLE`` and
``check(inputs: AuditInputs) -> ProofResult``. ``studio-factory audit`` runs every module
listed in :data:`MODULES`, in that order. A failure names the template, the resource, the
action, the ARN and the source of the requirement (registry schema, Service Authorization
Reference, guide), so a reader can check the requirement against AWS's own text.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from factory.audit.derived.base import AuditInputs, Failure, ProofResult

__all__ = ["MODULES", "AuditInputs", "Failure", "ProofResult", "proof_modules", "run_all"]

#: Proof modules, in the order the audit prints them. Helpers append their module here.
MODULES: tuple[str, ...] = ()


def proof_modules() -> Iterator[ModuleType]:
    for name in MODULES:
        yield importlib.import_module(f"factory.audit.derived.{name}")


def run_all(inputs: AuditInputs) -> list[ProofResult]:
    return [module.check(inputs) for module in proof_modules()]
