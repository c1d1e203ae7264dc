"""The Run Command channel's contract with hooks/install.sh, run with the exact script the program renders.

The run command inputs recorded under the mock engine are executed as Azure's managed Run Command
handler does (Azure/run-command-handler-linux: internal/cmds/cmds.go saves `source.script` as
script.sh, mode 0500, in a fresh download directory; internal/exec/exec.go starts it with
`/bin/bash -c <file>` as root and sets every named parameter and protected parameter as an
environment variable). IRISBACKUP_ROOT / IRISBACKUP_IRIS_PATH add install.sh's --root / --iris-path
so nothing on this machine is touched, as the SSH contract test adds them to its command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from irisbackup.hooks.hook_bundle import HOOKS_DIR, load_bundle
from irisbackup.hooks.run_command_script import (
    BUNDLE_STORE,
    render_install_script,
    run_command_name,
    run_command_owner_id,
)
from policy.offline import unwrap_secrets
from tests.program.harness import ROOT, only, run_with_settings

sys.path.insert(0, str(ROOT / "tests" / "hooks"))
from hooklib import VM  # noqa: E402

RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
VM_NAME = "vm-cache-prod-1"  # on delivery: runCommand in Pulumi.prod.yaml
SHELL = "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"


class Agent:
    """Azure's run command handler on one VM, with the VM laid out under a temporary root."""

    def __init__(self, base: Path):
        self.vm = VM(base)
        self.downloads = base / "waagent" / "run-command-handler" / "download" / run_command_name("2026-01-05T09:30:00Z")
        self.runs = 0

    def run(self, inputs: dict[str, Any]) -> subprocess.CompletedProcess:
        inputs = unwrap_secrets(inputs)
        workdir = self.downloads / str(self.runs)
        self.runs += 1
        workdir.mkdir(parents=True)
        script = workdir / "script.sh"
        script.write_text(inputs["source"]["script"])
        script.chmod(0o500)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "IRISBACKUP_ROOT": str(self.vm.root),
               "IRISBACKUP_IRIS_PATH": self.vm.iris_path}
        for parameter in [*inputs.get("parameters", []), *(inputs.get("protectedParameters") or [])]:
            env[parameter["name"]] = parameter["value"]
        return subprocess.run([SHELL, "-c", str(script)], cwd=workdir, env=env, text=True, capture_output=True,
                              timeout=inputs["timeoutInSeconds"])

    @property
    def store(self) -> Path:
        return Path(f"{self.vm.root}{BUNDLE_STORE}/{run_command_owner_id('test', VM_NAME)}")

    def stored_releases(self) -> list[str]:
        return sorted(p.name for p in self.store.iterdir()) if self.store.exists() else []


@pytest.fixture
def agent(tmp_path):
    handler = Agent(tmp_path)
    handler.vm.double.add_instance("CACHE", "cache")
    yield handler
    handler.vm.cleanup()


def run_command(settings: dict[str, Any]) -> dict[str, Any]:
    return only(run_with_settings(settings), RUN_COMMAND, f"hooks-{VM_NAME}-runcommand").inputs


def test_rendered_run_command_installs_what_azure_runs_and_a_backup_is_application_consistent(agent, prod_settings):
    run = run_with_settings(prod_settings)
    inputs = only(run, RUN_COMMAND).inputs
    result = agent.run(inputs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "irisbackup run command: bundle" in result.stdout
    config = json.loads(agent.vm.config_path.read_text())
    assert config["timeoutInSeconds"] == 120 and config["continueBackupOnFailure"] is False
    release = agent.vm.release_dir()
    assert (release / "BUNDLE_SHA256").read_text().strip() == run.outputs["hooks"][VM_NAME]["sha256"]
    assert run.outputs["hooks"][VM_NAME]["channel"] == "runCommand"
    assert "instances=CACHE:cache" in (release / "settings.conf").read_text()
    assert (agent.vm.base_dir / "owners" / release.name / run_command_owner_id("test", VM_NAME)).exists()
    assert agent.stored_releases() == [release.name]
    assert agent.vm.backup(snapshot_seconds=0.2).outcome == "application-consistent"
    assert agent.vm.double.wait_all_thawed(10)


def test_a_settings_change_is_an_in_place_update_that_reruns_the_install(agent, prod_settings):
    before = run_command(prod_settings)
    assert agent.run(before).returncode == 0
    prod_settings["vms"][2]["hooks"]["callTimeoutSeconds"] = 10
    after = run_command(prod_settings)
    # Same run command (in-place PUT, which Azure runs again); only the protected settings differ.
    assert after["runCommandName"] == before["runCommandName"]
    assert after["source"] == before["source"] and after["parameters"] == before["parameters"]
    assert after["protectedParameters"] != before["protectedParameters"]
    result = agent.run(after)
    assert result.returncode == 0, result.stderr
    assert "call_timeout_seconds=10" in (agent.vm.release_dir() / "settings.conf").read_text()
    assert len(agent.stored_releases()) == 1
    assert agent.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


def test_unchanged_settings_render_identical_inputs_so_nothing_reruns(prod_settings):
    assert run_command(prod_settings) == run_command(prod_settings)


def test_a_new_bundle_replaces_the_old_release_and_uninstalls_it_as_the_ssh_delete_would(agent, prod_settings, tmp_path):
    old = run_command(prod_settings)
    assert agent.run(old).returncode == 0
    old_release = agent.vm.release_dir().name
    newer = tmp_path / "newer" / "hooks"
    shutil.copytree(HOOKS_DIR, newer)
    (newer / "VERSION").write_text("9.9.9\n")
    bundle = load_bundle(newer)
    # The program renders the script with exactly this function (checked against its inputs here).
    assert render_install_script(load_bundle(), run_command_owner_id("test", VM_NAME)) == old["source"]["script"]
    new = dict(old, source={"script": render_install_script(bundle, run_command_owner_id("test", VM_NAME))},
               parameters=[{"name": "IRISBACKUP_ACTION", "value": "install"},
                           {"name": "IRISBACKUP_BUNDLE_VERSION", "value": "9.9.9"},
                           {"name": "IRISBACKUP_BUNDLE_SHA256", "value": bundle.sha256}])
    result = agent.run(new)
    assert result.returncode == 0, result.stderr
    assert (agent.vm.release_dir() / "VERSION").read_text().strip() == "9.9.9"
    assert not (agent.vm.base_dir / "releases" / old_release).exists()
    assert agent.stored_releases() == [agent.vm.release_dir().name]
    assert agent.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


def test_the_uninstall_step_removes_only_this_deployments_release(agent, prod_settings):
    assert agent.run(run_command(prod_settings)).returncode == 0
    prod_settings["vms"][2]["consistency"] = "crash"
    run = run_with_settings(prod_settings)
    step = only(run, RUN_COMMAND, f"hooks-{VM_NAME}-runcommand")
    assert not step.protect  # the uninstall step lifts the flag that blocks a silent removal
    assert VM_NAME not in run.outputs["hooks"]
    result = agent.run(step.inputs)
    assert result.returncode == 0, result.stderr
    assert not agent.vm.config_path.exists()
    assert not agent.vm.base_dir.exists()
    assert not agent.store.exists()
    assert agent.run(step.inputs).returncode == 0  # Azure may run it again: nothing left is fine


def test_the_uninstall_step_keeps_a_release_the_ssh_channel_also_installed(agent, prod_settings):
    # A VM switched from SSH: the SSH owner still holds the identical release.
    install = run_command(prod_settings)
    settings_text = unwrap_secrets(install["protectedParameters"])[0]["value"]
    assert agent.vm.install_sh("--iris-path", agent.vm.iris_path, "--owner", f"test:{VM_NAME}",
                               "--settings", "-", stdin=settings_text).returncode == 0
    assert agent.run(install).returncode == 0
    prod_settings["vms"][2]["consistency"] = "crash"
    assert agent.run(run_command(prod_settings)).returncode == 0
    assert agent.vm.config_path.exists()
    assert agent.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


def test_switching_from_ssh_the_ssh_delete_keeps_the_release_the_run_command_installed(agent, prod_settings):
    assert agent.run(run_command(prod_settings)).returncode == 0
    # What FreezeThawHooks' delete runs for this VM (owner <stack>:<vm>) after the switch.
    assert agent.vm.install_sh("--uninstall", "--owner", f"test:{VM_NAME}").returncode == 0
    assert agent.vm.config_path.exists()
    assert agent.vm.backup(snapshot_seconds=0.1).outcome == "application-consistent"


def test_an_install_failure_fails_with_the_installers_exit_code_and_reason(agent, prod_settings):
    agent.vm.double.set_status("CACHE", "down")
    result = agent.run(run_command(prod_settings))
    assert result.returncode == 3  # install.sh: self-check failed, nothing installed
    assert "self-check FAILED" in result.stderr and "CACHE" in result.stderr
    assert not agent.vm.config_path.exists()
    assert agent.stored_releases() == []


def test_the_script_refuses_parameters_that_do_not_match_it(agent, prod_settings):
    inputs = run_command(prod_settings)
    no_settings = dict(inputs, protectedParameters=[])
    result = agent.run(no_settings)
    assert result.returncode == 2 and "IRISBACKUP_SETTINGS" in result.stderr
    wrong_version = dict(inputs, parameters=[{"name": "IRISBACKUP_ACTION", "value": "install"},
                                             {"name": "IRISBACKUP_BUNDLE_VERSION", "value": "0.0.1"},
                                             {"name": "IRISBACKUP_BUNDLE_SHA256", "value": "0" * 64}])
    result = agent.run(wrong_version)
    assert result.returncode == 2 and "do not name the bundle" in result.stderr
    assert not agent.vm.config_path.exists()


def test_the_settings_never_appear_in_script_text_and_travel_as_a_secret(prod_settings):
    inputs = run_command(prod_settings)
    [settings] = unwrap_secrets(inputs["protectedParameters"])
    assert settings["name"] == "IRISBACKUP_SETTINGS"
    for line in settings["value"].splitlines()[1:]:
        assert line not in inputs["source"]["script"]
    assert inputs["asyncExecution"] is False and inputs["treatFailureAsDeploymentFailure"] is True
    assert "runAsUser" not in inputs  # unset: the handler runs the script as root
