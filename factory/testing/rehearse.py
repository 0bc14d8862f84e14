"""``make rehearse``: the whole release flow against local AWS, no account needed.

Starts moto and the Service Catalog stand-in on loopback, plays the bootstrap stack's part
(template bucket and its SSM parameter), then runs the real CLI as a release pipeline
would: ``publish`` and a ``plan`` that must report no change.
"""

from __future__ import annotations

import os
import subprocess
import sys

from factory import naming
from factory.testing.local_aws import LocalAWS

BUCKET = "studio-catalog-rehearsal-templates"


def _run(env: dict[str, str], *args: str) -> int:
    print(f"\n$ studio-factory {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "factory", *args], env=env, check=False).returncode


def main(environment: str = "dev") -> int:
    with LocalAWS() as aws:
        aws.client("s3").create_bucket(Bucket=BUCKET)
        aws.client("ssm").put_parameter(
            Name=naming.TEMPLATE_BUCKET_SSM_PARAMETER, Value=BUCKET, Type="String"
        )
        env = {**os.environ, **aws.env}
        env.pop("AWS_PROFILE", None)
        steps = [
            ("publish", "--env", environment, "--yes"),
            ("plan", "--env", environment),
        ]
        codes = [_run(env, *step) for step in steps]
        stats = aws.standin.stats()
        print(
            f"\nService Catalog requests: {stats['total']} "
            f"({stats['mutating']} mutating, {stats['read']} read)"
        )
    if codes != [0, 0]:
        print(f"rehearsal failed: exit codes {codes} (plan must report no change: 0)")
        return 1
    print("rehearsal passed: published, and a second plan found nothing to change")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
