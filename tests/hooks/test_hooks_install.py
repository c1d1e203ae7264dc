"""install.sh: layout and modes, plugin config, atomic switch, rollback,
uninstall of only its own release, settings validation, self-check."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from azure_runner import check_config
from hooklib import FAST, HOOKS, settings_text

DEFAULTS = {
    "instances": "",
    "call_timeout_seconds": "15",
    "azure_timeout_seconds": "120",
    "freeze_budget_seconds": "200",
    "wd_suspend_limit_seconds": "300",
    "external_freeze_timeout_seconds": "600",
    "runner_poll_seconds": "1",
    "continue_backup_on_failure": "true",
    "credentials_file": "",
}


def bundle_sha(directory: Path) -> str:
    """The deployment side's recipe: sha256 of `find . -type f | sort | xargs sha256sum`."""
    lines = []
    files = sorted((p for p in directory.rglob("*") if p.is_file()),
                   key=lambda p: ("./" + p.relative_to(directory).as_posix()).encode())
    for p in files:
        lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  ./{p.relative_to(directory).as_posix()}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def read_conf(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out[k] = v
    return out


def staged_copy(tmp_path: Path, version: str, name: str = "staging") -> Path:
    d = tmp_path / name
    shutil.copytree(HOOKS, d)
    (d / "VERSION").write_text(version + "\n")
    return d


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# ------------------------------------------------------------------ layout
def test_installed_layout_modes_and_config(vm):
    p = vm.install()
    assert p.stdout.count("\n") == 1, p.stdout
    cfg = json.loads(vm.config_path.read_text())
    rel = vm.release_dir()
    sha = bundle_sha(HOOKS)
    version = (HOOKS / "VERSION").read_text().strip()
    assert rel == vm.root / f"opt/irisbackup/releases/{version}-{sha[:12]}"
    assert cfg["preScriptLocation"] == str(rel / "pre-script.sh")
    assert cfg["postScriptLocation"] == str(rel / "post-script.sh")
    assert cfg["timeoutInSeconds"] == FAST["azure_timeout_seconds"]
    assert cfg["continueBackupOnFailure"] is True
    assert cfg["pluginName"] == "ScriptRunner"
    assert cfg["ScriptsExecutionPollTimeSeconds"] == FAST["runner_poll_seconds"]
    # Azure's checks, exactly
    assert check_config(vm.root)[1] is None
    st = vm.config_path.stat()
    assert st.st_uid == 0 and st.st_gid == 0 and mode(vm.config_path) == 0o600
    assert mode(rel) == 0o700 and rel.stat().st_uid == 0
    for f in rel.iterdir():
        assert f.stat().st_uid == 0 and f.stat().st_gid == 0
        assert mode(f) == (0o700 if f.suffix == ".sh" else 0o600), f
    assert (rel / "BUNDLE_SHA256").read_text().strip() == sha
    conf = read_conf(rel / "settings.conf")
    assert conf["bundle_sha256"] == sha and conf["version"] == version
    # every path written points inside the root
    for key in ("log_dir", "state_dir", "release_dir"):
        assert conf[key].startswith(str(vm.root) + "/"), key
    assert conf["iris_path"].startswith(vm.iris_path + ":")
    for d in (vm.state_dir, vm.log_path.parent):
        assert mode(d) == 0o700
    # only the bundle ships: no tests, caches or temp files
    assert sorted(f.name for f in rel.iterdir()) == sorted(
        [f.name for f in HOOKS.iterdir()] + ["BUNDLE_SHA256", "settings.conf"])
    assert not list(vm.root.rglob("*.tmp.*"))
    assert f"{version} bundle {sha}" not in vm.log()  # no run yet
    vm.backup()
    assert f"==== irisbackup {version} bundle {sha}" in vm.log()


def test_hooks_dir_ships_only_the_bundle():
    names = sorted(p.name for p in HOOKS.iterdir())
    assert names == ["VERSION", "common.sh", "creds.sh", "install.sh", "mirror.sh", "post-script.sh",
                     "pre-script.sh", "settings.sh", "state.sh", "watchdog.sh"]


def test_default_install_with_only_root(bare_vm):
    # no --iris-path, no settings; no iris on this machine: only with the explicit flag
    p = subprocess.run(["sh", str(HOOKS / "install.sh"), "--root", str(bare_vm.root), "--allow-no-iris"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "WARNING" in p.stderr and "--allow-no-iris" in p.stderr
    conf = read_conf(bare_vm.script("settings.conf"))
    for k, v in DEFAULTS.items():
        assert conf[k] == v, k
    assert conf["iris_path"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    cfg = json.loads(bare_vm.config_path.read_text())
    assert cfg["timeoutInSeconds"] == 120 and cfg["continueBackupOnFailure"] is True
    assert cfg["ScriptsExecutionPollTimeSeconds"] == 1


def test_settings_on_stdin_with_comments(vm):
    text = "# comment\n\n  # indented comment\ninstances=IRIS:iris  CACHE:cache\n" + settings_text(
        continue_backup_on_failure="false")
    p = vm.install(text)
    assert p.returncode == 0
    conf = read_conf(vm.script("settings.conf"))
    assert conf["instances"] == "IRIS:iris CACHE:cache"
    assert json.loads(vm.config_path.read_text())["continueBackupOnFailure"] is False


def test_credentials_path_is_inside_root(vm):
    creds = vm.root / "etc/creds"
    creds.parent.mkdir(parents=True)
    creds.write_text("u\np\n")
    os.chmod(creds, 0o400)
    vm.install(credentials_file="/etc/creds")
    assert read_conf(vm.script("settings.conf"))["credentials_file"] == str(creds)


# ------------------------------------------------------------------ atomic switch, rollback
def test_reinstall_same_bundle_is_idempotent_and_atomic(vm):
    vm.install()
    ino1 = vm.config_path.stat().st_ino
    text1 = vm.config_path.read_text()
    vm.install(azure_timeout_seconds=14, freeze_budget_seconds=17, wd_suspend_limit_seconds=26)
    assert vm.config_path.stat().st_ino != ino1, "replaced by rename, not rewritten"
    assert json.loads(vm.config_path.read_text())["timeoutInSeconds"] == 14
    assert len(list((vm.base_dir / "releases").iterdir())) == 1
    assert (vm.base_dir / "rollback/plugin-config.json").read_text() == text1
    assert not list(vm.root.rglob("*.tmp.*")) and not list(vm.root.rglob(".new.*"))


def test_rollback_of_a_settings_change(vm):
    vm.install(azure_timeout_seconds=13)
    vm.install(azure_timeout_seconds=14, freeze_budget_seconds=17, wd_suspend_limit_seconds=26, instances="IRIS:iris")
    assert read_conf(vm.script("settings.conf"))["instances"] == "IRIS:iris"
    p = vm.install_sh("--rollback")
    assert p.returncode == 0, p.stderr
    assert json.loads(vm.config_path.read_text())["timeoutInSeconds"] == 13
    assert read_conf(vm.script("settings.conf"))["instances"] == ""
    assert mode(vm.config_path) == 0o600
    # rolling back again returns to the newer one
    assert vm.install_sh("--rollback").returncode == 0
    assert json.loads(vm.config_path.read_text())["timeoutInSeconds"] == 14


def test_rollback_of_a_bundle_change(vm, tmp_path):
    vm.install()
    old_rel = vm.release_dir()
    new = staged_copy(tmp_path, "1.1.0")
    vm.install(bundle=new)
    new_rel = vm.release_dir()
    assert new_rel != old_rel and new_rel.name.startswith("1.1.0-")
    assert old_rel.is_dir(), "previous release kept for rollback"
    assert vm.install_sh("--rollback", bundle=new).returncode == 0
    assert vm.release_dir() == old_rel
    assert vm.backup().outcome == "application-consistent"


def test_only_current_and_previous_releases_are_kept(vm, tmp_path):
    for i, v in enumerate(("1.0.1", "1.0.2", "1.0.3")):
        vm.install(bundle=staged_copy(tmp_path, v, f"s{i}"))
    names = sorted(p.name[:5] for p in (vm.base_dir / "releases").iterdir())
    assert names == ["1.0.2", "1.0.3"]


def test_rollback_without_previous_fails_clearly(vm):
    vm.install()
    p = vm.install_sh("--rollback")
    assert p.returncode == 4 and "nothing to roll back to" in p.stderr


# ------------------------------------------------------------------ uninstall
def test_uninstall_removes_only_its_own_release(vm, tmp_path):
    old = staged_copy(tmp_path, "1.0.0", "old")
    new = staged_copy(tmp_path, "2.0.0", "new")
    vm.install(bundle=old)
    old_rel = vm.release_dir()
    vm.install(bundle=new)  # a replacement's create runs before the old delete
    new_rel = vm.release_dir()
    cfg = vm.config_path.read_text()
    p = vm.install_sh("--uninstall", bundle=old)
    assert p.returncode == 0, p.stderr
    assert not old_rel.exists()
    assert new_rel.is_dir() and vm.config_path.read_text() == cfg
    assert not (vm.base_dir / "rollback").exists(), "rollback record of the removed release dropped"
    assert vm.backup().outcome == "application-consistent"
    # and the last one removes everything it installed, keeping the log
    p = vm.install_sh("--uninstall", bundle=new)
    assert p.returncode == 0, p.stderr
    assert not vm.config_path.exists()
    assert not vm.base_dir.exists() and not vm.state_dir.exists()
    assert vm.log_path.exists()
    assert (vm.root / "etc/azure").is_dir()


def test_uninstall_of_a_bundle_never_installed_touches_nothing(vm, tmp_path):
    vm.install()
    cfg = vm.config_path.read_text()
    other = staged_copy(tmp_path, "9.9.9")
    p = vm.install_sh("--uninstall", bundle=other)
    assert p.returncode == 0
    assert vm.config_path.read_text() == cfg and vm.release_dir().is_dir()


def test_uninstall_restores_a_foreign_plugin_config(vm):
    vm.config_path.parent.mkdir(parents=True)
    foreign = '{"pluginName": "ScriptRunner", "preScriptLocation": "/other/pre.sh", "postScriptLocation": "/other/post.sh"}\n'
    vm.config_path.write_text(foreign)
    vm.install()
    assert "/other/" not in vm.config_path.read_text()
    assert vm.install_sh("--uninstall", "--purge-logs").returncode == 0
    assert vm.config_path.read_text() == foreign
    assert not vm.log_path.parent.exists()


# ------------------------------------------------------------------ settings validation
BAD = [
    ("call_timeout_seconds=0", "call_timeout_seconds", "'0'"),
    ("call_timeout_seconds=-1", "call_timeout_seconds", "1..600"),
    ("call_timeout_seconds=010", "call_timeout_seconds", "'010'"),
    ("call_timeout_seconds=1.5", "call_timeout_seconds", "integer"),
    ("azure_timeout_seconds=1801", "azure_timeout_seconds", "1..1800"),
    ("azure_timeout_seconds=$(id)", "azure_timeout_seconds", "'$(id)'"),
    ("external_freeze_timeout_seconds=1201", "external_freeze_timeout_seconds", "1..1200"),
    ("runner_poll_seconds=6", "runner_poll_seconds", "1..5"),
    ("runner_poll_seconds=0", "runner_poll_seconds", "1..5"),
    ("continue_backup_on_failure=yes", "continue_backup_on_failure", "true or false"),
    ("credentials_file=relative/path", "credentials_file", "absolute path"),
    ("credentials_file=/etc/../shadow", "credentials_file", "without '..'"),
    ("credentials_file=/etc/a b", "credentials_file", "absolute path"),
    ("instances=IRIS", "instances", "NAME:iris or NAME:cache"),
    ("instances=IRIS:mysql", "instances", "'iris' or 'cache'"),
    ("instances=IRIS:iris IRIS:iris", "instances", "each NAME:product once"),
    ("instances=IRIS:iris:x", "instances", "NAME:iris"),
    ("instances=9IRIS:iris", "instances", "^[A-Za-z]"),
    ("instances=IRIS:iris;reboot", "instances", "'IRIS:iris;reboot'"),
    ("unknown_key=1", "unknown_key", "allowed: instances"),
    ("log_dir=/tmp", "log_dir", "internal"),
    ("iris_path=/tmp", "iris_path", "internal"),
    ("Call_Timeout_Seconds=5", "Call_Timeout_Seconds", "invalid key"),
    ("call_timeout_seconds = 5", "call_timeout_seconds ", "invalid key"),
    ("just some text", "expected key=value", "just some text"),
    ("call_timeout_seconds=5\r", "carriage return", "line"),
]


@pytest.mark.parametrize("line,key,allowed", BAD)
def test_bad_settings_rejected_nothing_installed(bare_vm, line, key, allowed):
    p = bare_vm.install(line + "\n", check=False)
    assert p.returncode == 2, p.stdout
    assert key in p.stderr and allowed in p.stderr, p.stderr
    assert "line 1" in p.stderr
    assert not any(bare_vm.root.iterdir()), "nothing may be installed"


RELATIONS = [
    ({"call_timeout_seconds": 2}, "azure_timeout_seconds=13 must be greater than 6 x (call_timeout_seconds + 1) = 18"),
    ({"freeze_budget_seconds": 15}, "freeze_budget_seconds=15 must be greater than azure_timeout_seconds + 2 x runner_poll_seconds = 15"),
    ({"runner_poll_seconds": 2}, "freeze_budget_seconds=16 must be greater than azure_timeout_seconds + 2 x runner_poll_seconds = 17"),
    ({"wd_suspend_limit_seconds": 24}, "wd_suspend_limit_seconds=24 must be greater than freeze_budget_seconds + 4 x (call_timeout_seconds + 1) = 24"),
    ({"external_freeze_timeout_seconds": 25}, "must be less than external_freeze_timeout_seconds"),
]


@pytest.mark.parametrize("kw,message", RELATIONS)
def test_ordering_rules(bare_vm, kw, message):
    p = bare_vm.install(None, check=False, **kw)
    assert p.returncode == 2 and message in p.stderr, p.stderr
    assert not any(bare_vm.root.iterdir())


def test_duplicate_key_rejected(bare_vm):
    p = bare_vm.install("call_timeout_seconds=1\ncall_timeout_seconds=2\n", check=False)
    assert p.returncode == 2 and "line 2: key 'call_timeout_seconds' given twice" in p.stderr


def test_check_settings_mode_installs_nothing(bare_vm):
    p = bare_vm.install_sh("--check-settings", "--settings", "-", stdin=settings_text())
    assert p.returncode == 0 and "settings valid" in p.stdout
    assert not any(bare_vm.root.iterdir())


def test_unknown_option(bare_vm):
    p = bare_vm.install_sh("--frobnicate")
    assert p.returncode == 2 and "unknown option '--frobnicate'" in p.stderr


# ------------------------------------------------------------------ self-check
def test_self_check_failure_fails_install_with_reason(vm):
    vm.double.set_status("CACHE", "down")
    p = vm.install(None, check=False, instances="IRIS:iris CACHE:cache")
    assert p.returncode == 3
    assert "self-check FAILED, nothing installed" in p.stderr
    assert "instance CACHE:cache is not reachable" in p.stderr
    assert not vm.config_path.exists() and not (vm.base_dir / "releases").exists()


def test_self_check_reports_authentication(vm):
    vm.double.add_instance("IRIS", "iris", auth="password", credentials=("u", "p"))
    p = vm.install(None, check=False)
    assert p.returncode == 3
    assert "login prompt / authentication failed for instance IRIS" in p.stderr


def test_self_check_never_freezes(vm):
    p = subprocess.run(["sh", str(HOOKS / "install.sh"), "--root", str(vm.root), "--iris-path",
                        str(vm.double.bin_dir), "--settings", "-"], input=settings_text(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    assert "self-check: ok" in p.stdout
    calls = vm.double.calls()
    assert calls and not any("ExternalFreeze" in a or "ExternalThaw" in a for c in calls for a in c)


def test_self_check_failure_keeps_previous_install(vm):
    vm.install()
    cfg = vm.config_path.read_text()
    vm.double.set_behaviour("IRIS", "suspended", "hang")
    p = vm.install(None, check=False, azure_timeout_seconds=14, freeze_budget_seconds=17, wd_suspend_limit_seconds=26)
    assert p.returncode == 3 and "did not answer within 1s" in p.stderr
    assert vm.config_path.read_text() == cfg


# ------------------------------------------------------------------ identity, lint
def test_bundle_sha_matches_the_deployment_recipe(vm):
    shell = subprocess.run("cd hooks && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum",
                           shell=True, cwd=HOOKS.parent, capture_output=True, text=True).stdout.split()[0]
    assert shell == bundle_sha(HOOKS)
    vm.install()
    assert (vm.release_dir() / "BUNDLE_SHA256").read_text().strip() == shell


SCRIPTS = sorted(HOOKS.glob("*.sh"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_posix_sh(script):
    sc = shutil.which("shellcheck") or str(Path(__file__).resolve().parents[2] / "venv/bin/shellcheck")
    p = subprocess.run([sc, "-s", "sh", "-x", script.name], cwd=HOOKS, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_dash_parses(script):
    p = subprocess.run(["dash", "-n", str(script)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_no_eval_no_bashisms():
    for s in SCRIPTS:
        text = "\n".join(l for l in s.read_text().splitlines() if not l.lstrip().startswith("#"))
        assert not re.search(r"\beval\b", text), s
        assert not re.search(r"\[\[ |\blocal |\$'|\bfunction |<<<|\bsource ", text), s


def test_identical_bundle_with_two_owners_survives_one_uninstall(vm):
    # a replacement deploying the very same bundle: create (new owner) runs before delete (old owner)
    vm.install(None, "--owner", "old-resource")
    vm.install(None, "--owner", "new-resource")
    rel = vm.release_dir()
    p = vm.install_sh("--uninstall", "--owner", "old-resource")
    assert p.returncode == 0 and "still used by another owner" in p.stdout
    assert rel.is_dir() and vm.config_path.exists()
    assert vm.backup().outcome == "application-consistent"
    p = vm.install_sh("--uninstall", "--owner", "new-resource")
    assert p.returncode == 0
    assert not vm.config_path.exists() and not vm.base_dir.exists()


@pytest.mark.parametrize("owner", ["a b", "../x", ".hidden", "x;y", "x" * 129])
def test_bad_owner_rejected(bare_vm, owner):
    p = bare_vm.install(None, "--owner", owner, check=False)
    assert p.returncode == 2 and "--owner" in p.stderr
    assert not any(bare_vm.root.iterdir())
