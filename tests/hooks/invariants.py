"""The invariants every fault case asserts (issue 8), in one checker.

1. Nothing of the runs is frozen once the runs and their leftovers (watchdogs, timed-out scripts)
   are over: no instance that the hooks froze (a `freeze` event in the iris double) is frozen then.
2. Application consistency is claimed only when every instance the run targeted - each a (name,
   product) pair: IRIS and Caché may share a name - stayed suspended from before the snapshot until
   this run's post-script started thawing: a freeze event before the snapshot and no resume (thaw,
   stat -W, WDSuspendLimit auto-thaw) between it and the post-script. Claimed means by the runner
   (pre and post exit 0) or by the post-script's syslog verdict, whatever the runner concluded.
3. No process that is not a run's own is ever signalled (the VM's decoy recorded nothing).
4. Every syslog verdict line has the agreed format and vocabulary (docs/hooks.md), severity notice
   only for application-consistent; the expected (script, verdict, reason) lines are there.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from decoy import start_time

from irisbackup.hooks import hook_verdict

# The format as the collecting side (issue 12) parses it: one definition for both ends.
VERDICTS = set(hook_verdict.VERDICTS)
RESUMES = ("thaw", "stat-W", "auto-thaw")


def _alive(identity: str) -> bool:
    """The process still runs: same start time, and not a zombie that init has yet to reap."""
    pid, start = identity.split()
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
        return state not in ("Z", "X") and start_time(int(pid)) == start
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return False


def _boot(vm) -> str:
    """The boot id the hooks see (a test may stand in another one)."""
    return Path(vm.extra_env.get("IRISBACKUP_TEST_BOOT_ID_FILE", "/proc/sys/kernel/random/boot_id")).read_text().strip()


def wait_leftovers(vm, results, timeout: float) -> None:
    """Wait until every script of the runs and every watchdog of any run of this boot has ended."""
    deadline = time.monotonic() + timeout
    for res in results:
        assert res.wait_scripts(max(0.1, deadline - time.monotonic())), "a script never ended"
    boot = _boot(vm)
    while time.monotonic() < deadline:
        live = [run.name for run in vm.runs() if (run / "watchdog.proc").exists()
                and (run / "boot").exists() and (run / "boot").read_text().strip() == boot
                and _alive((run / "watchdog.proc").read_text().strip())]
        if not live:
            return
        time.sleep(0.1)
    raise AssertionError(f"watchdogs still running after {timeout}s: {live}")


def run_id(res) -> str | None:
    """The run a backup's scripts recorded, from their one-line summaries."""
    match = (re.search(r"pre-script (\S+?):", res.pre.stdout)
             or re.search(r"post-script (\S+?)(?::| FAILED)", res.post.stdout))
    return match[1] if match else None


def targets(vm, res) -> list[tuple[str, str]]:
    """The (name, product) instances the run targeted, from its record."""
    run = run_id(res)
    assert run, (res.pre.stdout, res.post.stdout)
    record = (vm.state_dir / "runs" / run / "instances").read_text().split()
    return [(item.split(":")[0], item.split(":")[1]) for item in record]


def stayed_suspended(vm, res) -> bool:
    if not res.snapshot.taken:
        return False
    items = targets(vm, res)
    if not vm.settings.get("instances") and not set(vm.double.running_targets()) <= set(items):
        return False  # discovery left out an instance that is up
    for name, product in items:
        freezes = [e.t for e in vm.double.events("freeze", name, product) if e.t <= res.snapshot.started]
        if not freezes:
            return False
        until = res.post.started - 0.01 if res.post.started else res.snapshot.ended
        if any(max(freezes) <= e.t < until for kind in RESUMES for e in vm.double.events(kind, name, product)):
            return False
    return True


def verdict_lines(vm) -> list[dict]:
    return [hook_verdict.parse_line(raw) for _tag, _pri, raw in vm.double.syslog_raw()]


def check_verdict_lines(vm) -> list[tuple[str, str, str]]:
    active = vm.script("VERSION") if vm.config_path.exists() else None
    version = active.read_text().strip() if active and active.exists() else None
    seen = []
    for tag, pri, raw in vm.double.syslog_raw():
        line = hook_verdict.parse_line(raw)  # raises, naming what breaks the agreed format
        assert tag == hook_verdict.SYSLOG_TAG, tag
        assert all(hook_verdict.INSTANCE.match(n) for n in line["instances"]), line
        assert pri == f"{hook_verdict.SYSLOG_FACILITY}.{hook_verdict.SEVERITY[line['verdict']]}", (pri, line)
        # The version of the release the run came from (named <version>-<sha12>; it may be gone now).
        release = vm.state_dir / "runs" / line["run"] / "release"
        if release.exists():
            assert line["version"] == Path(release.read_text().strip()).name.rsplit("-", 1)[0], line
        elif version:
            assert line["version"] == version, line
        seen.append((line["script"], line["verdict"], line["reason"]))
    return seen


def check(vm, *results, expect=(), leftovers: float = 40.0) -> list[tuple[str, str, str]]:
    """Assert the four invariants; expect = (script, verdict, reason) lines that must be there."""
    wait_leftovers(vm, results, leftovers)
    ours = {(e.name, e.product) for e in vm.double.events("freeze")}
    still = sorted(set(vm.double.frozen_targets()) & ours)
    assert not still, f"left frozen after the run and its leftovers: {still}\n{vm.log()}"
    consistent_runs = {line["run"] for line in verdict_lines(vm)
                       if line["script"] == "post" and line["verdict"] == "application-consistent"}
    for res in results:
        if res.claimed_application_consistent or run_id(res) in consistent_runs:
            assert stayed_suspended(vm, res), f"claimed application-consistent but writes resumed: {res.to_dict()}"
    assert vm.decoy.signals() == [], f"a process not the run's own was signalled: {vm.decoy.signals()}"
    seen = check_verdict_lines(vm)
    for line in expect:
        assert line in seen, f"verdict {line} missing; syslog has {seen}\n{vm.log()}"
    return seen
