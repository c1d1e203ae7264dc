"""The drill identity's roles: which role, on which scope, and why (pure logic, no Pulumi).

Derived from Microsoft's table "Minimum role requirements for Azure VM backup", row "Restore managed
disks from VM backup" (learn.microsoft.com/azure/backup/backup-rbac-rs-vault). Where that table offers
a custom role with named actions instead of a broad built-in one (Contributor, Virtual Machine
Contributor), the custom role is declared here with exactly those actions. irisbackup/drill/drill_sandbox.py
declares the definitions and assignments; docs/network-and-rbac.md ("Roles per feature") and
docs/restore-drill.md list each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from irisbackup.azure_ids import ResourceId
from irisbackup.role_grants import RoleGrant, stable_guid

RBAC_TABLE = ("https://learn.microsoft.com/azure/backup/backup-rbac-rs-vault"
              "#minimum-role-requirements-for-azure-vm-backup")
# Built-in role IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BACKUP_OPERATOR = "00c29273-979b-4161-815c-10b084fb9324"
VIRTUAL_MACHINE_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
STORAGE_ACCOUNT_CONTRIBUTOR = "17d1049b-9a84-46fb-8f53-869881c3d3ab"
ROLE_NAMES = {
    BACKUP_OPERATOR: "Backup Operator",
    VIRTUAL_MACHINE_CONTRIBUTOR: "Virtual Machine Contributor",
    STORAGE_ACCOUNT_CONTRIBUTOR: "Storage Account Contributor",
}


@dataclass(frozen=True)
class Action:
    name: str
    why: str


@dataclass(frozen=True)
class CustomRole:
    """A custom role definition. It is created in the sandbox resource group (its first assignable
    scope, as Microsoft's REST guide for custom roles says), so its scope never moves."""

    key: str
    title: str
    actions: tuple[Action, ...]
    guid: str
    assignable_scopes: tuple[str, ...]

    @property
    def scope(self) -> str:
        return self.assignable_scopes[0]

    @property
    def role_name(self) -> str:
        # Custom role names are unique per tenant: the sandbox group and subscription make them unique per stack.
        _, _, subscription, _, group = self.scope.split("/")[:5]
        return f"irisbackup-drill {self.key} ({group}, {subscription})"

    @property
    def description(self) -> str:
        return f"irisbackup restore drill: {self.title}. Actions from {RBAC_TABLE}"[:1024]


# "Virtual Machine Contributor on the source VM that got backed up ... Alternatively ... a custom role
# which has the following permissions: Microsoft.Compute/virtualMachines/write,
# Microsoft.Compute/virtualMachines/read" (RBAC_TABLE). Microsoft does not say why RestoreDisks
# checks them; without them the restore is refused. Write on a production VM is more than a drill
# should hold: drill/safety.py refuses every write the drill itself would send outside the sandbox.
SOURCE_VM_ACTIONS = (
    Action("Microsoft.Compute/virtualMachines/read",
           "RestoreDisks checks the caller may read the VM the recovery point belongs to (RBAC table, Restore managed disks)"),
    Action("Microsoft.Compute/virtualMachines/write",
           "RestoreDisks checks write on the source VM too (RBAC table); never used by the drill, which "
           "refuses any write outside the sandbox (drill/safety.py)"),
)
# "Contributor on the resource group to which managed disk(s) will be restored ... Alternatively ...
# Microsoft.Resources/subscriptions/resourceGroups/write" (RBAC_TABLE). Virtual Machine Contributor,
# which the sandbox group already grants, has resourceGroups/read but not write.
RESTORE_TARGET_ACTIONS = (
    Action("Microsoft.Resources/subscriptions/resourceGroups/write",
           "RestoreDisks writes the restored managed disks into the target resource group (RBAC table); "
           "Virtual Machine Contributor lacks it"),
)


def source_vm_ids(drill_names: list[str], stack_vms: list[ResourceId]) -> list[ResourceId]:
    """The stack VMs named in drill.vms (settings guarantee each name is one), in drill.vms order."""
    by_name = {vm.name.lower(): vm for vm in stack_vms}
    return [by_name[name.lower()] for name in drill_names]


def drill_role_grants(vault: ResourceId, sandbox: ResourceId, staging: ResourceId,
                      source_vms: list[ResourceId], stack_vms: list[ResourceId]) -> tuple[RoleGrant, ...]:
    """The drill identity's roles for RestoreDisks into `sandbox` from each of `source_vms`.

    The source-VM role is assignable in the groups of all `stack_vms`, not only the drilled ones:
    Azure refuses to remove an assignable scope that still holds an assignment
    (RoleScopeBeingRemovedContainsAssignments, Azure/bicep#17145), and `pulumi up` updates the
    definition before it deletes an assignment, so the scopes must not shrink when drill.vms does."""
    source_role = CustomRole(
        "source-vm-restore", "read and write the drilled source VM, as RestoreDisks requires", SOURCE_VM_ACTIONS,
        stable_guid(f"{str(sandbox).lower()}|source-vm-restore"),
        _unique((str(sandbox), *(str(ResourceId(vm.subscription_id, vm.resource_group)) for vm in stack_vms))),
    )
    target_role = CustomRole(
        "restore-target", "write the resource group RestoreDisks restores into", RESTORE_TARGET_ACTIONS,
        stable_guid(f"{str(sandbox).lower()}|restore-target"), (str(sandbox),),
    )
    return (
        RoleGrant("vault-backup-operator", ROLE_NAMES[BACKUP_OPERATOR], BACKUP_OPERATOR, str(vault),
                  "list recovery points, trigger RestoreDisks and follow its job (Restore managed disks: Backup "
                  "Operator on the vault); cannot delete backup data, stop protection or change policies"),
        RoleGrant("sandbox-vm-contributor", ROLE_NAMES[VIRTUAL_MACHINE_CONTRIBUTOR], VIRTUAL_MACHINE_CONTRIBUTOR, str(sandbox),
                  "create and delete the restored disks, the NIC and the VM, run the check through Run Command; "
                  "joins the sandbox subnet and NSG but cannot change them, nor create public IPs"),
        RoleGrant("sandbox-restore-target", target_role.role_name, target_role.guid, str(sandbox),
                  "resourceGroups/write on the restore target group (Restore managed disks: Contributor or this "
                  "action on the target resource group)", target_role),
        RoleGrant("staging-storage-contributor", ROLE_NAMES[STORAGE_ACCOUNT_CONTRIBUTOR], STORAGE_ACCOUNT_CONTRIBUTOR, str(staging),
                  "the staging account RestoreDisks writes to (Restore managed disks: Storage Account "
                  "Contributor on the temporary storage account); deletes the staging containers after a drill"),
        *(RoleGrant(f"source-{vm.name.lower()}", source_role.role_name, source_role.guid, str(vm),
                    "virtualMachines/read and write on the source VM (Restore managed disks: Virtual Machine "
                    "Contributor or these two actions on the source VM)", source_role)
          for vm in source_vms),
    )


def custom_roles(grants: tuple[RoleGrant, ...]) -> list[CustomRole]:
    """The custom role definitions the grants use, each once, in grant order."""
    found: dict[str, CustomRole] = {}
    for grant in grants:
        if grant.custom:
            found.setdefault(grant.custom.guid, grant.custom)
    return list(found.values())


def _unique(scopes: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for scope in scopes:
        seen.setdefault(scope.lower(), scope)
    return tuple(seen.values())
