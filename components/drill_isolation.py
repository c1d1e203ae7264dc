"""What isolates the restore-drill sandbox: its NSG rules and the drill identity's role grants.

Pure logic (no Pulumi): components/drill_sandbox.py declares these, the tests check their invariants,
and docs/restore-drill.md ("What the stack declares") explains each one with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from .azure_ids import ResourceId

STORAGE_ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
VAULT_TYPE = "Microsoft.RecoveryServices/vaults"


@dataclass(frozen=True)
class NsgRule:
    name: str
    priority: int
    direction: str  # Inbound | Outbound
    access: str  # Allow | Deny
    protocol: str
    destination: str
    port: str
    description: str


# Restored VMs carry production's IRIS configuration (mirror partners, ECP servers, productions):
# the NSG is what keeps them from reaching anything. Deny rules at 4096 override Azure's default
# AllowVnetInBound / AllowAzureLoadBalancerInBound / AllowVnetOutBound / AllowInternetOutBound (65000+).
# Not filtered by any NSG, so the VM agent still works: the wireserver 168.63.129.16 (ports 80 and
# 32526) and DNS through it - learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16.
# The one allow: Run Command returns its results over 443 to Azure public IP addresses, which
# Microsoft says to allow with the AzureCloud service tag -
# learn.microsoft.com/azure/virtual-machines/linux/run-command ("Restrictions").
SANDBOX_NSG_RULES = (
    NsgRule("Allow-AzureCloud-Https-Outbound", 100, "Outbound", "Allow", "Tcp", "AzureCloud", "443",
            "Run Command and the VM agent return results over HTTPS to Azure public IPs (managed by irisbackup)"),
    NsgRule("Deny-All-Outbound", 4096, "Outbound", "Deny", "*", "*", "*",
            "Restore drill sandbox: nothing else leaves, not even to the VNet (managed by irisbackup)"),
    NsgRule("Deny-All-Inbound", 4096, "Inbound", "Deny", "*", "*", "*",
            "Restore drill sandbox: nothing comes in, not even from the VNet (managed by irisbackup)"),
)


@dataclass(frozen=True)
class RoleGrant:
    key: str  # logical name suffix of the role assignment
    role: str
    role_definition_guid: str
    scope: str
    why: str

    def role_definition_id(self, subscription_id: str) -> str:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.role_definition_guid}"


# Built-in role IDs: learn.microsoft.com/azure/role-based-access-control/built-in-roles.
BACKUP_OPERATOR = "00c29273-979b-4161-815c-10b084fb9324"
VIRTUAL_MACHINE_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
STORAGE_ACCOUNT_CONTRIBUTOR = "17d1049b-9a84-46fb-8f53-869881c3d3ab"
ROLE_NAMES = {
    BACKUP_OPERATOR: "Backup Operator",
    VIRTUAL_MACHINE_CONTRIBUTOR: "Virtual Machine Contributor",
    STORAGE_ACCOUNT_CONTRIBUTOR: "Storage Account Contributor",
}


def sandbox_resource_group_id(subscription_id: str, resource_group: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group)


def staging_account_id(sandbox: ResourceId, account_name: str) -> ResourceId:
    return ResourceId(sandbox.subscription_id, sandbox.resource_group, STORAGE_ACCOUNT_TYPE, account_name)


def vault_id(vault_resource_group: ResourceId, vault_name: str) -> ResourceId:
    return ResourceId(vault_resource_group.subscription_id, vault_resource_group.resource_group, VAULT_TYPE, vault_name)


def drill_role_grants(vault: ResourceId, sandbox: ResourceId, staging: ResourceId) -> tuple[RoleGrant, ...]:
    """The drill identity's roles, after Microsoft's "Minimum role requirements for Azure VM backup"
    (learn.microsoft.com/azure/backup/backup-rbac-rs-vault), narrowed where a smaller built-in role
    does the job. Only the vault grant reaches outside the sandbox resource group."""
    return (
        RoleGrant("vault-backup-operator", ROLE_NAMES[BACKUP_OPERATOR], BACKUP_OPERATOR, str(vault),
                  "list recovery points, trigger RestoreDisks and follow its job (Restore VM: Backup Operator "
                  "on the vault); cannot delete backup data, stop protection or change policies"),
        RoleGrant("sandbox-vm-contributor", ROLE_NAMES[VIRTUAL_MACHINE_CONTRIBUTOR], VIRTUAL_MACHINE_CONTRIBUTOR, str(sandbox),
                  "create and delete the restored disks, the NIC and the VM, run the check through Run Command; "
                  "joins the sandbox subnet and NSG but cannot change them, nor create public IPs"),
        RoleGrant("staging-storage-contributor", ROLE_NAMES[STORAGE_ACCOUNT_CONTRIBUTOR], STORAGE_ACCOUNT_CONTRIBUTOR, str(staging),
                  "the staging account RestoreDisks writes to (Restore managed disks: Storage Account "
                  "Contributor on the temporary storage account); deletes the staging containers after a drill"),
    )
