"""``make rehearse``: the whole release flow against local AWS, no account needed.

Starts moto and the Service Catalog stand-in on loopback, plays the bootstrap stack's part
(template bucket and its SSM parameter), then runs the real CLI as a release pipeline
would: ``publish`` and a ``plan`` that must report no change.

The stand-in runs in its realistic mode (``Realism.realistic``: CREATING before AVAILABLE,
ResourceNotFound right after creates, expiring tokens, per-operation throttling, product tags
propagated) as the management account with Organizations access, like a release pipeline that
shares portfolios with organizational units. ``--simple`` turns the realistic mode off.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Sequence

from factory import naming
from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import Realism

BUCKET = "studio-catalog-rehearsal-templates"


def _run(env: dict[str, str], *args: str) -> int:
    print(f"\n$ studio-factory {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "factory", *args], env=env, check=False).returncode


def rehearsal_realism(simple: bool = False) -> Realism:
    """What the rehearsal's stand-in imitates: the real service, from the management account."""
    if simple:
        return Realism()
    return Realism.realistic(organization_role="management", organizations_access=True)


def main(environment: str = "dev", *, simple: bool = False) -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    with LocalAWS(realism=rehearsal_realism(simple)) as aws:
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


def cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m factory.testing.rehearse")
    parser.add_argument("environment", nargs="?", default="dev")
    parser.add_argument(
        "--simple",
        action="store_true",
        help="turn the stand-in's realistic mode off (immediate, always consistent)",
    )
    args = parser.parse_args(argv)
    return main(args.environment, simple=args.simple)


if __name__ == "__main__":
    sys.exit(cli())
