"""Parity settings rendered into azure-native arguments (pure logic, no resources declared): archive
tiering and the instant-restore resource group of a policy, disk selection and the retired state of
a protected item. Sources for Azure's rules are in irisbackup/settings/parity.py and
docs/vm-lifecycle.md.
"""

from __future__ import annotations

from pulumi_azure_native import recoveryservices as rs

from irisbackup.settings.parity import ArchiveTiering, DiskSelection, InstantRestoreResourceGroup

# The key of the archive tier in a policy's tieringPolicy map (RecoveryPointTierType).
ARCHIVE_TIER = "ArchivedRP"
# "Stop protection and retain data": Azure keeps every recovery point until someone deletes them.
RETAIN_FOREVER = "ProtectionStopped"
# "Suspend backups, retain as per policy": points expire by the policy's retention; Azure allows it
# only in an immutable vault (Az.RecoveryServices Disable-AzRecoveryServicesBackupProtection
# -RetainRecoveryPointsAsPerPolicy; azurerm checks immutability before BackupsSuspended).
RETAIN_AS_PER_POLICY = "BackupsSuspended"
RETIRED_STATES = (RETAIN_FOREVER, RETAIN_AS_PER_POLICY)


def tiering_policy(archive: ArchiveTiering | None) -> dict[str, rs.TieringPolicyArgs] | None:
    if archive is None:
        return None
    if archive.mode == "TierRecommended":
        return {ARCHIVE_TIER: rs.TieringPolicyArgs(tiering_mode="TierRecommended")}
    return {ARCHIVE_TIER: rs.TieringPolicyArgs(tiering_mode="TierAfter", duration=archive.after_months, duration_type="Months")}


def instant_rp_details(group: InstantRestoreResourceGroup | None) -> rs.InstantRPAdditionalDetailsArgs | None:
    if group is None:
        return None
    return rs.InstantRPAdditionalDetailsArgs(azure_backup_rg_name_prefix=group.prefix, azure_backup_rg_name_suffix=group.suffix)


def disk_exclusion(disks: DiskSelection | None) -> rs.ExtendedPropertiesArgs | None:
    if disks is None:
        return None
    return rs.ExtendedPropertiesArgs(disk_exclusion_properties=rs.DiskExclusionPropertiesArgs(
        disk_lun_list=disks.luns, is_inclusion_list=disks.is_inclusion_list,
    ))


def retired_protection_state(immutability: str) -> str:
    """How a retired VM keeps its data: as per policy where the vault allows it, else until deleted."""
    return RETAIN_FOREVER if immutability == "Disabled" else RETAIN_AS_PER_POLICY


def protected_item_properties(source_resource_id: str, policy_id: object, disks: DiskSelection | None,
                              retired_state: str | None) -> rs.AzureIaaSComputeVMProtectedItemArgs:
    """The protected item of one VM: protected with its policy, or retired in `retired_state`.

    A retired item keeps its policy only when its points expire as per that policy; "stop protection
    and retain data" removes the policy association (MicrosoftDocs azure-docs,
    articles/backup/backup-azure-arm-userestapi-backupazurevms.md) and azurerm's stop-protection PUT
    sends only protectionState and sourceResourceId. Disk selection no longer matters once no backup runs.
    """
    if retired_state is None:
        return rs.AzureIaaSComputeVMProtectedItemArgs(
            protected_item_type="Microsoft.Compute/virtualMachines", source_resource_id=source_resource_id,
            policy_id=policy_id, extended_properties=disk_exclusion(disks),
        )
    return rs.AzureIaaSComputeVMProtectedItemArgs(
        protected_item_type="Microsoft.Compute/virtualMachines", source_resource_id=source_resource_id,
        policy_id=policy_id if retired_state == RETAIN_AS_PER_POLICY else None, protection_state=retired_state,
    )
