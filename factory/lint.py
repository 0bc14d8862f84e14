"""Validate emitted templates with cfn-lint's Python API: cached, and in worker processes.

* **Cache.** A template's findings are stored under its sha256 digest and the fingerprint of
  the lint configuration (:meth:`LintConfig.fingerprint`: cfn-lint's version, the date of
  the resource schemas it reads, the regions, the ignored rules and the ``.cfnlintrc``
  files cfn-lint reads by itself), so a template linted once with one configuration is never
  linted again.
* **Workers.** cfn-lint runs in worker processes that never descend from the process that
  generated the templates: a fork of it would start with the generators' memory
  (troposphere, awacs, the Service Authorization Reference: ~150 MB) and add cfn-lint's on
  top. A fresh interpreter (the "zygote") imports cfn-lint and builds its runner once, then
  forks the workers (where there is no fork, each worker is an interpreter of its own).
  :class:`WorkerPool` can be started *before* generation, so cfn-lint is imported while the
  main process generates.

The module imports nothing heavy at the top: cfn-lint is imported only where a template is
linted in this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

#: Rules switched off for every template, each with the reason it does not apply.
#: Empty on purpose: a new entry needs a written reason.
IGNORED_RULES: dict[str, str] = {}

DEFAULT_REGIONS: tuple[str, ...] = ("us-east-1",)

#: Bump when the cache entry's shape or what it means changes.
CACHE_FORMAT = 1

#: Most worker processes started, whatever the number of cores.
MAX_JOBS = 4


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


class LintError(RuntimeError):
    """cfn-lint could not run (a worker died, or it refused the configuration)."""


class InvalidRegionError(LintError):
    """cfn-lint does not know a region; ``supported`` lists the ones it does."""

    def __init__(self, regions: Sequence[str], supported: Sequence[str]) -> None:
        self.regions, self.supported = list(regions), list(supported)
        super().__init__(f"cfn-lint does not know the region(s) {', '.join(self.regions)}")


# --- configuration and cache ------------------------------------------------------------------


@dataclass(frozen=True)
class LintConfig:
    """What, besides the template, decides cfn-lint's findings."""

    regions: tuple[str, ...] = DEFAULT_REGIONS
    ignore_checks: tuple[str, ...] = field(default_factory=lambda: tuple(sorted(IGNORED_RULES)))

    def __post_init__(self) -> None:
        # One region named twice is the same configuration (and the same cache entry).
        object.__setattr__(self, "regions", tuple(dict.fromkeys(self.regions)))

    def fingerprint(self) -> str:
        """sha256 of everything that changes findings for the same template text."""
        document = {
            "format": CACHE_FORMAT,
            "cfn-lint": cfn_lint_version(),
            "schemas": _schema_dates(),
            "regions": sorted(self.regions),
            "ignore_checks": sorted(self.ignore_checks),
            # cfn-lint reads these by itself (cfnlint.config.ConfigFileArgs._find_config):
            # rule configuration, include/ignore lists, custom rules, spec overrides.
            "cfnlintrc": _rc_files(),
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def cfn_lint_version() -> str:
    """cfn-lint's version, read without importing cfn-lint (which takes ~0.6 s)."""
    package = _package_dir("cfnlint")
    if package is not None:
        with contextlib.suppress(OSError):
            found = re.search(
                r"__version__\s*=\s*['\"]([^'\"]+)", (package / "version.py").read_text()
            )
            if found:
                return found[1]
    from importlib.metadata import version

    return version("cfn-lint")


def _package_dir(name: str) -> Path | None:
    from importlib.util import find_spec

    spec = find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def _schema_dates() -> list[str]:
    """The ``version.json`` of the schemas cfn-lint ships and of those ``cfn-lint
    --update-specs`` downloads (cfn-lint reads whichever is newer)."""
    places = []
    package = _package_dir("cfnlint")
    if package is not None:
        places.append(package / "data" / "schemas" / "version.json")
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    places.append(base / "aws" / "cfn-lint" / "schemas" / "version.json")
    return [_read_or_empty(p) for p in places]


def _rc_files() -> dict[str, str]:
    found = {}
    for directory in (Path.home(), Path.cwd()):
        for name in (".cfnlintrc", ".cfnlintrc.yaml", ".cfnlintrc.yml"):
            path = directory / name
            if path.is_file():
                found[str(path)] = _read_or_empty(path)
                break
    return found


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LintCache:
    """Findings by template digest, for one lint configuration, as small JSON files.

    A broken or unreadable entry is a miss; a cache that cannot be written is skipped (the
    build does not fail because of its cache).
    """

    #: Entries kept per directory; the least recently written go first.
    KEEP = 200

    def __init__(self, directory: Path, config: LintConfig) -> None:
        self.directory = directory
        self.config = config
        self._fingerprint = config.fingerprint()

    def _entry(self, text: str) -> Path:
        key = hashlib.sha256(f"{self._fingerprint}:{digest(text)}".encode()).hexdigest()
        return self.directory / f"{key}.json"

    def get(self, path: str, text: str) -> list[Finding] | None:
        try:
            entry = json.loads(self._entry(text).read_text(encoding="utf-8"))
            if entry["digest"] != digest(text) or entry["config"] != self._fingerprint:
                return None
            return [
                Finding(path, int(ln), int(col), str(r), str(m))
                for ln, col, r, m in entry["findings"]
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, text: str, findings: Iterable[Finding]) -> None:
        entry = {
            "digest": digest(text),
            "config": self._fingerprint,
            "findings": [[f.line, f.column, f.rule, f.message] for f in findings],
        }
        with contextlib.suppress(OSError):
            write_cache_file(self._entry(text), json.dumps(entry))
            prune(self.directory, self.KEEP)


def write_cache_file(path: Path, text: str) -> None:
    """Write a cache file atomically. Its directory gets a ``.gitignore`` of ``*`` (as
    ``.pytest_cache`` has), so the cache never shows up in ``git status``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if path != ignore and not ignore.exists():
        write_cache_file(ignore, "# Created by studio-factory build: a local cache.\n*\n")
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prune(directory: Path, keep: int) -> None:
    entries = [p for p in directory.glob("*.json") if p.is_file()]
    if len(entries) <= keep:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - keep]:
        old.unlink(missing_ok=True)


# --- linting in this process ------------------------------------------------------------------


def lint_text(path: str, text: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Finding]:
    """Lint one template in this process (imports cfn-lint here)."""
    return _lint(path, text, LintConfig(tuple(regions)))


#: One cfn-lint ``Runner`` per configuration in this process. ``cfnlint.api.lint`` builds a
#: new one (every rule, ~0.3 s of JSON loading) for each template; cfn-lint's own command
#: line reuses one runner for all the templates it is given, and so do we.
_RUNNERS: dict[LintConfig, Any] = {}


def _runner(config: LintConfig) -> Any:
    runner = _RUNNERS.get(config)
    if runner is None:
        from cfnlint.config import ConfigMixIn, ManualArgs
        from cfnlint.runner import Runner

        args = ManualArgs(regions=list(config.regions), ignore_checks=list(config.ignore_checks))
        runner = _RUNNERS[config] = Runner(ConfigMixIn(**args))
    return runner


def _lint(path: str, text: str, config: LintConfig) -> list[Finding]:
    """What ``cfnlint.api.lint(text, config=ManualArgs(...))`` does, with a reused runner."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.exceptions import InvalidRegionException

    try:
        template, matches = decode_str(text)
        if not matches and template is not None:
            matches = list(_runner(config).validate_template(template))
    except InvalidRegionException:
        from cfnlint.helpers import REGIONS

        unknown = [r for r in config.regions if r not in REGIONS]
        raise InvalidRegionError(unknown, REGIONS) from None
    return [Finding(path, m.linenumber, m.columnnumber, m.rule.id, m.message) for m in matches]


# --- worker processes -------------------------------------------------------------------------
#
# Where fork and file-descriptor passing exist (Linux, macOS), one "zygote" process imports
# cfn-lint and builds its runner once, then forks a worker for each connection the build hands
# it (a socket sent over a control socket, as multiprocessing's forkserver does): the imports
# are paid once, and the workers share the zygote's memory. Elsewhere each worker is its own
# interpreter. Either way a worker serves one JSON request per line and answers one JSON line.

#: A small template linted before the first real one: it loads cfn-lint's rules and the
#: region's schemas once the imports are done.
_WARM_UP = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"

_WORKER_CODE = "from factory.lint import _worker_main; _worker_main()"
_ZYGOTE_CODE = "from factory.lint import _zygote_main; _zygote_main()"


def _warm(regions: Sequence[str]) -> None:
    with contextlib.suppress(Exception):  # a bad region is reported with the real request
        _lint("warm-up.yaml", _WARM_UP, LintConfig(tuple(regions)))


def _serve(reader: BinaryIO, writer: BinaryIO) -> None:
    writer.write(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    writer.flush()
    for line in reader:
        request = json.loads(line)
        config = LintConfig(tuple(request["regions"]), tuple(request["ignore_checks"]))
        try:
            findings = _lint(request["path"], request["text"], config)
            reply: dict[str, Any] = {
                "findings": [[f.line, f.column, f.rule, f.message] for f in findings]
            }
        except InvalidRegionError as error:
            reply = {"invalid_regions": error.regions, "supported": error.supported}
        except Exception as error:
            import traceback

            reply = {"error": f"{type(error).__name__}: {error}", "trace": traceback.format_exc()}
        writer.write(json.dumps(reply).encode() + b"\n")
        writer.flush()


def _exit() -> None:
    # No interpreter teardown: freeing cfn-lint's objects one by one takes ~0.7 s, and the
    # build waits for its workers. Nothing is left to flush but stderr.
    sys.stderr.flush()
    os._exit(0)


def _worker_main() -> None:
    """An interpreter of its own: requests on stdin, replies on stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever cfn-lint prints must not break the protocol
    _warm(json.loads(sys.argv[1]))
    _serve(sys.stdin.buffer, out)
    _exit()


def _zygote_main() -> None:
    """Warm up, then fork one worker per socket received on the control socket (fd argv[2]);
    at the control socket's end, wait for the workers (so their resource use is counted)."""
    import socket

    sys.stdout = sys.stderr
    control = socket.socket(fileno=int(sys.argv[2]))
    _warm(json.loads(sys.argv[1]))
    children = []
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            break
        if not message:
            break
        for fd in fds:
            pid = os.fork()
            if pid == 0:
                control.close()
                with socket.socket(fileno=fd) as channel:
                    reader, writer = channel.makefile("rb"), channel.makefile("wb")
                    _serve(reader, writer)  # type: ignore[arg-type]
                _exit()
            os.close(fd)
            children.append(pid)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    _exit()


def _can_fork_workers() -> bool:
    import socket

    return hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform != "win32"


def _spawn(code: str, args: Sequence[str], stderr: BinaryIO, **popen: Any) -> subprocess.Popen:
    env = dict(os.environ)
    # The worker imports this very package, wherever it was imported from.
    here = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, "-c", code, *args], stderr=stderr, env=env, **popen)


def _tail(stderr: BinaryIO) -> str:
    with contextlib.suppress(OSError, ValueError):
        stderr.seek(0)
        lines = stderr.read().decode(errors="replace").strip().splitlines()
        return f"; last output: {lines[-1]}" if lines else ""
    return ""


class _Channel:
    """One worker, seen from the build: ``request`` sends one template and waits."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO, describe: Callable[[], str]) -> None:
        self._reader, self._writer, self._describe = reader, writer, describe
        self.pid: int | None = None

    def _read(self) -> dict[str, Any]:
        try:
            line = self._reader.readline()
        except OSError:
            line = b""
        if not line:
            raise LintError(f"a cfn-lint worker stopped: {self._describe()}")
        return json.loads(line)

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        with contextlib.suppress(OSError):  # a worker that is gone: _read says so
            self._writer.write(json.dumps(payload).encode() + b"\n")
            self._writer.flush()
        if self.pid is None:
            self.pid = int(self._read()["pid"])
        return self._read()

    def close(self) -> None:
        for stream in (self._writer, self._reader):
            with contextlib.suppress(OSError):
                stream.close()


class _Zygote:
    def __init__(self, regions: Sequence[str]) -> None:
        import socket

        self._stderr: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self._control, theirs = socket.socketpair()
        with theirs:
            self.process = _spawn(
                _ZYGOTE_CODE,
                [json.dumps(list(regions)), str(theirs.fileno())],
                self._stderr,
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self._sockets: list[Any] = []

    def channel(self) -> _Channel:
        import socket

        ours, theirs = socket.socketpair()
        # If the zygote is gone, the first request says so, with its output.
        with theirs, contextlib.suppress(OSError):
            socket.send_fds(self._control, [b"w"], [theirs.fileno()])
        self._sockets.append(ours)
        return _Channel(ours.makefile("rb"), ours.makefile("wb"), self._describe)

    def _describe(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        return f"exit code {self.process.returncode}{_tail(self._stderr)}"

    def close(self, channels: Sequence[_Channel], kill: bool) -> None:
        # A zygote whose workers were never used (every template was in the cache) may still
        # be warming up: stop it rather than wait. Otherwise let it reap its workers, so that
        # their resource use is counted in the build's (what /usr/bin/time shows).
        if kill or all(channel.pid is None for channel in channels):
            for channel in channels:
                if channel.pid is not None:
                    with contextlib.suppress(OSError):
                        os.kill(channel.pid, 9)
            self.process.kill()
        for channel in channels:
            channel.close()
        for sock in self._sockets:
            sock.close()
        self._control.close()  # the zygote waits for its workers, then exits
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


class _Process:
    """A worker that is an interpreter of its own (no fork here)."""

    def __init__(self, regions: Sequence[str]) -> None:
        self._stderr: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self.process = _spawn(
            _WORKER_CODE,
            [json.dumps(list(regions))],
            self._stderr,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout and self.process.stdin
        self.channel = _Channel(self.process.stdout, self.process.stdin, self._describe)

    def _describe(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        return f"exit code {self.process.returncode}{_tail(self._stderr)}"

    def close(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        self.channel.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def default_jobs(count: int) -> int:
    return max(1, min(count, os.cpu_count() or 1, MAX_JOBS))


class WorkerPool:
    """cfn-lint worker processes; start them early, lint later, close (or use ``with``)."""

    def __init__(
        self, jobs: int = 0, regions: Sequence[str] = DEFAULT_REGIONS, fork: bool | None = None
    ) -> None:
        self.jobs = jobs or default_jobs(MAX_JOBS)
        self._regions = tuple(regions)
        self._fork = _can_fork_workers() if fork is None else fork
        self._zygote: _Zygote | None = None
        self._processes: list[_Process] = []
        self._channels: list[_Channel] = []

    def start(self) -> WorkerPool:
        if self._channels:
            return self
        if self._fork:
            self._zygote = _Zygote(self._regions)
            self._channels = [self._zygote.channel() for _ in range(self.jobs)]
        else:
            self._processes = [_Process(self._regions) for _ in range(self.jobs)]
            self._channels = [p.channel for p in self._processes]
        return self

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, kind: object, *_: object) -> None:
        self.close(kill=kind is not None)

    def close(self, kill: bool = False) -> None:
        if self._zygote is not None:
            self._zygote.close(self._channels, kill)
        for process in self._processes:
            process.close(kill)
        self._zygote, self._processes, self._channels = None, [], []

    def lint(
        self,
        items: Sequence[tuple[str, str]],
        config: LintConfig,
        on_done: Callable[[str], None] | None = None,
    ) -> list[list[Finding]]:
        """Lint ``(path, text)`` pairs, the longest first, each on the next free worker."""
        if not items:
            return []
        self.start()
        queue = deque(sorted(range(len(items)), key=lambda i: -len(items[i][1])))
        results: list[list[Finding] | None] = [None] * len(items)
        failures: list[BaseException] = []
        lock = threading.Lock()

        def run(channel: _Channel) -> None:
            while True:
                with lock:
                    if not queue or failures:
                        return
                    index = queue.popleft()
                path, text = items[index]
                payload = {
                    "path": path,
                    "text": text,
                    "regions": list(config.regions),
                    "ignore_checks": list(config.ignore_checks),
                }
                try:
                    reply = channel.request(payload)
                    results[index] = _findings(path, reply)
                except BaseException as error:
                    with lock:
                        failures.append(error)
                    return
                if on_done:
                    on_done(path)

        threads = [
            threading.Thread(target=run, args=(c,), daemon=True)
            for c in self._channels[: len(items)]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # a timeout keeps Ctrl-C deliverable
                thread.join(0.2)
        if failures:
            raise failures[0]
        return [r or [] for r in results]


def _findings(path: str, reply: dict[str, Any]) -> list[Finding]:
    if "invalid_regions" in reply:
        raise InvalidRegionError(reply["invalid_regions"], reply["supported"])
    if "error" in reply:
        raise LintError(f"cfn-lint failed on {path}: {reply['error']}\n{reply.get('trace', '')}")
    return [Finding(path, int(ln), int(col), str(r), str(m)) for ln, col, r, m in reply["findings"]]


# --- the build's entry point ------------------------------------------------------------------


def lint_many(
    items: Sequence[tuple[str, str]],
    regions: Sequence[str] = DEFAULT_REGIONS,
    jobs: int = 0,
    *,
    cache: LintCache | None = None,
    pool: WorkerPool | None = None,
    in_process: bool | None = None,
    on_done: Callable[[str], None] | None = None,
) -> list[Finding]:
    """Lint ``(path, text)`` pairs; findings in the order of ``items``.

    Templates found in ``cache`` are not linted again. The others go to ``pool`` (started
    by the caller, possibly long before), or to a new pool of ``jobs`` workers (0: one per
    core, at most :data:`MAX_JOBS`); ``in_process=True`` lints them here instead (only when
    this process is small: it then holds cfn-lint too). By default a single template is
    linted here and several in workers.
    """
    config = cache.config if cache else LintConfig(tuple(regions))
    results: list[list[Finding] | None] = [None] * len(items)
    todo: list[int] = []
    for index, (path, text) in enumerate(items):
        cached = cache.get(path, text) if cache else None
        if cached is None:
            todo.append(index)
        else:
            results[index] = cached
            if on_done:
                on_done(path)
    work = [items[i] for i in todo]
    if in_process is None:
        in_process = pool is None and (len(work) <= 1 or jobs == 1)
    if not work:
        linted: list[list[Finding]] = []
    elif in_process:
        linted = []
        for path, text in work:
            linted.append(_lint(path, text, config))
            if on_done:
                on_done(path)
    elif pool is not None:
        linted = pool.lint(work, config, on_done)
    else:
        with WorkerPool(jobs or default_jobs(len(work)), config.regions) as own:
            linted = own.lint(work, config, on_done)
    for index, findings in zip(todo, linted, strict=True):
        results[index] = findings
        if cache:
            cache.put(items[index][1], findings)
    return [finding for findings in results for finding in findings or []]
