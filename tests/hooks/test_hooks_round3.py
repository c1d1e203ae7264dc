"""Fault matrix, part 3: the five fault classes of issue 20 (and its "also check" list), each run
through the polling runner double and closed by invariants.check: nothing frozen past the budget,
consistent only if every (product, name) target stayed frozen through the snapshot, thaw before
fallible bookkeeping, no foreign process signalled. Each case failed on bundle 2.0.0; the comment
on each says how."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import invariants
import pytest
from hooklib import FAST, HOOKS, VM, settings_text
from test_hooks_install import staged_copy

from irisbackup.settings import HookSettings

BUDGET = FAST["freeze_budget_seconds"]
STEP = FAST["call_timeout_seconds"] + 1
HOST_CONF = "etc/azure/VMSnapshotPluginHost.conf"


def _install_during_a_run(vm, bundle: Path) -> subprocess.CompletedProcess:
    """install.sh of another bundle while a backup runs (VM.install would reset the double's log)."""
    p = vm.install_sh("--iris-path", str(vm.double.bin_dir), "--settings", "-", bundle=bundle, stdin=settings_text())
    assert p.returncode == 0, p.stderr
    return p


def _run_dir(vm) -> Path:
    (run,) = vm.runs()
    return run


def _start(run: Path) -> float:
    return int((run / "start").read_text()) / 100.0


# ------------------------------------------------------------------ 1. same name in IRIS and Caché
@pytest.fixture
def twins(tmp_path):
    """A VM with an IRIS and a Caché instance both called PROD."""
    v = VM(tmp_path)
    v.double.add_instance("PROD", "iris")
    v.double.add_instance("PROD", "cache")
    yield v
    v.cleanup()


@pytest.mark.parametrize("instances", [None, "PROD:iris PROD:cache"])
def test_1_same_name_in_iris_and_cache_both_frozen_and_named(twins, instances):
    # Before: discovery kept the first PROD only (and settings refused the pair): the Caché PROD
    # was never frozen and the verdict said application-consistent.
    twins.install(instances=instances)
    res = twins.backup(snapshot_seconds=0.2)
    assert res.outcome == "application-consistent", twins.log()
    for product in ("iris", "cache"):
        assert twins.double.events("freeze", "PROD", product), product
    (line,) = invariants.verdict_lines(twins)
    assert sorted(line["instances"]) == ["PROD:cache", "PROD:iris"]
    invariants.check(twins, res, expect=[("post", "application-consistent", "ok")])


@pytest.mark.parametrize("failing", ["iris", "cache"])
def test_1_a_failed_freeze_of_one_twin_rolls_back_the_other(twins, failing):
    twins.install()
    twins.double.set_behaviour("PROD", "freeze", "fail", product=failing)
    res = twins.backup()
    other = "cache" if failing == "iris" else "iris"
    assert res.pre.exit_code == 1
    assert twins.double.events("freeze", "PROD", other) and twins.double.events("thaw", "PROD", other)
    assert not twins.double.events("thaw", "PROD", failing), "the twin that never froze is not thawed"
    invariants.check(twins, res, expect=[("pre", "not-consistent", "freeze-failed")])


def test_1_settings_take_both_twins_and_refuse_a_repeated_pair(bare_vm):
    # Both ends (install.sh and the stack settings) agree: an instance is NAME:product.
    assert bare_vm.install_sh("--check-settings", "--settings", "-",
                              stdin=settings_text(instances="PROD:iris PROD:cache")).returncode == 0
    p = bare_vm.install_sh("--check-settings", "--settings", "-", stdin=settings_text(instances="PROD:iris PROD:iris"))
    assert p.returncode == 2 and "'PROD:iris'" in p.stderr and "each NAME:product once" in p.stderr
    assert len(HookSettings(instances=[{"name": "PROD"}, {"name": "PROD", "product": "cache"}]).instances) == 2
    with pytest.raises(ValueError, match="PROD:iris"):
        HookSettings(instances=[{"name": "PROD"}, {"name": "PROD", "product": "iris"}])


# ------------------------------------------------------------------ 2. a killed freeze lands later
@pytest.mark.parametrize("fault", ["post-runs", "no-post", "pre-group-killed"])
def test_2_a_killed_freeze_that_lands_later_is_thawed_within_the_budget(vm, fault):
    # Before: the rollback (or the post-script) verified IRIS thawed, stopped the watchdog, and the
    # server side of the killed call froze IRIS a second later: frozen until WDSuspendLimit.
    vm.install()
    vm.double.set_behaviour("IRIS", "freeze", "serverlate 5")  # lands after every thaw of the pre- and post-script
    kw = {"no-post": {"post_runs": False},
          "pre-group-killed": {"kill_pre_after": 1.2, "kill_pre_group": True}}.get(fault, {})
    res = vm.backup(snapshot_seconds=0.2, **kw)
    assert res.outcome != "application-consistent"
    run = _run_dir(vm)
    assert vm.wait_for(lambda: vm.double.events("freeze", "IRIS", "iris"), 10), "the server side landed"
    invariants.check(vm, res, expect=[("watchdog", "not-consistent", "freeze-landed-late")])
    (late,) = vm.double.events("freeze", "IRIS", "iris")
    assert "server-side-late" in late.detail
    resumed = [e for kind in invariants.RESUMES for e in vm.double.events(kind, "IRIS", "iris") if e.t >= late.t]
    assert resumed, "the late freeze was thawed"
    # Within the budget: thawed at the watchdog's next look (1 s) plus one thaw (at most 4 steps).
    assert min(e.t for e in resumed) <= min(late.t + 1 + 4 * STEP, _start(run) + BUDGET + 4 * STEP)
    assert not (vm.state_dir / "lock").exists(), "the watchdog freed the lock once it was settled"
    vm.double.set_behaviour("IRIS", "freeze", None)
    again = vm.backup(snapshot_seconds=0.2)
    assert again.outcome == "application-consistent", vm.log()


# ------------------------------------------------------------------ 3. the bundle replaced mid-run
def test_3_uninstall_of_the_release_a_run_uses_waits_for_the_run(vm, tmp_path):
    # Before: `pulumi up` installed the new bundle, then the old resource's uninstall removed the
    # old release at once; Azure could not start the run's post-script and the watchdog fired.
    vm.install()
    old_release = vm.release_dir()
    uninstall: dict = {}

    def replace_bundle():
        new = staged_copy(tmp_path, "9.9.9", "new")
        uninstall["install"] = _install_during_a_run(vm, new)
        uninstall["p"] = vm.install_sh("--uninstall", bundle=HOOKS)
        uninstall["ended"] = vm.clock.now()

    worker = threading.Thread(target=replace_bundle)
    res = vm.backup(snapshot_seconds=3, during_snapshot=worker.start)
    worker.join(90)
    assert res.outcome == "application-consistent", vm.log()
    p = uninstall["p"]
    assert p.returncode == 0, p.stderr
    # It waited for the run: the post-script started (from the old release) before the removal ended.
    assert "waiting for backup run" in p.stdout and uninstall["ended"] > res.post.started
    assert not old_release.exists() and (vm.release_dir() / "VERSION").read_text().strip() == "9.9.9"
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


def test_3_install_keeps_an_old_release_a_run_uses(vm, tmp_path):
    # Before: the install's clean-up kept only the new release and the rollback target.
    vm.install()
    first = vm.release_dir()
    out: dict = {}

    def two_installs():
        _install_during_a_run(vm, staged_copy(tmp_path, "9.9.8", "b"))
        out["p"] = _install_during_a_run(vm, staged_copy(tmp_path, "9.9.9", "c"))

    worker = threading.Thread(target=two_installs)
    # The snapshot lasts until both installs are done: the run uses its release all along.
    res = vm.backup(snapshot_seconds=1, during_snapshot=worker.start, snapshot_until=lambda: "p" in out)
    worker.join(60)
    assert first.is_dir() and f"kept {first.name}: backup run" in out["p"].stdout
    assert res.outcome == "application-consistent", vm.log()
    invariants.check(vm, res, expect=[("post", "application-consistent", "ok")])


def test_3_a_release_removed_under_a_run_is_named_in_the_verdict(vm):
    # Before: "watchdog-fired", as if the snapshot had taken too long.
    vm.install()
    release = vm.release_dir()
    res = vm.backup(snapshot_seconds=0.2, during_snapshot=lambda: subprocess.run(["rm", "-rf", str(release)], check=True))
    assert not res.post.ok and res.outcome != "application-consistent"
    assert vm.wait_thawed(BUDGET + 4 * STEP + 5)
    invariants.check(vm, res, expect=[("watchdog", "not-consistent", "release-removed")])
    assert "was removed during the run" in vm.log()


# ------------------------------------------------------------------ 4. state file system fails mid-run
@pytest.fixture
def state_tmpfs(vm):
    """The state directory on its own small tmpfs; yields a function that breaks it."""
    vm.install()
    mnt = vm.state_dir
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=64,mode=0700", "tmpfs", str(mnt)], check=True)

    def breaks(how: str) -> None:
        if how == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            return
        for i in range(1000):  # out of inodes: every new file fails, existing ones can still be rewritten
            try:
                (mnt / f"inode-eater-{i}").touch()
            except OSError:
                return
        raise AssertionError("tmpfs never ran out of inodes")
    yield breaks
    subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=False)
    vm.cleanup()
    time.sleep(0.5)
    subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("post_runs", [True, False], ids=["post", "watchdog"])
@pytest.mark.parametrize("how", ["read-only", "no-inodes"])
def test_4_state_file_system_failing_mid_run_never_stops_a_thaw(vm, state_tmpfs, how, post_runs):
    # Before: `: >post_started` failed and exited the post-script before its thaw; the watchdog
    # died the same way on `: >watchdog_fired`: IRIS stayed frozen until WDSuspendLimit.
    res = vm.backup(snapshot_seconds=0.2, post_runs=post_runs, during_snapshot=lambda: state_tmpfs(how))
    assert res.outcome != "application-consistent"
    script = "post" if post_runs else "watchdog"
    seen = invariants.check(vm, res, expect=[(script, "state-write-failed", "state-write-failed")])
    assert all(v != "application-consistent" for _, v, _ in seen)
    for name in ("IRIS", "CACHE"):
        (freeze,) = vm.double.events("freeze", name)
        thawed = [e for kind in ("thaw", "stat-W") for e in vm.double.events(kind, name)]
        assert thawed, name
        if post_runs:
            assert res.post.exit_code == 1
            assert min(e.t for e in thawed) <= res.post.ended, "the post-script itself thawed"
    assert "could not be written" in vm.log() or "cannot write" in vm.log() or "cannot create" in vm.log()


def test_4_a_log_that_cannot_be_opened_does_not_stop_the_thaw_either(vm, state_tmpfs):
    # With the state read-only, the log cannot be opened either (a directory stands in its place):
    # the post-script's `exec >>log` (a special builtin: a failed redirect ends the shell) must not run.
    def both():
        state_tmpfs("read-only")
        vm.log_path.rename(vm.log_path.with_suffix(".moved"))
        vm.log_path.mkdir()
    res = vm.backup(snapshot_seconds=0.2, during_snapshot=both)
    assert res.post.exit_code == 1
    invariants.check(vm, res, expect=[("post", "state-write-failed", "state-write-failed")])
    assert all(vm.double.events("thaw", name) for name in ("IRIS", "CACHE"))


# ------------------------------------------------------------------ 5. Azure's own timeout shorter
def _host_conf(vm, seconds: int) -> None:
    path = vm.root / HOST_CONF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[pre_post]\ntimeoutInSeconds: {seconds}\nnumberOfPlugins: 1\npluginName0: ScriptRunner\n")
    os.chmod(path, 0o644)


def test_5_install_refuses_an_azure_timeout_above_the_plugin_hosts(vm):
    _host_conf(vm, FAST["azure_timeout_seconds"] - 1)
    p = vm.install(check=False)
    assert p.returncode == 2 and not vm.config_path.exists()
    assert f"azure_timeout_seconds={FAST['azure_timeout_seconds']}" in p.stderr
    assert f"timeoutInSeconds={FAST['azure_timeout_seconds'] - 1}" in p.stderr and "VMSnapshotPluginHost.conf" in p.stderr


def test_5_a_plugin_host_timeout_below_the_worst_case_refuses_to_freeze(vm):
    # Before: the pre-script's deadline came from azure_timeout_seconds alone.
    vm.install()
    _host_conf(vm, 6 * STEP - 1)
    res = vm.backup()
    assert res.timeout_seconds == 6 * STEP - 1, "the runner double honours the host's timeout"
    assert res.pre.exit_code == 1 and not vm.double.events("freeze")
    invariants.check(vm, res, expect=[("pre", "not-consistent", "azure-timeout-too-short")])


def test_5_a_freeze_after_the_plugin_hosts_timeout_is_never_called_consistent(vm):
    # Before: the runner gave up on the pre-script at the host's 14 s and took the snapshot; the
    # stalled pre-script, still inside its own 18 s, froze during the snapshot and the post-script
    # reported application-consistent.
    slow = {"azure_timeout_seconds": 20, "freeze_budget_seconds": 23, "wd_suspend_limit_seconds": 32,
            "external_freeze_timeout_seconds": 40}
    vm.install(**slow)
    _host_conf(vm, 14)
    stopped: dict = {}

    def stall_before_the_freeze():
        def checked():
            runs = vm.runs()
            return runs and len(list(runs[0].glob("check.*"))) == 2 and (runs[0] / "pre.proc").exists()
        vm.wait_for(checked, 10, poll=0.005)
        stopped["pid"] = int((vm.runs()[0] / "pre.proc").read_text().split()[0])
        os.kill(stopped["pid"], signal.SIGSTOP)  # the test's own child: a machine that stalls it

    staller = threading.Thread(target=stall_before_the_freeze)
    staller.start()
    res = vm.backup(snapshot_seconds=3, during_snapshot=lambda: os.kill(stopped["pid"], signal.SIGCONT))
    staller.join()
    assert res.pre.timed_out and res.timeout_seconds == 14
    seen = invariants.check(vm, res)
    assert ("post", "application-consistent", "ok") not in seen
    assert all(e.t >= res.snapshot.started for e in vm.double.events("freeze")), "nothing froze before the stall"


# ------------------------------------------------------------------ also: clock, PID namespace
def test_a_run_id_taken_after_a_clock_step_back_gets_a_new_one(vm):
    # Before: the pre-script failed (state-write-failed) when the clock stepped back onto a second
    # and PID an earlier run had used.
    vm.install()
    fake_date = vm.double.bin_dir / "date"
    fake_date.write_text("#!/bin/sh\necho 20200101T000000Z\n")
    fake_date.chmod(0o755)
    runs = vm.state_dir / "runs"
    pre = subprocess.run(["sh", "-c", f'mkdir -p {runs}/20200101T000000Z-$$ && exec sh "$0"', str(vm.script("pre-script.sh"))],
                         capture_output=True, text=True, timeout=60, cwd="/", stdin=subprocess.DEVNULL, env=vm.env())
    assert pre.returncode == 0, vm.log()
    post = vm.run_script("post-script.sh")
    assert post.returncode == 0, vm.log()
    taken = [r for r in vm.runs() if not (r / "boot").exists()]
    assert len(taken) == 1 and not any(taken[0].iterdir()), "the earlier run's directory is untouched"
    invariants.check(vm, expect=[("post", "application-consistent", "ok")])


def test_a_proc_of_another_pid_namespace_refuses_to_freeze(vm):
    # Before: PIDs of the script's namespace were looked up in the host's /proc (other processes).
    vm.install()
    p = subprocess.run(["unshare", "-p", "-f", "sh", str(vm.script("pre-script.sh"))], capture_output=True,
                       text=True, timeout=60, cwd="/", stdin=subprocess.DEVNULL, env=vm.env())
    assert p.returncode == 1 and not vm.double.events("freeze")
    assert "another PID namespace" in vm.log()
    invariants.check(vm, expect=[("pre", "not-consistent", "pid-namespace-mismatch")])


CGROUP2 = Path("/sys/fs/cgroup/unified")


@pytest.mark.skipif(not (CGROUP2 / "cgroup.procs").exists(), reason="needs a writable cgroup v2 hierarchy")
def test_systemd_killing_the_agents_cgroup_is_recovered_by_the_next_backup(vm, tmp_path):
    # systemd's KillMode=control-group kills the whole cgroup: the runner, the scripts and the
    # detached watchdog (setsid leaves the session, not the cgroup). Nothing of the run survives
    # to thaw; the next backup must find the stale run and thaw it long before WDSuspendLimit.
    vm.install()
    group = CGROUP2 / f"irisbackup-test-{os.getpid()}"
    group.mkdir()
    try:
        agent = subprocess.Popen(
            ["sh", "-c", f'echo $$ >{group}/cgroup.procs && exec "$@"', "sh", sys.executable,
             str(Path(invariants.__file__).parents[1] / "doubles" / "azure_runner.py"), str(vm.root),
             "--double", str(vm.double.dir), "--snapshot-seconds", "30",
             *[f"--env={k}={v}" for k, v in {**vm.clock_env(), **vm.extra_env}.items()]],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert vm.wait_for(lambda: vm.double.all_frozen() and vm.runs() and (vm.runs()[0] / "watchdog.proc").exists(), 10)
        watchdog = int((vm.runs()[0] / "watchdog.proc").read_text().split()[0])
        (group / "cgroup.kill").write_text("1\n")
        agent.wait(10)
        assert vm.wait_for(lambda: not Path(f"/proc/{watchdog}").exists(), 5), "the watchdog died with the cgroup"
        frozen_at = vm.clock.now()
        assert vm.double.all_frozen()
    finally:
        vm.wait_for(lambda: not (group / "cgroup.procs").read_text().strip(), 5)
        group.rmdir()
    recovery = vm.backup()
    assert recovery.pre.exit_code == 1
    assert vm.wait_thawed(10) and vm.clock.now() < frozen_at + FAST["wd_suspend_limit_seconds"] - 5
    assert not vm.double.events("auto-thaw"), "thawed by the next backup, not by IRIS's own limit"
    again = vm.backup()
    assert again.outcome == "application-consistent", vm.log()
    invariants.check(vm, recovery, again, expect=[("pre", "rejected", "stale-run-frozen"),
                                                  ("watchdog", "watchdog-fired", "watchdog-fired"),
                                                  ("post", "application-consistent", "ok")])


@pytest.mark.parametrize("text", [
    "[pre_post]\ntimeoutInSeconds: 60\n",
    "[pre_post]\nTimeoutInSeconds = 0090  \nnumberOfPlugins: 1\n",
    "[DEFAULT]\ntimeoutinseconds=30\n[pre_post]\nnumberOfPlugins: 1\n",
    "[pre_post]\ntimeoutInSeconds: 5000\n",
    "[other]\ntimeoutInSeconds: 5\n[pre_post]\nnumberOfPlugins: 1\n",
    "# comment\n[pre_post]\n; timeoutInSeconds: 5\ntimeoutInSeconds:\t45\n",
])
def test_5_the_hooks_read_the_plugin_hosts_timeout_as_the_extension_does(tmp_path, text):
    # The same file through the hooks' parser and through ConfigParser as PluginHost.py uses it.
    from azure_runner import HOST_CONFIG_REL, host_timeout
    conf = tmp_path / HOST_CONFIG_REL
    conf.parent.mkdir(parents=True)
    conf.write_text(text)
    conf.chmod(0o644)
    expected, err = host_timeout(tmp_path)
    assert err is None
    p = subprocess.run(["sh", "-c", '. "$0/common.sh" && ib_host_timeout "$1" && echo "$IB_VAL"', str(HOOKS), str(conf)],
                       capture_output=True, text=True, env={"IB_HOOK_DIR": str(HOOKS), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0 and int(p.stdout) == expected, (p.stdout, p.stderr)


@pytest.mark.parametrize("mode, text, error", [(0o664, "[pre_post]\ntimeoutInSeconds: 60\n", "314"),
                                                (0o600, "[pre_post]\ntimeoutInSeconds: sixty\n", "304")])
def test_5_the_runner_double_refuses_a_host_config_as_the_extension_does(tmp_path, mode, text, error):
    from azure_runner import HOST_CONFIG_REL, host_timeout
    conf = tmp_path / HOST_CONFIG_REL
    conf.parent.mkdir(parents=True)
    conf.write_text(text)
    conf.chmod(mode)
    assert host_timeout(tmp_path)[1].startswith(error)
    assert host_timeout(tmp_path / "elsewhere") == (1800, None)


def test_the_double_keeps_twins_apart_and_lands_a_killed_freeze_server_side(twins):
    # What the cases above rely on: `iris session PROD` and `csession PROD` reach two instances, and a
    # serverlate freeze lands after its client was killed by timeout(1), as behind `docker exec`.
    twins.double.set_behaviour("PROD", "freeze", "serverlate 1.5", product="cache")
    env = {"PATH": f"{twins.double.bin_dir}:/usr/bin:/bin"}
    freeze = '##Class(Backup.General).ExternalFreeze("","",1,10,0,0,30,,,25)'
    iris = subprocess.run(["iris", "session", "PROD", "-U", "%SYS", freeze], env=env, capture_output=True, timeout=10)
    assert iris.returncode == 5 and twins.double.is_frozen("PROD", "iris") and not twins.double.is_frozen("PROD", "cache")
    killed = subprocess.run(["timeout", "-k", "1", "0.5", "csession", "PROD", "-U%SYS", freeze], env=env,
                            capture_output=True, timeout=10)
    assert killed.returncode == 124 and not twins.double.is_frozen("PROD", "cache")
    assert twins.wait_for(lambda: twins.double.is_frozen("PROD", "cache"), 5), "the server side landed it"
    (late,) = twins.double.events("freeze", "PROD", "cache")
    assert "server-side-late" in late.detail and [e.product for e in twins.double.events("freeze")] == ["iris", "cache"]
    subprocess.run(["iris", "stat", "PROD", "-W"], env=env, capture_output=True, timeout=10)
    assert not twins.double.is_frozen("PROD", "iris") and twins.double.is_frozen("PROD", "cache")
    subprocess.run(["ccontrol", "stat", "PROD", "-W"], env=env, capture_output=True, timeout=10)


def test_pruning_old_run_records_never_removes_an_active_run(vm):
    # Run records are pruned oldest name first; names follow the wall clock, which can step back,
    # so the oldest name may belong to a run still going (here: a live process as its pre-script).
    vm.install()
    runs = vm.state_dir / "runs"
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    active = runs / "20190101T000000Z-1"
    active.mkdir(parents=True)
    (active / "boot").write_text(boot + "\n")
    (active / "pre.proc").write_text(vm.decoy.identity + "\n")
    for i in range(45):
        old = runs / f"20190102T0000{i:02d}Z-{i + 2}"
        old.mkdir()
        (old / "boot").write_text(boot + "\n")
    res = vm.backup()
    assert res.outcome == "application-consistent", vm.log()
    assert active.is_dir(), "the active run's record was kept"
    assert not (runs / "20190102T000000Z-2").exists(), "finished old records were pruned"
    invariants.check(vm, res)
