"""A process that is not any run's own, recording every signal it receives.

The invariant checker plants its PID where a careless hook would find it (a stale run's records)
and asserts afterwards that nothing signalled it: no catchable signal was recorded and it is alive
(SIGKILL cannot be caught, so its death is the record of that one).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

SIGNALS = ("HUP", "INT", "QUIT", "USR1", "USR2", "TERM", "ALRM", "CONT")


def start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (clock ticks after boot), as the hooks read it."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(") ", 1)[1].split()[19]


class Decoy:
    def __init__(self, directory: Path):
        self.log = Path(directory) / "decoy.signals"
        self.log.touch()
        log = shlex.quote(str(self.log))
        traps = "; ".join(f'trap "echo {s} >> {log}" {s}' for s in SIGNALS)
        self.proc = subprocess.Popen(["sh", "-c", f"{traps}; while :; do sleep 0.2; done"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def identity(self) -> str:
        """"PID START", the form of the hooks' *.proc records."""
        return f"{self.pid} {start_time(self.pid)}"

    def signals(self) -> list[str]:
        got = self.log.read_text().split()
        if self.proc.poll() is not None:
            got.append(f"died (exit {self.proc.returncode})")
        return got

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
