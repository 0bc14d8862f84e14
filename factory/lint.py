"""Validate emitted templates in-process with cfn-lint's Python API.

Templates are linted in parallel: on a 2-core machine the slowest template (the user
profile, whose per-tool deny conditions make cfn-lint explore many condition scenarios)
dominates, so two forked workers that inherit the already-imported cfn-lint halve the
wall time compared with a loop.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

#: Rules switched off for every template, each with the reason it does not apply.
#: Empty on purpose: a new entry needs a written reason.
IGNORED_RULES: dict[str, str] = {}

DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1",)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    rule: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.rule.startswith("E")

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.rule} {self.message}"


def lint_text(path: str, text: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(regions=list(regions), ignore_checks=sorted(IGNORED_RULES))
    return [
        Finding(path, m.linenumber, m.columnnumber, m.rule.id, m.message)
        for m in lint(text, config=config)
    ]


def _lint_one(item: tuple[str, str, tuple[str, ...]]) -> list[Finding]:
    return lint_text(*item)


def lint_many(
    items: Sequence[tuple[str, str]], regions: Sequence[str] = DEFAULT_REGIONS, jobs: int = 0
) -> list[Finding]:
    """Lint ``(path, text)`` pairs; ``jobs=0`` uses one worker per core (max 4)."""
    import cfnlint.api  # noqa: F401  (imported before forking so workers inherit it)

    work = [(path, text, tuple(regions)) for path, text in items]
    jobs = jobs or min(len(work), os.cpu_count() or 1, 4)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results = [_lint_one(item) for item in work]
    else:
        # Longest first, so the slowest template starts immediately.
        order = sorted(range(len(work)), key=lambda i: -len(work[i][1]))
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            by_index = dict(zip(order, pool.map(_lint_one, [work[i] for i in order]), strict=True))
        results = [by_index[i] for i in range(len(work))]
    return [finding for findings in results for finding in findings]
