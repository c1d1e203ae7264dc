"""Review-summary lines of the parity features (pure logic over recorded registrations): the vault's
resource guard and delete lock, a policy's archive tiering and instant-restore resource group, a
protected item's disk selection and retired state."""

from __future__ import annotations

from typing import Any

from .engine import Registration

RESOURCE_GUARD_PROXY = "azure-native:recoveryservices:ResourceGuardProxy"
LOCK = "azure-native:authorization:ManagementLockByScope"
RETIRED = {
    "BackupsSuspended": "backups suspended, recovery points expire as per policy {policy}",
    "ProtectionStopped": "protection stopped, recovery points kept until someone deletes them (vault not immutable)",
}


def vault_guard_line(vault: Registration, by_type: dict[str, list[Registration]]) -> str:
    name = vault.inputs.get("vaultName")
    locks = [lock for lock in by_type.get(LOCK, []) if lock.inputs.get("scope") == f"<id of {vault.name}>"]
    guards = [str(proxy.inputs.get("properties", {}).get("resourceGuardResourceId"))
              for proxy in by_type.get(RESOURCE_GUARD_PROXY, []) if proxy.inputs.get("vaultName") == name]
    lock = f"delete lock {locks[0].inputs.get('level')}" if locks else "NO delete lock"
    guard = (f"multi-user authorization by resource guard {guards[0].rsplit('/', 1)[-1]} "
             f"(subscription {guards[0].split('/')[2]})") if guards else "NO resource guard (multi-user authorization off)"
    return f"    {lock}, {guard}"


def policy_parity_line(properties: dict[str, Any]) -> str:
    tiering = (properties.get("tieringPolicy") or {}).get("ArchivedRP")
    if not tiering:
        archive = "archive tier off"
    elif tiering.get("tieringMode") == "TierAfter":
        archive = f"monthly/yearly points move to the archive tier after {_count(tiering.get('duration'))} {tiering.get('durationType')}"
    else:
        archive = "recommended monthly/yearly points move to the archive tier"
    details = properties.get("instantRPDetails")
    group = (f"{details.get('azureBackupRGNamePrefix')}N{details.get('azureBackupRGNameSuffix') or ''}"
             if details else "AzureBackupRG_<geo>_N (Azure's default)")
    return f"    {archive}; instant-restore snapshots in resource group {group}"


def retired_text(properties: dict[str, Any], policy: str) -> str | None:
    """How a retired VM keeps its data, or None for a protected one."""
    text = RETIRED.get(str(properties.get("protectionState")))
    return f"RETIRED ({text.format(policy=policy)})" if text else None


def disks_text(properties: dict[str, Any]) -> str:
    selection = (properties.get("extendedProperties") or {}).get("diskExclusionProperties")
    if not selection:
        return "all disks"
    luns = ", ".join(_count(lun) for lun in selection.get("diskLunList", []))
    return f"OS disk + data LUN {luns} only" if selection.get("isInclusionList") else f"all disks but data LUN {luns}"


def _count(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
