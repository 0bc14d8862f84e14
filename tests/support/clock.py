"""A clock the tests move by hand, for the stand-in's realistic mode (its timings are
computed from ``clock()``, so a test sees CREATING, IN_PROGRESS, ... end without sleeping)."""

from __future__ import annotations


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
