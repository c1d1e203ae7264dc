"""Fault matrix, part 2: the nine fault classes of issue 8, each run through the polling runner
double and closed by invariants.check. Every case failed on the hooks before this change (bundle
1.0.0); the comment on each says how."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import invariants
import pytest
from hooklib import FAST, HOOKS, LONG, BackgroundBackup, run_backup_in_other_process, settings_text, this_boot, watchdog_pid

WDL = FAST["wd_suspend_limit_seconds"]


def bin_without(tmp_path: Path, *missing: str) -> Path:
    """A directory standing in for /usr/bin and /usr/sbin with some commands missing."""
    d = tmp_path / ("bin-without-" + "-".join(missing))
    d.mkdir()
    for src in (Path("/usr/sbin"), Path("/usr/bin")):
        for f in src.iterdir():
            if f.name not in missing and not (d / f.name).exists():
                (d / f.name).symlink_to(f)
    return d


def _runs(pid: int) -> bool:
    """The process still runs (a zombie not yet reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, IndexError):
        return False


# ------------------------------------------------------------------ 1. run identity
def test_1a_second_run_never_takes_over_while_the_first_runner_lives(vm):
    # Before: run B judged A stale once A's watchdog was gone, and A's post-script, finding no
    # lock, logged "no active run: nothing frozen" and left IRIS frozen.
    vm.install(**LONG)
    b_done = threading.Event()
    run_a = BackgroundBackup(vm, snapshot_until=b_done.is_set)  # A's snapshot lasts until B is done
    assert vm.wait_for(lambda: vm.double.all_frozen(), 30)
    pid = watchdog_pid(vm.runs()[-1])
    os.kill(pid, signal.SIGKILL)  # the fault: A's watchdog is gone (its pre-script ended long ago)
    assert vm.wait_for(lambda: not _runs(pid), 5)
    b = run_backup_in_other_process(vm)
    b_done.set()
    assert b["pre"]["exit_code"] == 1, "A's runner is alive: A is not stale"
    assert vm.double.all_frozen(), "B touched nothing of A"
    a = run_a.outcome()
    assert a.outcome == "application-consistent" and a.post.ok
    invariants.check(vm, a, expect=[("pre", "rejected", "lock-held"), ("post", "rejected", "lock-held"),
                                    ("post", "application-consistent", "ok")])


def test_1b_post_finds_its_own_run_after_the_watchdog_fired_and_another_run_took_the_lock(vm):
    # Before: A's post-script read the lock, saw run B and walked away with exit 0, so a snapshot
    # whose writes resumed mid-way (A's watchdog fired) was reported application-consistent.
    # A budget with room, in B's run, for A's post-script to run while B holds the lock frozen.
    budget = 24
    vm.install(freeze_budget_seconds=budget, wd_suspend_limit_seconds=35, external_freeze_timeout_seconds=40)
    b_frozen = threading.Event()
    # A's snapshot outlasts its budget and ends once run B (another runner) has frozen everything
    run_a = BackgroundBackup(vm, snapshot_seconds=budget + 0.5, snapshot_until=b_frozen.is_set)
    assert vm.wait_for(lambda: any((r / "watchdog_fired").exists() for r in vm.runs()), budget + 30)
    assert vm.wait_thawed(30)
    run_a_dir = vm.runs()[-1]
    a_done = vm.base / "a-done"

    def watch():
        vm.wait_for(lambda: any(r != run_a_dir and (r / "frozen").exists() for r in vm.runs()), 60)
        b_frozen.set()
        run_a.join(60)
        a_done.touch()
    watcher = threading.Thread(target=watch)
    watcher.start()
    # B's snapshot lasts until A's backup (its post-script, meeting B holding the lock) has ended
    b = run_backup_in_other_process(vm, "--snapshot-until-exists", str(a_done))
    watcher.join()
    a = run_a.outcome()
    assert a.post.exit_code == 1 and a.outcome != "application-consistent"
    assert b["outcome"] == "application-consistent", "A's post-script left B's freeze alone"
    assert "holds the lock now" in vm.log()
    invariants.check(vm, a, expect=[("watchdog", "watchdog-fired", "watchdog-fired"),
                                    ("post", "watchdog-fired", "watchdog-fired"),
                                    ("post", "application-consistent", "ok")])


# ------------------------------------------------------------------ 2. full disk
@pytest.fixture
def full_state_disk(vm):
    """The state directory on a 40-page tmpfs; fill(k) leaves k pages free (a real ENOSPC)."""
    vm.install()
    mnt = vm.state_dir
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k,mode=0700", "tmpfs", str(mnt)], check=True)

    def fill(free_pages: int) -> None:
        blob = mnt / "filler"
        with open(blob, "wb") as f:
            try:
                f.write(b"\0" * ((40 - free_pages) * 4096))
            except OSError:
                pass
    yield fill
    vm.cleanup()
    time.sleep(0.5)
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("free_pages", [0, 3, 5, 8, 11, 14, 17])
def test_2_full_state_disk_never_leaves_a_freeze_or_a_false_claim(vm, full_state_disk, free_pages):
    # Before: attempt.<instance> was written empty and the freeze landed (rollback, post-script and
    # watchdog saw nothing to thaw); a qlist answer that could not be written read as "nothing runs".
    full_state_disk(free_pages)
    res = vm.backup(snapshot_seconds=0.2)
    seen = invariants.check(vm, res)
    if res.outcome != "application-consistent":
        assert any(reason == "state-write-failed" for _, _, reason in seen), (seen, vm.log())


# ------------------------------------------------------------------ 3. freeze exit codes
def test_3_a_freeze_that_landed_but_exited_143_is_thawed(vm):
    # Before: only 5/124/137 meant "may be frozen": IRIS stayed frozen, "nothing left frozen" logged.
    vm.install()
    vm.double.set_behaviour("IRIS", "freeze", "landexit 143")
    res = vm.backup()
    assert res.pre.exit_code == 1
    assert vm.double.events("freeze", "IRIS") and vm.double.events("thaw", "IRIS")
    invariants.check(vm, res, expect=[("pre", "not-consistent", "freeze-failed")])


# ------------------------------------------------------------------ 4. process identity
def _stale_record(vm, run_id: str, boot: str, identity: str, attempt: str | None = None) -> Path:
    d = vm.state_dir / "runs" / run_id
    d.mkdir(parents=True)
    (d / "boot").write_text(boot + "\n")
    for proc in ("pre", "watchdog", "runner"):
        (d / f"{proc}.proc").write_text(identity + "\n")
    pid = identity.split()[0]
    (d / "pre_pid").write_text(pid + "\n")  # the records of bundle 1.0.0: a bare PID
    (d / "watchdog.pid").write_text(pid + "\n")
    (d / "start").write_text("1\n")
    if attempt:
        (d / f"attempt.{attempt}").touch()
        (d / "freeze.IRIS").write_text("5\n")
    (vm.state_dir / "lock").mkdir()
    (vm.state_dir / "lock" / "run").write_text(run_id + "\n")
    return d


def test_4a_stale_run_from_before_a_reboot_is_recovered_and_its_pids_are_never_signalled(vm, tmp_path):
    # Before: the record's PIDs belonged to a live unrelated process: every backup was refused, and
    # the post-script sent SIGTERM to that process.
    vm.install()
    boot = tmp_path / "boot_id"
    boot.write_text("00000000-0000-4000-8000-000000000001\n")
    vm.extra_env["IRISBACKUP_TEST_BOOT_ID_FILE"] = str(boot)  # this boot; the record is from the last
    old = "20200101T000000Z-4242"
    _stale_record(vm, old, this_boot(), vm.decoy.identity, attempt="IRIS.iris")
    res = vm.backup()
    assert res.outcome == "application-consistent", vm.log()
    assert f"recovered stale lock of run {old} (from before a reboot" in vm.log()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


def test_4b_a_reused_pid_is_not_the_run_and_a_stale_freeze_is_thawed(vm):
    vm.install()
    vm.double.freeze("IRIS")  # what the dead run left frozen (no auto-thaw)
    old = "20200101T000000Z-4343"
    pid, start = vm.decoy.identity.split()
    _stale_record(vm, old, this_boot(), f"{pid} {int(start) + 1}", attempt="IRIS.iris")
    res = vm.backup()
    assert res.pre.exit_code == 1, "this run touches nothing while the stale run is recovered"
    assert vm.wait_thawed(10), "the stale run's watchdog thawed what it left"
    assert vm.double.events("thaw", "IRIS")
    invariants.check(vm, res, expect=[("pre", "rejected", "stale-run-frozen"),
                                      ("watchdog", "watchdog-fired", "watchdog-fired")])
    again = vm.backup()
    assert again.outcome == "application-consistent", vm.log()
    invariants.check(vm, again)


# ------------------------------------------------------------------ 5. qlist states
@pytest.mark.parametrize("status, outcome, reason", [
    ("sign-on inhibited, since Fri Nov 27 08:00:00 2026", "application-consistent", "ok"),
    ("sign-on inhibited:primary transition", "not-consistent", "instance-in-transition"),
    ("starting", "not-consistent", "instance-state-unknown"),
])
def test_5_every_qlist_status_is_handled(vm, status, outcome, reason):
    # Before: anything but "running" was skipped silently and the run reported application-consistent.
    vm.install()
    vm.double.set_status("CACHE", status)
    res = vm.backup()
    if outcome == "application-consistent":
        assert res.outcome == outcome and vm.double.events("freeze", "CACHE")
        invariants.check(vm, res, expect=[("post", outcome, "ok")])
    else:
        assert res.pre.exit_code == 1 and not vm.double.events("freeze")
        assert "instance CACHE" in vm.log()
        invariants.check(vm, res, expect=[("pre", outcome, reason)])


# ------------------------------------------------------------------ 6. no setsid
def test_6_watchdog_without_setsid_is_detected_and_logged(vm, tmp_path):
    # Before: the fallback was silent.
    vm.install()
    vm.set_installed("iris_path", f"{vm.iris_path}:{bin_without(tmp_path, 'setsid')}")
    res = vm.backup()
    log = vm.log()
    assert "setsid not found: the watchdog of run" in log
    assert "watchdog is not in a session of its own" in log
    invariants.check(vm, res)


def test_6_self_check_fails_when_the_watchdog_cannot_be_detached(vm):
    argv = ["sh", str(HOOKS / "install.sh"), "--root", str(vm.root), "--iris-path", str(vm.double.bin_dir),
            "--settings", "-"]
    script = "mount --bind /dev/null /usr/bin/setsid && exec \"$@\""  # hidden in a private mount namespace
    p = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *argv], input=settings_text(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "setsid (util-linux) is not on PATH" in p.stderr
    assert not vm.config_path.exists()


# ------------------------------------------------------------------ 7. no iris commands
def test_7_self_check_fails_without_iris_unless_allowed(vm):
    # Before: "self-check: ok (no instance running)" and every later backup file-system consistent.
    for cmd in ("iris", "ccontrol", "csession"):
        (vm.double.bin_dir / cmd).unlink()
    p = vm.install(None, check=False)
    assert p.returncode == 3 and "neither iris nor ccontrol" in p.stderr and "--allow-no-iris" in p.stderr
    assert not vm.config_path.exists()
    p = vm.install(None, "--allow-no-iris", check=False)
    assert p.returncode == 0 and "--allow-no-iris" in p.stderr, p.stderr


# ------------------------------------------------------------------ 8. worst case timings
def test_8_worst_case_rollback_with_every_call_hanging_ends_within_azures_timeout(vm):
    # Before: the rollback made up to six more calls after the freeze (check, thaw, stat -W,
    # verify, stat -W, verify): the pre-script overran timeoutInSeconds.
    # Every IRIS call hangs once its freeze landed: set up front in the double (no thread racing
    # the hooks), IsWDSuspendedExt answers before the freeze and hangs after it.
    vm.install()
    vm.double.set_behaviour("CACHE", "freeze", "fail")
    vm.double.set_behaviour("IRIS", "freeze", "delay 0.5")
    for op in ("thaw", "stat"):
        vm.double.set_behaviour("IRIS", op, "hang")
    vm.double.set_behaviour("IRIS", "suspended", "hang-if-frozen")
    res = vm.backup()
    assert not res.pre.timed_out and res.pre.exit_code == 1
    assert not res.post.timed_out and res.post.exit_code == 1
    # Six calls in sequence at most (each bounded by a step): here the check, the freeze and the
    # rollback's three (ExternalThaw, stat -W, the verification), each hung and killed.
    pre_calls = [" ".join([*c[1:-1], re.sub(r"^##Class\(Backup\.General\)\.(\w+)\(.*", r"\1", c[-1])])
                 for c in vm.double.calls(before=res.post.started) if c[0] == "iris" and "IRIS" in c]
    assert pre_calls == ["session IRIS -U %SYS IsWDSuspendedExt", "session IRIS -U %SYS ExternalFreeze",
                         "session IRIS -U %SYS ExternalThaw", "stat IRIS -W",
                         "session IRIS -U %SYS IsWDSuspendedExt"], pre_calls
    assert vm.wait_thawed(WDL + 3)  # WDSuspendLimit, the last resort
    invariants.check(vm, res, expect=[("pre", "not-consistent", "thaw-failed"),
                                      ("post", "thaw-not-confirmed", "thaw-failed")])


# ------------------------------------------------------------------ 9. every log line true
def test_9_stat_w_that_worked_is_not_reported_as_a_failed_thaw(vm):
    # Before: "thaw NOT confirmed; it may still be frozen" after stat -W answered 0.
    creds = vm.root / "etc/irisbackup/creds"
    creds.parent.mkdir(parents=True)
    creds.write_text("backup\nsecret\n")
    os.chmod(creds, 0o600)
    for name, product in (("IRIS", "iris"), ("CACHE", "cache")):
        vm.double.add_instance(name, product, auth="password", credentials=("backup", "secret"))
    vm.install(credentials_file="/etc/irisbackup/creds")
    assert vm.run_script("pre-script.sh").returncode == 0
    creds.unlink()  # the fault: the credentials file vanished between pre and post
    post = vm.run_script("post-script.sh")
    assert post.returncode == 1
    log = vm.log()
    assert "stat -W answered 0 but writes resuming could not be verified" in log
    assert "it may still be frozen" not in log
    assert vm.double.events("stat-W", "IRIS")
    invariants.check(vm, expect=[("post", "thaw-not-confirmed", "thaw-failed")])


def test_9_missing_timeout_is_named_not_reported_as_a_missing_iris(vm, tmp_path):
    # Before: "iris ... command not found on PATH".
    vm.install()
    vm.set_installed("iris_path", f"{vm.double.bin_dir}:{bin_without(tmp_path, 'timeout')}")
    res = vm.backup()
    log = vm.log()
    assert res.pre.exit_code == 1 and "timeout(1) (coreutils) is not on PATH" in log
    assert "command not found" not in log
    assert not vm.double.calls()
    invariants.check(vm, res, expect=[("pre", "not-consistent", "no-timeout-command")])
