"""Stage 1 of the flow: generators → rendered templates → cfn-lint → ``templates/``, ``launch/``.

Everything is generated and linted in memory first; files are written only when every
template is clean, each through a temporary file renamed into place, so a failed build
never leaves a half-written or unlinted template behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troposphere import Template

from factory.launch import LAUNCH
from factory.lint import DEFAULT_REGIONS, Finding, lint_many
from factory.products import PRODUCTS

#: CloudFormation accepts at most this many bytes in a template sent as ``TemplateBody``
#: (CloudFormation User Guide, "CloudFormation quotas": template body size in a request).
DIRECT_UPLOAD_LIMIT = 51_200

#: ... and 1 MB in a template read from S3 (``TemplateURL``; same quotas page). Service Catalog
#: loads product templates from S3, and the bootstrap is deployed with
#: ``aws cloudformation deploy --s3-bucket`` (or as a StackSet from S3), so S3's limit applies.
S3_UPLOAD_LIMIT = 1_048_576

OUTPUT_DIRS = {"product": "templates", "launch": "launch"}

#: How each kind of template reaches CloudFormation, and the size limit that path imposes.
UPLOAD_PATHS = {
    "product": ("S3", S3_UPLOAD_LIMIT),  # Service Catalog copies and loads it from S3
    "launch": ("S3", S3_UPLOAD_LIMIT),  # aws cloudformation deploy --s3-bucket, StackSets
}


@dataclass(frozen=True)
class Artifact:
    name: str
    kind: str
    text: str
    resources: int
    parameters: int

    @property
    def path(self) -> str:
        return f"{OUTPUT_DIRS[self.kind]}/{self.name}.yaml"

    @property
    def size(self) -> int:
        return len(self.text.encode())

    @property
    def upload_path(self) -> str:
        return UPLOAD_PATHS[self.kind][0]

    @property
    def limit(self) -> int:
        """The template size limit of the way this template reaches CloudFormation."""
        return UPLOAD_PATHS[self.kind][1]

    @property
    def fits_template_body(self) -> bool:
        """Small enough for ``--template-body`` (validate-template, direct create-stack)."""
        return self.size <= DIRECT_UPLOAD_LIMIT


def render(template: Template) -> str:
    """Deterministic YAML: troposphere sorts keys; no timestamps are ever added."""
    text = template.to_yaml()
    return text if text.endswith("\n") else text + "\n"


def generate_all(options: Mapping[str, dict[str, Any]] | None = None) -> list[Artifact]:
    """Run every generator. ``options`` maps a template name to its generator options."""
    options = dict(options or {})
    registries = (("product", PRODUCTS), ("launch", LAUNCH))
    unknown = set(options) - {name for _, registry in registries for name in registry}
    if unknown:
        known = ", ".join(sorted({*PRODUCTS, *LAUNCH}))
        raise ValueError(f"options given for unknown template(s) {sorted(unknown)}; known: {known}")
    artifacts = []
    for kind, registry in registries:
        for name, generator in registry.items():
            template = generator(options.get(name))
            artifacts.append(
                Artifact(
                    name=name,
                    kind=kind,
                    text=render(template),
                    resources=len(template.resources),
                    parameters=len(template.parameters),
                )
            )
    return artifacts


def lint(artifacts: Sequence[Artifact], regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    return lint_many([(a.path, a.text) for a in artifacts], regions)


def size_findings(artifacts: Sequence[Artifact]) -> list[Finding]:
    return [
        Finding(a.path, 1, 1, "SIZE", f"{a.size} bytes exceeds {a.limit} ({a.upload_path})")
        for a in artifacts
        if a.size > a.limit
    ]


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(artifacts: Sequence[Artifact], root: Path) -> list[str]:
    """Write changed templates; return the paths that changed."""
    changed = []
    for artifact in artifacts:
        target = root / artifact.path
        if not target.exists() or target.read_text(encoding="utf-8") != artifact.text:
            atomic_write(target, artifact.text)
            changed.append(artifact.path)
    return changed


def stale(artifacts: Sequence[Artifact], root: Path) -> list[str]:
    """Committed templates that differ from the generators, are missing, or are orphans."""
    expected = {a.path: a.text for a in artifacts}
    problems = []
    for path, text in expected.items():
        target = root / path
        if not target.exists():
            problems.append(f"{path}: missing (run `studio-factory build`)")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from what the generators produce now")
    for directory in OUTPUT_DIRS.values():
        for orphan in sorted((root / directory).glob("*.yaml")):
            rel = f"{directory}/{orphan.name}"
            if rel not in expected:
                problems.append(f"{rel}: no generator produces this file")
    return problems
