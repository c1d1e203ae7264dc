"""Fault matrix: each case runs the hooks as installed by install.sh --root,
driven by the Azure runner double, and asserts (1) every instance ends thawed
within the budget and (2) the reported result is honest: application
consistency is never claimed for a snapshot that was not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hooklib import DOUBLES, FAST

BUDGET = FAST["freeze_budget_seconds"]
WDL = FAST["wd_suspend_limit_seconds"]
SLACK = 3.0


def assert_honest(res):
    assert res.honest, res.to_dict()


def frozen_events(vm, name=None):
    return vm.double.events("freeze", name)


# ------------------------------------------------------------------ baseline
def test_clean_backup_is_application_consistent(vm):
    vm.install()
    res = vm.backup(snapshot_seconds=0.3)
    assert res.pre.ok and res.post.ok, res.to_dict()
    assert res.snapshot.consistent, res.snapshot
    assert res.outcome == "application-consistent"
    assert not vm.double.frozen_instances()
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
    assert "==== irisbackup 1.0.0 bundle" in log and "pre-script start" in log
    # record of what the run froze and when
    run = vm.runs()[-1]
    rec = (run / "frozen").read_text()
    assert "instance IRIS iris" in rec and "instance CACHE cache" in rec
    # the lock is released and the watchdog is gone
    assert not (vm.state_dir / "lock").exists()
    wd = int((run / "watchdog.pid").read_text())
    assert vm.wait_for(lambda: not _alive(wd), 3)


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_named_instances_only_those_are_frozen(vm):
    vm.double.add_instance("OTHER", "iris")
    vm.install(instances="IRIS:iris CACHE:cache")
    res = vm.backup()
    assert res.pre.ok and res.post.ok
    assert {e.name for e in frozen_events(vm)} == {"IRIS", "CACHE"}
    assert not any(c[:2] == ["iris", "qlist"] for c in vm.double.calls())


# ------------------------------------------------------------------ matrix
def test_freeze_fails_on_one_of_two(vm):
    vm.install()
    vm.double.set_behaviour("CACHE", "freeze", "fail")
    res = vm.backup()
    assert res.pre.exit_code == 1
    assert res.outcome != "application-consistent"
    assert_honest(res)
    # IRIS froze, was thawed by the pre-script's rollback before the snapshot
    thaws = vm.double.events("thaw", "IRIS")
    assert thaws and thaws[0].t <= res.snapshot.started
    assert not vm.double.frozen_instances()
    assert res.post.ok  # nothing left to thaw
    assert "ExternalFreeze failed for: CACHE" in vm.log()


def test_instance_down_named(vm):
    vm.double.set_status("CACHE", "down")
    vm.install(None, "--skip-self-check", instances="IRIS:iris CACHE:cache")
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    assert_honest(res)
    assert not frozen_events(vm), "nothing may be frozen when an instance is down"
    assert "CACHE(unreachable)" in vm.log()
    assert res.post.ok


def test_instance_down_discovered_is_skipped(vm):
    vm.double.set_status("CACHE", "down")
    vm.install()
    res = vm.backup()
    assert res.outcome == "application-consistent"
    assert {e.name for e in frozen_events(vm)} == {"IRIS"}
    assert not vm.double.frozen_instances()


def test_already_frozen_is_not_touched(vm):
    vm.install()
    vm.double.freeze("CACHE")  # someone else's freeze, no auto-thaw
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    assert_honest(res)
    assert not frozen_events(vm), "IRIS must not be frozen either"
    assert vm.double.is_frozen("CACHE"), "we did not freeze it: we must not thaw it"
    assert not vm.double.events("thaw") and not vm.double.events("stat-W")
    assert "already frozen (not by this run)" in vm.log()


@pytest.mark.parametrize("op", ["freeze", "suspended"])
def test_iris_hangs(vm, op):
    vm.install()
    vm.double.set_behaviour("IRIS", op, "hang")
    t0 = time.monotonic()
    res = vm.backup()
    assert res.pre.exit_code == 1 and not res.pre.timed_out
    assert time.monotonic() - t0 < FAST["azure_timeout_seconds"] + SLACK
    assert_honest(res)
    assert vm.wait_thawed(1)
    assert "no answer within 1s" in vm.log()


def test_login_prompt_fails_fast(vm):
    vm.install(None, "--skip-self-check")
    vm.double.add_instance("IRIS", "iris", auth="password", credentials=("u", "p"))
    t0 = time.monotonic()
    res = vm.backup()
    assert time.monotonic() - t0 < FAST["call_timeout_seconds"] + 1.5, "must not wait at the prompt"
    assert res.pre.exit_code == 1
    assert_honest(res)
    assert not frozen_events(vm)
    assert "login prompt / authentication failed for instance IRIS" in vm.log()


def test_login_prompt_that_hangs_is_bounded(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "login", "hang")
    res = vm.backup()
    assert res.pre.exit_code == 1 and not res.pre.timed_out
    assert not frozen_events(vm)
    assert "IRIS: no answer within 1s (hung, or waiting at a login prompt)" in vm.log()


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


def test_credentials_file_with_loose_mode_is_refused(vm):
    creds = vm.root / "etc/creds"
    creds.parent.mkdir(parents=True)
    creds.write_text("backup\nsecret\n")
    os.chmod(creds, 0o644)
    p = vm.install(None, check=False, credentials_file="/etc/creds")
    assert p.returncode == 3 and "must be 0600 or 0400" in p.stderr
    assert not vm.config_path.exists()


def test_post_script_never_runs_watchdog_thaws(vm):
    vm.install()
    res = vm.backup(post_runs=False)
    assert res.pre.ok and res.outcome == "failed"
    assert res.snapshot.consistent  # the snapshot itself was taken frozen
    start = res.pre.started
    assert vm.wait_thawed(BUDGET + SLACK)
    thaws = vm.double.events("thaw")
    assert {e.name for e in thaws} == {"IRIS", "CACHE"}
    assert all(start + BUDGET - 0.5 <= e.t <= start + BUDGET + SLACK for e in thaws), thaws
    assert not vm.double.events("auto-thaw"), "our watchdog, not IRIS, must thaw"
    assert "WATCHDOG" in vm.log()
    # once the watchdog is done, the next backup recovers the dead run's lock
    wd = int((vm.runs()[-1] / "watchdog.pid").read_text())
    assert vm.wait_for(lambda: not _alive(wd), 3)
    res2 = run_backup_in_other_process(vm)
    assert res2["outcome"] == "application-consistent", res2
    assert "recovered stale lock" in vm.log()
    assert not vm.double.frozen_instances()


def run_backup_in_other_process(vm, *args):
    p = subprocess.run([sys.executable, str(DOUBLES / "azure_runner.py"), str(vm.root),
                        "--double", str(vm.double.dir), *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_post_script_after_watchdog_reports_failure(vm):
    vm.install()
    pre = vm.run_script("pre-script.sh")
    assert pre.returncode == 0
    assert vm.wait_thawed(BUDGET + SLACK)
    post = vm.run_script("post-script.sh")  # same parent as the pre-script: same run
    assert post.returncode == 1
    assert "watchdog thawed before the post-script ran" in post.stdout


def test_late_post_script_after_watchdog_reports_failure(vm):
    vm.install()
    # same runner process for pre and post, post only after the watchdog fired
    res = vm.backup(snapshot_seconds=BUDGET + 1.5)
    assert res.pre.ok
    assert res.post.exit_code == 1
    assert res.outcome != "application-consistent"
    assert not res.snapshot.consistent
    assert_honest(res)
    assert "watchdog thawed before the post-script ran" in vm.log()
    assert not vm.double.frozen_instances()


def test_wd_suspend_limit_fired_first_is_reported(vm):
    # watchdog disabled by killing it; IRIS's own WDSuspendLimit thaws first
    vm.install()
    pre = vm.run_script("pre-script.sh")
    assert pre.returncode == 0
    run = vm.runs()[-1]
    os.kill(int((run / "watchdog.pid").read_text()), 15)
    assert vm.wait_thawed(WDL + SLACK)
    # pre and post both started by this process, like the extension does
    post = vm.run_script("post-script.sh")
    assert post.returncode == 1
    assert "writes resumed before thaw" in post.stdout
    assert vm.double.events("auto-thaw") and not vm.double.events("thaw")


def test_pre_script_killed_mid_freeze_post_thaws(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "freeze", "delay 0.8")
    res = vm.backup(kill_pre_after=0.4)
    assert res.pre.killed
    assert res.outcome != "application-consistent"
    assert_honest(res)
    assert res.post.exit_code == 1  # the pre-script never finished: not consistent
    assert vm.wait_thawed(1)
    assert vm.double.events("freeze", "IRIS"), "the freeze did complete after the kill"


def test_pre_script_group_killed_and_no_post_watchdog_thaws(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "freeze", "delay 0.8")
    vm.double.set_behaviour("CACHE", "freeze", "delay 0.8")
    res = vm.backup(kill_pre_after=0.4, kill_pre_group=True, post_runs=False)
    assert res.pre.killed and res.outcome == "failed"
    assert vm.wait_thawed(BUDGET + SLACK)
    assert not vm.double.events("auto-thaw")


def _shorten_runner_timeout(vm, seconds):
    cfg = json.loads(vm.config_path.read_text())
    cfg["timeoutInSeconds"] = seconds
    vm.config_path.write_text(json.dumps(cfg))


def test_runner_times_out_pre_script_during_freeze(vm):
    vm.install(call_timeout_seconds=2, azure_timeout_seconds=9, freeze_budget_seconds=11,
               wd_suspend_limit_seconds=13, external_freeze_timeout_seconds=20)
    _shorten_runner_timeout(vm, 1)  # the runner gives up while the freeze is in flight
    vm.double.set_behaviour("IRIS", "freeze", "delay 1.5")
    res = vm.backup()
    assert res.pre.timed_out and res.outcome != "application-consistent"
    assert_honest(res)
    assert res.wait_scripts(15)
    assert res.pre.exit_code == 1
    assert res.post.exit_code == 1
    assert vm.wait_thawed(1)
    assert vm.double.events("freeze", "IRIS"), "the late freeze happened ..."
    assert vm.double.events("thaw", "IRIS"), "... and was undone"


def test_runner_times_out_pre_script_before_freeze(vm):
    vm.install(call_timeout_seconds=2, azure_timeout_seconds=9, freeze_budget_seconds=11,
               wd_suspend_limit_seconds=13, external_freeze_timeout_seconds=20)
    _shorten_runner_timeout(vm, 1)
    vm.double.set_behaviour("IRIS", "suspended", "delay 1.6")
    res = vm.backup()
    assert res.pre.timed_out
    assert res.wait_scripts(15)
    assert res.pre.exit_code == 1
    assert not frozen_events(vm), "the pre-script must see the post-script and not freeze"
    assert_honest(res)


@pytest.mark.parametrize("behaviour", ["fail", "hang"])
def test_thaw_through_session_fails_uses_stat_w(vm, behaviour):
    vm.install()
    vm.double.set_behaviour("IRIS", "thaw", behaviour)
    res = vm.backup()
    assert res.post.ok, res.to_dict()  # writes stayed suspended through the snapshot
    assert res.outcome == "application-consistent"
    assert vm.double.events("stat-W", "IRIS")
    assert not vm.double.frozen_instances()
    assert "emergency thaw with 'iris stat IRIS -W'" in vm.log()


def test_thaw_impossible_is_reported_and_iris_limit_thaws(vm):
    vm.install()
    vm.double.set_behaviour("IRIS", "thaw", "fail")
    vm.double.set_behaviour("IRIS", "stat", "fail")
    res = vm.backup()
    assert res.post.exit_code == 1
    assert "thaw NOT confirmed for: IRIS" in vm.log()
    assert_honest(res)
    assert vm.wait_thawed(WDL + SLACK)  # WDSuspendLimit is the last resort


def test_two_runs_at_once(vm):
    vm.install()
    holder = {}
    t = threading.Thread(target=lambda: holder.setdefault("a", vm.backup(snapshot_seconds=3)))
    t.start()
    assert vm.wait_for(lambda: vm.double.all_frozen(), 3)
    calls_before = len(vm.double.calls())
    # a second runner (another process) starts a backup meanwhile
    b = run_backup_in_other_process(vm)
    assert b["pre"]["exit_code"] == 1 and b["outcome"] != "application-consistent"
    assert b["post"]["exit_code"] == 0  # and its post-script left run A alone
    assert vm.double.all_frozen(), "run B must not thaw run A's instances"
    assert len(vm.double.calls()) == calls_before, "run B made no iris call at all"
    t.join(30)
    a = holder["a"]
    assert a.outcome == "application-consistent" and a.snapshot.consistent
    assert not vm.double.frozen_instances()
    assert "another run" in vm.log()


def test_stale_lock_is_recovered(vm):
    vm.install()
    dead = "20200101T000000Z-99999"
    (vm.state_dir / "runs" / dead).mkdir(parents=True)
    (vm.state_dir / "runs" / dead / "pre_pid").write_text("999999\n")
    (vm.state_dir / "lock").mkdir()
    (vm.state_dir / "lock" / "run").write_text(dead + "\n")
    res = vm.backup()
    assert res.outcome == "application-consistent", res.to_dict()
    assert f"recovered stale lock of run {dead}" in vm.log()


def test_live_lock_is_respected(vm):
    vm.install()
    live = "20200101T000000Z-1"
    (vm.state_dir / "runs" / live).mkdir(parents=True)
    (vm.state_dir / "runs" / live / "pre_pid").write_text(f"{os.getpid()}\n")
    (vm.state_dir / "lock").mkdir()
    (vm.state_dir / "lock" / "run").write_text(live + "\n")
    res = vm.backup()
    assert res.pre.exit_code == 1 and not frozen_events(vm)
    assert (vm.state_dir / "lock" / "run").read_text().strip() == live


def test_ownerless_lock_dir_is_recovered(vm):
    vm.install()
    (vm.state_dir / "lock").mkdir()
    res = vm.backup()
    assert res.outcome == "application-consistent"


HOSTILE = ["x;touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a b", "-rf", "../x",
           "A" * 65, "x|touch PWNED", "1abc", "x\\y", "x'y"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_instance_name_from_qlist_is_never_used(vm, name):
    vm.install()
    vm.double.add_raw_qlist_line("iris", f"{name}^/usr/irissys^2024.1^running, since now^x^1^2^3^ok^IRIS")
    res = vm.backup()
    assert res.pre.exit_code == 1 and res.outcome != "application-consistent"
    assert not frozen_events(vm), "refuse to freeze a partial set"
    assert not any(name in a for c in vm.double.calls() for a in c[1:])
    assert not list(Path("/").glob("PWNED")) and not list(vm.base.rglob("PWNED"))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_instance_name_in_settings_is_rejected(bare_vm, name):
    p = bare_vm.install(None, check=False, instances=f"{name}:iris")
    assert p.returncode == 2
    assert "instances" in p.stderr
    assert not any(bare_vm.root.iterdir()), "nothing may be installed"


def test_tampered_installed_settings_are_not_executed(vm):
    vm.install()
    conf = vm.script("settings.conf")
    text = conf.read_text().replace("instances=\n", "instances=$(touch PWNED):iris\n")
    conf.write_text(text)
    p = vm.run_script("pre-script.sh")
    assert p.returncode == 2
    assert "instances" in p.stderr
    assert not vm.double.calls()
    assert not list(Path("/").glob("PWNED"))


def test_post_with_nothing_frozen_succeeds(vm):
    vm.install()
    p = vm.run_script("post-script.sh")
    assert p.returncode == 0
    assert "nothing to thaw" in p.stdout
    assert not vm.double.calls()


def test_no_running_instance_freezes_nothing_and_succeeds(vm):
    vm.double.set_status("IRIS", "down")
    vm.double.set_status("CACHE", "down")
    vm.install()
    res = vm.backup()
    assert res.pre.ok and res.post.ok
    assert not frozen_events(vm)
    assert "no running IRIS or Cache instance found" in vm.log()


def test_no_iris_command_on_path_fails(vm):
    vm.install()
    for cmd in ("iris", "ccontrol", "csession"):
        (vm.double.bin_dir / cmd).unlink()
    res = vm.backup()
    assert res.pre.exit_code == 1
    assert "neither iris nor ccontrol is on PATH" in vm.log()


def test_log_is_appended_never_overwritten(vm):
    vm.install()
    vm.backup()
    first = vm.log()
    vm.backup()
    second = vm.log()
    assert second.startswith(first)
    assert second.count("pre-script start") == 2 and second.count("post-script start") == 2
    assert oct(vm.log_path.stat().st_mode & 0o777) == "0o600"
