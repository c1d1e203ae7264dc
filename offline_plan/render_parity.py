"""Review-summary lines of the parity features (pure logic over the posture, offline_plan/posture.py): the
vault's resource guard and delete lock, a policy's archive tiering and instant-restore resource group, a
protected item's disk selection and retired state."""

from __future__ import annotations

from typing import Any

RETIRED = {
    "BackupsSuspended": "backups suspended, recovery points expire as per policy {policy}",
    "ProtectionStopped": "protection stopped, recovery points kept until someone deletes them (vault not immutable)",
}


def vault_guard_line(vault: dict[str, Any]) -> str:
    guard_id = vault.get("resourceGuardId")
    lock = f"delete lock {vault['deleteLock']}" if vault.get("deleteLock") else "NO delete lock"
    guard = (f"multi-user authorization by resource guard {guard_id.rsplit('/', 1)[-1]} "
             f"(subscription {guard_id.split('/')[2]})") if guard_id else "NO resource guard (multi-user authorization off)"
    return f"    {lock}, {guard}"


def policy_parity_line(policy: dict[str, Any]) -> str:
    tiering = policy.get("archive")
    if not tiering:
        archive = "archive tier off"
    elif tiering.get("tieringMode") == "TierAfter":
        archive = f"monthly/yearly points move to the archive tier after {_count(tiering.get('duration'))} {tiering.get('durationType')}"
    else:
        archive = "recommended monthly/yearly points move to the archive tier"
    details = policy.get("instantRestoreResourceGroup")
    group = (f"{details.get('azureBackupRGNamePrefix')}N{details.get('azureBackupRGNameSuffix') or ''}"
             if details else "AzureBackupRG_<geo>_N (Azure's default)")
    return f"    {archive}; instant-restore snapshots in resource group {group}"


def retired_text(vm: dict[str, Any]) -> str | None:
    """How a retired VM keeps its data, or None for a protected one."""
    text = RETIRED.get(str(vm.get("protectionState")))
    return f"RETIRED ({text.format(policy=vm.get('policy'))})" if text else None


def disks_text(vm: dict[str, Any]) -> str:
    selection = vm.get("disks")
    if not selection:
        return "all disks"
    luns = ", ".join(_count(lun) for lun in selection.get("diskLunList", []))
    return f"OS disk + data LUN {luns} only" if selection.get("isInclusionList") else f"all disks but data LUN {luns}"


def _count(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
