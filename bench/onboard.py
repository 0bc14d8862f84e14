"""Benchmark `studio-factory users import` against local AWS with injected latency and throttling.

The sample catalog is published to local AWS (moto + the Service Catalog stand-in), then N
people (default 1,000) are imported by the real CLI in a child process (so its peak memory is
its own), then the same file again (nothing to do). ProvisionProduct answers after
`--latency-ms` (default 200 ms); `--throttle` (default 10%) of all Service Catalog requests
answer ThrottlingException. Prints wall time against the ideal `N x latency / concurrency`,
requests by operation, retries, duplicates and peak memory.

Run: ``.venv/bin/python bench/onboard.py [--people 1000] [--latency-ms 200] [--throttle 0.1]
[--concurrency 4]``. Targets (issue 10): wall time within 1.3x of the ideal, no duplicate,
peak memory under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from factory.cli import cli
from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import Realism

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-templates"
REGION = "us-east-1"
PERSONAS = ("senior-data-scientist", "junior-analyst", "data-engineer")
CLI = [sys.executable, "-m", "factory"]
#: The users commands follow launches with a listing every 5 s, 7.5 s, ...; the stand-in's
#: launches take this long, like a (very fast) CloudFormation stack.
PROVISIONING_S = 2.0


def publish(root: Path) -> None:
    args = [
        *("publish", "--env", "dev", "--region", REGION, "--bucket", BUCKET, "--yes"),
        *("--skip-environment-check", "--portfolios", str(root / "portfolios")),
        *("--templates", str(root / "templates")),
    ]
    result = CliRunner().invoke(cli, args)
    if result.exit_code != 0:
        raise SystemExit(f"publish failed:\n{result.output}")


def write_people(path: Path, people: int) -> None:
    rows = ["person,persona,email,team,cost_center"]
    rows += [
        f"person-{i:04d},{PERSONAS[i % 3]},person{i}@corp.test,team-{i % 9},CC-{i % 5}"
        for i in range(people)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def high_water_kb(pid: int) -> int:
    """VmHWM of a running process (Linux). Not getrusage(RUSAGE_CHILDREN): a forked child's
    peak includes this process's memory (local AWS) from before its exec."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_import(
    aws: LocalAWS, root: Path, csv: Path, concurrency: int
) -> tuple[float, dict, int, str]:
    """(seconds, report, peak RSS of the child in kB, last line of its output)."""
    report = root / "report.json"
    args = [
        *CLI,
        *("users", "import", str(csv), "--env", "dev", "--region", REGION),
        *("--concurrency", str(concurrency), "--report", str(report)),
        *("--max-profiles", "5000"),
        *("--portfolios", str(root / "portfolios"), "--templates", str(root / "templates")),
    ]
    env = {**os.environ, **aws.env, "AWS_DEFAULT_REGION": REGION}
    started = time.perf_counter()
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as child:
        peak = 0
        reader = threading.Thread(target=lambda: setattr(child, "out", child.stdout.read()))
        reader.start()
        while child.poll() is None:
            peak = max(peak, high_water_kb(child.pid))
            time.sleep(0.1)
        reader.join()
    elapsed = time.perf_counter() - started
    text = child.out.decode()  # type: ignore[attr-defined]
    if child.returncode != 0:
        raise SystemExit(f"users import exited {child.returncode}:\n{text[-3000:]}")
    return elapsed, json.loads(report.read_text()), peak, text.strip().splitlines()[-1]


def show(label: str, aws: LocalAWS, elapsed: float, report: dict, peak_kb: int, last: str) -> None:
    log = aws.standin.request_log()
    calls = Counter(r.operation for r in log if not r.throttled)
    throttled = sum(r.throttled for r in log)
    print(f"{label}: {elapsed:6.1f} s   {last}")
    retries = report["retries"]
    print(f"    requests {sum(calls.values())} + {throttled} throttled; retries {retries}")
    print("    " + ", ".join(f"{op} {n}" for op, n in sorted(calls.items())))
    print(f"    peak memory of the CLI {peak_kb / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--throttle", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with (
        LocalAWS(REGION, realism=Realism(provisioning_s=PROVISIONING_S)) as aws,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(aws.env)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        root = Path(tmp)
        for name in ("portfolios", "templates"):
            shutil.copytree(ROOT / name, root / name)
        publish(root)
        csv = root / "people.csv"
        write_people(csv, args.people)
        ideal = args.people * args.latency_ms / 1000 / args.concurrency
        print(
            f"{args.people} people, concurrency {args.concurrency}, ProvisionProduct "
            f"{args.latency_ms:.0f} ms, {args.throttle:.0%} of requests throttled; "
            f"ideal {ideal:.1f} s, target {1.3 * ideal:.1f} s"
        )
        aws.standin.configure(
            operation_latency_s={"ProvisionProduct": args.latency_ms / 1000},
            throttle_rate=args.throttle,
        )
        aws.standin.reset_stats()
        elapsed, report, peak, last = run_import(aws, root, csv, args.concurrency)
        show("import, first", aws, elapsed, report, peak, last)
        names = [pp.name for pp in aws.standin.region_state(REGION).provisioned.values()]
        duplicates = len(names) - len(set(names))
        print(
            f"    {elapsed / ideal:.2f}x the ideal (target 1.3x); {len(names)} provisioned, "
            f"{duplicates} duplicate(s)"
        )
        aws.standin.reset_stats()
        elapsed, report, peak, last = run_import(aws, root, csv, args.concurrency)
        show("import, again (no-op)", aws, elapsed, report, peak, last)


if __name__ == "__main__":
    main()
