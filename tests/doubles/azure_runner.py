"""Test double of the Azure VMSnapshotLinux extension's script runner.

Behaves as /work/shared/reference/azure-vm-backup-linux-scripts.md says the
real one does:

* reads <root>/etc/azure/VMSnapshotScriptPluginConfig.json; the config must be
  root-owned with no group/other bits and no owner-execute bit, both scripts
  root-owned with no group/other bits; otherwise no script runs and the backup
  is file-system consistent;
* starts each script as ``sh <script> <params...>`` (argv[0] ``sh``: dash),
  with stdout/stderr pipes that are never read while it runs, from a thread
  of this one process (pre and post share the runner's pid, as PluginHost's
  threads do);
* polls like VMBackup/main/ScriptRunner.py and PluginHost.py (repository
  Azure/azure-linux-extensions): the script thread checks the process, then
  sleeps ``ScriptsExecutionPollTimeSeconds`` (1-5, default 3) until the
  script exits or ``timeoutInSeconds / poll`` polls passed (default timeout
  10, capped at 1800); the host sleeps one poll before each check of the
  thread, at most ``int(timeout / poll) + 2`` times - so every phase lasts at
  least one poll, usually two; a timed-out script is NOT killed;
* honours <root>/etc/azure/VMSnapshotPluginHost.conf as PluginHost.py does: its [pre_post]
  timeoutInSeconds (min with 1800; 1800 without the file) caps the plugin config's, and the host
  waits int(host timeout / poll) + 2 polls; a host config with loose permissions (314) or a value
  int() refuses (304) runs no script;
* takes the snapshot if the pre-script succeeded or continueBackupOnFailure;
* always runs the post-script afterwards (unless told to simulate an
  extension that died).

The snapshot step asks the iris double (not the scripts) whether every running
instance was frozen for its whole duration.

Its clock is the scripts': an environment with IRISBACKUP_TEST_TIME_SCALE=K
(clock.py) makes every poll, snapshot and injected kill K times shorter in wall
time, and every timestamp is in those K-times-faster seconds.

Use from Python: ``run_backup(root, double, ...) -> BackupResult``; or from a
shell: ``python azure_runner.py ROOT --double DIR [--snapshot-seconds S]``
(prints the result as JSON) - a separate process, i.e. a separate runner.
"""

from __future__ import annotations

import configparser
import json
import os
import select
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clock import REAL, Clock, scale_of  # noqa: E402
from iris_double import IrisDouble  # noqa: E402

CONFIG_REL = "etc/azure/VMSnapshotScriptPluginConfig.json"
APP = "application-consistent"
FS = "file-system-consistent"
FAILED = "failed"
# ScriptRunner's pollSleepTime when the config has no valid ScriptsExecutionPollTimeSeconds.
DEFAULT_POLL_SECONDS = 3


@dataclass
class ScriptResult:
    ran: bool = False
    exit_code: int | None = None  # None: still running when the runner moved on, or not run
    timed_out: bool = False
    killed: bool = False
    started: float | None = None  # uptime seconds (of the run's Clock)
    ended: float | None = None  # when the runner (PluginHost) stopped waiting
    exited_seen: float | None = None  # when ScriptRunner's poll saw the script's exit
    stdout: str = ""
    stderr: str = ""
    pipes_held_open: bool = False  # the script exited but something kept its pipes open
    error_code: int | None = None  # extension code: 300/301 failed, 308/309 timeout
    proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.ran and not self.timed_out and self.exit_code == 0

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "proc"}
        d["ok"] = self.ok
        return d


@dataclass
class SnapshotResult:
    taken: bool = False
    started: float | None = None
    ended: float | None = None
    instances: list[str] = field(default_factory=list)
    frozen_at_start: dict[str, bool] = field(default_factory=dict)
    frozen_at_end: dict[str, bool] = field(default_factory=dict)
    thaw_events_during: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """Every running instance frozen from start to end of the snapshot."""
        if not self.taken:
            return False
        return (all(self.frozen_at_start.values()) and all(self.frozen_at_end.values())
                and not self.thaw_events_during)


@dataclass
class BackupResult:
    config_error: str | None = None
    timeout_seconds: int = 10
    continue_on_failure: bool = True
    poll_seconds: float = DEFAULT_POLL_SECONDS
    pre: ScriptResult = field(default_factory=ScriptResult)
    post: ScriptResult = field(default_factory=ScriptResult)
    snapshot: SnapshotResult = field(default_factory=SnapshotResult)
    outcome: str = FS
    started: float = 0.0
    ended: float = 0.0

    @property
    def claimed_application_consistent(self) -> bool:
        return self.outcome == APP

    @property
    def honest(self) -> bool:
        """Never claims application consistency for a snapshot that was not."""
        return not (self.claimed_application_consistent and not self.snapshot.consistent)

    def wait_scripts(self, timeout: float = 30.0) -> bool:
        """Wait for scripts the runner left running (timed out); True if all ended."""
        deadline = time.monotonic() + timeout
        for s in (self.pre, self.post):
            if s.proc is not None and s.proc.poll() is None:
                try:
                    s.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    return False
            if s.proc is not None and s.exit_code is None and not s.killed:
                s.exit_code = s.proc.returncode
        return True

    def to_dict(self) -> dict:
        return {
            "config_error": self.config_error,
            "timeout_seconds": self.timeout_seconds,
            "continue_on_failure": self.continue_on_failure,
            "poll_seconds": self.poll_seconds,
            "pre": self.pre.to_dict(),
            "post": self.post.to_dict(),
            "snapshot": {**asdict(self.snapshot), "consistent": self.snapshot.consistent},
            "outcome": self.outcome,
            "claimed_application_consistent": self.claimed_application_consistent,
            "honest": self.honest,
            "started": self.started,
            "ended": self.ended,
        }


def _check_script(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return "not found"
    if st.st_uid != 0:
        return "not owned by root"
    if stat.S_IMODE(st.st_mode) & 0o077:
        return f"mode {stat.S_IMODE(st.st_mode):04o} has group/other bits"
    return None


def check_config(root: os.PathLike | str) -> tuple[dict | None, str | None]:
    """Permission and parse checks of the plugin config and both scripts."""
    cfg_path = Path(root) / CONFIG_REL
    try:
        st = cfg_path.stat()
    except FileNotFoundError:
        return None, "304 plugin config missing"
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != 0 or mode & 0o077 or mode & 0o100:
        return None, f"317 plugin config permissions (uid {st.st_uid}, mode {mode:04o})"
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError) as e:
        return None, f"313 plugin config unparsable: {e}"
    for key, code in (("preScriptLocation", 302), ("postScriptLocation", 303)):
        if not cfg.get(key):
            return None, f"305 {key} missing"
    try:
        poll_seconds_of(cfg)
    except (TypeError, ValueError) as e:
        return None, f"313 ScriptsExecutionPollTimeSeconds unusable: {e}"
    for key, code in (("preScriptLocation", 306), ("postScriptLocation", 307)):
        problem = _check_script(Path(cfg[key]))
        if problem == "not found":
            return None, f"{code - 4} {key} {cfg[key]} not found"
        if problem:
            return None, f"{code} {key} {cfg[key]}: {problem}"
    return cfg, None


def _drain(proc: subprocess.Popen, wait_eof: float) -> tuple[str, str, bool]:
    """Read what the script wrote; report whether EOF never came (pipe held open).

    The real runner never reads the pipes at all; the double reads them only after the script
    ended, for the tests' assertions, so a script that prints much still blocks as on a VM.
    """
    out = {proc.stdout.fileno(): b"", proc.stderr.fileno(): b""}
    open_fds = set(out)
    deadline = time.monotonic() + wait_eof
    for fd in open_fds:
        os.set_blocking(fd, False)
    while open_fds and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_fds), [], [], max(0.0, deadline - time.monotonic()))
        for fd in r:
            chunk = os.read(fd, 65536)
            if chunk:
                out[fd] += chunk
            else:
                open_fds.discard(fd)
    held = bool(open_fds)
    so = out[proc.stdout.fileno()].decode(errors="replace")
    se = out[proc.stderr.fileno()].decode(errors="replace")
    proc.stdout.close()
    proc.stderr.close()
    return so, se, held


def poll_seconds_of(cfg: dict) -> float:
    """ScriptRunner.get_config: ScriptsExecutionPollTimeSeconds if 1 <= int(v) <= 5, else 3.

    int() of a value that is no number raises ValueError there, which makes the whole config
    unusable (configLoaded stays False): check_config reports that as error 313.
    """
    value = cfg.get("ScriptsExecutionPollTimeSeconds")
    if value is None:
        return DEFAULT_POLL_SECONDS
    number = int(value)
    return number if 1 <= number <= 5 else DEFAULT_POLL_SECONDS


class _ScriptThread(threading.Thread):
    """ScriptRunner.pre_script/post_script: Popen(['sh', script, *params]) with stdout/stderr pipes,
    then `while process.poll() is None: if curr >= pollTotalCount: timeout; curr += 1;
    sleep(pollSleepTime)`. The script is never killed; its pipes are never read."""

    def __init__(self, argv: list[str], env: dict | None, poll: float, total: float,
                 new_session: bool, clock: Clock):
        super().__init__(daemon=True)
        self.poll, self.total, self.clock = poll, total, clock
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd="/",
                                     start_new_session=new_session)
        self.timed_out = False
        self.completed = threading.Event()
        self.seen_exit: float | None = None

    def run(self) -> None:
        curr = 0
        while self.proc.poll() is None:
            if curr >= self.total:
                self.timed_out = True
                break
            curr += 1
            self.clock.sleep(self.poll)
        if not self.timed_out:
            self.seen_exit = self.clock.now()
        self.completed.set()


def run_script(path: str, params: list, timeout: float, *, env: dict | None = None,
               poll_seconds: float = DEFAULT_POLL_SECONDS, kill_after: float | None = None,
               kill_when: Callable[[], bool] | None = None,
               kill_group: bool = False, fail_code: int = 300, timeout_code: int = 308,
               pipe_eof_wait: float = 1.0, clock: Clock = REAL, host_timeout: float | None = None) -> ScriptResult:
    """One script as PluginHost + ScriptRunner run it: a thread starts and polls the script for
    `timeout` (ScriptRunner's: min of the plugin config's and the host's), the host sleeps one poll,
    then checks whether the thread completed, at most int(host_timeout / poll) + 2 times (the host's
    own timeout; `timeout` when not given). Never kills the script on timeout.

    kill_after=S kills the script (kill_group: its whole session) S seconds after the start, and
    kill_when=PREDICATE as soon as PREDICATE() is true (checked every 10 ms of wall time, e.g. "its
    freeze call has started"): a fault injected from outside, not something the runner does. Times (timeout, polls, kill_after and
    the results) are seconds of ``clock``; pipe_eof_wait is wall seconds.
    """
    res = ScriptResult(ran=True, started=clock.now())
    argv = ["sh", str(path)] + [str(p) for p in params]
    worker = _ScriptThread(argv, env, poll_seconds, timeout / poll_seconds, kill_group, clock)
    res.proc = worker.proc
    killer = None
    if kill_after is not None or kill_when is not None:
        killer = _Killer(worker.proc, kill_group, res, kill_when, clock,
                         None if kill_after is None else res.started + kill_after)
    worker.start()
    for _ in range(int((timeout if host_timeout is None else host_timeout) / poll_seconds) + 2):
        clock.sleep(poll_seconds)
        if worker.completed.is_set():
            break
    if killer is not None:
        killer.stop.set()
        killer.join()
    res.ended = clock.now()
    res.exited_seen = worker.seen_exit
    if not worker.completed.is_set() or worker.timed_out:
        res.timed_out = True
        res.error_code = timeout_code
        return res  # not killed, pipes not read: the script runs on
    res.exit_code = worker.proc.returncode
    res.stdout, res.stderr, res.pipes_held_open = _drain(worker.proc, pipe_eof_wait)
    if res.exit_code != 0:
        res.error_code = fail_code
    return res


class _Killer(threading.Thread):
    """Kills the script (SIGKILL; group: its whole session) at a time of the clock or when a
    predicate holds, whichever comes first, unless stopped before."""

    def __init__(self, proc: subprocess.Popen, group: bool, res: ScriptResult,
                 when: Callable[[], bool] | None, clock: Clock, at: float | None):
        super().__init__(daemon=True)
        self.proc, self.group, self.res, self.when, self.clock, self.at = proc, group, res, when, clock, at
        self.stop = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stop.is_set():
            if (self.at is not None and self.clock.now() >= self.at) or (self.when is not None and self.when()):
                self._kill()
                return
            self.stop.wait(0.01)

    def _kill(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            if self.group:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.kill()
            self.res.killed = True
        except ProcessLookupError:
            pass


def take_snapshot(double: IrisDouble | None, seconds: float, clock: Clock = REAL,
                  until: Callable[[], bool] | None = None, during=None) -> SnapshotResult:
    """during: called (no arguments) once the snapshot has started - a fault injected mid-backup."""
    snap = SnapshotResult(taken=True, started=clock.now())
    targets = double.running_targets() if double else []
    snap.instances = [f"{n}:{p}" for n, p in targets]
    snap.frozen_at_start = {f"{n}:{p}": double.is_frozen(n, p) for n, p in targets}
    if during is not None:
        during()
    if seconds > 0:
        clock.sleep(seconds)
    if until is not None:
        _wait_until(until, 60.0)
    snap.frozen_at_end = {f"{n}:{p}": double.is_frozen(n, p) for n, p in targets}
    snap.ended = clock.now()
    if double:
        for e in double.events():
            if e.kind in ("thaw", "stat-W", "auto-thaw") and snap.started <= e.t <= snap.ended:
                snap.thaw_events_during.append(f"{e.name}:{e.product} {e.kind}")
    return snap


HOST_CONFIG_REL = "etc/azure/VMSnapshotPluginHost.conf"
HOST_TIMEOUT_CAP = 1800


def host_timeout(root: os.PathLike | str) -> tuple[int | None, str | None]:
    """PluginHost.pre_check / load_modules: /etc/azure/VMSnapshotPluginHost.conf when it is a file
    (else the extension's bundled copy: 1800); root-owned, the group and other digits of its mode 0
    or 4, else error 314 and no script runs; ConfigParser, timeoutInSeconds of [pre_post] (a value
    int() refuses: 304), min() with 1800. Only the timeout is honoured: the plugin list stays ours."""
    path = Path(root) / HOST_CONFIG_REL
    if not path.is_file():
        return HOST_TIMEOUT_CAP, None
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != 0 or (mode >> 3) & 0o7 not in (0, 4) or mode & 0o7 not in (0, 4):
        return None, f"314 plugin host config permissions (uid {st.st_uid}, mode {mode:04o})"
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
        if parser.has_option("pre_post", "timeoutInSeconds"):
            return min(int(parser.get("pre_post", "timeoutInSeconds")), HOST_TIMEOUT_CAP), None
    except (configparser.Error, ValueError) as e:
        return None, f"304 plugin host config unparsable: {e}"
    return HOST_TIMEOUT_CAP, None


def run_backup(root: os.PathLike | str, double: IrisDouble | None = None, *,
               snapshot_seconds: float = 0.0, post_runs: bool = True,
               kill_pre_after: float | None = None, kill_pre_group: bool = False,
               kill_pre_when: Callable[[], bool] | None = None,
               post_after: Callable[[], bool] | None = None,
               snapshot_until: Callable[[], bool] | None = None,
               poll_seconds: float | None = None, env: dict | None = None,
               pipe_eof_wait: float = 1.0, during_snapshot=None) -> BackupResult:
    """One Azure backup of the VM laid out under ``root``, pre and post from threads of this process.

    poll_seconds=None polls as the plugin config says (ScriptsExecutionPollTimeSeconds, default 3);
    a number overrides it (the benchmark's "instant runner" uses 0.001, the old double's way).
    post_runs=False simulates an extension that dies after the snapshot;
    kill_pre_after=S kills the pre-script (its pid, or its whole session with
    kill_pre_group) S seconds after it started, kill_pre_when=PREDICATE as soon as it holds;
    snapshot_until=PREDICATE makes the snapshot last (after snapshot_seconds) until it holds, within
    60 s of wall time (e.g. until another runner's backup is done); during_snapshot() is called as
    the snapshot starts;
    post_after=PREDICATE starts the post-script only once PREDICATE holds (within 60 s of wall time):
    a runner whose next look comes late, e.g. while the pre-script's freeze call is in flight. Seconds are those of the scripts' clock (env's
    IRISBACKUP_TEST_TIME_SCALE, clock.py).
    """
    if env is None:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    clock = Clock(scale_of(env))
    result = BackupResult(started=clock.now())
    cfg, err = check_config(root)
    host, host_err = host_timeout(root)
    err = host_err or err
    if err:
        result.config_error = err
        result.outcome = FS
        result.snapshot = take_snapshot(double, snapshot_seconds, clock)
        result.ended = clock.now()
        return result
    timeout = min(int(cfg.get("timeoutInSeconds", 10)), host)
    cont = bool(cfg.get("continueBackupOnFailure", True))
    poll = poll_seconds_of(cfg) if poll_seconds is None else poll_seconds
    result.timeout_seconds, result.continue_on_failure, result.poll_seconds = timeout, cont, poll

    result.pre = run_script(cfg["preScriptLocation"], cfg.get("preScriptParams", []), timeout,
                            env=env, poll_seconds=poll, kill_after=kill_pre_after, kill_when=kill_pre_when,
                            kill_group=kill_pre_group, fail_code=300, timeout_code=308,
                            pipe_eof_wait=pipe_eof_wait, clock=clock, host_timeout=host)
    if result.pre.ok or cont:
        result.snapshot = take_snapshot(double, snapshot_seconds, clock, snapshot_until, during_snapshot)
    if post_runs:
        if post_after is not None:
            _wait_until(post_after, 60.0)
        result.post = run_script(cfg["postScriptLocation"], cfg.get("postScriptParams", []),
                                 timeout, env=env, poll_seconds=poll, host_timeout=host,
                                 fail_code=301, timeout_code=309, pipe_eof_wait=pipe_eof_wait,
                                 clock=clock)
    if result.pre.ok and result.post.ok and result.snapshot.taken:
        result.outcome = APP
    elif not post_runs:
        result.outcome = FAILED
    elif cont and result.snapshot.taken:
        result.outcome = FS
    else:
        result.outcome = FAILED
    result.ended = clock.now()
    return result


def _wait_until(predicate: Callable[[], bool], wall_seconds: float) -> None:
    deadline = time.monotonic() + wall_seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--double", help="iris double state directory")
    ap.add_argument("--snapshot-seconds", type=float, default=0.0)
    ap.add_argument("--snapshot-until-exists", type=Path, help="the snapshot lasts until this file exists")
    ap.add_argument("--no-post", action="store_true")
    ap.add_argument("--kill-pre-after", type=float)
    ap.add_argument("--poll-seconds", type=float, help="override the plugin config's poll")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE added to the scripts' environment")
    a = ap.parse_args(argv)
    double = IrisDouble(a.double) if a.double else None
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           **dict(item.split("=", 1) for item in a.env)}
    until = a.snapshot_until_exists.exists if a.snapshot_until_exists else None
    res = run_backup(a.root, double, snapshot_seconds=a.snapshot_seconds, snapshot_until=until,
                     post_runs=not a.no_post, kill_pre_after=a.kill_pre_after,
                     poll_seconds=a.poll_seconds, env=env)
    print(json.dumps(res.to_dict(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
