"""Ctrl-C for the commands that change AWS (publish, bootstrap, users): two presses.

The first sets a ``threading.Event`` the work checks between changes: nothing new starts, the
calls in flight finish, and the command lists what was not attempted and exits 130. The
second exits at once (``os._exit``: the calls in flight are abandoned, their threads not
joined); every such command converges when re-run.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from factory.cli.errors import EXIT_INTERRUPTED


@contextmanager
def stop_on_interrupt(stop: threading.Event, stopping: str, stopped: str) -> Iterator[None]:
    """Within the block, Ctrl-C sets ``stop`` and prints ``stopping``; again, prints
    ``stopped`` and exits 130. The previous handler is put back after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread (tests)
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            click.echo(f"\n{stopping} (Ctrl-C again to stop now)", err=True)
            return
        click.echo(f"\n{stopped}", err=True)
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
