"""``python -m factory.testing serve``: run moto + the Service Catalog stand-in in the foreground.

``studio-factory local serve`` (``make serve``) is the same command with the project's CLI
conventions; this module keeps the ``python -m`` entry point and does the work for both.

The stand-in runs in its realistic mode unless ``--simple`` (see ``Realism.realistic``). Once
both servers listen, the bootstrap stack's part is played (template bucket, its SSM parameters:
``factory.testing.rehearse.play_bootstrap``), so ``studio-factory publish`` works against it as
the README shows. Prints ``export NAME=value`` lines first (eval-able by a shell), then what was
created as ``#`` comments, then blocks until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from factory.testing.local_aws import LocalAWS
from factory.testing.rehearse import plain_logs, play_bootstrap
from factory.testing.servicecatalog import DEFAULT_REGION, Realism
from factory.testing.servicecatalog.realism import ORGANIZATION_ROLES

#: The template bucket ``serve`` creates (the bootstrap stack's TemplateBucket).
LOCAL_BUCKET = "studio-catalog-local-templates"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m factory.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run moto and the Service Catalog stand-in")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="sleep per stand-in request")
    serve.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="fraction of stand-in requests answered with ThrottlingException (0..1)",
    )
    serve.add_argument("--seed", type=int, default=None, help="seed for the throttling RNG")
    serve.add_argument("--region", default=DEFAULT_REGION)
    serve.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    serve.add_argument("--moto-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--standin-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--verbose", action="store_true", help="keep moto's per-request log")
    serve.add_argument(
        "--bucket",
        default=LOCAL_BUCKET,
        help="template bucket created and named in SSM, as the bootstrap stack does",
    )
    serve.add_argument(
        "--simple",
        action="store_true",
        help="turn the stand-in's realistic mode off (immediate, always consistent)",
    )
    serve.add_argument(
        "--organization-role",
        choices=ORGANIZATION_ROLES,
        default="management",
        help="the account's place in AWS Organizations (realistic mode; default management)",
    )
    serve.add_argument(
        "--no-organizations-access",
        action="store_true",
        help="AWSOrganizationsAccess disabled: organization shares are refused",
    )
    return parser


def realism_for(args: argparse.Namespace) -> Realism:
    """The realistic mode unless ``--simple``, in the account ``--organization-role`` names."""
    if args.simple:
        return Realism()
    return Realism.realistic(
        organization_role=args.organization_role,
        organizations_access=not args.no_organizations_access,
    )


def serve(args: argparse.Namespace) -> int:
    if not 0.0 <= args.throttle_rate <= 1.0:
        print("--throttle-rate must be between 0 and 1", file=sys.stderr)
        return 2
    plain_logs(verbose=args.verbose)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    local = LocalAWS(
        args.region,
        host=args.host,
        moto_port=args.moto_port,
        standin_port=args.standin_port,
        latency_s=args.latency_ms / 1000.0,
        throttle_rate=args.throttle_rate,
        seed=args.seed,
        realism=realism_for(args),
    )
    with local:
        created = play_bootstrap(local, args.bucket)
        for name, value in local.env.items():
            print(f"export {name}={shlex.quote(value)}")
        print("# created as the bootstrap stack would (studio-factory publish reads them):")
        print(f"#   s3://{args.bucket} (versioned template bucket)")
        for name, value in created.items():
            print(f"#   SSM {name} = {value}")
        print(f"# control: {local.standin_endpoint_url}/_standin/{{stats,config,reset}}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        print(f"# stand-in stats: {local.standin.stats()}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
