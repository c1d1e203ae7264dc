"""Settings for the Azure Verified Modules parity features (pure logic, no Pulumi): multi-user
authorization, the vault's delete lock, archive tiering, the instant-restore resource group and
disk selection. irisbackup/settings/ holds only the field lines that use these models.

Azure's rules mirrored here, with where they come from:
- archive tiering of VM recovery points (MicrosoftDocs azure-docs, articles/backup/
  archive-tier-support.md and use-archive-tier-support.md): only monthly and yearly points, at
  least 3 months old, with at least 6 months of retention left; the service rejects a policy with
  "TierAfterDuration needs to be >= 3 months, at least one of monthly or yearly retention should
  be >= (TierAfterDuration + 6) months"; for VMs the tier-after duration is given in months.
- the instant-restore resource group (articles/backup/backup-during-vm-creation.md, "Azure Backup
  resource group for virtual machines"): the name is <prefix>N<suffix>, N a number Azure counts up;
  resource group characters only; at most 74 characters of prefix and suffix; the suffix is
  optional, the prefix is not (Az.RecoveryServices: "BackupSnapshotResourceGroupSuffix cannot be
  used without the BackupSnapshotResourceGroup parameter").
- disk selection (articles/backup/selective-disk-backup-restore.md): data-disk LUNs to include or
  exclude; the OS disk is always backed up and cannot be excluded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from irisbackup.azure_ids import ResourceId
from irisbackup.settings.base import _resource_id, _Settings

if TYPE_CHECKING:
    from irisbackup.settings.retention import Retention

RESOURCE_GUARD_TYPE = "Microsoft.DataProtection/resourceGuards"
ResourceGuardId = Annotated[ResourceId, _resource_id(RESOURCE_GUARD_TYPE)]

# Azure data disks sit on LUNs 0-63.
Lun = Annotated[int, Field(ge=0, le=63, strict=True)]

ARCHIVE_MIN_AGE_MONTHS = 3
ARCHIVE_MIN_RETENTION_LEFT_MONTHS = 6
# Resource group names: letters, digits, _ - . ( ); prefix + suffix at most 74 characters.
INSTANT_RG_NAME_CHARS = r"^[-\w.()]+$"
INSTANT_RG_MAX_CHARS = 74


class DiskSelection(_Settings):
    """Back up only the listed data-disk LUNs (include) or all but them (exclude); the OS disk always."""

    include: list[Lun] | None = None
    exclude: list[Lun] | None = None

    @model_validator(mode="after")
    def _one_non_empty_list(self) -> DiskSelection:
        given = [name for name in ("include", "exclude") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of include (back up only these data-disk LUNs) or exclude "
                             "(back up all but these); leave disks out to back up every disk")
        if not self.luns:
            raise ValueError(f"{given[0]} lists no LUN; list at least one data-disk LUN (0-63), or leave disks out")
        if len(set(self.luns)) != len(self.luns):
            raise ValueError(f"{given[0]} has duplicate LUNs: {self.luns}")
        return self

    @property
    def is_inclusion_list(self) -> bool:
        return self.include is not None

    @property
    def luns(self) -> list[int]:
        return sorted(self.include if self.include is not None else self.exclude or [])


class ArchiveTiering(_Settings):
    """Move eligible monthly/yearly recovery points to the vault-archive tier."""

    mode: Literal["TierRecommended", "TierAfter"]
    # TierAfter only: age of a recovery point, in months, before it moves (Azure: at least 3).
    after_months: int | None = Field(None, ge=ARCHIVE_MIN_AGE_MONTHS, strict=True)

    @model_validator(mode="after")
    def _after_months_only_with_tier_after(self) -> ArchiveTiering:
        if self.mode == "TierAfter" and self.after_months is None:
            raise ValueError(f"mode TierAfter needs afterMonths (at least {ARCHIVE_MIN_AGE_MONTHS})")
        if self.mode == "TierRecommended" and self.after_months is not None:
            raise ValueError("afterMonths goes with mode TierAfter only; TierRecommended moves the points Azure recommends")
        return self

    @property
    def needed_retention_months(self) -> int:
        """Azure accepts the policy only if monthly or yearly points are kept at least this long."""
        return (self.after_months or ARCHIVE_MIN_AGE_MONTHS) + ARCHIVE_MIN_RETENTION_LEFT_MONTHS


class InstantRestoreResourceGroup(_Settings):
    """The resource group Azure Backup keeps instant-restore snapshots in: <prefix>N<suffix>."""

    prefix: str = Field(min_length=1, pattern=INSTANT_RG_NAME_CHARS)
    suffix: str | None = Field(None, min_length=1, pattern=INSTANT_RG_NAME_CHARS)

    @model_validator(mode="after")
    def _azure_name_rules(self) -> InstantRestoreResourceGroup:
        if self.suffix is not None and self.suffix.endswith("."):
            raise ValueError(f"suffix {self.suffix!r} ends in a period; resource group names cannot")
        if len(self.prefix) + len(self.suffix or "") > INSTANT_RG_MAX_CHARS:
            raise ValueError(f"prefix and suffix together have {len(self.prefix) + len(self.suffix or '')} characters; "
                             f"Azure allows at most {INSTANT_RG_MAX_CHARS}")
        return self

    @property
    def pattern(self) -> str:
        return f"{self.prefix}N{self.suffix or ''}"


def archive_problems(archive: ArchiveTiering | None, retention: Retention) -> list[str]:
    """Azure's archive rules that need the policy's retention (empty when archive is off)."""
    if archive is None:
        return []
    kept = [months for months in (retention.monthly and retention.monthly.months,
                                  retention.yearly and 12 * retention.yearly.years) if months]
    if not kept:
        return ["archive needs retention.monthly or retention.yearly: Azure moves only monthly and yearly "
                "recovery points of a VM to the archive tier"]
    if max(kept) < archive.needed_retention_months:
        return [f"archive {archive.mode} needs monthly or yearly recovery points kept at least "
                f"{archive.needed_retention_months} months (moved after {archive.after_months or ARCHIVE_MIN_AGE_MONTHS} "
                f"months, with {ARCHIVE_MIN_RETENTION_LEFT_MONTHS} months left); the longest kept here is {max(kept)} months"]
    return []


def parity_problems(raw: Any, shown_key: str) -> list[str]:
    """Checks across sections, on the raw stack object: the delete lock against allowDestroy."""
    vault = raw.get("vault") if isinstance(raw, dict) else None
    if isinstance(vault, dict) and vault.get("deleteLock") is True and raw.get("allowDestroy") is True:
        return [f"{shown_key}.vault.deleteLock: true contradicts allowDestroy: true (a CanNotDelete lock makes "
                "`pulumi destroy` fail on the vault); allowed: leave deleteLock out (the lock is lifted while "
                "allowDestroy is true) or set allowDestroy: false"]
    return []
