"""Benchmark `studio-factory audit`: wall time of the whole audit in a fresh interpreter, and
per derived proof the time and the number of requirements it checked.

Run: ``.venv/bin/python bench/audit.py`` (also part of ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = r"""
import json, time
from pathlib import Path
t0 = time.perf_counter()
from factory.cfn_yaml import load_template
from factory.audit.derived import AuditInputs, proof_modules
from factory.audit.proofs import audit_bootstrap
from factory.audit.evaluator import scan_templates
t1 = time.perf_counter()
templates = {str(p): load_template(p)
             for d in ("templates", "launch") for p in sorted(Path(d).glob("*.yaml"))}
scan_templates(templates)
audit_bootstrap(templates["launch/studio-catalog-bootstrap.yaml"])
t2 = time.perf_counter()
proofs = []
inputs = AuditInputs(templates, Path("."))
for module in proof_modules():
    start = time.perf_counter()
    result = module.check(inputs)
    proofs.append({"id": result.proof_id, "seconds": time.perf_counter() - start,
                   "checked": result.checked, "failures": len(result.failures)})
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "hygiene+questions": t2 - t1, "derived": t3 - t2,
                  "total": t3 - t0, "proofs": proofs}))
"""

TARGET_TOTAL_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(parser.parse_args().runs)
    ]
    median = {k: statistics.median(r[k] for r in runs) for k in ("import", "derived", "total")}
    print(f"audit, median of {len(runs)} fresh processes")
    print(f"  import {median['import']:.2f} s, derived proofs {median['derived']:.2f} s")
    verdict = "met" if median["total"] <= TARGET_TOTAL_S else "MISSED"
    print(f"  total {median['total']:.2f} s (target <= {TARGET_TOTAL_S:.0f} s: {verdict})")
    for proof in runs[-1]["proofs"]:
        print(
            f"  {proof['id']:<28} {proof['seconds']:6.2f} s  {proof['checked']:6d} checked"
            f"  {proof['failures']:4d} failing"
        )


if __name__ == "__main__":
    main()
