"""Benchmark `studio-factory build`: start-up, cold and warm builds, peak memory, and the
stages (generation alone, generation + lint).

Every figure comes from fresh processes, repeated ``--runs`` times; the best and the median
are printed (other work shares the machine's cores: the best is the least disturbed run).

* ``studio-factory --help``: wall time of the installed command (a subprocess).
* ``studio-factory build`` cold: a copy of the project with an empty build cache, so every
  template is generated and linted; warm: the same again, nothing changed.
* peak memory of the build: the largest process of the tree (``wait4``'s ``ru_maxrss``, what
  ``/usr/bin/time -v`` prints) and the whole tree at once (the build, the cfn-lint zygote and
  its workers: their proportional set sizes summed from ``/proc`` every 10 ms; Linux only).
* the stages, in one fresh interpreter each (the figures this script printed before):
  import, generate, lint (cfn-lint workers, no cache), their sum.

Run: ``make bench`` or ``.venv/bin/python bench/build.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "studio-factory"

PROBE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from factory import build
t1 = time.perf_counter()
artifacts = build.generate_all()
t2 = time.perf_counter()
findings = build.lint(artifacts) if sys.argv[1] == "lint" else []
t3 = time.perf_counter()
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"import": t1 - t0, "generate": t2 - t1, "lint": t3 - t2,
                  "templates": len(artifacts), "findings": len(findings),
                  "bytes": sum(a.size for a in artifacts),
                  "peak_mb": max(own, kids) / 1024}))
"""

TARGETS = {
    "help_s": 0.3,
    "generate_s": 0.3,
    "generate+lint_s": 2.0,
    "cold_s": 2.0,
    "warm_s": 0.5,
    "peak_mb": 200,
}


def _probe(mode: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    result["process"] = time.perf_counter() - start
    return result


def _tree_rss_mb(root: int) -> float:
    """Memory of ``root`` and all its descendants now (MB), from /proc: the sum of their PSS
    (proportional set size: a page shared by n processes counts 1/n in each, so pages the
    forked cfn-lint workers share with their parent are counted once), or of their RSS where
    the kernel has no ``smaps_rollup``."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total_kb = 0.0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                total_kb += next(
                    int(line.split()[1]) for line in handle if line.startswith(b"Pss:")
                )
        except (OSError, StopIteration, IndexError, ValueError):
            try:
                with open(f"/proc/{pid}/statm", "rb") as handle:
                    total_kb += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
            except (OSError, IndexError, ValueError):
                continue
    return total_kb / 1024


def _run(args: list[str], sample: bool = False) -> dict:
    """Run a command: wall time, the largest process's peak RSS and, with ``sample`` (Linux),
    the whole tree's peak (sampling takes CPU: timed runs do not sample)."""
    sample = sample and sys.platform.startswith("linux")
    tree_peak = 0.0
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if sample else 0)
            if pid:
                break
            tree_peak = max(tree_peak, _tree_rss_mb(process.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            detail = errors.read().decode(errors="replace")
            raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{detail}")
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "tree_mb": tree_peak}


def _project_copy(directory: Path) -> Path:
    root = directory / "project"
    root.mkdir()
    for name in ("pyproject.toml", "factory-options.yaml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, root / name)
    for name in ("templates", "launch"):
        shutil.copytree(ROOT / name, root / name)
    return root


def _line(label: str, values: list[float], unit: str, target: float | None = None) -> str:
    best, median = min(values), statistics.median(values)
    text = f"  {label:44} best {best:8.3f}  median {median:8.3f} {unit}"
    if target is not None:
        text += f"   (target < {target:g} {unit}: {'met' if median < target else 'MISSED'})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = args.runs

    help_runs = [_run([str(EXE), "--help"]) for _ in range(runs)]

    with tempfile.TemporaryDirectory() as scratch:
        root = _project_copy(Path(scratch))
        build = [str(EXE), "build", "--root", str(root)]
        cold, warm, sampled = [], [], []
        for _ in range(runs):
            shutil.rmtree(root / ".cache", ignore_errors=True)
            cold.append(_run(build))
            warm.append(_run(build))
        for _ in range(max(2, runs // 2)):
            shutil.rmtree(root / ".cache", ignore_errors=True)
            sampled.append(_run(build, sample=True))

    gen = [_probe("generate") for _ in range(runs)]
    full = [_probe("lint") for _ in range(runs)]

    print(
        f"studio-factory build benchmark: {runs} runs each, fresh processes, {os.cpu_count()} cores"
    )
    print("command")
    print(
        _line(
            "studio-factory --help (wall)", [r["wall"] for r in help_runs], "s", TARGETS["help_s"]
        )
    )
    print(
        _line("build, cold: empty cache (wall)", [r["wall"] for r in cold], "s", TARGETS["cold_s"])
    )
    print(
        _line(
            "build, warm: nothing changed (wall)", [r["wall"] for r in warm], "s", TARGETS["warm_s"]
        )
    )
    print(
        _line(
            "build, cold: peak RSS, largest process",
            [r["peak_mb"] for r in cold],
            "MB",
            TARGETS["peak_mb"],
        )
    )
    print(
        _line("build, cold: peak PSS, whole tree (sampled)", [r["tree_mb"] for r in sampled], "MB")
    )
    print(
        _line(
            "build, warm: peak RSS, largest process",
            [r["peak_mb"] for r in warm],
            "MB",
            TARGETS["peak_mb"],
        )
    )
    print("stages (library calls, no cache)")
    print(f"  {'templates':44} {full[0]['templates']:>13}")
    print(f"  {'bytes':44} {full[0]['bytes']:>13}")
    print(_line("import", [r["import"] for r in gen], "s"))
    print(_line("generate, after import", [r["generate"] for r in gen], "s", TARGETS["generate_s"]))
    print(_line("generate incl. import", [r["import"] + r["generate"] for r in gen], "s"))
    print(_line("lint (cfn-lint workers)", [r["lint"] for r in full], "s"))
    print(
        _line(
            "generate+lint incl. import",
            [r["import"] + r["generate"] + r["lint"] for r in full],
            "s",
            TARGETS["generate+lint_s"],
        )
    )
    print(_line("whole process incl. interpreter", [r["process"] for r in full], "s"))
    print(
        _line("peak RSS, largest process", [r["peak_mb"] for r in full], "MB", TARGETS["peak_mb"])
    )


if __name__ == "__main__":
    main()
