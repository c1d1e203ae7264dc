"""The restore-drill sandbox under the mock engine: what is declared, and the isolation invariants
that keep a restored copy of production from talking to anything."""

from __future__ import annotations

import re

import pytest

from components import drill_naming as naming
from components.drill_isolation import BACKUP_OPERATOR
from tests.program.harness import of_type, only, run_with_settings

SUB = "11111111-1111-1111-1111-111111111111"
SANDBOX_RG = f"/subscriptions/{SUB}/resourceGroups/rg-irisbackup-drill-test"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-iris-backup-prod/providers/Microsoft.RecoveryServices/vaults/rsv-iris-prod"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


@pytest.fixture(scope="module")
def prod_run():
    from tests.program.harness import example_settings
    return run_with_settings(example_settings("prod"))


def test_nothing_is_declared_while_drills_are_off(dev_settings):
    run = run_with_settings(dev_settings)
    assert not [r for r in run.resources if "drill" in r.type.lower() or r.name.startswith("drill")]
    assert "drill" not in run.outputs


def test_the_sandbox_and_its_outputs(prod_run):
    group = only(prod_run, "azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == "rg-irisbackup-drill-test"
    assert group.inputs["location"] == "westeurope"
    assert prod_run.outputs["drill"] == {
        "resourceGroupName": "rg-irisbackup-drill-test",
        "subnetId": "<id of drill-subnet>",
        "storageAccountId": "<id of drill-staging>",
        "identityClientId": "<clientId of drill-identity>",
        "identityId": "<id of drill-identity>",
    }


def test_a_configured_resource_group_name_and_address_prefix_are_used(prod_settings):
    prod_settings["drill"].update(resourceGroupName="rg-my-drills", addressPrefix="192.168.7.0/28")
    run = run_with_settings(prod_settings)
    assert only(run, "azure-native:resources:ResourceGroup").inputs["resourceGroupName"] == "rg-my-drills"
    assert only(run, "azure-native:network:VirtualNetwork").inputs["addressSpace"] == {"addressPrefixes": ["192.168.7.0/28"]}
    assert only(run, "azure-native:network:Subnet").inputs["addressPrefix"] == "192.168.7.0/28"
    scopes = [r.inputs["scope"] for r in of_type(run, ROLE_ASSIGNMENT)]
    assert any(scope.endswith("/resourceGroups/rg-my-drills") for scope in scopes), scopes


def _walk_keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _walk_keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk_keys(item, found)
    return found


def test_no_public_ip_and_no_peering_anywhere(prod_run):
    types = {r.type for r in prod_run.resources}
    assert not {t for t in types if re.search(r"PublicIP|Peering|Gateway|NatGateway|Bastion", t, re.I)}, types
    keys = set()
    for resource in prod_run.resources:
        _walk_keys(resource.inputs, keys)
    assert not {k for k in keys if re.search(r"publicIp|peering|gateway", k, re.I)}, keys
    vnet = only(prod_run, "azure-native:network:VirtualNetwork")
    assert "dhcpOptions" not in vnet.inputs  # no custom DNS pointing at production resolvers


def test_the_subnet_is_behind_the_sandbox_nsg(prod_run):
    subnet = only(prod_run, "azure-native:network:Subnet")
    assert subnet.inputs["networkSecurityGroup"] == {"id": "<id of drill-nsg>"}
    assert subnet.inputs["virtualNetworkName"] == only(prod_run, "azure-native:network:VirtualNetwork").inputs["virtualNetworkName"]


def test_the_nsg_denies_all_inbound_and_all_outbound_but_https_to_azure(prod_run):
    rules = only(prod_run, "azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    inbound = [r for r in rules if r["direction"] == "Inbound"]
    outbound = [r for r in rules if r["direction"] == "Outbound"]
    # Inbound: only a deny of everything (it also overrides Azure's AllowVnetInBound at 65000).
    assert inbound and all(r["access"] == "Deny" for r in inbound)
    assert any((r["sourceAddressPrefix"], r["destinationAddressPrefix"], r["destinationPortRange"], r["protocol"])
               == ("*", "*", "*", "*") and r["priority"] < 65000 for r in inbound)
    allows = [r for r in outbound if r["access"] == "Allow"]
    assert [(r["protocol"], r["destinationAddressPrefix"], r["destinationPortRange"]) for r in allows] == [("Tcp", "AzureCloud", "443")]
    deny_all = [r for r in outbound if r["access"] == "Deny" and r["destinationAddressPrefix"] == "*" and r["destinationPortRange"] == "*"]
    assert deny_all and all(allow["priority"] < deny["priority"] < 65000 for allow in allows for deny in deny_all)


def test_role_assignments_stay_inside_the_sandbox_except_backup_operator_on_the_vault(prod_run):
    assignments = of_type(prod_run, ROLE_ASSIGNMENT)
    assert len(assignments) == 3
    for assignment in assignments:
        scope, role = assignment.inputs["scope"], assignment.inputs["roleDefinitionId"]
        assert assignment.inputs["principalId"] == "<principalId of drill-identity>"
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        assert role.startswith(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/")
        if scope == VAULT:
            assert role.endswith(BACKUP_OPERATOR), "the vault is reached by Backup Operator only"
        else:
            assert scope == SANDBOX_RG or scope.startswith(SANDBOX_RG + "/providers/"), scope
    assert [a.inputs["scope"] for a in assignments].count(VAULT) == 1


def test_role_assignments_never_name_a_subscription_or_the_production_group(prod_run):
    for assignment in of_type(prod_run, ROLE_ASSIGNMENT):
        scope = assignment.inputs["scope"]
        assert re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+(/providers/.+)?", scope), scope
        assert "/resourceGroups/rg-iris-prod" not in scope


def test_the_staging_account_is_what_restore_disks_accepts_and_private(prod_run):
    account = only(prod_run, "azure-native:storage:StorageAccount").inputs
    assert account["location"] == "westeurope"  # the vault's region
    assert account["sku"] == {"name": "Standard_LRS"} and account["kind"] == "StorageV2"  # not ZRS, premium or BlobStorage
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert re.fullmatch(r"[a-z0-9]{3,24}", account["accountName"])


def test_sandbox_resources_carry_the_sandbox_tag_never_the_sweep_tag(prod_run):
    """The sweep deletes what carries RUN_TAG: nothing Pulumi declares may carry it."""
    tagged = [r for r in prod_run.resources if r.custom and "tags" in r.inputs and r.name.startswith("drill-")]
    assert {r.type.rsplit(":", 1)[-1] for r in tagged} == {
        "ResourceGroup", "VirtualNetwork", "NetworkSecurityGroup", "StorageAccount", "UserAssignedIdentity"}
    for resource in tagged:
        assert resource.inputs["tags"][naming.SANDBOX_TAG] == "test"
        assert naming.RUN_TAG not in resource.inputs["tags"]
        assert resource.inputs["tags"]["environment"] == "prod"  # the stack's own tags are kept


def test_staging_account_names_are_valid_stable_and_distinct():
    name = naming.staging_account_name(SUB, "rg-irisbackup-drill-prod", "prod")
    assert re.fullmatch(r"[a-z0-9]{3,24}", name)
    assert name == naming.staging_account_name(SUB.upper(), "RG-IRISBACKUP-DRILL-PROD", "prod")
    others = {naming.staging_account_name(SUB, "rg-irisbackup-drill-prod", "dev"),
              naming.staging_account_name("22222222-2222-2222-2222-222222222222", "rg-irisbackup-drill-prod", "prod")}
    assert name not in others and len(others) == 2


def test_run_resource_names_never_reuse_production_names():
    vm = naming.restored_vm_name("vm-iris-prod-1", "20250105T030000Z")
    assert vm != "vm-iris-prod-1" and vm.startswith("drill-vm-iris-prod-1-") and len(vm) <= 64
    long = naming.restored_vm_name("v" * 64, "run-1")
    assert len(long) <= 64 and long.endswith("-run-1")
    tags = naming.run_tags("prod", "run-1", "2025-01-05T03:00:00Z", {"owner": "x"})
    assert tags == {"owner": "x", naming.RUN_TAG: "prod", naming.RUN_ID_TAG: "run-1", naming.STARTED_TAG: "2025-01-05T03:00:00Z"}
