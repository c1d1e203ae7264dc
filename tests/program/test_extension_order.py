"""Writes to one VM's extensions (Run Command, VMSnapshotLinux, Azure Monitor Agent) never run in parallel,
and a run command is never created twice under one name (a VM that leaves the stack and comes back)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from irisbackup.creation_stamp import STAMP_COMMAND
from irisbackup.hooks.run_command_script import RUN_COMMAND_NAME, run_command_name
from offline_plan.engine import PlanRun, Registration
from tests.program.harness import deployer_clock, of_type, only, run_with_settings

EXTENSION = "azure-native:compute:VirtualMachineExtension"
RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
STAMP = "command:local:Command"
CACHE_VM = 2  # vm-cache-prod-1: delivery runCommand in Pulumi.prod.yaml


def extension_writes(run: PlanRun) -> dict[str, list[Registration]]:
    """VM name -> the resources that PUT an extension on it (Azure serializes them: a parallel one gets 409)."""
    by_vm: dict[str, list[Registration]] = {}
    for registration in of_type(run, EXTENSION) + of_type(run, RUN_COMMAND):
        by_vm.setdefault(registration.inputs["vmName"], []).append(registration)
    return by_vm


def waits_for(run: PlanRun, later: Registration, earlier: Registration) -> bool:
    """Whether `later` (transitively) depends on `earlier`, so Pulumi starts it only once `earlier` is done."""
    by_urn = {r.urn: r for r in run.resources}
    seen, todo = set(), list(later.dependencies)
    while todo:
        urn = todo.pop()
        if urn == earlier.urn:
            return True
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            todo += by_urn[urn].dependencies
    return False


@pytest.mark.parametrize("manage_extension", [False, True])
@pytest.mark.parametrize("cache_consistency", ["application", "crash"])
def test_no_two_extension_writes_on_one_vm_run_in_parallel(prod_settings, manage_extension, cache_consistency):
    for vm in prod_settings["vms"]:
        vm["manageExtension"] = manage_extension and not vm.get("retired", False)
    prod_settings["vms"][CACHE_VM]["consistency"] = cache_consistency
    run = run_with_settings(prod_settings)
    writes = extension_writes(run)
    assert max(len(resources) for resources in writes.values()) == 2 + manage_extension - (cache_consistency == "crash")
    for vm, resources in writes.items():
        for index, one in enumerate(resources):
            for other in resources[index + 1:]:
                assert waits_for(run, one, other) or waits_for(run, other, one), (vm, one.name, other.name)


def test_the_order_on_a_vm_is_run_command_then_snapshot_extension_then_monitor_agent(prod_settings):
    prod_settings["vms"][CACHE_VM]["manageExtension"] = True
    run = run_with_settings(prod_settings)
    command = only(run, RUN_COMMAND)
    snapshot = only(run, EXTENSION, "vm-cache-prod-1-snapshot-extension")
    agent = only(run, EXTENSION, "health-rsv-iris-prod-vm-cache-prod-1-monitor-agent")
    assert command.urn in snapshot.dependencies and snapshot.urn in agent.dependencies
    # The run command reports back over its NSG's AzureCloud rule, so that rule comes first.
    names = {r.urn: r.name for r in run.resources}
    assert "egress-rg-iris-prod-nsg-iris-data-azurecloud" in {names[urn] for urn in command.dependencies}


def test_a_vm_that_leaves_the_stack_and_comes_back_gets_a_run_command_under_a_new_name(prod_settings):
    with deployer_clock() as stamps:
        first = only(run_with_settings(prod_settings), RUN_COMMAND)
    stamp = only(run_with_settings(prod_settings), STAMP, "hooks-vm-cache-prod-1-created")
    # The name comes from a stamp parented under the VM's hooks: it leaves the stack with the VM.
    assert stamp.parent.endswith("RunCommandHooks::hooks-vm-cache-prod-1")
    assert first.inputs["runCommandName"] == run_command_name(stamps["hooks-vm-cache-prod-1-created"])
    cache = prod_settings["vms"].pop(CACHE_VM)
    gone = run_with_settings(prod_settings)
    assert not of_type(gone, RUN_COMMAND) and not [r for r in of_type(gone, STAMP) if r.name.startswith("hooks-")]
    prod_settings["vms"].insert(CACHE_VM, cache)
    with deployer_clock(start=datetime(2027, 1, 1, tzinfo=timezone.utc)):
        again = only(run_with_settings(prod_settings), RUN_COMMAND)
    # Linux's handler does not run a run command deleted and created again under its old name.
    assert again.inputs["runCommandName"] != first.inputs["runCommandName"]
    assert {first.inputs["runCommandName"][:len(RUN_COMMAND_NAME)], again.inputs["runCommandName"][:len(RUN_COMMAND_NAME)]} \
        == {RUN_COMMAND_NAME}


def test_a_later_run_keeps_an_existing_run_commands_name_and_reruns_nothing(prod_settings):
    run = run_with_settings(prod_settings)
    command, stamp = only(run, RUN_COMMAND), only(run, STAMP, "hooks-vm-cache-prod-1-created")
    # The stamp has nothing that changes (only `create`): Pulumi runs it once, when it is created. The
    # name is ignored on a run command that exists: an older one keeps its name, no replacement, no new run.
    assert stamp.inputs == {"create": STAMP_COMMAND}
    assert "runCommandName" in command.ignore_changes
    assert command.inputs["runCommandName"] == run_command_name(None) == f"{RUN_COMMAND_NAME}-<creation time>"


def test_a_run_command_name_is_the_stamp_in_arm_name_characters():
    assert run_command_name("2026-12-04T20:06:40Z\n") == f"{RUN_COMMAND_NAME}-20261204-200640"
    with pytest.raises(ValueError):
        run_command_name("Fri Dec  4 20:06:40 UTC 2026")
