"""The doubles themselves behave as the references say (so the matrix means something)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time

import pytest
from azure_runner import DEFAULT_POLL_SECONDS, check_config, poll_seconds_of, run_script
from hooklib import WALL_LATENCY


def call(vm, *argv, stdin=""):
    return subprocess.run([str(vm.double.bin_dir / argv[0]), *argv[1:]], input=stdin,
                          capture_output=True, text=True, timeout=10)


FREEZE = '##Class(Backup.General).ExternalFreeze("","",1,10,0,0,600,,,1)'
THAW = "##Class(Backup.General).ExternalThaw()"
SUSP = "##Class(Backup.General).IsWDSuspendedExt()"


def test_iris_double_contract(vm):
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP).returncode == 3
    assert call(vm, "iris", "session", "IRIS", "-U%SYS", FREEZE).returncode == 5
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP).returncode == 5
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", FREEZE).returncode == 3  # already
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", THAW).returncode == 5
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", THAW).returncode == 3  # not frozen
    assert call(vm, "iris", "session", "IRIS", "-U", "USER", SUSP).returncode == 1
    # products are told apart: csession does not know an IRIS instance
    assert call(vm, "csession", "IRIS", "-U%SYS", SUSP).returncode == 1
    assert call(vm, "csession", "CACHE", "-U%SYS", FREEZE).returncode == 5
    assert call(vm, "ccontrol", "stat", "CACHE", "-W").returncode == 0
    assert not vm.double.is_frozen("CACHE")
    kinds = [(e.name, e.kind) for e in vm.double.events()]
    assert kinds == [("IRIS", "freeze"), ("IRIS", "freeze-fail"), ("IRIS", "thaw"),
                     ("IRIS", "thaw-fail"), ("CACHE", "freeze"), ("CACHE", "stat-W")]


def test_qlist_is_caret_separated(vm):
    vm.double.set_status("CACHE", "down")
    out = call(vm, "iris", "qlist").stdout.splitlines()
    assert len(out) == 1
    f = out[0].split("^")
    assert f[0] == "IRIS" and f[3].startswith("running") and f[9] == "IRIS"
    f = call(vm, "ccontrol", "qlist").stdout.split("^")
    assert f[0] == "CACHE" and f[3].startswith("down")


def test_wd_suspend_limit_auto_thaw(vm):
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", FREEZE).returncode == 5
    assert vm.double.is_frozen("IRIS")
    assert vm.wait_for(lambda: not vm.double.is_frozen("IRIS"), 2.5)
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP).returncode == 3
    assert [e.kind for e in vm.double.events(name="IRIS")] == ["freeze", "auto-thaw"]


def test_login_prompt_without_credentials_exits_fast(vm):
    vm.double.add_instance("IRIS", "iris", auth="password", credentials=("u", "p"))
    t = time.monotonic()
    p = subprocess.run([str(vm.double.bin_dir / "iris"), "session", "IRIS", "-U", "%SYS", SUSP],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "Access Denied" in p.stdout
    assert time.monotonic() - t < 10, "read end-of-file, did not wait (a hang lasts 120 s)"
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP, stdin="u\np\n").returncode == 3
    assert call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP, stdin="u\nx\n").returncode == 1


def test_iris_double_is_cheap(vm):
    # CPU time of the calls (not wall time, which a busy machine stretches): a shell script, no Python.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(20):
        call(vm, "iris", "session", "IRIS", "-U", "%SYS", SUSP)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    per_call = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / 20
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms of CPU per call"


def test_runner_permission_checks(vm):
    vm.install()
    assert check_config(vm.root)[1] is None
    for m in (0o700, 0o644, 0o640):
        os.chmod(vm.config_path, m)
        cfg, err = check_config(vm.root)
        assert err and err.startswith("317"), (oct(m), err)
        res = vm.backup()
        assert not res.pre.ran and not res.post.ran and res.outcome == "file-system-consistent"
    for m in (0o400, 0o600):
        os.chmod(vm.config_path, m)
        assert check_config(vm.root)[1] is None
    pre = vm.script("pre-script.sh")
    for m, ok in ((0o750, False), (0o705, False), (0o500, True), (0o600, True), (0o700, True)):
        os.chmod(pre, m)
        assert (check_config(vm.root)[1] is None) == ok, oct(m)
    os.chown(pre, 65534, 0)
    assert check_config(vm.root)[1].startswith("306")


def test_runner_does_not_kill_on_timeout_and_runs_under_dash(tmp_path):
    script = tmp_path / "s.sh"
    marker = tmp_path / "done"
    script.write_text(f'sleep 1.2; echo "$0" > {marker}; exit 0\n')
    res = run_script(str(script), [], timeout=0.3, poll_seconds=0.1)
    assert res.timed_out and res.exit_code is None and res.error_code == 308
    assert res.proc.poll() is None, "not killed"
    res.proc.wait(30)
    assert marker.exists(), "the script went on running"
    bashism = tmp_path / "b.sh"
    bashism.write_text('[[ 1 == 1 ]] && exit 0; exit 7\n')
    assert run_script(str(bashism), [], timeout=5, poll_seconds=0.1).exit_code != 0


@pytest.mark.parametrize("params", [[], ["", ""], ["a b", 3]])
def test_runner_passes_params(tmp_path, params):
    script = tmp_path / "p.sh"
    script.write_text('printf "%s|" "$#" "$@"\n')
    res = run_script(str(script), params, timeout=5, poll_seconds=0.1)
    assert res.stdout == "|".join([str(len(params))] + [str(p) for p in params]) + "|"


def test_runner_polls_like_azures_scriptrunner_and_pluginhost(tmp_path):
    # ScriptRunner polls the process, then sleeps a poll; PluginHost sleeps a poll before each check
    # of the thread: a script that ends at once still costs one poll, usually two.
    quick = tmp_path / "q.sh"
    quick.write_text("exit 0\n")
    # Lower bounds are the runner's sleeps; upper bounds add what a loaded machine may (WALL_LATENCY).
    poll = 0.25
    res = run_script(str(quick), [], timeout=10, poll_seconds=poll)
    assert res.exit_code == 0 and poll <= res.ended - res.started <= 2 * poll + WALL_LATENCY, res
    assert res.started <= res.exited_seen <= res.ended
    # a timeout is counted in polls (timeout / poll of them) and the script is not killed
    slow = tmp_path / "s.sh"
    slow.write_text("exec sleep 60\n")
    res = run_script(str(slow), [], timeout=2 * poll, poll_seconds=poll)
    assert res.timed_out and 2 * poll <= res.ended - res.started <= 4 * poll + WALL_LATENCY
    assert res.proc.poll() is None
    res.proc.kill()


@pytest.mark.parametrize("value, poll", [(None, DEFAULT_POLL_SECONDS), (1, 1), (5, 5), (0, 3), (6, 3), ("2", 2)])
def test_runner_poll_interval_comes_from_the_plugin_config(value, poll):
    cfg = {} if value is None else {"ScriptsExecutionPollTimeSeconds": value}
    assert poll_seconds_of(cfg) == poll


def test_runner_rejects_a_config_whose_poll_is_not_a_number(vm):
    vm.install()
    cfg = json.loads(vm.config_path.read_text())
    cfg["ScriptsExecutionPollTimeSeconds"] = "fast"
    vm.config_path.write_text(json.dumps(cfg))
    assert check_config(vm.root)[1].startswith("313")
