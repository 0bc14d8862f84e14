"""A clock the tests move by hand, for the stand-in's realistic mode (its timings are
computed from ``clock()``, so a test sees CREATING, IN_PROGRESS, ... end without sleeping)."""

from __future__ import annotations

import threading
import time


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class VirtualClock:
    """Real time plus what :meth:`sleep` skipped: monotonic, never behind ``time.monotonic``.

    For the stand-in (its ``clock``) and the code under test (its sleep seams) together: a
    sleep returns at once, having moved the clock to the time it would have woken at. Sleeps
    of several threads overlap as real ones do: two threads sleeping 0.1 s from the same
    moment move the clock 0.1 s, not 0.2 s."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            wake = self() + max(0.0, seconds)
            self._offset = max(self._offset, wake - time.monotonic())
        time.sleep(0)  # still let other threads run, as a sleep would
