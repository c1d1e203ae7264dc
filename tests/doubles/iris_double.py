"""Python handle on the `iris`/`csession`/`ccontrol` test double.

The double itself is ``iris_double.sh`` (POSIX sh, about a millisecond per
call).  This module lays out its state directory, configures instances and
behaviours, and reads back state and the event log.  Times are centiseconds
of /proc/uptime, the clock the hooks and the double both use (event times are
that clock in seconds).  ``IrisDouble(dir, scale=K)`` runs that
clock K times faster (clock.py; the file <dir>/clock_scale tells the shell
double), as the hooks do under IRISBACKUP_TEST_TIME_SCALE=K.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from clock import Clock

SCRIPT = Path(__file__).resolve().with_name("iris_double.sh")
LOGGER = Path(__file__).resolve().with_name("logger_double.sh")
OPS = ("freeze", "thaw", "suspended", "stat", "login", "mirror")
COMMANDS = ("iris", "csession", "ccontrol")


@dataclass(frozen=True)
class Event:
    t: float  # seconds on the uptime clock
    name: str
    kind: str  # freeze, freeze-fail, thaw, thaw-fail, stat-W, auto-thaw, login-denied
    detail: str = ""
    product: str = ""  # iris | cache: an instance is its product and its name


class IrisDouble:
    """State directory of one simulated VM's IRIS/Caché installation."""

    def __init__(self, directory: os.PathLike | str, scale: int | None = None):
        """scale None: the one the directory already has (1 for a new one)."""
        self.dir = Path(directory)
        (self.dir / "instances").mkdir(parents=True, exist_ok=True)
        scale_file = self.dir / "clock_scale"
        if scale is None:
            scale = int(scale_file.read_text()) if scale_file.exists() else 1
        self.clock = Clock(scale)
        scale_file.write_text(f"{self.clock.scale}\n")
        self.bin_dir = self.dir / "bin"
        self.bin_dir.mkdir(exist_ok=True)
        os.chmod(SCRIPT, 0o755)
        for cmd in COMMANDS:
            link = self.bin_dir / cmd
            if not link.exists():
                link.symlink_to(SCRIPT)
        os.chmod(LOGGER, 0o755)
        if not (self.bin_dir / "logger").exists():
            (self.bin_dir / "logger").symlink_to(LOGGER)
        for f in ("events", "calls", "syslog"):
            (self.dir / f).touch()

    # ------------------------------------------------------------ setup
    def _idir(self, name: str, product: str | None = None) -> Path:
        """instances/<product>/<name>; without a product, the one instance of that name."""
        if product is not None:
            return self.dir / "instances" / product / name
        found = [d for d in (self.dir / "instances").glob(f"*/{name}") if (d / "product").exists()]
        if len(found) != 1:
            raise ValueError(f"instance {name!r}: {len(found)} instances of that name; give the product")
        return found[0]

    def add_instance(self, name: str, product: str = "iris", status: str = "running",
                     auth: str = "os", credentials: tuple[str, str] | None = None) -> None:
        d = self._idir(name, product)
        d.mkdir(parents=True, exist_ok=True)
        (d / "product").write_text(product + "\n")
        (d / "status").write_text(status + "\n")
        (d / "auth").write_text(auth + "\n")
        if credentials is not None:
            (d / "credentials").write_text(f"{credentials[0]}\n{credentials[1]}\n")

    def set_status(self, name: str, status: str, product: str | None = None) -> None:
        (self._idir(name, product) / "status").write_text(status + "\n")

    def set_mirror(self, name: str, status: str | None, ready: bool = True, product: str | None = None) -> None:
        """What $SYSTEM.Mirror.GetStatus() answers (None: NOTINIT) and SYS.Mirror.IsFailoverReady."""
        d = self._idir(name, product)
        if status is None:
            (d / "mirror").unlink(missing_ok=True)
        else:
            (d / "mirror").write_text(status + "\n")
        (d / "failover_ready").write_text(("1" if ready else "0") + "\n")

    def set_behaviour(self, name: str, op: str, behaviour: str | None, product: str | None = None) -> None:
        """op in OPS; behaviour 'fail' | 'hang' | 'hang-if-frozen' | 'delay <s>' | 'exit <code>' |
        'landexit <code>' | 'serverlate <s>' (freeze: the client hangs, a server side lands it <s>
        after the call) | None."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}")
        _set_behaviour_file(self._idir(name, product) / f"op.{op}", behaviour)

    def set_qlist_behaviour(self, behaviour: str | None) -> None:
        _set_behaviour_file(self.dir / "op.qlist", behaviour)

    def add_raw_qlist_line(self, product: str, line: str) -> None:
        with open(self.dir / f"qlist.extra.{product}", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def freeze(self, name: str, wd_limit: int = 0, eft: int = 0, product: str | None = None) -> None:
        """Freeze an instance as if someone else had (not through the hooks)."""
        t = round(self.clock.now() * 100)
        (self._idir(name, product) / "frozen").write_text(f"{t} {wd_limit} {eft}\n")

    # ------------------------------------------------------------ state
    def targets(self) -> list[tuple[str, str]]:
        """Every instance as (name, product)."""
        return sorted((d.name, d.parent.name) for d in (self.dir / "instances").glob("*/*")
                      if (d / "product").exists())

    def running_targets(self) -> list[tuple[str, str]]:
        """Instances that are up (a snapshot must find them frozen): running or sign-on inhibited."""
        return [(n, p) for n, p in self.targets()
                if (self._idir(n, p) / "status").read_text().strip().startswith(("running", "sign-on inhibited"))]

    def is_frozen(self, name: str, product: str | None = None) -> bool:
        """Frozen now, with the WDSuspendLimit auto-thaw applied (read-only)."""
        try:
            t, wdl, _eft = (self._idir(name, product) / "frozen").read_text().split()[:3]
        except (FileNotFoundError, ValueError):
            return False  # absent, or "none": thawed
        if int(wdl) and round(self.clock.now() * 100) >= int(t) + int(wdl) * 100:
            return False
        return True

    def frozen_targets(self) -> list[tuple[str, str]]:
        return [(n, p) for n, p in self.targets() if self.is_frozen(n, p)]

    def frozen_instances(self) -> list[str]:
        return [n for n, _ in self.frozen_targets()]

    def all_frozen(self, names: list[str] | None = None) -> bool:
        if names is None:
            targets = self.running_targets()
            return bool(targets) and all(self.is_frozen(n, p) for n, p in targets)
        return bool(names) and all(self.is_frozen(n) for n in names)

    def wait_all_thawed(self, timeout: float, poll: float = 0.05) -> bool:
        """Wait at most timeout wall seconds (a bound on the wait, not on the hooks)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.frozen_targets():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def events(self, kind: str | None = None, name: str | None = None,
               product: str | None = None) -> list[Event]:
        out = []
        for line in (self.dir / "events").read_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) < 3:
                continue
            who, _, prod = parts[1].partition(":")
            e = Event(int(parts[0]) / 100.0, who, parts[2], parts[3] if len(parts) > 3 else "", prod)
            if ((kind is None or e.kind == kind) and (name is None or e.name == name)
                    and (product is None or e.product == product)):
                out.append(e)
        return sorted(out, key=lambda e: e.t)

    def call_started(self, fragment: str) -> bool:
        """A call with an argument containing fragment has started (calls are logged on entry)."""
        return any(fragment in arg for call in self.calls() for arg in call)

    def calls(self, before: float | None = None) -> list[list[str]]:
        """argv of every call (argv[0] is the command name), in order; before=T: those started before T."""
        out = []
        for line in (self.dir / "calls").read_text().splitlines():
            parts = line.split("\t")
            if before is None or int(parts[0]) / 100.0 < before:
                out.append(parts[1:])
        return out

    def syslog_raw(self) -> list[tuple[str, str, str]]:
        """(tag, facility.severity, message) of every line the hooks sent to logger."""
        return [tuple(line.split("\t", 2)) for line in (self.dir / "syslog").read_text().splitlines()]

    def set_logger_behaviour(self, behaviour: str | None) -> None:
        """'fail' | 'hang' | None: how the logger double answers."""
        _set_behaviour_file(self.dir / "op.logger", behaviour)

    def reset_logs(self) -> None:
        for f in ("events", "calls", "syslog"):
            (self.dir / f).write_text("")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _set_behaviour_file(path: Path, behaviour: str | None) -> None:
    if behaviour is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(behaviour + "\n")
