"""One cold ``studio-factory build --check`` of a copy of the project, per test run.

A cold build lints every template (~8 s of cfn-lint on 2 cores). The build tests need its
outcome (every committed template lints clean, the generators give the committed text) and a
project whose build cache is warm; running it once per run, shared by the xdist workers
(tests.support.shared), instead of once per module or per test is most of what linting costs
the suite. Tests copy :attr:`ColdBuild.root` (or only its lint cache) and never change it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from factory import build
from factory.cli import cli
from tests.support.shared import once_per_run

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ColdBuild:
    root: Path  # the copy: pyproject.toml, the committed options, templates/, launch/, .cache/
    exit_code: int
    stdout: str
    stderr: str

    @property
    def lint_cache(self) -> Path:
        return build.cache_root(self.root) / "lint"

    def seed_lint_cache(self, root: Path) -> None:
        """Give the project at ``root`` this build's lint findings (nothing else)."""
        shutil.copytree(self.lint_cache, build.cache_root(root) / "lint", dirs_exist_ok=True)


def _build(directory: Path) -> ColdBuild:
    root = directory / "project"
    root.mkdir()
    for name in ("pyproject.toml", build.OPTIONS_FILE):
        shutil.copy(ROOT / name, root / name)
    for folder in ("templates", "launch"):
        shutil.copytree(ROOT / folder, root / folder)
    result = CliRunner().invoke(cli, ["build", "--check", "--root", str(root)])
    return ColdBuild(root, result.exit_code, result.stdout, result.stderr)


def cold_build(tmp_path_factory: pytest.TempPathFactory) -> ColdBuild:
    return once_per_run(tmp_path_factory, "cold-build", _build)
