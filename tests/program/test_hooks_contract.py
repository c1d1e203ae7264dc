"""The contract between the Pulumi side and hooks/install.sh, exercised with the real scripts.

The commands and settings text the program renders are run as pulumi-command would run them on a
VM (staging dir in the SSH user's home, the bundle copied in as hooks/), with `--root` and the iris
double added so nothing on this machine is touched.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from irisbackup.hooks.hook_bundle import HOOKS_DIR, load_bundle, render_hook_settings
from irisbackup.settings import HookSettings
from tests.program.harness import ROOT, only, run_with_settings

sys.path.insert(0, str(ROOT / "tests" / "hooks"))
from hooklib import VM  # noqa: E402

COMMAND = "command:remote:Command"


class RemoteHost:
    """The SSH user's home on a VM: commands run from it, as root, as `sudo -n` would."""

    def __init__(self, base: Path):
        self.home = base / "home"
        self.home.mkdir()
        self.vm = VM(base)

    def run(self, rendered: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        assert rendered.startswith("sudo -n sh ") or not rendered.startswith("sudo")
        command = rendered.removeprefix("sudo -n ")
        if "install.sh" in command:
            command += f" --root {shlex.quote(str(self.vm.root))} --iris-path {shlex.quote(self.vm.iris_path)}"
        return subprocess.run(["sh", "-c", command], cwd=self.home, input=stdin, text=True, capture_output=True, timeout=120)

    def copy_bundle(self, remote_path: str, source: Path = HOOKS_DIR) -> None:
        # CopyToRemote into an existing directory puts the source directory inside it.
        shutil.copytree(source, self.home / remote_path / source.name)


@pytest.fixture
def host(tmp_path):
    remote = RemoteHost(tmp_path)
    for name in ("IRISAPP", "IRISREPORT"):
        remote.vm.double.add_instance(name, "iris")
    yield remote
    remote.vm.cleanup()


def deploy(host: RemoteHost, run, vm: str) -> dict[str, str]:
    commands = {suffix: only(run, COMMAND, f"hooks-{vm}-{suffix}").inputs for suffix in ("staging", "install")}
    assert host.run(commands["staging"]["create"]).returncode == 0
    host.copy_bundle(only(run, "command:remote:CopyToRemote", f"hooks-{vm}-bundle").inputs["remotePath"])
    result = host.run(commands["install"]["create"], commands["install"]["stdin"])
    assert result.returncode == 0, result.stderr
    return commands["install"]


def test_rendered_install_sets_up_what_azure_runs_and_a_backup_is_application_consistent(host, prod_settings):
    run = run_with_settings(prod_settings)
    install = deploy(host, run, "vm-iris-prod-2")
    config = json.loads(host.vm.config_path.read_text())
    assert config["timeoutInSeconds"] == 120
    assert config["continueBackupOnFailure"] is False
    assert (host.vm.release_dir() / "BUNDLE_SHA256").read_text().strip() == run.outputs["hooks"]["vm-iris-prod-2"]["sha256"]
    assert "instances=IRISAPP:iris IRISREPORT:iris" in (host.vm.release_dir() / "settings.conf").read_text()
    result = host.vm.backup(snapshot_seconds=0.2)
    assert result.outcome == "application-consistent", result.to_dict()
    assert host.vm.double.wait_all_thawed(10)
    assert host.run(install["delete"]).returncode == 0
    assert not host.vm.config_path.exists()


def test_old_resource_delete_never_removes_what_its_replacement_installed(host, prod_settings):
    # Renaming the VM in the stack replaces the hooks resources with the identical bundle.
    old = deploy(host, run_with_settings(prod_settings), "vm-iris-prod-2")
    prod_settings["vms"][1]["id"] = prod_settings["vms"][1]["id"].replace("vm-iris-prod-2", "vm-iris-prod-2b")
    prod_settings["drill"]["vms"][1]["name"] = "vm-iris-prod-2b"  # the drill names VMs too
    prod_settings["mirrors"][0]["members"][1]["vm"] = "vm-iris-prod-2b"  # and so do mirror sets
    deploy(host, run_with_settings(prod_settings), "vm-iris-prod-2b")
    assert host.run(old["delete"]).returncode == 0
    assert host.vm.config_path.exists()
    assert host.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


def test_a_new_bundle_version_replaces_the_old_one_and_the_old_delete_keeps_it(host, prod_settings, tmp_path):
    old = deploy(host, run_with_settings(prod_settings), "vm-iris-prod-2")
    newer = tmp_path / "newer" / "hooks"
    shutil.copytree(HOOKS_DIR, newer)
    (newer / "VERSION").write_text("9.9.9\n")
    bundle = load_bundle(newer)
    staging = bundle.staging_dir
    assert host.run(f"mkdir -p {staging}").returncode == 0
    host.copy_bundle(staging, newer)
    assert host.run(f"sudo -n sh {staging}/hooks/install.sh --owner test:vm-iris-prod-2 --settings -",
                    old["stdin"]).returncode == 0
    assert host.run(old["delete"]).returncode == 0
    assert (host.vm.release_dir() / "VERSION").read_text().strip() == "9.9.9"
    assert host.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


# Hook settings at and just past each rule the program enforces; install.sh must agree on every one.
BOUNDARIES = [
    ({}, True),
    ({"call_timeout_seconds": 18}, True),  # 6 x 19 = 114 < 120
    ({"call_timeout_seconds": 19}, False),  # 6 x 20 = 120
    ({"freeze_budget_seconds": 123, "wd_suspend_limit_seconds": 300}, True),  # > 120 + 2 x 1
    ({"freeze_budget_seconds": 122}, False),
    ({"runner_poll_seconds": 5, "freeze_budget_seconds": 131}, True),
    ({"runner_poll_seconds": 5, "freeze_budget_seconds": 130}, False),
    ({"runner_poll_seconds": 6}, False),
    ({"runner_poll_seconds": 0}, False),
    ({"wd_suspend_limit_seconds": 265}, True),  # > 200 + 4 x 16 = 264
    ({"wd_suspend_limit_seconds": 264}, False),
    ({"external_freeze_timeout_seconds": 301, "wd_suspend_limit_seconds": 300}, True),
    ({"external_freeze_timeout_seconds": 300}, False),
    ({"external_freeze_timeout_seconds": 1201}, False),
    ({"azure_timeout_seconds": 1801, "freeze_budget_seconds": 1805, "wd_suspend_limit_seconds": 1870,
      "external_freeze_timeout_seconds": 1900}, False),
]


@pytest.mark.parametrize("changes, valid", BOUNDARIES, ids=[str(c) for c, _ in BOUNDARIES])
def test_install_sh_and_the_program_agree_on_valid_hook_settings(tmp_path, changes, valid):
    fields = {key: value for key, value in HookSettings().model_dump().items() if key != "instances"}
    fields.update(changes)
    by_alias = {HookSettings.model_fields[key].alias: value for key, value in fields.items()}
    program_accepts = True
    try:
        HookSettings.model_validate(by_alias)
    except ValueError:
        program_accepts = False
    text = render_hook_settings(HookSettings.model_construct(**fields, instances=[]))
    check = subprocess.run(["sh", str(HOOKS_DIR / "install.sh"), "--root", str(tmp_path), "--check-settings", "--settings", "-"],
                           input=text, text=True, capture_output=True, timeout=60)
    assert (program_accepts, check.returncode == 0) == (valid, valid), check.stderr


def test_the_kill_grace_is_the_one_the_hooks_use():
    import re

    from irisbackup.settings import HOOK_KILL_GRACE
    common = (HOOKS_DIR / "common.sh").read_text()
    assert re.search(r"^IB_KILL_GRACE=(\d+)$", common, re.M)[1] == str(HOOK_KILL_GRACE)


def test_the_plugin_config_polls_as_the_setting_says(host, prod_settings):
    prod_settings.pop("mirrors")  # a mirror member's polls must stay under QoS/4 (docs/mirror.md)
    prod_settings["vms"][1].setdefault("hooks", {})["runnerPollSeconds"] = 2
    prod_settings["vms"][1]["hooks"]["freezeBudgetSeconds"] = 200
    deploy(host, run_with_settings(prod_settings), "vm-iris-prod-2")
    assert json.loads(host.vm.config_path.read_text())["ScriptsExecutionPollTimeSeconds"] == 2
