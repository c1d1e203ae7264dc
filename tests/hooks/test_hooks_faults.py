"""Fault matrix, part 1: the hooks as installed by install.sh --root, driven by the Azure runner
double (polling every runner_poll_seconds, as the installed plugin config says), against the iris
double. Every case ends with invariants.check (nothing left frozen, honest claim, no foreign
process signalled, verdict lines). Part 2, the nine fault classes of issue 8, is
test_hooks_fault_classes.py."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import invariants
import pytest
from hooklib import FAST, LONG, BackgroundBackup, run_backup_in_other_process, this_boot, watchdog_pid

BUDGET = FAST["freeze_budget_seconds"]
WDL = FAST["wd_suspend_limit_seconds"]
SLACK = 3.0
# Settings with room for a 2.5 s call: a step is 4 s; the nesting rules hold.
SLOW = {"call_timeout_seconds": 3, "azure_timeout_seconds": 25, "freeze_budget_seconds": 28,
        "wd_suspend_limit_seconds": 45, "external_freeze_timeout_seconds": 50}


def frozen_events(vm, name=None):
    return vm.double.events("freeze", name)


# ------------------------------------------------------------------ baseline
def test_clean_backup_is_application_consistent(vm):
    vm.install()
    cfg = json.loads(vm.config_path.read_text())
    assert cfg["ScriptsExecutionPollTimeSeconds"] == 1
    res = vm.backup(snapshot_seconds=0.3)
    assert res.poll_seconds == 1, "the runner polls as the installed plugin config says"
    assert res.pre.ok and res.post.ok, res.to_dict()
    assert res.snapshot.consistent, res.snapshot
    assert res.outcome == "application-consistent"
    # both products, each through its own command
    calls = vm.double.calls()
    assert any(c[0] == "iris" and c[1:3] == ["session", "IRIS"] for c in calls)
    assert any(c[0] == "csession" and c[1:3] == ["CACHE", "-U%SYS"] for c in calls)
    # freeze passes ExternalFreezeTimeOut and WDSuspendLimit
    ev = frozen_events(vm, "IRIS")
    assert ev and f"WDSuspendLimit={WDL}" in ev[0].detail
    assert f"ExternalFreezeTimeOut={FAST['external_freeze_timeout_seconds']}" in ev[0].detail
    # little on stdout, nothing held open, the rest in the log
    assert len(res.pre.stdout.splitlines()) <= 1 and len(res.post.stdout.splitlines()) <= 1
    assert not res.pre.pipes_held_open and not res.post.pipes_held_open
    log = vm.log()
    assert f"==== irisbackup {vm.script('VERSION').read_text().strip()} bundle" in log and "pre-script start" in log
    run = vm.runs()[-1]
    assert "IRIS:iris CACHE:cache" in (run / "frozen").read_text()
    assert not (vm.state_dir / "lock").exists()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])
    # one verdict line per run: the pre-script speaks only when it fails
    assert [v[0] for v in invariants.check_verdict_lines(vm)] == ["post"]


def test_named_instances_only_those_are_frozen(vm):
    vm.double.add_instance("OTHER", "iris")
    vm.install(instances="IRIS:iris CACHE:cache")
    res = vm.backup()
    assert res.pre.ok and res.post.ok
    assert {e.name for e in frozen_events(vm)} == {"IRIS", "CACHE"}
    assert not any(c[:2] == ["iris", "qlist"] for c in vm.double.calls())
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


# ------------------------------------------------------------------ matrix
def test_freeze_fails_on_one_of_two(vm):
    vm.install()
    vm.double.set_behaviour("CACHE", "freeze", "fail")
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    # IRIS froze, was thawed by the pre-script's rollback before the snapshot
    thaws = vm.double.events("thaw", "IRIS")
    assert thaws and thaws[0].t <= res.snapshot.started
    assert res.post.ok  # nothing left to thaw
    log = vm.log()
    assert "ExternalFreeze did not answer 5 for: CACHE" in log
    assert "resumed early" not in log and "no longer suspended" not in log, "its own rollback is no early resume"
    invariants.check(vm, res, expect=[("pre", "not-consistent", "freeze-failed"),
                                      ("post", "not-consistent", "freeze-failed")])


def test_instance_down_named(vm):
    vm.double.set_status("CACHE", "down")
    vm.install(None, "--skip-self-check", instances="IRIS:iris CACHE:cache")
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    assert not frozen_events(vm), "nothing may be frozen when an instance is down"
    assert "CACHE:cache(unreachable)" in vm.log()
    invariants.check(vm, res, expect=[("pre", "not-consistent", "instance-not-up")])


def test_instance_down_discovered_is_skipped_by_name(vm):
    vm.double.set_status("CACHE", "down")
    vm.install()
    res = vm.backup()
    assert res.outcome == "application-consistent"
    assert {e.name for e in frozen_events(vm)} == {"IRIS"}
    assert "instance CACHE is down: not frozen" in vm.log()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


def test_already_frozen_is_not_touched(vm):
    vm.install()
    vm.double.freeze("CACHE")  # someone else's freeze, no auto-thaw
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    assert not frozen_events(vm), "IRIS must not be frozen either"
    assert vm.double.is_frozen("CACHE"), "we did not freeze it: we must not thaw it"
    assert not vm.double.events("thaw") and not vm.double.events("stat-W")
    assert "already frozen (not by this run)" in vm.log()
    invariants.check(vm, res, expect=[("pre", "not-consistent", "already-frozen")])


@pytest.mark.parametrize("op", ["freeze", "suspended"])
def test_iris_hangs(vm, op):
    vm.install()
    vm.double.set_behaviour("IRIS", op, "hang")
    res = vm.backup()
    assert res.pre.exit_code == 1 and not res.pre.timed_out
    assert "no answer within 1s" in vm.log()
    reason = "freeze-failed" if op == "freeze" else "instance-not-up"
    invariants.check(vm, res, expect=[("pre", "not-consistent", reason)])


def test_login_prompt_fails_without_waiting(vm):
    vm.install(None, "--skip-self-check")
    vm.double.add_instance("IRIS", "iris", auth="password", credentials=("u", "p"))
    res = vm.backup()
    assert res.pre.exit_code == 1
    assert not frozen_events(vm)
    log = vm.log()
    assert "login prompt / authentication failed for instance IRIS" in log
    assert "no answer within" not in log, "the prompt read end-of-file; nothing waited for the limit"
    invariants.check(vm, res, expect=[("pre", "not-consistent", "instance-not-up")])


def test_login_prompt_that_hangs_is_bounded(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "login", "hang")
    res = vm.backup()
    assert res.pre.exit_code == 1 and not res.pre.timed_out
    assert not frozen_events(vm)
    assert "IRIS:iris: no answer within 1s (hung, or waiting at a login prompt)" in vm.log()
    invariants.check(vm, res)


def test_credentials_file_fed_on_stdin(vm):
    creds = vm.root / "etc/irisbackup/creds"
    creds.parent.mkdir(parents=True)
    creds.write_text("backup\nsecret\n")
    os.chmod(creds, 0o600)
    vm.double.add_instance("IRIS", "iris", auth="password", credentials=("backup", "secret"))
    vm.double.add_instance("CACHE", "cache", auth="password", credentials=("backup", "secret"))
    vm.install(credentials_file="/etc/irisbackup/creds")
    res = vm.backup()
    assert res.outcome == "application-consistent", res.to_dict()
    # the secret never reaches a command line or the log
    assert not any("secret" in a for c in vm.double.calls() for a in c)
    assert "secret" not in vm.log()
    invariants.check(vm, res)


def test_credentials_file_with_loose_mode_is_refused(vm):
    creds = vm.root / "etc/creds"
    creds.parent.mkdir(parents=True)
    creds.write_text("backup\nsecret\n")
    os.chmod(creds, 0o644)
    p = vm.install(None, check=False, credentials_file="/etc/creds")
    assert p.returncode == 3 and "must be 0600 or 0400" in p.stderr
    assert not vm.config_path.exists()


def test_post_script_never_runs_watchdog_thaws_and_frees_the_lock(vm):
    vm.install()
    res = vm.backup(post_runs=False)
    assert res.pre.ok and res.outcome == "failed"
    assert res.snapshot.consistent  # the snapshot itself was taken frozen
    start = res.pre.started
    assert vm.wait_thawed(BUDGET + SLACK)
    thaws = vm.double.events("thaw")
    assert {e.name for e in thaws} == {"IRIS", "CACHE"}
    assert all(start + BUDGET - 0.5 <= e.t <= start + vm.bound(BUDGET + SLACK) for e in thaws), thaws
    assert not vm.double.events("auto-thaw"), "our watchdog, not IRIS, must thaw"
    assert "WATCHDOG" in vm.log()
    invariants.check(vm, res, expect=[("watchdog", "watchdog-fired", "watchdog-fired")])
    # the watchdog released the lock: the next backup (another runner) just works
    res2 = run_backup_in_other_process(vm)
    assert res2["outcome"] == "application-consistent", res2


def test_post_script_after_watchdog_reports_failure(vm):
    vm.install()
    pre = vm.run_script("pre-script.sh")  # this process is the runner of pre and post
    assert pre.returncode == 0
    assert vm.wait_thawed(BUDGET + SLACK)
    post = vm.run_script("post-script.sh")
    assert post.returncode == 1
    assert "watchdog thawed before the post-script ran" in post.stdout
    invariants.check(vm, expect=[("watchdog", "watchdog-fired", "watchdog-fired"),
                                 ("post", "watchdog-fired", "watchdog-fired")])


def test_late_post_script_after_watchdog_reports_failure(vm):
    vm.install()
    # The snapshot outlasts the budget, and lasts until the watchdog has fired (it may wake late).
    res = vm.backup(snapshot_seconds=BUDGET + 1.5,
                    snapshot_until=lambda: any((r / "watchdog_fired").exists() for r in vm.runs()))
    assert res.pre.ok and res.post.exit_code == 1
    assert res.outcome != "application-consistent" and not res.snapshot.consistent
    assert "watchdog thawed before the post-script ran" in vm.log()
    invariants.check(vm, res, expect=[("post", "watchdog-fired", "watchdog-fired")])


def test_wd_suspend_limit_fired_first_is_reported(vm):
    vm.install()
    pre = vm.run_script("pre-script.sh")
    assert pre.returncode == 0
    os.kill(watchdog_pid(vm.runs()[-1]), signal.SIGKILL)  # the fault: our watchdog is gone
    assert vm.wait_thawed(WDL + SLACK)
    post = vm.run_script("post-script.sh")
    assert post.returncode == 1
    assert "writes resumed before this run's thaw on" in post.stdout
    assert "IRIS resumed writes by itself (WDSuspendLimit=25s passed)" in vm.log()
    assert vm.double.events("auto-thaw") and not vm.double.events("thaw")
    invariants.check(vm, expect=[("post", "not-consistent", "writes-resumed-early")])


def freeze_started(vm):
    return lambda: vm.double.call_started("ExternalFreeze")


def test_pre_script_killed_mid_freeze_post_thaws(vm):
    vm.install(**SLOW)
    vm.double.set_behaviour("IRIS", "freeze", "delay 2.5")
    # killed while its freeze call is in flight (2.5 s, under the 3 s call limit): the freeze lands after
    res = vm.backup(kill_pre_when=freeze_started(vm))
    assert res.pre.killed and res.outcome != "application-consistent"
    assert res.post.exit_code == 1  # the pre-script never finished: not consistent
    assert vm.double.events("freeze", "IRIS"), "the freeze did complete after the kill"
    invariants.check(vm, res, expect=[("post", "not-consistent", "pre-not-finished")])


def test_pre_script_group_killed_and_no_post_watchdog_thaws(vm):
    vm.install(**SLOW)
    vm.double.set_behaviour("IRIS", "freeze", "delay 2.5")
    vm.double.set_behaviour("CACHE", "freeze", "delay 2.5")
    res = vm.backup(kill_pre_when=freeze_started(vm), kill_pre_group=True, post_runs=False)
    assert res.pre.killed and res.outcome == "failed"
    assert vm.wait_thawed(SLOW["freeze_budget_seconds"] + SLACK)
    assert not vm.double.events("auto-thaw")
    invariants.check(vm, res, expect=[("watchdog", "watchdog-fired", "watchdog-fired")])


def _shorten_runner_timeout(vm, seconds):
    cfg = json.loads(vm.config_path.read_text())
    cfg["timeoutInSeconds"] = seconds
    vm.config_path.write_text(json.dumps(cfg))


def test_runner_times_out_pre_script_during_freeze(vm):
    vm.install(**SLOW)
    # The runner gives up after one poll and starts the post-script at its next look while the
    # freeze (2.5 s) is in flight: that look is the double's to choose (post_after), not a race.
    _shorten_runner_timeout(vm, 1)
    vm.double.set_behaviour("IRIS", "freeze", "delay 2.5")
    res = vm.backup(post_after=freeze_started(vm))
    assert res.pre.timed_out and res.outcome != "application-consistent"
    seen = invariants.check(vm, res, expect=[("pre", "not-consistent", "pre-late")])
    # Both scripts thaw once the late freeze reports; which one comes first is the scheduler's: the
    # post-script names either a pre-script that had not finished or the rollback's early resume.
    post = [v for v in seen if v[0] == "post"]
    assert post in ([("post", "not-consistent", "pre-not-finished")],
                    [("post", "not-consistent", "writes-resumed-early")]), post
    assert res.pre.exit_code == 1 and res.post.exit_code == 1
    assert vm.double.events("freeze", "IRIS"), "the late freeze happened ..."
    assert vm.double.events("thaw", "IRIS"), "... and was undone"


def test_runner_times_out_pre_script_before_freeze(vm):
    vm.install(**SLOW)
    _shorten_runner_timeout(vm, 1)
    vm.double.set_behaviour("IRIS", "suspended", "delay 2.5")
    res = vm.backup(post_after=lambda: vm.double.call_started("IsWDSuspendedExt"))
    assert res.pre.timed_out
    invariants.check(vm, res, expect=[("pre", "not-consistent", "pre-late")])
    assert res.pre.exit_code == 1
    assert not frozen_events(vm), "the pre-script must see the post-script and not freeze"


@pytest.mark.parametrize("behaviour", ["fail", "hang"])
def test_thaw_through_session_fails_uses_stat_w(vm, behaviour):
    vm.install()
    vm.double.set_behaviour("IRIS", "thaw", behaviour)
    res = vm.backup()
    assert res.post.ok, res.to_dict()  # writes stayed suspended through the snapshot
    assert res.outcome == "application-consistent"
    assert vm.double.events("stat-W", "IRIS")
    assert "emergency thaw with 'iris stat IRIS -W'" in vm.log()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


def test_thaw_impossible_is_reported_and_iris_limit_thaws(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "thaw", "fail")
    vm.double.set_behaviour("IRIS", "stat", "fail")
    res = vm.backup()
    assert res.post.exit_code == 1
    assert "thaw NOT confirmed for: IRIS" in vm.log()
    assert vm.wait_thawed(WDL + SLACK)  # WDSuspendLimit is the last resort
    invariants.check(vm, res, expect=[("post", "thaw-not-confirmed", "thaw-failed")])


def test_two_runs_at_once(vm):
    vm.install(**LONG)
    b_done = threading.Event()
    run_a = BackgroundBackup(vm, snapshot_until=b_done.is_set)
    assert vm.wait_for(lambda: vm.double.all_frozen(), 30)
    calls_before = len(vm.double.calls())
    # a second runner (another process) runs a whole backup during A's snapshot
    b = run_backup_in_other_process(vm)
    b_done.set()
    assert b["pre"]["exit_code"] == 1 and b["outcome"] != "application-consistent"
    assert b["post"]["exit_code"] == 0  # and its post-script left run A alone
    assert vm.double.all_frozen(), "run B must not thaw run A's instances"
    assert len(vm.double.calls()) == calls_before, "run B made no iris call at all"
    a = run_a.outcome()
    assert a.outcome == "application-consistent" and a.snapshot.consistent
    assert "another run" in vm.log()
    invariants.check(vm, a, expect=[("pre", "rejected", "lock-held"), ("post", "rejected", "lock-held"),
                                    ("post", "application-consistent", "ok")])


def _stale_run(vm, run_id: str, boot: str | None, pre_proc: str) -> Path:
    d = vm.state_dir / "runs" / run_id
    d.mkdir(parents=True)
    if boot is not None:
        (d / "boot").write_text(boot + "\n")
    (d / "pre.proc").write_text(pre_proc + "\n")
    (vm.state_dir / "lock").mkdir()
    (vm.state_dir / "lock" / "run").write_text(run_id + "\n")
    return d


def test_stale_lock_of_a_dead_run_is_recovered(vm):
    vm.install()
    dead = "20200101T000000Z-99999"
    _stale_run(vm, dead, this_boot(), "999999 1")
    res = vm.backup()
    assert res.outcome == "application-consistent", res.to_dict()
    assert f"recovered stale lock of run {dead} (its processes are gone; nothing of it is frozen)" in vm.log()
    invariants.check(vm, res)


def test_live_lock_is_respected(vm):
    vm.install()
    live = "20200101T000000Z-1"
    _stale_run(vm, live, this_boot(), vm.decoy.identity)
    res = vm.backup()
    assert res.pre.exit_code == 1 and not frozen_events(vm)
    assert (vm.state_dir / "lock" / "run").read_text().strip() == live
    invariants.check(vm, res, expect=[("pre", "rejected", "lock-held")])


def test_ownerless_lock_dir_is_recovered(vm):
    vm.install()
    (vm.state_dir / "lock").mkdir()
    res = vm.backup()
    assert res.outcome == "application-consistent"
    invariants.check(vm, res)


HOSTILE = ["x;touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a b", "-rf", "../x",
           "A" * 65, "x|touch PWNED", "1abc", "x\\y", "x'y"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_instance_name_from_qlist_is_never_used(vm, name):
    vm.install()
    vm.double.add_raw_qlist_line("iris", f"{name}^/usr/irissys^2024.1^running, since now^x^1^2^3^ok^IRIS")
    pre = vm.run_script("pre-script.sh")
    assert pre.returncode == 1
    assert not frozen_events(vm), "refuse to freeze a partial set"
    assert not any(name in a for c in vm.double.calls() for a in c[1:])
    assert not list(Path("/").glob("PWNED")) and not list(vm.base.rglob("PWNED"))
    assert ("pre", "not-consistent", "bad-instance-name") in invariants.check_verdict_lines(vm)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_instance_name_in_settings_is_rejected(bare_vm, name):
    p = bare_vm.install(None, check=False, instances=f"{name}:iris")
    assert p.returncode == 2
    assert "instances" in p.stderr
    assert [f.name for f in bare_vm.root.iterdir()] == [], "nothing may be installed"


def test_tampered_installed_settings_are_not_executed(vm):
    vm.install()
    vm.set_installed("instances", "$(touch PWNED):iris")
    p = vm.run_script("pre-script.sh")
    assert p.returncode == 2
    assert "instances" in p.stderr
    assert not vm.double.calls()
    assert not list(Path("/").glob("PWNED"))


def test_post_without_a_run_of_its_runner_touches_nothing(vm):
    vm.install()
    p = vm.run_script("post-script.sh")
    assert p.returncode == 0
    assert "no run recorded by this runner" in p.stdout
    assert not vm.double.calls()
    invariants.check(vm, expect=[("post", "not-consistent", "no-run-record")])


def test_no_running_instance_freezes_nothing_and_succeeds(vm):
    vm.double.set_status("IRIS", "down")
    vm.double.set_status("CACHE", "down")
    vm.install()
    res = vm.backup()
    assert res.pre.ok and res.post.ok
    assert not frozen_events(vm)
    assert "no running IRIS or Cache instance found" in vm.log()
    invariants.check(vm, res, expect=[("post", "no-instances", "ok")])


def test_no_iris_command_on_path_fails(vm):
    vm.install()
    for cmd in ("iris", "ccontrol", "csession"):
        (vm.double.bin_dir / cmd).unlink()
    res = vm.backup()
    assert res.pre.exit_code == 1
    assert "neither iris nor ccontrol is on PATH" in vm.log()
    invariants.check(vm, res, expect=[("pre", "not-consistent", "no-iris-commands")])


def test_log_is_appended_never_overwritten(vm):
    vm.install()
    vm.backup()
    first = vm.log()
    vm.backup()
    second = vm.log()
    assert second.startswith(first)
    assert second.count("pre-script start") == 2 and second.count("post-script start") == 2
    assert oct(vm.log_path.stat().st_mode & 0o777) == "0o600"


SHELLS = {"dash": "/usr/bin/dash", "bash": "/usr/bin/bash", "busybox": "/usr/bin/busybox"}


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_a_backup_and_a_rollback_under_each_sh(vm, tmp_path, shell):
    # Azure runs `sh script`: whatever /bin/sh is (dash on Debian/Ubuntu, bash on RHEL, busybox on
    # small images) must run the hooks. `sh` here is that shell, first on the runner's PATH.
    if not Path(SHELLS[shell]).exists():
        pytest.skip(f"{shell} is not installed")
    shdir = tmp_path / f"sh-{shell}"
    shdir.mkdir()
    (shdir / "sh").symlink_to(SHELLS[shell])
    vm.extra_env["PATH"] = f"{shdir}:/usr/sbin:/usr/bin:/sbin:/bin"
    vm.install()
    res = vm.backup(snapshot_seconds=0.2)
    assert res.outcome == "application-consistent", vm.log()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])
    vm.double.set_behaviour("CACHE", "freeze", "landexit 143")
    res = vm.backup()
    assert res.pre.exit_code == 1 and vm.double.events("thaw", "CACHE")
    invariants.check(vm, res, expect=[("pre", "not-consistent", "freeze-failed")])


@pytest.mark.parametrize("behaviour", ["fail", "hang"])
def test_a_failing_or_hanging_logger_changes_nothing(vm, behaviour):
    vm.install()
    vm.double.set_logger_behaviour(behaviour)
    res = vm.backup()
    assert res.outcome == "application-consistent" and not res.post.timed_out
    log = vm.log()
    post = log[log.index("post-script start"):]
    assert post.index("verdict {") > max(post.index(f"ExternalThaw of instance {n} succeeded") for n in ("IRIS:iris", "CACHE:cache")), \
        "the verdict is sent after the thaw, never inside the window"
    assert '"verdict":"application-consistent"' in log, "the verdict stays in the hooks' own log"
    assert ("logger failed (exit 1)" if behaviour == "fail" else "logger failed (exit 124)") in log
    invariants.check(vm, res)
    assert vm.double.syslog_raw() == []
