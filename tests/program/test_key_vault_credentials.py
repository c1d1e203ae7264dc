"""IRIS credentials from Key Vault (vms[].hooks.keyVaultCredentials): what the plan declares, and that the
secret never appears in plain text - not in any recorded resource input outside a Pulumi secret (what the
state stores encrypted), not in the rendered plan (text and JSON), not in the hook settings the VMs get
(the SSH install's stdin, the Run Command's parameters)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from pulumi.runtime import rpc

from irisbackup.hooks.hook_bundle import HOOKS_DIR, render_vm_hook_settings
from irisbackup.hooks.key_vault_credentials import KEY_VAULT_SECRETS_USER
from irisbackup.network.egress_spec import required_egress
from irisbackup.settings import SettingsError, parse_settings
from offline_plan.engine import mask_secrets, run_program
from offline_plan.render import to_json, to_text
from offline_plan.stack_file import StackConfig
from tests.program.harness import PROGRAM, TEST_PRIVATE_KEY, example_settings, of_type, only

SUB = "11111111-1111-1111-1111-111111111111"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-iris-sec/providers/Microsoft.KeyVault/vaults/kv-iris-prod"
IDENTITY = f"/subscriptions/{SUB}/resourceGroups/rg-iris-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-iris"
PASSWORD = "pw-that-must-never-be-printed-7f3a"
CREDENTIALS = f"irisbackup\n{PASSWORD}\n"
# The nesting rules with the credential fetch: 7 pre-script steps, 5 watchdog steps (defaults fit).
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
URL = "https://kv-iris-prod.vault.azure.net/secrets/iris-freeze"


def settings_with_credentials() -> dict[str, Any]:
    settings = example_settings("prod")
    vms = {vm["id"].rsplit("/", 1)[-1]: vm for vm in settings["vms"]}
    # SSH delivery with a user-assigned identity, Run Command delivery with the system-assigned one.
    vms["vm-iris-prod-1"].update(identity=IDENTITY)
    vms["vm-cache-prod-1"].update(identity="systemAssigned")
    for name in ("vm-iris-prod-1", "vm-cache-prod-1"):
        vms[name]["hooks"]["keyVaultCredentials"] = {"vaultId": VAULT_ID, "secretName": "iris-freeze",
                                                     "fromConfig": "irisCredentials"}
    return settings


def plan(settings: dict[str, Any]):
    values = {"irisbackup:settings": json.dumps(settings), "irisbackup:sshPrivateKey": TEST_PRIVATE_KEY,
              "irisbackup:bastionPrivateKey": TEST_PRIVATE_KEY, "irisbackup:irisCredentials": CREDENTIALS}
    secret_keys = ["irisbackup:sshPrivateKey", "irisbackup:bastionPrivateKey", "irisbackup:irisCredentials"]
    return run_program("prod", StackConfig(values, secret_keys), PROGRAM)


@pytest.fixture(scope="module")
def run():
    return plan(settings_with_credentials())


def test_one_secret_is_written_from_the_pulumi_secret_and_stays_a_secret(run):
    [secret] = of_type(run, "azure-native:keyvault:Secret")
    assert (secret.inputs["vaultName"], secret.inputs["secretName"], secret.inputs["resourceGroupName"]) == (
        "kv-iris-prod", "iris-freeze", "rg-iris-sec")
    properties = secret.inputs["properties"]  # the SDK wraps the whole object holding a secret
    assert properties[rpc._special_sig_key] == rpc._special_secret_sig
    assert properties["value"]["value"] == CREDENTIALS


def test_the_secret_is_nowhere_in_plain_text(run):
    for resource in run.resources:
        assert PASSWORD not in json.dumps(mask_secrets(resource.inputs), default=repr)  # what the state holds in plain text, resource.name
    rendered = to_text(run) + to_json(run)
    assert PASSWORD not in rendered and "[secret]" in rendered
    assert PASSWORD not in json.dumps(run.outputs, default=repr)


def test_the_vms_get_the_secret_url_and_identity_never_the_secret(run):
    install = only(run, "command:remote:Command", "hooks-vm-iris-prod-1-install").inputs
    stdin = install["stdin"]
    assert f"key_vault_secret_url=https://kv-iris-prod.vault.azure.net/secrets/iris-freeze\n" in stdin
    assert f"managed_identity={IDENTITY}\n" in stdin and PASSWORD not in stdin
    runcommand = only(run, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine").inputs
    [settings] = runcommand["protectedParameters"]["value"]
    assert "key_vault_secret_url=https://kv-iris-prod.vault.azure.net/secrets/iris-freeze\n" in settings["value"]
    assert "managed_identity=" not in settings["value"]  # system-assigned: IMDS needs no identity parameter
    assert PASSWORD not in json.dumps(runcommand, default=repr)


def test_each_vm_identity_may_read_that_one_secret_and_nothing_else(run):
    grants = {r.name: r.inputs for r in of_type(run, ROLE_ASSIGNMENT) if r.name.startswith("hook-credentials-")}
    assert set(grants) == {"hook-credentials-vm-iris-prod-1-kv-secrets-user", "hook-credentials-vm-cache-prod-1-kv-secrets-user"}
    for grant in grants.values():
        assert grant["scope"] == f"{VAULT_ID}/secrets/iris-freeze"
        assert grant["roleDefinitionId"] == f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{KEY_VAULT_SECRETS_USER}"
        assert grant["principalType"] == "ServicePrincipal"
    assert grants["hook-credentials-vm-iris-prod-1-kv-secrets-user"]["principalId"] == "<principalId of id-iris>"
    assert grants["hook-credentials-vm-cache-prod-1-kv-secrets-user"]["principalId"] == "<principalId of vm-cache-prod-1>"


def test_the_installers_self_check_waits_for_the_grant_and_the_secret(run):
    # The self-check reads the credentials; the first backup waits for the install.
    names = {r.urn: r.name for r in run.resources}
    grant_names = {"hook-credentials-vm-iris-prod-1-kv-secrets-user"}
    staging = only(run, "command:remote:Command", "hooks-vm-iris-prod-1-staging")
    assert grant_names <= {names[urn] for urn in staging.dependencies}
    runcommand = only(run, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine")
    assert "hook-credentials-vm-cache-prod-1-kv-secrets-user" in {names[urn] for urn in runcommand.dependencies}
    grant = only(run, ROLE_ASSIGNMENT, "hook-credentials-vm-iris-prod-1-kv-secrets-user")
    assert "hook-credentials-kv-iris-prod-iris-freeze" in {names[urn] for urn in grant.dependencies}


def test_the_rendered_settings_pass_the_vms_own_check():
    settings = parse_settings(settings_with_credentials())
    for vm in settings.vms:
        if vm.consistency != "application" or vm.retired:
            continue
        text = render_vm_hook_settings(settings, vm)
        result = subprocess.run(["sh", str(HOOKS_DIR / "install.sh"), "--check-settings", "--settings", "-"],
                                input=text, text=True, capture_output=True, timeout=60)
        assert result.returncode == 0, (vm.name, text, result.stderr)


def test_the_egress_of_a_vm_with_key_vault_credentials_names_the_key_vault_tag_on_its_nsgs():
    settings = parse_settings(settings_with_credentials())
    nsg = next(str(n.id).lower() for n in settings.network_security_groups)
    [rule] = [rule for rule in required_egress(settings)[nsg] if rule.feature == "keyVault"]
    assert (rule.destination, rule.slot) == ("AzureKeyVault", 4)
    assert not [rule for rules in required_egress(parse_settings(example_settings("prod"))).values()
                for rule in rules if rule.feature == "keyVault"]


@pytest.mark.parametrize("edit, message", [
    (lambda vm: vm.pop("identity"), "hooks.keyVaultCredentials needs identity"),
    (lambda vm: vm["hooks"].update(azureTimeoutSeconds=100, callTimeoutSeconds=15, freezeBudgetSeconds=110,
                                   wdSuspendLimitSeconds=300),
     "azureTimeoutSeconds (100) must exceed 7 x (callTimeoutSeconds + 1) = 112 with keyVaultCredentials"),
    (lambda vm: vm["hooks"]["keyVaultCredentials"].update(secretName="has_underscore"), "secretName"),
    (lambda vm: vm["hooks"]["keyVaultCredentials"].update(
        vaultId=VAULT_ID.replace("kv-iris-prod", "a")), "is not a Key Vault name"),
])
def test_bad_credential_settings_are_refused_naming_the_setting(edit, message):
    settings = settings_with_credentials()
    edit(settings["vms"][0])
    with pytest.raises(SettingsError) as error:
        parse_settings(settings)
    assert message in str(error.value)


def test_the_review_names_each_grant_and_keeps_it_apart_from_the_drill_identity(run):
    text = to_text(run)
    assert "    vm-iris-prod-1: Key Vault Secrets User on Microsoft.KeyVault/vaults/kv-iris-prod/secrets/iris-freeze only" in text
    assert "    written from a Pulumi secret: kv-iris-prod/iris-freeze" in text
    [drill] = [line for line in text.splitlines() if line.startswith("    drill identity:")]
    assert "KeyVault" not in drill and KEY_VAULT_SECRETS_USER not in drill


@pytest.mark.parametrize("azure, wdl, valid", [(112, 300, False), (113, 300, True), (113, 280, False), (113, 281, True)])
def test_the_vm_and_the_stack_agree_on_the_nesting_rules_with_the_fetch(azure, wdl, valid):
    # The boundaries of 7 x (15 + 1) = 112 and 200 + 5 x (15 + 1) = 280.
    hooks = {"callTimeoutSeconds": 15, "azureTimeoutSeconds": azure, "freezeBudgetSeconds": 200, "wdSuspendLimitSeconds": wdl}
    settings = settings_with_credentials()
    settings["vms"][0]["hooks"].update(hooks)
    try:
        parsed = parse_settings(settings)
    except SettingsError:
        parsed = None
    settings["vms"][0]["hooks"].pop("keyVaultCredentials")
    vm = parse_settings(settings).vms[0]
    text = render_vm_hook_settings(parse_settings(settings), vm) + f"key_vault_secret_url={URL}\n"
    result = subprocess.run(["sh", str(HOOKS_DIR / "install.sh"), "--check-settings", "--settings", "-"],
                            input=text, text=True, capture_output=True, timeout=60)
    assert (parsed is not None) == (result.returncode == 0) == valid, (hooks, result.stderr)


def test_the_pulumi_secret_is_required_before_anything_is_declared():
    from irisbackup.backup_stack import required_secret_keys
    assert "irisCredentials" in required_secret_keys(parse_settings(settings_with_credentials()))
    assert "irisCredentials" not in required_secret_keys(parse_settings(example_settings("prod")))
