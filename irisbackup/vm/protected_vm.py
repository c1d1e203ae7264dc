"""One VM under backup: the VMSnapshotLinux extension (optional) and the protected item.

The extension is declared only when a VM's settings say manageExtension: true (default false). Azure Backup
installs it itself "as part of first scheduled backup" and it "is not recommended to be installed outside
Azure Backup service context" (Azure/azure-linux-extensions, VMBackup/README.txt). Declared with empty
settings, its handler ends in status `error` ("unable to load certificate",
FailedHandlerGuestAgentCertificateNotFound, VMBackup/main/handle.py daemon()) until Azure Backup supplies
its settings on the first backup; and on a VM Azure Backup has already protected the extension exists, so
azure-native's create refuses ("cannot create already existing resource") unless it is imported first. So:
- never by default; when declared, with suppressFailures (the handler's error does not fail the PUT or
  later VM operations; compute API 2024-11-01), ignore_changes on everything Azure Backup rewrites, and
  retain_on_delete so destroying the stack never uninstalls what Azure Backup needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import compute
from pulumi_azure_native import recoveryservices as rs

from irisbackup.azure_ids import ResourceId
from irisbackup.naming import FABRIC_NAME, SNAPSHOT_EXTENSION_NAME, protected_item_name, protection_container_name
from irisbackup.policy.parity_spec import protected_item_properties
from irisbackup.settings.parity import DiskSelection

# Azure Backup upgrades and reconfigures its own extension; Pulumi must not undo that on the next `up`.
_AZURE_MANAGED_EXTENSION_PROPERTIES = [
    "typeHandlerVersion",
    "autoUpgradeMinorVersion",
    "enableAutomaticUpgrade",
    "settings",
    "protectedSettings",
    "forceUpdateTag",
    "suppressFailures",
    "tags",
]


@dataclass
class ProtectedVmArgs:
    vm_id: ResourceId
    location: str
    policy_id: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    vault_resource_group_name: str
    # False (default) leaves the extension to Azure Backup, which installs it on the first backup.
    manage_extension: bool = False
    # False only in throwaway stacks: destroying a protected item stops protection and deletes its data.
    protect: bool = True
    # What must be in place before the first backup: freeze/thaw hooks, NSG egress rules.
    prerequisites: list[pulumi.Resource] = field(default_factory=list)
    # Data disks to back up (None: all); the OS disk is always backed up.
    disks: DiskSelection | None = None
    # None: protected. Retired: parity_spec.RETIRED_STATES (backups stop, recovery points stay).
    retired_state: str | None = None
    # Extension writes on the same VM the extension waits for (Azure answers a parallel one with 409).
    extension_after: list[pulumi.Resource] = field(default_factory=list)


class ProtectedVm(pulumi.ComponentResource):
    protected_item_id: pulumi.Output[str]
    policy_id: pulumi.Output[str]
    extension: compute.VirtualMachineExtension | None = None

    def __init__(self, name: str, args: ProtectedVmArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:vm:ProtectedVm", name, None, opts)
        prerequisites = list(args.prerequisites)
        if args.manage_extension:
            self.extension = compute.VirtualMachineExtension(
                f"{name}-snapshot-extension",
                resource_group_name=args.vm_id.resource_group,
                vm_name=args.vm_id.name,
                vm_extension_name=SNAPSHOT_EXTENSION_NAME,
                location=args.location,
                publisher="Microsoft.Azure.RecoveryServices",
                type="VMSnapshotLinux",
                type_handler_version="1.0",
                auto_upgrade_minor_version=True,
                # The handler errors until Azure Backup's first backup gives it settings: never fail `up` for it.
                suppress_failures=True,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    ignore_changes=_AZURE_MANAGED_EXTENSION_PROPERTIES,
                    # Azure Backup needs the extension after we are gone; never uninstall it.
                    retain_on_delete=True,
                    depends_on=args.extension_after,
                ),
            )
            prerequisites.append(self.extension)
        item = rs.ProtectedItem(
            f"{name}-protected-item",
            resource_group_name=args.vault_resource_group_name,
            vault_name=args.vault_name,
            fabric_name=FABRIC_NAME,
            container_name=protection_container_name(args.vm_id),
            protected_item_name=protected_item_name(args.vm_id),
            location=args.location,
            properties=protected_item_properties(str(args.vm_id), args.policy_id, args.disks, args.retired_state),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=prerequisites),
        )
        self.protected_item_id = item.id
        self.policy_id = pulumi.Output.from_input(args.policy_id)
        self.register_outputs({"protected_item_id": self.protected_item_id, "policy_id": self.policy_id})
