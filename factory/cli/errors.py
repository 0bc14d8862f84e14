"""One error style and one set of exit codes for every command (shared/DESIGN.md, "Errors").

A user mistake is raised as :class:`UserError` and printed on stderr as
``error: <where>: <what is wrong>; <what is allowed or what to do>``, exit 1. Tracebacks are
printed only with ``--debug`` (the group's option; :func:`debug_enabled`).
"""

from __future__ import annotations

import os
import re
import sys
import traceback

import click

EXIT_OK = 0
EXIT_ERROR = 1
#: `plan`: changes pending. Usage errors exit 1 too (click's default 2 would read "pending").
EXIT_PENDING = 2
#: Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130

DEBUG_ENV = "STUDIO_FACTORY_DEBUG"


class UserError(click.ClickException):
    """A mistake the user can fix: where (file, flag, resource), what, and the fix."""

    exit_code = EXIT_ERROR

    def __init__(self, where: str, what: str, fix: str = "") -> None:
        self.where, self.what, self.fix = where, what, fix
        super().__init__(self.text())

    def text(self) -> str:
        message = f"{self.where}: {self.what}" if self.where else self.what
        return f"{message}; {self.fix}" if self.fix else message

    def format_message(self) -> str:
        return self.text()

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.text()}", err=True)


def debug_enabled() -> bool:
    """True under ``studio-factory --debug`` (which sets the variable) or when it is set."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


# --- the top-level handler (factory.cli.main and the group) ------------------------------------
# Every exception that ends a command is turned into one line on stderr and an exit code here:
# user mistakes (UserError, click's usage errors, AWS configuration errors, files) as
# ``error: <where>: <what>; <fix>``, exit 1; Ctrl-C as "interrupted", exit 130; anything else
# as an internal error, exit 1. The traceback only with ``--debug``.

INTERRUPTED = "interrupted"
ABORTED = "aborted"


def _sentence(text: str) -> str:
    """click's messages as a clause: no trailing period, lower-case first word ("No such" ->
    "no such"; "AWS" stays)."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def _param_hint(error: click.BadParameter) -> str:
    hint = error.param_hint
    if isinstance(hint, str):
        return hint.strip("'\"")
    if hint:
        return "/".join(str(h).strip("'\"") for h in hint)
    param = error.param
    if param is None:
        return ""
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return param.human_readable_name.upper()


def usage_error(error: click.UsageError, command_path: str = "") -> UserError:
    """A click usage error (unknown option, bad value, missing argument) in the one style.
    ``command_path`` stands in for the error's context when click gives it none."""
    ctx = error.ctx
    path = ctx.command_path if ctx is not None else command_path
    help_fix = f"see `{path} --help`" if path else "see --help"
    if isinstance(error, click.NoSuchOption):
        possibilities = error.possibilities or []
        fix = f"did you mean {' or '.join(possibilities)}?" if possibilities else help_fix
        return UserError(error.option_name, f"no such option for `{path}`", fix)
    if isinstance(error, click.MissingParameter):
        where = _param_hint(error) or path
        return UserError(where, "required", help_fix)
    if isinstance(error, click.BadParameter):
        where = _param_hint(error) or path
        return UserError(where, _sentence(error.message), help_fix)
    if isinstance(error, click.BadOptionUsage):  # "Option '--x' requires an argument."
        what = re.sub(r"^option '[^']*' ", "", _sentence(error.message))
        return UserError(error.option_name, what, help_fix)
    return UserError(path, _sentence(error.format_message()), help_fix)


def _endpoint_env() -> str:
    names = sorted(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL"))
    return ", ".join(f"{k}={os.environ[k]}" for k in names)


def aws_error(error: BaseException) -> UserError | None:
    """botocore's configuration, credential and connection errors as user errors.

    botocore is imported only when it already is (no AWS call was made otherwise), so the
    handler costs nothing on a command that never touched AWS.
    """
    if "botocore.exceptions" not in sys.modules:
        return None
    from botocore import exceptions as bx

    profile = "--profile/AWS_PROFILE"
    if isinstance(error, bx.ProfileNotFound):
        name = error.kwargs.get("profile", "")
        return UserError(
            profile,
            f"no profile {name!r} in the AWS config files",
            "list them with `aws configure list-profiles`, or unset AWS_PROFILE",
        )
    if isinstance(error, bx.NoRegionError):
        return UserError(
            "--region/AWS_REGION",
            "no region given",
            "pass --region, set AWS_REGION, or give the profile a region",
        )
    if isinstance(error, bx.NoCredentialsError):
        return UserError(
            profile,
            "no AWS credentials found",
            "pass --profile, set AWS_PROFILE, or sign in (aws sso login / aws configure)",
        )
    if isinstance(error, bx.PartialCredentialsError):
        return UserError(profile, _sentence(str(error)), "complete or remove those credentials")
    if isinstance(error, bx.TokenRetrievalError | bx.SSOError | bx.SSOTokenLoadError):
        return UserError(
            profile, "the SSO session is missing or expired", "run `aws sso login` and re-run"
        )
    if isinstance(error, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        url = error.kwargs.get("endpoint_url", "the AWS endpoint")
        configured = _endpoint_env()
        where = "--endpoint-url/AWS_ENDPOINT_URL" if configured else "--region"
        fix = (
            f"is local AWS running ({configured})? start it with `studio-factory local serve`"
            if configured
            else "check the region name and the network"
        )
        return UserError(where, f"cannot connect to {url}", fix)
    if isinstance(error, bx.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = getattr(error, "operation_name", "")
        if code in {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}:
            return UserError(
                profile, f"the credentials have expired ({operation}: {code})", "refresh them"
            )
        if code in {
            "InvalidClientTokenId",
            "UnrecognizedClientException",
            "SignatureDoesNotMatch",
            "AuthFailure",
        }:
            return UserError(
                profile,
                f"the credentials are not valid ({operation}: {code})",
                "check them with `aws sts get-caller-identity`",
            )
        return UserError(
            f"AWS {operation}".strip(),
            f"{code}: {message}" if message else code,
            "check the account, the region and the caller's permissions "
            "(re-run with --debug for the traceback)",
        )
    return None


def as_user_error(
    error: BaseException, command_path: str = ""
) -> UserError | click.ClickException | None:
    """The user-facing error an exception stands for, or None: an internal error."""
    if isinstance(error, click.UsageError):
        return usage_error(error, command_path)
    if isinstance(error, click.ClickException):
        return error
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return UserError(
            str(error.filename),
            _sentence(error.strerror),
            "check the path and its permissions",
        )
    return aws_error(error)


def interrupted(error: BaseException) -> bool:
    """Ctrl-C, also when click turned it into ``Abort`` (at a prompt, ``from None``)."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def report(error: BaseException, *, debug: bool | None = None, command_path: str = "") -> int:
    """Print ``error`` in the one style on stderr and return the exit code (tracebacks only
    with ``--debug``). ``command_path``: the command that ran, for usage errors click raises
    without a context."""
    debug = debug_enabled() if debug is None else debug
    if debug and not isinstance(error, click.UsageError):
        traceback.print_exception(error, file=sys.stderr)
    if interrupted(error):
        click.echo(INTERRUPTED, err=True)
        return EXIT_INTERRUPTED
    if isinstance(error, click.Abort | EOFError):  # a prompt answered "no"; end of input
        click.echo(ABORTED, err=True)
        return EXIT_ERROR
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        error.show()
        ctx = error.ctx
        names = (
            ", ".join(ctx.command.list_commands(ctx))
            if isinstance(ctx.command, click.Group)
            else ""
        )
        click.echo(f"error: {ctx.command_path}: no command given; choose one of: {names}", err=True)
        return EXIT_ERROR
    known = as_user_error(error, command_path)
    if isinstance(known, UserError):
        known.show()
        return known.exit_code
    if known is not None:  # another click.ClickException: its message, its exit code
        click.echo(f"error: {_sentence(known.format_message())}", err=True)
        return known.exit_code
    message = " ".join(str(error).split()) or "(no message)"
    click.echo(
        f"error: internal error: {type(error).__name__}: {message}; "
        "re-run with --debug and report it",
        err=True,
    )
    return EXIT_ERROR
