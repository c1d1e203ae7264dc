"""Both example stacks end to end from their real stack files, as `make plan` runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi.runtime import rpc

from offline_plan.engine import run_program
from offline_plan.stack_file import SECRET_PLACEHOLDER, load_stack_config
from tests.program.harness import ROOT, TEST_PRIVATE_KEY, of_type, only, run_with_settings

sys.path.insert(0, str(ROOT / "tools" / "arm-validate"))
import arm_validate  # noqa: E402

STACKS = ["dev", "prod"]


def run_stack_file(stack: str):
    return run_program(stack, load_stack_config(ROOT / f"examples/Pulumi.{stack}.yaml"), ROOT / "__main__.py")


@pytest.mark.parametrize("stack", STACKS)
def test_example_stack_declares_everything_with_outputs(stack):
    run = run_stack_file(stack)
    vms = {"dev": ["vm-iris-dev-1"], "prod": ["vm-iris-prod-1", "vm-iris-prod-2", "vm-cache-prod-1"]}[stack]
    retired = {"dev": [], "prod": ["vm-iris-prod-old"]}[stack]
    assert len(of_type(run, "azure-native:recoveryservices:Vault")) == 1
    assert sorted(run.outputs["protectedItems"]) == sorted(vms + retired)
    assert sorted(run.outputs["hooks"]) == sorted(vms)
    assert run.outputs["vaultName"] == f"rsv-iris-{stack}"
    assert run.outputs["vaultId"] == f"<id of rsv-iris-{stack}-vault>"
    for vm in vms:
        assert run.outputs["protectedItems"][vm]["policyId"] in run.outputs["policyIds"].values()
        assert len(run.outputs["hooks"][vm]["sha256"]) == 64


@pytest.mark.parametrize("stack, at_least", [("dev", 4), ("prod", 9)])
def test_every_azure_resource_matches_the_arm_spec(stack, at_least):
    checked = 0
    for resource in run_stack_file(stack).resources:
        if arm_validate.is_supported(resource.type):
            assert arm_validate.validate(resource.type, resource.inputs) == [], resource.name
            checked += 1
    assert checked >= at_least


def test_prod_runs_two_instances_on_one_vm_and_cache_on_another():
    run = run_stack_file("prod")
    stdin = {r.name: r.inputs["stdin"] for r in of_type(run, "command:remote:Command") if r.name.endswith("-install")}
    assert "instances=IRISAPP:iris IRISREPORT:iris\n" in stdin["hooks-vm-iris-prod-2-install"]
    # vm-cache-prod-1 gets its hooks through Run Command: the settings are a secret protected parameter.
    run_command = only(run, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine").inputs
    assert run_command["protectedParameters"][rpc._special_sig_key] == rpc._special_secret_sig
    [settings] = run_command["protectedParameters"]["value"]
    assert settings["name"] == "IRISBACKUP_SETTINGS" and "instances=CACHE:cache\n" in settings["value"]
    assert "instances=" not in run_command["source"]["script"]


def test_secure_values_in_a_stack_file_become_masked_secrets():
    config = load_stack_config(ROOT / "examples/Pulumi.prod.yaml")
    assert config.values["irisbackup:sshPrivateKey"] == SECRET_PLACEHOLDER
    assert set(config.secret_keys) == {"irisbackup:sshPrivateKey", "irisbackup:bastionPrivateKey"}


def test_ssh_keys_stay_secret_in_every_recorded_input(prod_settings):
    run = run_with_settings(prod_settings)
    connections = [r.inputs["connection"] for r in run.resources if r.type.startswith("command:remote:")]
    assert len(connections) == 6  # three commands for each of the two VMs on SSH
    for connection in connections:
        assert connection[rpc._special_sig_key] == rpc._special_secret_sig
        assert connection["value"]["privateKey"] == TEST_PRIVATE_KEY
        assert connection["value"]["proxy"]["host"] == "10.20.0.4"


def test_plan_output_never_shows_a_secret(tmp_path, prod_settings):
    from offline_plan.render import to_json, to_text
    run = run_with_settings(prod_settings)
    rendered = to_text(run) + to_json(run)
    assert "test-key-material" not in rendered
    assert '"connection": "[secret]"' in to_json(run)


def test_protected_item_depends_on_hooks_egress_rules_and_extension(prod_settings):
    prod_settings["vms"][0]["manageExtension"] = True
    run = run_with_settings(prod_settings)
    names = {r.urn: r.name for r in run.resources}
    item = only(run, "azure-native:recoveryservices:ProtectedItem", "vm-iris-prod-1-protected-item")
    depends_on = {names[urn] for urn in item.dependencies}
    assert {"hooks-vm-iris-prod-1-install", "vm-iris-prod-1-snapshot-extension", "enhanced-4h-policy",
            "rsv-iris-prod-vault"} <= depends_on
    # Every rule its NSG gets: backup (Storage), the monitor agent (health is on) and Run Command (vm-cache-prod-1).
    assert {n for n in depends_on if n.startswith("egress-")} == {
        f"egress-rg-iris-prod-nsg-iris-data-{key}" for key in ("storage", "azuremonitor", "azureresourcemanager", "azurecloud")}
    # Another VM's hooks are not a prerequisite of this one.
    assert "hooks-vm-iris-prod-2-install" not in depends_on
    install = only(run, "command:remote:Command", "hooks-vm-iris-prod-1-install")
    assert {names[urn] for urn in install.dependencies} == {"hooks-vm-iris-prod-1-bundle"}


def test_vault_and_protected_items_are_protected_from_destroy_by_default(prod_settings):
    run = run_with_settings(prod_settings)
    assert only(run, "azure-native:recoveryservices:Vault").protect
    items = of_type(run, "azure-native:recoveryservices:ProtectedItem")
    assert len(items) == 4 and all(item.protect for item in items)  # a retired VM's item too


def test_allow_destroy_lifts_the_protection(prod_settings):
    prod_settings.update(allowDestroy=True, production=False)  # a production stack is never destroyable
    prod_settings["vault"].update(softDelete={"state": "Disabled"}, immutability="Disabled")
    run = run_with_settings(prod_settings)
    assert not only(run, "azure-native:recoveryservices:Vault").protect
    assert not any(item.protect for item in of_type(run, "azure-native:recoveryservices:ProtectedItem"))


def make_plan(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offline_plan", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_plan_cli_prints_the_review_and_writes_json(tmp_path):
    out = tmp_path / "plan.json"
    result = make_plan("--stack", "prod", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "OFFLINE RENDERING" in result.stdout and "not an Azure preview" in result.stdout
    assert "every 4 h from 00:00 in a 24 h window: 6 a day (RPO 4 h)" in result.stdout
    assert ("only the last backup of a day goes to the vault (kept 35 days); the other 5 are snapshots kept 7 days"
            in result.stdout)
    assert "retention 35 days / 12 weeks / 24 months / 10 years" in result.stdout
    assert "soft delete AlwaysON for 30 days, immutability Unlocked" in result.stdout
    assert "vm-cache-prod-1: policy enhanced-4h, application-consistent" in result.stdout
    assert ("nsg-iris-data: Outbound Allow Tcp/443 to Storage.WestEurope (priority 200), Outbound Allow Tcp/443 to "
            "AzureMonitor (priority 201), Outbound Allow Tcp/443 to AzureResourceManager (priority 202), Outbound Allow "
            "Tcp/443 to AzureCloud.westeurope (priority 203)\n") in result.stdout
    assert "its identity must never be disabled or switched" in result.stdout  # CMK: one-way, history unknown
    assert "Trusted Launch" not in result.stdout  # enhanced policy only
    document = json.loads(out.read_text())
    assert document["stack"] == "prod"
    assert {"type", "name", "parent", "inputs"} <= set(document["resources"][0])
    by_name = {r["name"]: r for r in document["resources"]}
    assert by_name["rsv-iris-prod-vault"]["parent"] == "rsv-iris-prod"
    assert by_name["hooks-vm-iris-prod-1-install"]["inputs"]["connection"] == "[secret]"


def test_the_review_warns_what_the_program_cannot_check(dev_settings):
    from offline_plan.render import summary as review_lines
    dev_settings.update(allowDestroy=False)
    dev_settings["vault"].update(immutability="Locked")
    summary = "\n".join(review_lines(run_with_settings(dev_settings), dev_settings))
    # azure-cli issue 27785: Azure refuses to create a vault directly as Locked.
    assert "Azure refuses to CREATE a vault as Locked: create it Unlocked, then set Locked in a later `pulumi up`" in summary
    # Enhanced policy is required for Trusted Launch VMs (backup-azure-vms-enhanced-policy).
    assert ("Policy daily-dev (standard, UTC): Daily at 22:00 (RPO 24 h)\n    instant restore 1 day; retention 7 days\n"
            "    WARNING: a standard policy cannot protect Trusted Launch VMs") in summary


def test_plan_cli_rejects_invalid_settings_with_every_problem_and_no_traceback(tmp_path):
    stack = (ROOT / "examples/Pulumi.dev.yaml").read_text()
    stack = stack.replace("dailyDays: 7", "dailyDays: 3").replace("firstPriority: 300", "firstPriority: 50")
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(stack)
    result = make_plan("--stack", "broken", "--stack-file", str(stack_file))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert "invalid stack settings (2 problems)" in result.stderr
    assert "irisbackup:settings.policies.daily-dev.retention.dailyDays: 3 Input should be greater than or equal to 7" in result.stderr
    assert "irisbackup:settings.networkSecurityGroups[0].firstPriority: 50" in result.stderr


def test_plan_cli_names_the_stacks_when_the_stack_file_is_missing():
    result = make_plan("--stack", "staging")
    assert result.returncode != 0
    assert "no stack file Pulumi.staging.yaml; stacks here: dev, prod" in result.stderr


def test_a_missing_ssh_key_secret_is_named_with_the_command_to_set_it(tmp_path):
    stack = (ROOT / "examples/Pulumi.dev.yaml").read_text()
    stack_file = tmp_path / "Pulumi.nokey.yaml"
    stack_file.write_text(stack.replace("irisbackup:sshPrivateKey:", "irisbackup:otherKey:"))
    result = make_plan("--stack", "nokey", "--stack-file", str(stack_file))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "missing secrets (SSH private keys, IRIS credentials): sshPrivateKey (set it with: pulumi config set --secret sshPrivateKey < FILE)" in result.stderr
