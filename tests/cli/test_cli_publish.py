"""``studio-factory publish`` at the keyboard: the two Ctrl-Cs (issue 9).

The first Ctrl-C lets the change in flight finish and stops every region before the next
(tests/publish/test_publish_prune_and_guards.py runs that through a real publish); the second
exits at once with 130, whatever call is in flight, and says how to recover.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from factory.cli import publish as publish_cli
from factory.cli.errors import EXIT_INTERRUPTED


class Exited(Exception):
    pass


def test_the_second_ctrl_c_exits_at_once_with_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    codes: list[int] = []

    def exit_now(code: int) -> None:  # os._exit would end the test process
        codes.append(code)
        raise Exited

    monkeypatch.setattr(publish_cli.os, "_exit", exit_now)
    stop = threading.Event()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(Exited), publish_cli.stop_on_interrupt(stop):
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs in this (the main) thread
        assert stop.is_set() and codes == []  # first: stop between changes, keep going
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second Ctrl-C did not stop the run")
    assert codes == [EXIT_INTERRUPTED] == [130]
    err = capsys.readouterr().err
    assert "stopping after the change in flight (Ctrl-C again to stop now)" in err
    assert "a re-run converges; if a publish lock is left, re-run with --break-lock" in err
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
