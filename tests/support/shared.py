"""A value computed once per test run, even when pytest-xdist spreads a module's tests over
several workers (each worker runs its own module-scoped fixtures: without this, an expensive
module fixture such as checkov's scan ran once per worker given one of the module's tests).

The first worker to ask computes the value under a file lock, in a directory every worker of
the run can read; the others wait for it and get the same value back (pickled). Without xdist
it is simply computed. Only for values the tests read and never change.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[Path], T]
) -> T:
    """``compute(directory)``, run once per test run; ``directory`` outlives the worker that
    made it (files the value points to may live there)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # <run>/popen-gwN: the run's folder is shared by its workers
    directory = root / f"shared-{name}"
    result = root / f"shared-{name}.pickle"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if result.exists():
            value: T = pickle.loads(result.read_bytes())  # written below, by this run
            return value
        directory.mkdir(exist_ok=True)
        value = compute(directory)
        partial = result.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(result)
        return value
