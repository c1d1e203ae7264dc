"""Helpers for the hooks tests: a VM laid out under a tmp root, with the iris
double first on the hooks' PATH, the bundle installed by ``install.sh --root``
and the Azure runner double to drive backups.

Clock: every VM runs its hooks, doubles and runner on one clock SCALE times faster than the wall
(tests/doubles/clock.py): settings, event times and the runner's times stay in the hooks' own
seconds, a backup lasts 1/SCALE of the wall time. HOOK_TESTS_CLOCK_SCALE=1 (``make test-slow``)
runs the same tests on the real clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "hooks"
DOUBLES = REPO / "tests" / "doubles"
sys.path.insert(0, str(DOUBLES))

from azure_runner import run_backup  # noqa: E402
from clock import DIR as CLOCK_DIR  # noqa: E402
from clock import SCALE_ENV, Clock, valid_scale  # noqa: E402
from decoy import Decoy  # noqa: E402
from iris_double import IrisDouble  # noqa: E402

# The smallest numbers that keep the nesting rules install.sh enforces (a step = call + 1 s):
# azure > 6 steps, budget > azure + 2 polls, WDSuspendLimit > budget + 4 steps. The runner polls
# every second (runner_poll_seconds), as installed by default.
FAST = {
    "call_timeout_seconds": 1,
    "azure_timeout_seconds": 13,
    "freeze_budget_seconds": 16,
    "wd_suspend_limit_seconds": 25,
    "external_freeze_timeout_seconds": 30,
    "runner_poll_seconds": 1,
}


# A budget long enough for another runner's whole backup (a Python process starting: wall time,
# which the scaled clock makes long in the hooks' seconds) to happen inside this run's freeze.
LONG = {"freeze_budget_seconds": 60, "wd_suspend_limit_seconds": 70, "external_freeze_timeout_seconds": 80}

# 4: the smallest call limit (1 s) is 0.25 s of wall time, 50 times what an iris double call costs
# on a loaded 2-core machine; the whole matrix runs in about a quarter of the time.
SCALE = valid_scale(os.environ.get("HOOK_TESTS_CLOCK_SCALE", "4"))
# Wall seconds a loaded machine may add to anything the hooks do (process start-up, scheduling):
# upper bounds in the hooks' seconds add WALL_LATENCY * scale (VM.bound).
WALL_LATENCY = 2.0


def settings_text(**kw) -> str:
    vals = dict(FAST)
    vals.update(kw)
    return "".join(f"{k}={v}\n" for k, v in vals.items() if v is not None)


class VM:
    """One simulated VM: root dir, iris double, installed hooks."""

    def __init__(self, base: Path, scale: int = SCALE):
        self.base = base
        self.root = base / "root"
        self.root.mkdir()
        self.clock = Clock(scale)
        self.double = IrisDouble(base / "double", self.clock.scale)
        self.settings: dict = dict(FAST)
        # Environment of the runner on top of the plain one (e.g. a test boot id file).
        self.extra_env: dict = {}
        self.decoy = Decoy(base)

    # ---------------------------------------------------------- install
    def install(self, settings: str | None = None, *args: str, bundle: Path = HOOKS,
                check: bool = True, iris_path: bool = True, **kw) -> subprocess.CompletedProcess:
        if settings is None:
            self.settings = dict(FAST)
            self.settings.update(kw)
            settings = settings_text(**kw)
        argv = ["sh", str(bundle / "install.sh"), "--root", str(self.root)]
        if iris_path:
            argv += ["--iris-path", self.iris_path]
        argv += ["--settings", "-", *args]
        p = subprocess.run(argv, input=settings, text=True, capture_output=True, timeout=60)
        if check:
            assert p.returncode == 0, f"install failed: {p.stdout}\n{p.stderr}"
        self.double.reset_logs()  # forget the self-check's calls
        return p

    def install_sh(self, *args: str, bundle: Path = HOOKS, stdin: str | None = None,
                   env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(bundle / "install.sh"), "--root", str(self.root), *args],
                              input=stdin, text=True, capture_output=True, timeout=120, env=env)

    # ---------------------------------------------------------- paths
    @property
    def iris_path(self) -> str:
        """The hooks' iris_path: the clock doubles (when the clock is scaled), then the iris double."""
        dirs = [CLOCK_DIR] if self.clock.scale > 1 else []
        return ":".join([*dirs, str(self.double.bin_dir)])

    @property
    def config_path(self) -> Path:
        return self.root / "etc/azure/VMSnapshotScriptPluginConfig.json"

    @property
    def base_dir(self) -> Path:
        return self.root / "opt/irisbackup"

    @property
    def state_dir(self) -> Path:
        return self.root / "var/lib/irisbackup"

    @property
    def log_path(self) -> Path:
        return self.root / "var/log/irisbackup/irisbackup.log"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def release_dir(self) -> Path:
        import json
        cfg = json.loads(self.config_path.read_text())
        return Path(cfg["preScriptLocation"]).parent

    def script(self, name: str) -> Path:
        return self.release_dir() / name

    def runs(self) -> list[Path]:
        d = self.state_dir / "runs"
        return sorted(p for p in d.iterdir() if p.is_dir()) if d.exists() else []

    # ---------------------------------------------------------- running
    def env(self) -> dict:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", **self.clock_env(), **self.extra_env}

    def clock_env(self) -> dict:
        return {SCALE_ENV: str(self.clock.scale)} if self.clock.scale > 1 else {}

    def bound(self, seconds: float) -> float:
        """An upper bound of `seconds` of the hooks' clock plus what a loaded machine may add."""
        return seconds + WALL_LATENCY * self.clock.scale

    def backup(self, **kw):
        kw.setdefault("env", self.env())
        return run_backup(self.root, self.double, **kw)

    def run_script(self, name: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run an installed script directly as Azure would (sh, absolute path), this process as runner."""
        return subprocess.run(["sh", str(self.script(name))], capture_output=True, text=True,
                              timeout=timeout, cwd="/", stdin=subprocess.DEVNULL, env=self.env())

    def set_installed(self, key: str, value: str) -> None:
        """Change one key of the installed settings.conf (as a tampering root user would)."""
        conf = self.script("settings.conf")
        lines = [f"{key}={value}" if line.startswith(f"{key}=") else line
                 for line in conf.read_text().splitlines()]
        conf.write_text("\n".join(lines) + "\n")

    def wait_thawed(self, timeout: float) -> bool:
        return self.double.wait_all_thawed(timeout)

    def wait_for(self, predicate, timeout: float, poll: float = 0.05) -> bool:
        """Wait at most timeout wall seconds: a bound on the wait, never on the hooks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(poll)
        return predicate()

    def cleanup(self) -> None:
        # Stop any watchdog still armed the way the hooks do (a marker, no signal).
        for run in self.runs():
            try:
                (run / "watchdog_stop").touch()
            except OSError:
                pass
        self.decoy.stop()




def run_backup_in_other_process(vm: VM, *args: str) -> dict:
    """One backup by another runner process (its own pid: another VMSnapshot extension run)."""
    env = [f"--env={k}={v}" for k, v in {**vm.clock_env(), **vm.extra_env}.items()]
    p = subprocess.run([sys.executable, str(DOUBLES / "azure_runner.py"), str(vm.root),
                        "--double", str(vm.double.dir), *env, *args],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def watchdog_pid(run: Path) -> int:
    return int((run / "watchdog.proc").read_text().split()[0])


def this_boot() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


class BackgroundBackup(threading.Thread):
    """A backup by this process's runner, in a thread: run A, while the test starts run B."""

    def __init__(self, vm: VM, **kw):
        super().__init__(daemon=True)
        self.vm, self.kw, self.result = vm, kw, None
        self.start()

    def run(self) -> None:
        self.result = self.vm.backup(**self.kw)

    def outcome(self, timeout: float = 60):
        self.join(timeout)
        return self.result
