"""Benchmark `studio-factory publish` against the loopback stand-in with injected latency.

Scenarios: first publish of the sample catalog, no-op re-publish, one changed template, a
synthetic catalog of 20 products in 3 portfolios (first publish + no-op), and 100 products in
one portfolio (first publish without latency, then the no-op with it; target under 3 s at
50 ms per call, and at most 1 read per product plus a constant).
Run: ``.venv/bin/python bench/publish.py [--latency-ms 50]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from factory.publish import preconditions
from factory.publish.run import Options, load, run
from factory.testing.local_aws import LocalAWS

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-templates"
REGION = "us-east-1"


def synthetic(root: Path, products: int = 20, portfolios: int = 3) -> None:
    (root / "portfolios/environments").mkdir(parents=True)
    shutil.copy(ROOT / "portfolios/environments/dev.yaml", root / "portfolios/environments")
    (root / "templates").mkdir()
    ids = [f"product-{i:02d}" for i in range(products)]
    lines = ["version: 1", "products:"]
    for pid in ids:
        template = root / "templates" / f"{pid}.yaml"
        template.write_text(
            (ROOT / "templates/studio-user-profile.yaml").read_text() + f"\n# {pid}\n"
        )
        lines += [
            f"  - id: {pid}",
            f"    template: {pid}",
            f"    display_name: Bench {pid}",
            "    owner: bench",
        ]
    lines.append("portfolios:")
    for n in range(portfolios):
        lines += [
            f"  - id: bench-{n}",
            f"    display_name: Bench {n}",
            "    provider_name: bench",
            "    principals:",
            "      - type: IAM",
            '        arn: "arn:aws:iam::111111111111:role/Admin"',
            "    products:",
        ]
        lines += [f"      - product: {pid}" for pid in ids]
    (root / "portfolios/bench.yaml").write_text("\n".join(lines) + "\n")


def measure(aws: LocalAWS, label: str, root: Path) -> dict[str, int]:
    catalog, digests = load(root / "portfolios", "dev", root / "templates")
    aws.standin.reset_stats()
    start = time.perf_counter()
    results = run(
        catalog, digests, Options([REGION], bucket=BUCKET, skip_environment_check=True), apply=True
    )
    elapsed = time.perf_counter() - start
    if results[0].error or results[0].failures:
        raise SystemExit(f"{label}: {results[0].error or results[0].failures}")
    stats = aws.standin.stats()
    ops = ", ".join(f"{op} {n}" for op, n in sorted(stats["by_operation"].items()))
    print(
        f"{label:<34} {elapsed:6.2f}s  requests {stats['total']:>4} "
        f"(mutating {stats['mutating']}, read {stats['read']})"
    )
    print(f"    {ops}")
    return {"read": int(stats["read"]), "mutating": int(stats["mutating"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with (
        LocalAWS(REGION, latency_s=args.latency_ms / 1000) as aws,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ.update(aws.env)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        sample = Path(tmp) / "sample"
        shutil.copytree(ROOT / "portfolios", sample / "portfolios")
        shutil.copytree(ROOT / "templates", sample / "templates")
        print(
            f"Service Catalog latency {args.latency_ms:.0f} ms per request "
            "(S3/SSM requests to moto are not counted)"
        )
        measure(aws, "sample: first publish", sample)
        measure(aws, "sample: no-op re-publish", sample)
        changed = sample / "templates/studio-domain.yaml"
        changed.write_text(changed.read_text() + "\n# bench change\n")
        # A release changes the generator and rebuilds; here the template changes alone, so
        # publish's check "generated template == generator output" is told the new text.
        released = changed.read_text()
        original = preconditions._generated
        preconditions._generated = lambda root, name: (  # type: ignore[assignment]
            released if name == "studio-domain" else original(root, name)
        )
        measure(aws, "sample: one changed template", sample)
        preconditions._generated = original
        aws.reset()
        aws.client("s3").create_bucket(Bucket=BUCKET)
        synthetic(Path(tmp) / "synthetic")
        measure(aws, "20 products x 3 portfolios: first", Path(tmp) / "synthetic")
        measure(aws, "20 products x 3 portfolios: no-op", Path(tmp) / "synthetic")
        aws.reset()
        aws.client("s3").create_bucket(Bucket=BUCKET)
        large = Path(tmp) / "large"
        synthetic(large, products=100, portfolios=1)
        aws.standin.configure(latency_s=0.0)
        measure(aws, "100 products x 1 portfolio: first", large)
        aws.standin.configure(latency_s=args.latency_ms / 1000)
        figures = measure(aws, "100 products x 1 portfolio: no-op", large)
        print(
            f"    no-op: {figures['mutating']} writes, "
            f"{figures['read'] - 100} reads beyond 1 per product"
        )


if __name__ == "__main__":
    main()
