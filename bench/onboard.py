"""Benchmark `studio-factory users import` against the loopback stand-in with injected latency.

The sample catalog is published, then N people (default 200) are imported with the
personas, then the same file again (nothing to do). Prints wall time and Service Catalog
requests per person. Run: ``.venv/bin/python bench/onboard.py [--people 200]
[--latency-ms 50] [--concurrency 4]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from factory.cli import cli
from factory.testing.local_aws import LocalAWS

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-templates"
REGION = "us-east-1"
PERSONAS = ("senior-data-scientist", "junior-analyst", "data-engineer")


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{result.output}")
    return result.output


def measure(
    aws: LocalAWS, label: str, root: Path, csv: Path, concurrency: int, people: int
) -> None:
    aws.standin.reset_stats()
    started = time.perf_counter()
    output = invoke(
        *("users", "import", str(csv), "--env", "dev", "--region", REGION),
        *("--concurrency", str(concurrency)),
        *("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates")),
    )
    elapsed = time.perf_counter() - started
    calls = Counter(r.operation for r in aws.standin.request_log() if not r.throttled)
    total = sum(calls.values())
    print(
        f"{label:<28} {elapsed:7.2f}s  requests {total:5d} ({total / people:.1f} per person)  "
        f"{output.strip().splitlines()[-1]}"
    )
    print("    " + ", ".join(f"{op} {n}" for op, n in sorted(calls.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with (
        LocalAWS(REGION, latency_s=args.latency_ms / 1000) as aws,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(aws.env)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        root = Path(tmp)
        for name in ("portfolios", "templates"):
            shutil.copytree(ROOT / name, root / name)
        invoke(
            *("publish", "--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
            *("--skip-environment-check", "--portfolios", str(root / "portfolios")),
            *("--templates", str(root / "templates")),
        )
        csv = root / "people.csv"
        rows = ["person,persona,email,team,cost_center"]
        rows += [f"person-{i:04d},{PERSONAS[i % 3]},,," for i in range(args.people)]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(
            f"{args.people} people, concurrency {args.concurrency}, Service Catalog latency "
            f"{args.latency_ms:.0f} ms per request"
        )
        measure(aws, "import, first", root, csv, args.concurrency, args.people)
        measure(aws, "import, again (no-op)", root, csv, args.concurrency, args.people)


if __name__ == "__main__":
    main()
