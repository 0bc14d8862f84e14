"""``studio-factory build``: generate, lint and write every template.

Only click and the shared error module are imported at the top, so listing the commands
(``studio-factory --help``) costs nothing here; the build imports what it needs when it runs.

Flow: project root → regions → generator options → templates (from the build cache when no
input changed, else generated in a process of their own while the cfn-lint workers start)
→ lint (cached by template digest and lint configuration) → ``--check`` (unified diff) or
write (all or nothing).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from factory.cli.errors import UserError, debug_enabled

if TYPE_CHECKING:
    from rich.console import Console

    from factory import build

#: The regions cfn-lint validates against by default (factory.lint.DEFAULT_REGIONS; repeated
#: here so that ``--help`` does not import the linter).
DEFAULT_REGIONS = ("us-east-1",)

#: How long lint may run before a progress display appears (stderr, terminals only).
PROGRESS_AFTER_S = 1.0

REGION_FORM = "a region name such as us-east-1 (<area>-<direction>-<number>)"


class UserErrors(UserError):
    """Several user mistakes found at once: one ``error:`` line each, exit 1."""

    def __init__(self, errors: Sequence[UserError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.where, first.what, first.fix)

    def show(self, file: object = None) -> None:
        for error in self.errors:
            error.show(file)


@click.command("build")
@click.option("--check", is_flag=True, help="Fail if committed templates differ; write nothing.")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="Project root holding templates/ and launch/ [default: found from the working "
    "directory up: pyproject.toml naming studio-catalog-factory, with templates/].",
)
@click.option(
    "--options",
    "options_file",
    type=click.Path(path_type=Path),
    help="YAML mapping of template name to generator options, used instead of the "
    "committed factory-options.yaml at the root.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    default=DEFAULT_REGIONS,
    show_default=True,
    help="Region(s) whose resource schemas cfn-lint validates against.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Generate and lint everything again; read and write no build cache.",
)
def command(
    check: bool,
    root: Path | None,
    options_file: Path | None,
    regions: tuple[str, ...],
    no_cache: bool,
) -> None:
    """Generate every product and launch template, lint them, then write them.

    Generator options come from --options FILE if given, else from factory-options.yaml
    at the project root if it exists, else the generators' defaults.
    """
    try:
        _build(check, root, options_file, regions, no_cache)
    except KeyboardInterrupt:
        click.echo("build: nothing written", err=True)
        raise  # the group reports it: "interrupted", exit 130


def _build(
    check: bool,
    root_option: Path | None,
    options_file: Path | None,
    regions_option: tuple[str, ...],
    no_cache: bool,
) -> None:
    from factory import build

    root = _resolve_root(root_option)
    regions = _check_regions(regions_option)
    document = _load_options(root, options_file)
    options = document.options if document else {}
    cache_dir = None if no_cache else build.cache_root(root)

    artifacts, findings = _generate_and_lint(build, options, document, regions, cache_dir)
    findings += build.size_findings(artifacts)

    # The table and messages go to stderr (shared/DESIGN.md, "Output"); stdout carries only
    # the data: the unified diff of `--check`.
    err = _console(stderr=True)
    _summary(build, artifacts, err)
    if findings:
        for finding in findings:
            err.print(str(finding), markup=False, highlight=False)
        raise UserError(
            "cfn-lint",
            f"{len(findings)} finding(s) in {len({f.path for f in findings})} template(s); "
            "nothing written",
            "fix the generator (each line above is file:line:col: RULE message)",
        )
    if check:
        _check(build, artifacts, root, err)
        return
    try:
        changed = build.write(artifacts, root)
    except build.WriteError as error:
        raise UserError(
            f"{error.directory}/",
            f"cannot write {error.name} ({error.reason}), so no template was changed",
            f"make {error.directory}/ writable (chmod u+w {error.directory}) or pass --root DIR",
        ) from None
    err.print(
        f"cfn-lint: 0 findings; {len(changed)} file(s) changed"
        + (f": {', '.join(changed)}" if changed else ""),
        markup=False,
    )


def _console(stderr: bool) -> Console:
    from factory.cli.console import console

    return console(stderr=stderr)


# --- inputs -----------------------------------------------------------------------------------


def _resolve_root(root: Path | None) -> Path:
    from factory import build

    if root is not None:
        if not root.exists():
            raise UserError(
                f"--root {root}",
                "no such directory",
                "pass the project's directory (templates/ and launch/ are written inside it)",
            )
        if not root.is_dir():
            raise UserError(f"--root {root}", "not a directory", "pass the project's directory")
        return root
    found = build.find_project_root()
    if found is None:
        raise UserError(
            str(Path.cwd()),
            f"not inside the {build.PROJECT_NAME} project (no pyproject.toml naming it, "
            "with templates/ beside it, here or in any parent directory)",
            "run studio-factory from the repository, or pass --root DIR",
        )
    return found


def _known_regions() -> dict[str, str] | None:
    """Region -> partition, from botocore's partition data (read as a file: importing
    botocore costs more than the whole check), or None when it cannot be read."""
    import json
    from importlib.util import find_spec

    spec = find_spec("botocore")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "partitions.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            region: partition["id"]
            for partition in data["partitions"]
            for region in partition.get("regions", {})
            # not the pseudo-regions of global endpoints (aws-global, aws-cn-global, ...)
            if re.fullmatch(partition.get("regionRegex", ".*"), region)
        }
    except (OSError, ValueError, KeyError, TypeError, re.error):
        return None


def _check_regions(regions: tuple[str, ...]) -> tuple[str, ...]:
    """Every ``--region`` must be a region AWS's partition data names (botocore); cfn-lint
    may still refuse a region newer than its schemas, which the lint step reports."""
    regions = tuple(dict.fromkeys(r.strip() for r in regions))
    known = _known_regions()
    if known is None:
        return regions
    errors = []
    for region in regions:
        if region in known:
            continue
        close = difflib.get_close_matches(region.lower(), list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        errors.append(
            UserError(
                f"--region {region}",
                f"not an AWS region{hint}",
                f"allowed: {REGION_FORM}; one of {', '.join(sorted(known))}",
            )
        )
    if errors:
        raise UserErrors(errors)
    return regions


def _label(path: Path) -> str:
    """A path as the user would type it from here."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _load_options(root: Path, options_file: Path | None) -> build.OptionsDocument | None:
    from factory import build

    if options_file is not None:
        path, label = options_file, str(options_file)
        if not path.exists():
            raise UserError(
                f"--options {options_file}",
                "no such file",
                f"pass an existing YAML file, or leave --options out to use "
                f"{build.OPTIONS_FILE} at the project root",
            )
    else:
        default = build.default_options_file(root)
        if default is None:
            return None
        path, label = default, _label(default)
    try:
        return build.read_options(path, label)
    except build.OptionsFileError as error:
        raise UserError(error.where, error.what, error.fix) from None


# --- generate and lint ------------------------------------------------------------------------


def _generate_and_lint(
    build: Any,
    options: dict[str, dict[str, Any]],
    document: build.OptionsDocument | None,
    regions: tuple[str, ...],
    cache_dir: Path | None,
) -> tuple[list[build.Artifact], list]:
    from factory import lint

    key = build.generation_key(options) if cache_dir else ""
    generation_cache = build.GenerationCache(cache_dir / "generate") if cache_dir else None
    lint_cache = lint.LintCache(cache_dir / "lint", lint.LintConfig(regions)) if cache_dir else None
    artifacts = generation_cache.get(key) if generation_cache else None
    if artifacts is not None:
        # Nothing the generators depend on changed: this process never imported them, so
        # it is small enough to lint a single template itself (lint_many decides).
        items = [(a.path, a.text) for a in artifacts]
        with _LintProgress(len(items)) as progress:
            findings = _lint(lint, items, regions, lint_cache, None, progress)
        return artifacts, findings
    # The generators run in a process of their own, and cfn-lint in workers that import it
    # meanwhile: no process holds both (peak memory), the imports overlap, and this process
    # stays small (no 0.4 s teardown of the generators' objects at exit).
    pool = lint.WorkerPool(lint.default_jobs(lint.MAX_JOBS), regions).start()
    try:
        try:
            artifacts = build.generate_isolated(options)
        except build.UnknownTemplatesError as error:
            raise _unknown_templates(error, document) from None
        except ValueError as error:
            raise _options_errors(error, document) from None
        if generation_cache:
            generation_cache.put(key, artifacts)
        items = [(a.path, a.text) for a in artifacts]
        with _LintProgress(len(items)) as progress:
            findings = _lint(lint, items, regions, lint_cache, pool, progress)
    except BaseException:
        pool.close(kill=True)
        raise
    pool.close()
    return artifacts, findings


def _lint(
    lint: Any,
    items: list[tuple[str, str]],
    regions: tuple[str, ...],
    cache: Any,
    pool: Any,
    progress: _LintProgress,
) -> list:
    try:
        return lint.lint_many(
            items,
            regions,
            cache=cache,
            pool=pool,
            in_process=False if pool is not None else None,
            on_done=progress.advance,
        )
    except lint.InvalidRegionError as error:
        raise UserError(
            f"--region {', '.join(error.regions)}",
            "cfn-lint has no resource schemas for this region",
            f"allowed: one of {', '.join(sorted(error.supported))}",
        ) from None
    except lint.LintError as error:
        if debug_enabled():
            raise
        raise UserError(
            "cfn-lint",
            str(error).splitlines()[0],
            "re-run with --debug for the details; `--no-cache` lints everything again",
        ) from None


def _unknown_templates(error: Any, document: Any) -> UserErrors:
    errors = []
    for name in error.unknown:
        close = difflib.get_close_matches(name, error.known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        where = document.where((name,)) if document else "--options"
        errors.append(
            UserError(
                where, f"unknown template {name!r}{hint}", f"allowed: {', '.join(error.known)}"
            )
        )
    return UserErrors(errors)


_OPTION = re.compile(r"^option ([^\s:]+): ")


def _options_errors(error: ValueError, document: Any) -> UserError:
    """An :class:`factory.options.OptionsError` (or a generator's ValueError) pointing at the
    line of the options file it is about."""
    from factory.options import OptionsError

    if not isinstance(error, OptionsError):
        return UserError(document.label if document else "options", str(error), "")
    errors = []
    for problem in error.problems:
        path: list[Any] = [error.product]
        found = _OPTION.match(problem) or re.match(r"^unknown option '([^']+)'", problem)
        if found:
            path += [int(p) if p.isdigit() else p for p in found[1].split(".")]
        where = document.where(path) if document else "--options"
        what, _, fix = problem.partition("; ")
        errors.append(UserError(where, f"{error.product}: {what}", fix))
    return UserErrors(errors)


class _LintProgress:
    """A rich progress bar on stderr, only on a terminal and only once lint has taken more
    than :data:`PROGRESS_AFTER_S` (rich honours NO_COLOR; the bar disappears when done)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._timer: threading.Timer | None = None
        self._finished = False

    def __enter__(self) -> _LintProgress:
        console = _console(stderr=True)
        if console.is_terminal:
            self._timer = threading.Timer(PROGRESS_AFTER_S, self._show, (console,))
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with self._lock:
            if self._finished:
                return
            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task("cfn-lint", total=self.total, completed=self.done)
            self._progress.start()

    def advance(self, path: str) -> None:
        with self._lock:
            self.done += 1
            if self._progress is not None:
                self._progress.update(
                    self._task, completed=self.done, description=f"cfn-lint {path}"
                )

    def __exit__(self, *_: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._finished = True
            if self._progress is not None:
                self._progress.stop()


# --- output -----------------------------------------------------------------------------------


def _summary(build: Any, artifacts: list[build.Artifact], console: Console) -> None:
    from rich.table import Table

    table = Table(
        title="Templates",
        title_justify="left",
        caption=f"body: whether it also fits the {build.DIRECT_UPLOAD_LIMIT:,}-byte TemplateBody "
        "limit (validate-template --template-body); deploys go through S3.",
        caption_justify="left",
    )
    columns = ("template", "resources", "parameters", "bytes", "limit", "used", "body")
    for column in columns:
        table.add_column(column, justify="left" if column == "template" else "right")
    for a in artifacts:
        share = f"{a.size / a.limit:.0%}"
        limit = f"{a.limit:,} ({a.upload_path})"
        body = "fits" if a.fits_template_body else f"> {build.DIRECT_UPLOAD_LIMIT:,}"
        table.add_row(
            a.path, str(a.resources), str(a.parameters), f"{a.size:,}", limit, share, body
        )
    console.print(table)


def _check(build: Any, artifacts: list[build.Artifact], root: Path, out: Console) -> None:
    problems = build.drift(artifacts, root)
    if not problems:
        out.print("generated files are up to date", markup=False)
        return
    for problem in problems:
        if problem.diff:
            click.echo(problem.diff, nl=False)  # plain: a diff is for patch and for people
    errors = [
        UserError(
            problem.path,
            {
                "missing": "missing",
                "differs": "differs from what the generators produce (diff above)",
                "orphan": "no generator produces this file",
            }[problem.kind],
            "delete it or add its generator"
            if problem.kind == "orphan"
            else "run `studio-factory build` (or `make build`) and commit the result",
        )
        for problem in problems
    ]
    raise UserErrors(errors)
