"""Ctrl-C at the keyboard for the commands that change AWS (issue 9): two presses.

The first sets the stop event and the command goes on to stop between changes (run through
real commands in tests/publish/test_publish_prune_and_guards.py and
tests/users/test_users_import.py); the second exits at once with 130, whatever call is in
flight, and says how to recover.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from factory.cli import interrupt
from factory.cli import publish as publish_cli
from factory.cli.errors import EXIT_INTERRUPTED
from factory.cli.users import common as users_common


class Exited(Exception):
    pass


Wrapper = Callable[[threading.Event], AbstractContextManager[None]]


@pytest.mark.parametrize(
    ("wrapper", "stopping", "stopped"),
    [
        (
            publish_cli.stop_on_interrupt,
            "stopping after the change in flight (Ctrl-C again to stop now)",
            "a re-run converges; if a publish lock is left, re-run with --break-lock",
        ),
        (
            lambda stop: users_common.stop_on_interrupt(stop, "no new launch starts"),
            "stopping: no new launch starts (Ctrl-C again to stop now)",
            "stopped; re-run the same command to finish",
        ),
    ],
    ids=["publish-and-bootstrap", "users"],
)
def test_the_first_ctrl_c_stops_between_changes_the_second_exits_at_once_with_130(
    wrapper: Wrapper,
    stopping: str,
    stopped: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    codes: list[int] = []

    def exit_now(code: int) -> None:  # os._exit would end the test process
        codes.append(code)
        raise Exited

    monkeypatch.setattr(interrupt.os, "_exit", exit_now)
    stop = threading.Event()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Exited), wrapper(stop):
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs in this (the main) thread
        assert stop.is_set() and codes == []  # first: stop between changes, keep going
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second Ctrl-C did not stop the command")
    assert codes == [EXIT_INTERRUPTED] == [130]
    err = capsys.readouterr().err
    assert stopping in err
    assert stopped in err
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
