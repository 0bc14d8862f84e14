"""Account-level templates emitted into ``launch/`` (deployed once per account or StackSet).

Each module exposes ``NAME`` and ``generate(options) -> troposphere.Template`` like the
products; the drain function's source is embedded by :mod:`factory.launch.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from troposphere import Template

Generator = Callable[[dict[str, Any] | None], Template]


def _registry() -> dict[str, Generator]:
    from factory.launch import bootstrap, guardrails

    return {bootstrap.NAME: bootstrap.generate, guardrails.NAME: guardrails.generate}


LAUNCH: dict[str, Generator] = _registry()
