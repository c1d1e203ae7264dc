"""Known-good declarations of the resource types the restore-drill sandbox adds, written as
irisbackup/drill/drill_sandbox.py declares them (tests/tools/test_arm_validate.py records and validates them)."""

import pulumi_azure_native as azure_native

network = azure_native.network
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
SANDBOX_ID = f"{SUB}/resourceGroups/rg-drill"
ROLE_ID = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/9980e02c-c2be-4d73-94e8-173b1dc7cf3c"


def resource_group():
    azure_native.resources.ResourceGroup("rg", resource_group_name="rg-drill", location="westeurope",
                                         tags={"irisbackup-drill-sandbox": "prod"})


def network_security_group():
    network.NetworkSecurityGroup(
        "nsg", resource_group_name="rg-drill", network_security_group_name="nsg-drill", location="westeurope",
        security_rules=[network.SecurityRuleArgs(
            name="Deny-All-Inbound", priority=4096, direction="Inbound", access="Deny", protocol="*",
            source_address_prefix="*", source_port_range="*", destination_address_prefix="*",
            destination_port_range="*", description="deny")],
    )


def virtual_network():
    network.VirtualNetwork(
        "vnet", resource_group_name="rg-drill", virtual_network_name="vnet-drill", location="westeurope",
        address_space=network.AddressSpaceArgs(address_prefixes=["10.255.0.0/24"]),
    )


def subnet(address_prefix="10.255.0.0/24"):
    network.Subnet(
        "subnet", resource_group_name="rg-drill", virtual_network_name="vnet-drill", subnet_name="snet-drill",
        address_prefix=address_prefix, default_outbound_access=True,
        network_security_group=network.NetworkSecurityGroupArgs(
            id=f"{SANDBOX_ID}/providers/Microsoft.Network/networkSecurityGroups/nsg-drill"),
    )


def storage_account(sku="Standard_LRS"):
    storage = azure_native.storage
    storage.StorageAccount(
        "staging", resource_group_name="rg-drill", account_name="irisdrill0123456789abcde", location="westeurope",
        sku=storage.SkuArgs(name=sku), kind="StorageV2", access_tier="Hot", allow_blob_public_access=False,
        minimum_tls_version="TLS1_2", enable_https_traffic_only=True, allow_cross_tenant_replication=False,
        network_rule_set=storage.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
    )


def role_assignment(principal_type="ServicePrincipal"):
    azure_native.authorization.RoleAssignment(
        "vm-contributor", scope=SANDBOX_ID, role_assignment_name="3f1f9a8e-1d2c-5b4a-9e8f-7a6b5c4d3e2f",
        role_definition_id=ROLE_ID,
        principal_id="00000000-0000-0000-0000-0000000000aa", principal_type=principal_type,
        description="irisbackup restore drill",
    )


def role_definition(**permission):
    authorization = azure_native.authorization
    authorization.RoleDefinition(
        "restore-target", scope=SANDBOX_ID, role_definition_id="0b6f0f7e-2c3d-5e4f-8a9b-1c2d3e4f5a6b",
        role_name="irisbackup drill: write the restore target", description="irisbackup restore drill",
        role_type="CustomRole", assignable_scopes=[SANDBOX_ID],
        permissions=[authorization.PermissionArgs(**(permission or {
            "actions": ["Microsoft.Resources/subscriptions/resourceGroups/write"]}))],
    )


def user_assigned_identity():
    azure_native.managedidentity.UserAssignedIdentity(
        "identity", resource_group_name="rg-drill", resource_name_="id-drill", location="westeurope")


DRILL_KNOWN_GOOD = {
    "azure-native:resources:ResourceGroup": resource_group,
    "azure-native:network:NetworkSecurityGroup": network_security_group,
    "azure-native:network:VirtualNetwork": virtual_network,
    "azure-native:network:Subnet": subnet,
    "azure-native:storage:StorageAccount": storage_account,
    "azure-native:authorization:RoleAssignment": role_assignment,
    "azure-native:authorization:RoleDefinition": role_definition,
    "azure-native:managedidentity:UserAssignedIdentity": user_assigned_identity,
}
