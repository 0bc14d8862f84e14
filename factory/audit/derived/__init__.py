"""Proofs whose requirements are derived from AWS's machine-readable data, not from memory.

Each proof module in this package exposes ``ORDER`` (an int: where the audit prints it),
``PROOF_ID``, ``TITLE`` and ``check(inputs: AuditInputs) -> ProofResult``; modules whose
name starts with ``_`` (and ``base``) are helpers. ``studio-factory audit`` discovers and
runs every proof module, so adding a proof is adding a file. A failure names the template,
the resource, the action, the ARN and the source of the requirement (registry schema,
Service Authorization Reference, guide), so a reader can check it against AWS's own text.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from factory.audit.derived.base import AuditInputs, Failure, ProofResult

__all__ = ["AuditInputs", "Failure", "ProofResult", "proof_modules", "run_all"]


def proof_modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name != "base"
    ]
    modules = [importlib.import_module(f"{__name__}.{name}") for name in names]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def run_all(inputs: AuditInputs) -> list[ProofResult]:
    return [module.check(inputs) for module in proof_modules()]
