"""The restore-drill sandbox under the mock engine: what is declared, and the isolation invariants
that keep a restored copy of production from talking to anything."""

from __future__ import annotations

import ipaddress
import re
import uuid

import pytest

from irisbackup.drill import drill_naming as naming
from irisbackup.drill.drill_isolation import IRIS_MIRROR_PORTS
from irisbackup.drill.drill_roles import BACKUP_OPERATOR, STORAGE_ACCOUNT_CONTRIBUTOR, VIRTUAL_MACHINE_CONTRIBUTOR
from tests.program.harness import of_type, only, run_with_settings

SUB = "11111111-1111-1111-1111-111111111111"
SANDBOX_RG = f"/subscriptions/{SUB}/resourceGroups/rg-irisbackup-drill-test"
VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-iris-backup-prod/providers/Microsoft.RecoveryServices/vaults/rsv-iris-prod"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
PROD_VMS = f"/subscriptions/{SUB}/resourceGroups/rg-iris-prod/providers/Microsoft.Compute/virtualMachines"
# Microsoft's "Restore managed disks from VM backup" row: the custom-role alternatives it names
# (learn.microsoft.com/azure/backup/backup-rbac-rs-vault, "Minimum role requirements for Azure VM backup").
MICROSOFT_SOURCE_VM_ACTIONS = {"Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/read"}
MICROSOFT_TARGET_GROUP_ACTIONS = {"Microsoft.Resources/subscriptions/resourceGroups/write"}


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


def _matches(value: str, patterns: list[str], *, address: bool) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == value:
            return True
        if address and "/" in pattern and re.fullmatch(r"[\d.]+", value):
            if ipaddress.ip_address(value) in ipaddress.ip_network(pattern):
                return True
        if not address and "-" in pattern:
            low, high = pattern.split("-")
            if value.isdigit() and int(low) <= int(value) <= int(high):
                return True
    return False


def _verdict(rules: list[dict], direction: str, destination: str, port: str) -> str:
    """What Azure does with one TCP flow: the first matching rule by priority (Azure's defaults at 65000+
    are never reached while a `* / *` deny exists, which the tests check separately)."""
    for rule in sorted((r for r in rules if r["direction"] == direction), key=lambda r: r["priority"]):
        destinations = rule.get("destinationAddressPrefixes") or [rule["destinationAddressPrefix"]]
        ports = rule.get("destinationPortRanges") or [rule["destinationPortRange"]]
        if rule["protocol"] in ("*", "Tcp") and _matches(destination, destinations, address=True) \
                and _matches(port, ports, address=False):
            return f"{rule['access']} ({rule['name']})"
    return "Azure default"


# Where a restored VM might try to go: production's private addresses, the VNet, Azure in the region,
# Azure elsewhere and the internet (tags stand for the public addresses they cover).
DESTINATIONS = ["10.1.2.3", "172.20.0.5", "192.168.1.10", "100.64.3.4", "10.255.0.4", "VirtualNetwork",
                "AzureCloud.westeurope", "AzureCloud", "AzureCloud.northeurope", "Internet", "20.50.1.2"]
PORTS = ["443", "1972", "2188", "22", "80", "52773", "5671"]


def test_nothing_comes_in_and_only_https_to_azure_in_the_region_leaves(prod_run):
    rules = only(prod_run, "azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    for destination in DESTINATIONS:
        for port in PORTS:
            verdict = _verdict(rules, "Outbound", destination, port)
            allowed = (destination, port) == ("AzureCloud.westeurope", "443")
            assert verdict.startswith("Allow") == allowed, (destination, port, verdict)
            assert _verdict(rules, "Inbound", destination, port).startswith("Deny"), (destination, port)


def test_mirror_ports_and_private_space_are_denied_above_any_allow(prod_run):
    rules = only(prod_run, "azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    allows = [r for r in rules if r["access"] == "Allow"]
    assert allows and all(r["direction"] == "Outbound" for r in allows)
    first_allow = min(r["priority"] for r in allows)
    for port in IRIS_MIRROR_PORTS:  # ISCAgent / arbiter 2188, superserver 1972: denied to every address
        for destination in DESTINATIONS:
            verdict = _verdict(rules, "Outbound", destination, port)
            assert verdict.startswith("Deny"), (destination, port, verdict)
    mirror = [r for r in rules if r["access"] == "Deny" and set(IRIS_MIRROR_PORTS) <= set(r.get("destinationPortRanges", []))]
    assert mirror and all(r["priority"] < first_allow and r["destinationAddressPrefix"] == "*" for r in mirror)
    private = [r for r in rules if r["access"] == "Deny" and "10.0.0.0/8" in r.get("destinationAddressPrefixes", [])]
    assert private and all(r["priority"] < first_allow for r in private)
    covered = [ipaddress.ip_network(p) for r in private for p in r["destinationAddressPrefixes"]]
    for space in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"):
        assert any(ipaddress.ip_network(space).subnet_of(net) for net in covered), space
    vnet = [r for r in rules if r["access"] == "Deny" and r.get("destinationAddressPrefix") == "VirtualNetwork"]
    assert vnet and all(r["priority"] < first_allow for r in vnet)
    for direction in ("Inbound", "Outbound"):  # a catch-all deny below Azure's defaults, in both directions
        assert any(r["direction"] == direction and r["access"] == "Deny" and r.get("destinationAddressPrefix") == "*"
                   and r.get("destinationPortRange") == "*" and r["protocol"] == "*" and r["priority"] < 65000
                   for r in rules), direction


def test_the_one_allow_is_https_to_the_regional_azurecloud_tag(prod_settings):
    prod_settings["location"] = "northeurope"
    run = run_with_settings(prod_settings)
    rules = only(run, "azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    assert [(r["protocol"], r["destinationAddressPrefix"], r["destinationPortRange"])
            for r in rules if r["access"] == "Allow"] == [("Tcp", "AzureCloud.northeurope", "443")]


def _definitions(run) -> dict[str, dict]:
    return {r.inputs["roleDefinitionId"]: r.inputs for r in of_type(run, ROLE_DEFINITION)}


def _grants(run) -> set[tuple[str, str]]:
    """(scope, role) of every assignment; role = built-in GUID or the custom role's actions."""
    definitions = _definitions(run)
    found = set()
    for assignment in of_type(run, ROLE_ASSIGNMENT):
        guid = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        role = ",".join(sorted(definitions[guid]["permissions"][0]["actions"])) if guid in definitions else guid
        found.add((assignment.inputs["scope"], role))
    return found


def test_role_assignments_are_microsofts_restore_disks_row_and_nothing_more(prod_run):
    source = ",".join(sorted(MICROSOFT_SOURCE_VM_ACTIONS))
    staging = only(prod_run, "azure-native:storage:StorageAccount").inputs["accountName"]
    assert _grants(prod_run) == {
        (VAULT, BACKUP_OPERATOR),
        (SANDBOX_RG, VIRTUAL_MACHINE_CONTRIBUTOR),
        (SANDBOX_RG, "Microsoft.Resources/subscriptions/resourceGroups/write"),
        (f"{SANDBOX_RG}/providers/Microsoft.Storage/storageAccounts/{staging}", STORAGE_ACCOUNT_CONTRIBUTOR),
        # Only the drilled VMs (drill.vms), not the stack's third VM (vm-cache-prod-1).
        (f"{PROD_VMS}/vm-iris-prod-1", source),
        (f"{PROD_VMS}/vm-iris-prod-2", source),
    }
    for assignment in of_type(prod_run, ROLE_ASSIGNMENT):
        assert assignment.inputs["principalId"] == "<principalId of drill-identity>"
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        assert assignment.inputs["roleDefinitionId"].startswith(f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/")


def test_the_grants_follow_drill_vms_and_the_assignable_scopes_never_shrink_with_them(prod_settings, prod_run):
    moved = prod_settings["vms"][2]
    moved["id"] = moved["id"].replace("/resourceGroups/rg-iris-prod/", "/resourceGroups/rg-cache-prod/")
    before = run_with_settings(prod_settings)
    prod_settings["drill"]["vms"] = [{"name": "vm-cache-prod-1"}]
    after = run_with_settings(prod_settings)
    scopes = {scope for scope, _ in _grants(after)}
    assert moved["id"] in scopes
    assert not {s for s in scopes if s.endswith(("/vm-iris-prod-1", "/vm-iris-prod-2"))}
    # Azure refuses to drop an assignable scope that still holds an assignment, and `pulumi up` updates
    # the definition before deleting the old assignment: the scopes cover every stack VM's group.
    groups = {f"/subscriptions/{SUB}/resourceGroups/rg-iris-prod", f"/subscriptions/{SUB}/resourceGroups/rg-cache-prod"}
    for run in (before, after):
        [source_role] = [r for r in _definitions(run).values() if "virtualMachines/write" in str(r["permissions"])]
        assert set(source_role["assignableScopes"]) == {SANDBOX_RG} | groups


def test_custom_roles_hold_only_the_actions_microsoft_names_and_are_assignable_in_groups_only(prod_run):
    definitions = _definitions(prod_run)
    assert len(definitions) == 2
    all_actions = set()
    for guid, role in definitions.items():
        uuid.UUID(guid)  # the definition's name is a GUID
        [permission] = role["permissions"]
        assert set(permission) == {"actions"}, "no notActions, dataActions or wildcards"
        all_actions |= set(permission["actions"])
        assert not any("*" in action for action in permission["actions"])
        assert role["roleType"] == "CustomRole"
        # Resource groups only (Microsoft: custom roles' assignable scopes at group level, assigned narrower),
        # created in the first of them, the sandbox group, so the definition never moves.
        assert all(re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+", s) for s in role["assignableScopes"])
        assert role["scope"] == role["assignableScopes"][0] == SANDBOX_RG
        for assignment in of_type(prod_run, ROLE_ASSIGNMENT):
            if assignment.inputs["roleDefinitionId"].endswith(guid):
                group = "/".join(assignment.inputs["scope"].split("/")[:5])
                assert group in role["assignableScopes"]
    assert all_actions == MICROSOFT_SOURCE_VM_ACTIONS | MICROSOFT_TARGET_GROUP_ACTIONS
    assert len({role["roleName"] for role in definitions.values()}) == 2  # unique in the tenant


def test_assignments_have_stable_guid_names_and_wait_for_their_role(prod_run, prod_settings):
    assignments = of_type(prod_run, ROLE_ASSIGNMENT)
    names = [a.inputs["roleAssignmentName"] for a in assignments]
    assert len(set(names)) == len(names) and all(uuid.UUID(name) for name in names)
    again = {a.name: a.inputs["roleAssignmentName"] for a in of_type(run_with_settings(prod_settings), ROLE_ASSIGNMENT)}
    assert again == {a.name: a.inputs["roleAssignmentName"] for a in assignments}
    urns = {r.urn: r for r in of_type(prod_run, ROLE_DEFINITION)}
    for assignment in assignments:
        # Azure refuses a second assignment of one role to one principal at one scope: replace by delete first.
        assert assignment.delete_before_replace
        waits_for = {urns[d].inputs["roleDefinitionId"] for d in assignment.dependencies if d in urns}
        guid = assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert waits_for == ({guid} & set(_definitions(prod_run))), assignment.name


def test_role_assignments_never_name_a_subscription_or_the_production_group(prod_run):
    for assignment in of_type(prod_run, ROLE_ASSIGNMENT):
        scope = assignment.inputs["scope"]
        assert re.fullmatch(r"/subscriptions/[^/]+/resourceGroups/[^/]+(/providers/.+)?", scope), scope
        # In the production group, only the drilled VMs themselves.
        assert "/resourceGroups/rg-iris-prod" not in scope or scope.startswith(PROD_VMS + "/"), scope


def test_the_staging_account_is_what_restore_disks_accepts_and_private(prod_run):
    account = only(prod_run, "azure-native:storage:StorageAccount").inputs
    assert account["location"] == "westeurope"  # the vault's region
    assert account["sku"] == {"name": "Standard_LRS"} and account["kind"] == "StorageV2"  # not ZRS, premium or BlobStorage
    assert account["allowBlobPublicAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["enableHttpsTrafficOnly"] is True
    assert account["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert re.fullmatch(r"[a-z0-9]{3,24}", account["accountName"])


def test_vault_tier_restores_can_write_staging_through_the_firewall(prod_run):
    """Vault-Standard points stage VHDs in the account. Azure Backup passes a Deny firewall only as a
    trusted service registered in the account's own subscription, and premium accounts with network
    rules are refused for managed VMs (docs/restore-drill.md, "The staging storage account")."""
    account = only(prod_run, "azure-native:storage:StorageAccount")
    rules = account.inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny" and "AzureServices" in rules["bypass"].split(",")
    assert account.inputs["sku"]["name"].startswith("Standard_")
    group = only(prod_run, "azure-native:resources:ResourceGroup")
    assert account.dependencies and group.urn in account.dependencies
    vault_subscription = VAULT.split("/")[2]
    staging_id = prod_run.outputs["drill"]["storageAccountId"]
    grant = [a for a in of_type(prod_run, ROLE_ASSIGNMENT) if a.inputs["scope"].endswith("/" + account.inputs["accountName"])]
    [scope] = [a.inputs["scope"] for a in grant]
    assert scope.split("/")[2] == vault_subscription and staging_id == "<id of drill-staging>"


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
