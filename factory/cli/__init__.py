"""`studio-factory`: one command per module, loaded only when it runs.

``--help``, ``--version`` and shell completion import nothing but click: each command's module
is imported when that command is invoked (or completed), by :class:`LazyGroup`, after click's
documented "lazily loading subcommands" pattern. The short help shown in the command list
lives in :data:`COMMANDS` next to the module path (``tests/cli/test_cli_main.py`` checks it is the
command's own).

Every exception that ends a command goes through one handler (``factory.cli.errors.report``):
user mistakes as ``error: <where>: <what>; <fix>`` on stderr, exit 1 (usage errors too: click's
2 would read "changes pending" for ``plan``); Ctrl-C "interrupted", exit 130; anything else
"internal error", exit 1. A traceback only with ``--debug``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click

from factory import __version__
from factory.cli import errors

#: name -> (module defining ``command``, short help shown by ``studio-factory --help``).
COMMANDS: Mapping[str, tuple[str, str]] = {
    "build": (
        "factory.cli.build",
        "Generate every product and launch template, lint them, then write them.",
    ),
    "audit": (
        "factory.cli.audit",
        "Prove the personas' duties and limits offline, from AWS's own data; scan every policy.",
    ),
    "plan": (
        "factory.cli.plan",
        "Compare the catalog with Service Catalog and list the changes ``publish`` would make.",
    ),
    "publish": (
        "factory.cli.publish",
        "Register templates, products, portfolios and shares in AWS Service Catalog.",
    ),
    "users": (
        "factory.cli.users",
        "Provision people's Studio user profiles through Service Catalog (personas).",
    ),
    "bootstrap": (
        "factory.cli.bootstrap",
        "The bootstrap stack in every account a portfolio reaches, as a CloudFormation StackSet.",
    ),
    "plan-network": (
        "factory.cli.plan_network",
        "Size the Studio VPC and its private subnets for a number of people (seed 002).",
    ),
    "schema": (
        "factory.cli.schema",
        "Write portfolios/schema.json from the portfolio models.",
    ),
    "local": (
        "factory.cli.local",
        "Local AWS (moto + the Service Catalog stand-in): serve it, or rehearse a release.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; see the module docstring.

    Commands added with ``add_command`` (tests do) win over the lazy ones of the same name.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    # --- which commands, and loading them ---------------------------------------------------

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(name for name in self.commands if name not in self.lazy)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.commands[cmd_name] = self._load(cmd_name)
        return self.commands.get(cmd_name)

    def _load(self, name: str) -> click.Command:
        module_name, _ = self.lazy[name]
        command = importlib.import_module(module_name).command
        if not isinstance(command, click.Command):  # pragma: no cover - a programming error
            raise TypeError(f"{module_name}.command is not a click command")
        return command

    def load_all(self) -> None:
        for name in self.lazy:
            self.get_command(click.Context(self), name)

    def _short_help(self, name: str, limit: int) -> str:
        """The loaded command's own short help, else the table's (without importing)."""
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        # shortened as click shortens a command's help (a stand-in Command: public API)
        return click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)

    # --- help and completion without importing the commands ---------------------------------

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [n for n in self.list_commands(ctx) if not self._hidden(n)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        with formatter.section("Commands"):
            formatter.write_dl([(n, self._short_help(n, limit)) for n in names])

    def _hidden(self, name: str) -> bool:
        command = self.commands.get(name)
        return bool(command is not None and command.hidden)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=self._short_help(name, 45))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not self._hidden(name)
        ]
        # the group's own options (--debug, --version, --help): click.Command's completion
        return [*items, *click.Command.shell_complete(self, ctx, incomplete)]

    # --- one error handler -------------------------------------------------------------------

    def main(self, args: Sequence[str] | None = None, *pargs: Any, **kwargs: Any) -> Any:
        argv, debug = _without_debug(list(sys.argv[1:] if args is None else args))
        with _debug_for_the_run(debug):
            return super().main(argv, *pargs, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort, KeyboardInterrupt, EOFError) as error:
            raise click.exceptions.Exit(errors.report(error)) from error

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (Exception, KeyboardInterrupt) as error:
            if (
                errors.interrupted(error)
                or isinstance(error, click.Abort | EOFError)
                or errors.as_user_error(error) is not None
            ):
                path = " ".join(filter(None, [ctx.command_path, ctx.invoked_subcommand]))
                raise click.exceptions.Exit(errors.report(error, command_path=path)) from error
            raise  # an internal error: main() reports it (tests see the exception itself)


def _asks_for_debug(argv: Sequence[str]) -> bool:
    """``--debug`` anywhere before ``--`` (before or after the command name)."""
    return _without_debug(argv)[1]


def _without_debug(argv: Sequence[str]) -> tuple[list[str], bool]:
    """``argv`` without ``--debug`` and whether it was there: the flag is global, so
    ``studio-factory plan --debug ...`` means the same as ``studio-factory --debug plan ...``
    (no command has an option of that name; after ``--`` tokens are left alone)."""
    tokens = list(argv)
    end = tokens.index("--") if "--" in tokens else len(tokens)
    found = "--debug" in tokens[:end]
    head = [t for t in tokens[:end] if t != "--debug"]
    return head + tokens[end:], found


@contextmanager
def _debug_for_the_run(debug: bool) -> Iterator[None]:
    """Set STUDIO_FACTORY_DEBUG for the run (child processes inherit it), restore it after."""
    before = os.environ.get(errors.DEBUG_ENV)
    if debug:
        os.environ[errors.DEBUG_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(errors.DEBUG_ENV, None)
        else:
            os.environ[errors.DEBUG_ENV] = before


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        os.environ[errors.DEBUG_ENV] = "1"
    return value


@click.group(
    "studio-factory",
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="studio-factory")
@click.option(
    "--debug",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_set_debug,
    help=f"Print the traceback of an error (sets {errors.DEBUG_ENV}=1 for the run).",
)
def cli() -> None:
    """Build, audit and publish SageMaker Studio Service Catalog products.

    Errors: `error: <where>: <what>; <what to do>` on stderr, exit 1. `plan` exits 2 when
    changes are pending; Ctrl-C exits 130.
    """


def _register() -> None:
    """Load every command now (tests that look at ``cli.commands``); never needed to run one."""
    cli.load_all()


def main(argv: Sequence[str] | None = None) -> None:
    """The ``studio-factory`` entry point: click's handling, plus internal errors reported in
    the one style (the traceback with ``--debug``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args)
    except (Exception, KeyboardInterrupt) as error:
        with _debug_for_the_run(_asks_for_debug(args)):
            sys.exit(errors.report(error))
