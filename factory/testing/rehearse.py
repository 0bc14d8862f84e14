"""``make rehearse``: the whole release flow against local AWS, no account needed.

``studio-factory local rehearse`` (what ``make rehearse`` runs) and
``python -m factory.testing.rehearse`` both end here.

Starts moto and the Service Catalog stand-in on loopback, plays the bootstrap stack's part
(:func:`play_bootstrap`: template bucket, launch role, boundary, and their SSM parameters),
then runs the real CLI as a release pipeline would: ``publish`` and a ``plan`` that must report
no change.

The stand-in runs in its realistic mode (``Realism.realistic``: CREATING before AVAILABLE,
ResourceNotFound right after creates, expiring tokens, per-operation throttling, product tags
propagated) as the management account with Organizations access, like a release pipeline that
shares portfolios with organizational units. ``--simple`` turns the realistic mode off.

``NO_COLOR`` is honoured: local AWS's log is plain (:func:`plain_logs`) and the commands run
with the same environment, so their consoles are plain too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence

from factory import naming
from factory.testing.local_aws import LocalAWS
from factory.testing.servicecatalog import Realism

BUCKET = "studio-catalog-rehearsal-templates"

#: The bootstrap stack's execution-role permissions boundary (launch/studio-catalog-bootstrap:
#: ExecutionRoleBoundary, under naming.BOOTSTRAP_POLICY_PATH).
BOUNDARY_NAME = "StudioCatalogExecutionRoleBoundary"
#: The drain function is not run locally; its SSM parameter names where it would be.
DRAIN_FUNCTION_NAME = "studio-catalog-profile-drain-local"


def plain_logs(*, verbose: bool = False) -> None:
    """Local AWS's log: moto's per-request lines only with ``verbose``; no colour when
    ``NO_COLOR`` is set or stderr is not a terminal (werkzeug colours 4xx/5xx request lines
    whatever the output is)."""
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        import werkzeug.serving

        if hasattr(werkzeug.serving, "_log_add_style"):  # werkzeug 2.x and 3.x
            werkzeug.serving._log_add_style = False


def play_bootstrap(aws: LocalAWS, bucket: str = BUCKET) -> dict[str, str]:
    """Create what the bootstrap stack (launch/studio-catalog-bootstrap.yaml) leaves in an
    account for ``publish``: the versioned template bucket, the launch role, the permissions
    boundary, and the SSM parameters naming them (factory.naming, bootstrap ``_published``).
    Returns the SSM parameters written, name -> value."""
    s3 = aws.client("s3")
    location = {} if aws.region == "us-east-1" else {"LocationConstraint": aws.region}
    s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": location} if location else {}))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "servicecatalog.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(
        RoleName=naming.DEFAULT_LAUNCH_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust)
    )
    # Nothing evaluates IAM locally: the boundary's content stands in for the bootstrap's.
    boundary = iam.create_policy(
        PolicyName=BOUNDARY_NAME,
        Path=naming.BOOTSTRAP_POLICY_PATH,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    account = aws.client("sts").get_caller_identity()["Account"]
    values = {
        naming.TEMPLATE_BUCKET_SSM_PARAMETER: bucket,
        f"{naming.BOOTSTRAP_SSM_PREFIX}/launch-role-name": naming.DEFAULT_LAUNCH_ROLE_NAME,
        naming.BOUNDARY_SSM_PARAMETER: boundary,
        naming.DRAIN_FUNCTION_SSM_PARAMETER: (
            f"arn:aws:lambda:{aws.region}:{account}:function:{DRAIN_FUNCTION_NAME}"
        ),
    }
    ssm = aws.client("ssm")
    for name, value in values.items():
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return values


def _run(env: dict[str, str], *args: str) -> int:
    print(f"\n$ studio-factory {' '.join(args)}", flush=True)
    return subprocess.run([sys.executable, "-m", "factory", *args], env=env, check=False).returncode


def rehearsal_realism(simple: bool = False) -> Realism:
    """What the rehearsal's stand-in imitates: the real service, from the management account."""
    if simple:
        return Realism()
    return Realism.realistic(organization_role="management", organizations_access=True)


def main(environment: str = "dev", *, simple: bool = False) -> int:
    plain_logs()
    with LocalAWS(realism=rehearsal_realism(simple)) as aws:
        play_bootstrap(aws, BUCKET)
        env = {**os.environ, **aws.env}
        env.pop("AWS_PROFILE", None)
        # The sample environment names placeholder accounts; local AWS has its own.
        steps = [
            ("publish", "--env", environment, "--yes", "--skip-environment-check"),
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
