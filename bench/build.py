"""Benchmark `studio-factory build`: generation alone, generation + lint, peak memory.

Each figure comes from a fresh interpreter (so imports and cfn-lint's schema loading are
counted as a user pays them), repeated ``--runs`` times; the median is printed.
Run: ``make bench`` or ``.venv/bin/python bench/build.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

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

TARGETS = {"generate": 0.3, "generate+lint": 2.0, "peak_mb": 200}


def _probe(mode: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    result["process"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    gen = [_probe("generate") for _ in range(args.runs)]
    full = [_probe("lint") for _ in range(args.runs)]

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    figures = {
        "templates": full[0]["templates"],
        "bytes": full[0]["bytes"],
        "import (s)": med(gen, "import"),
        "generate, after import (s)": med(gen, "generate"),
        "generate incl. import (s)": statistics.median(r["import"] + r["generate"] for r in gen),
        "lint (s)": med(full, "lint"),
        "generate+lint incl. import (s)": statistics.median(
            r["import"] + r["generate"] + r["lint"] for r in full
        ),
        "whole process incl. interpreter (s)": med(full, "process"),
        "peak RSS, largest process (MB)": max(r["peak_mb"] for r in full),
    }
    print(f"studio-factory build benchmark, median of {args.runs} fresh processes")
    for key, value in figures.items():
        print(f"  {key:40} {value:10.3f}" if isinstance(value, float) else f"  {key:40} {value:10}")
    print(
        f"  targets: generate <= {TARGETS['generate']} s, generate+lint <= "
        f"{TARGETS['generate+lint']} s, peak <= {TARGETS['peak_mb']} MB"
    )


if __name__ == "__main__":
    main()
