"""vms[].delivery: settings, what the program declares for each channel, the plan, the policy pack."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
from pathlib import Path

import pytest

from irisbackup.hooks.hook_bundle import load_bundle
from irisbackup.hooks.run_command_script import (
    INLINE_SCRIPT_LIMIT,
    ScriptTooLarge,
    render_install_script,
    render_uninstall_script,
)
from irisbackup.settings import parse_settings
from offline_plan.render import summary
from tests.policy.policyharness import checked, edited, failing, with_inputs
from tests.program.harness import of_type, only, run_with_settings
from tests.program.test_settings import problems_for

RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
CACHE_VM = 2  # vm-cache-prod-1 in Pulumi.prod.yaml, on delivery: runCommand


def test_run_command_delivery_takes_no_ssh_and_ssh_delivery_needs_it(prod_settings, dev_settings):
    prod_settings["vms"][CACHE_VM]["ssh"] = {"host": "10.0.0.9", "user": "azureuser"}
    assert problems_for(prod_settings) == [
        "irisbackup:settings.vms[2]: delivery 'runCommand' takes no ssh (Azure's VM agent runs the installer; nothing "
        "connects to the VM); remove ssh, or set delivery: ssh"]
    del dev_settings["vms"][0]["ssh"]
    assert "set delivery: runCommand" in problems_for(dev_settings)[0]
    dev_settings["vms"][0]["delivery"] = "runCommand"
    assert parse_settings(dev_settings).vms[0].delivery == "runCommand"


def test_an_unknown_delivery_names_the_setting_and_the_allowed_values(dev_settings):
    dev_settings["vms"][0]["delivery"] = "bastion"
    [problem] = problems_for(dev_settings)
    assert problem.startswith("irisbackup:settings.vms[0].delivery: 'bastion'") and "'ssh' or 'runCommand'" in problem


def test_a_stack_mixes_both_channels_and_shows_the_channel_per_vm(prod_settings):
    run = run_with_settings(prod_settings)
    assert {vm: hooks["channel"] for vm, hooks in run.outputs["hooks"].items()} == {
        "vm-iris-prod-1": "ssh", "vm-iris-prod-2": "ssh", "vm-cache-prod-1": "runCommand"}
    [command] = of_type(run, RUN_COMMAND)
    assert command.inputs["vmName"] == "vm-cache-prod-1" and command.inputs["resourceGroupName"] == "rg-iris-prod"
    assert command.protect  # the VM cannot leave the stack without the uninstall step
    assert not [r for r in run.resources if r.type.startswith("command:remote:") and "vm-cache-prod-1" in r.name]
    item = only(run, "azure-native:recoveryservices:ProtectedItem", "vm-cache-prod-1-protected-item")
    assert command.urn in item.dependencies
    lines = "\n".join(summary(run))
    assert f"vm-cache-prod-1: policy enhanced-4h, application-consistent (hooks {load_bundle().version}, sha256" in lines
    assert "via runCommand" in lines and "via ssh" in lines


def test_the_timeout_covers_the_installers_longest_wait(prod_settings):
    hooks = parse_settings(prod_settings).vms[CACHE_VM].hooks
    timeout = only(run_with_settings(prod_settings), RUN_COMMAND).inputs["timeoutInSeconds"]
    # install.sh's uninstall of a replaced bundle waits for an active run up to freeze budget + 30 s;
    # docs/hooks.md gives this formula.
    assert timeout == hooks.freeze_budget_seconds + 30 + hooks.call_timeout_seconds + 120


def test_allow_destroy_leaves_the_install_unprotected_and_the_plan_says_crash_step(prod_settings):
    prod_settings.update(allowDestroy=True, production=False)  # a production stack is never destroyable
    prod_settings["vault"].update(immutability="Disabled", softDelete={"state": "Disabled"})
    assert not only(run_with_settings(prod_settings), RUN_COMMAND).protect
    prod_settings["vms"][CACHE_VM]["consistency"] = "crash"
    lines = "\n".join(summary(run_with_settings(prod_settings)))
    assert ("vm-cache-prod-1: policy enhanced-4h, CRASH-CONSISTENT ONLY (no freeze/thaw hooks); a Run Command "
            "uninstalls the hooks from the VM") in lines


def test_retiring_a_run_command_vm_takes_the_uninstall_step_instead_of_dropping_the_protected_install(prod_settings):
    # Retiring removes an SSH install through its delete; a run command's delete runs nothing, and the
    # install is protected: without the uninstall step the `pulumi up` that retires would be refused.
    prod_settings["vms"][CACHE_VM]["retired"] = True
    run = run_with_settings(prod_settings)
    step = only(run, RUN_COMMAND)
    assert {p["name"]: p["value"] for p in step.inputs["parameters"]}["IRISBACKUP_ACTION"] == "uninstall"
    assert not step.protect
    assert "vm-cache-prod-1" not in run.outputs["hooks"]
    item = only(run, "azure-native:recoveryservices:ProtectedItem", "vm-cache-prod-1-protected-item")
    assert item.inputs["properties"]["protectionState"] == "BackupsSuspended"


def test_a_bundle_too_large_for_an_inline_script_fails_with_size_and_limit(tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "VERSION").write_text("1.0.0\n")
    (hooks / "install.sh").write_bytes(random.Random(14).randbytes(200_000))  # gzip cannot shrink it
    with pytest.raises(ScriptTooLarge) as raised:
        render_install_script(load_bundle(hooks), "test:vm:runcommand")
    message = str(raised.value)
    assert f"at most {INLINE_SCRIPT_LIMIT} bytes" in message and "delivery: ssh" in message
    assert int(message.split(" is ")[1].split(" bytes")[0]) > INLINE_SCRIPT_LIMIT


def test_the_shipped_bundle_fits_the_inline_limit():
    assert len(render_install_script(load_bundle(), "test:vm:runcommand").encode()) <= INLINE_SCRIPT_LIMIT


# --- policy pack ---------------------------------------------------------------------------------


def test_the_pack_reads_the_run_commands_protected_settings(prod_settings):
    prod_settings["vms"][CACHE_VM]["hooks"]["continueBackupOnFailure"] = True
    required = {"hooks-plugin-config": {"continueBackupOnFailure": False}}
    assert failing(checked("prod", prod_settings, extra=required))["hooks-plugin-config"] == [
        "hooks of VM vm-cache-prod-1: continueBackupOnFailure is true; this estate requires false "
        "(set vms[].hooks.continueBackupOnFailure: false)"]


def test_an_unpinned_run_command_fails_hooks_version_pinned(prod_settings):
    run = run_with_settings(prod_settings)
    parameters = [p for p in only(run, RUN_COMMAND).inputs["parameters"] if p["name"] != "IRISBACKUP_BUNDLE_SHA256"]
    unpinned = edited(run, "hooks-vm-cache-prod-1-runcommand", with_inputs(("parameters",), parameters))
    assert failing(checked("prod", prod_settings, registrations=unpinned))["hooks-version-pinned"] == [
        "hooks of VM vm-cache-prod-1: the run command is not pinned to a bundle version and sha256 (parameters "
        f"IRISBACKUP_BUNDLE_VERSION={load_bundle().version}, IRISBACKUP_BUNDLE_SHA256=not set); deploy the hooks through RunCommandHooks"]


def test_the_uninstall_step_does_not_count_as_hooks(prod_settings):
    prod_settings["vms"][CACHE_VM]["consistency"] = "crash"
    run = run_with_settings(prod_settings)
    assert checked("prod", prod_settings).passed
    step = only(run, RUN_COMMAND)
    # The same step, as if the VM were still listed as application-consistent: coverage-hooks fails.
    item = only(run, "azure-native:recoveryservices:ProtectedItem", "vm-cache-prod-1-protected-item")
    registrations = [dataclasses.replace(r, dependencies=[*r.dependencies, step.urn]) if r is item else r
                     for r in run.resources]
    assert "coverage-hooks" in failing(checked("prod", prod_settings, registrations=registrations,
                                               extra={"coverage-hooks": {"crashConsistentVms": []}}))


def test_the_rendered_scripts_are_shellcheck_clean_posix_sh(tmp_path):
    shellcheck = Path(sys.executable).with_name("shellcheck")
    scripts = {"install.sh": render_install_script(load_bundle(), "test:vm:runcommand"),
               "uninstall.sh": render_uninstall_script("test:vm:runcommand")}
    for name, text in scripts.items():
        assert text.startswith("#!/bin/sh\n")  # the handler execs the file: the shebang picks sh
        (tmp_path / name).write_text(text)
    result = subprocess.run([str(shellcheck), "-s", "sh", *(str(tmp_path / n) for n in scripts)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
