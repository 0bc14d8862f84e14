"""Spell IAM actions by name, checked against awacs' generated action catalogue.

awacs ships one module per service with a constant per action (generated from the AWS
service authorization reference). Looking names up there, rather than building free
strings, turns a typo into an import-time error instead of a silently useless policy.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from awacs.aws import Action

_MODULES = {"lambda": "awslambda", "cloudformation": "cloudformation"}


@cache
def _module(service: str) -> ModuleType:
    return importlib.import_module(f"awacs.{_MODULES.get(service, service.replace('-', '_'))}")


def actions(service: str, *names: str) -> list[Action]:
    """``actions("sagemaker", "CreateApp")`` → ``[Action("sagemaker", "CreateApp")]``."""
    module = _module(service)
    unknown = [n for n in names if not hasattr(module, n)]
    if unknown:
        raise ValueError(f"unknown {service} IAM action(s): {', '.join(unknown)}")
    return [Action(service, name) for name in names]
