"""What guards the vault beyond Pulumi's `protect`: the resource guard link (multi-user authorization)
and a CanNotDelete management lock.

`protect` stops only Pulumi. The resource guard, owned by a security team (usually in another
subscription), makes Azure itself ask for that team's approval before a critical operation: disabling
soft delete or MUA, reducing retention, stopping protection with delete data (MicrosoftDocs azure-docs,
articles/backup/multi-user-authorization-concept.md). The lock stops anyone, Pulumi included, from
deleting the vault until someone with Microsoft.Authorization/locks rights lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization
from pulumi_azure_native import recoveryservices as rs

from irisbackup.azure_ids import ResourceId

# Azure's one proxy name per vault (azurerm recovery_services_vault_resource_guard_association
# and the portal use it).
RESOURCE_GUARD_PROXY_NAME = "VaultProxy"
DELETE_LOCK_NAME = "irisbackup-vault-cannot-delete"
DELETE_LOCK_NOTES = ("Backup data of IRIS VMs: set allowDestroy: true in the irisbackup stack (reviewed) to lift "
                     "this lock; never delete it by hand")


@dataclass
class VaultGuardArgs:
    vault_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    resource_group_name: str
    resource_guard_id: ResourceId | None
    delete_lock: bool
    # False only in throwaway stacks; deleting the guard link also needs the guard owner's approval.
    protect: bool = True


class VaultGuard(pulumi.ComponentResource):
    def __init__(self, name: str, args: VaultGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:vault:VaultGuard", name, None, opts)
        if args.resource_guard_id is not None:
            rs.ResourceGuardProxy(
                f"{name}-resource-guard",
                resource_group_name=args.resource_group_name,
                vault_name=args.vault_name,
                resource_guard_proxy_name=RESOURCE_GUARD_PROXY_NAME,
                properties=rs.ResourceGuardProxyBaseArgs(resource_guard_resource_id=str(args.resource_guard_id)),
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
        if args.delete_lock:
            authorization.ManagementLockByScope(
                f"{name}-delete-lock",
                scope=args.vault_id,
                lock_name=DELETE_LOCK_NAME,
                level="CanNotDelete",
                notes=DELETE_LOCK_NOTES,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
