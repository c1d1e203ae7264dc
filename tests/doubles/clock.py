"""The tests' clock: /proc/uptime, optionally running K times faster.

The hooks read /proc/uptime (ib_now) and multiply it by IRISBACKUP_TEST_TIME_SCALE=K (2..999, any
other value is 1); the clock doubles in clock/ (sleep, timeout, first on the hooks' PATH) divide
every duration by K. The iris double and the Azure runner double use a Clock of the same K, so
every timestamp (events, calls, the runner's) and every setting is in the same "virtual" seconds,
while a backup takes 1/K of the wall time. K=1 is the real clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

SCALE_ENV = "IRISBACKUP_TEST_TIME_SCALE"
DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clock")


def valid_scale(value) -> int:
    """The scale the hooks would use for this value of SCALE_ENV (their rule: 2..999, else 1)."""
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() and not text.startswith("0") and 2 <= int(text) <= 999 else 1


def scale_of(env: Mapping[str, str] | None) -> int:
    """The scale a script started with this environment runs at."""
    return valid_scale((env if env is not None else os.environ).get(SCALE_ENV))


class Clock:
    """Seconds on the /proc/uptime clock, K times faster; sleep() takes those seconds."""

    def __init__(self, scale: int = 1):
        self.scale = valid_scale(scale)

    def now(self) -> float:
        # Centiseconds times K, over 100: the same arithmetic as the hooks' and the doubles' event
        # times, so that two readings of one tick compare equal.
        with open("/proc/uptime", encoding="ascii") as f:
            return round(float(f.read().split()[0]) * 100) * self.scale / 100.0

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.scale)

    def real(self, seconds: float) -> float:
        """Wall seconds that these clock seconds last."""
        return seconds / self.scale


REAL = Clock(1)
