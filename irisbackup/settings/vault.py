"""The `vault` section of the stack's settings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from irisbackup.azure_ids import ResourceId
from irisbackup.settings.base import _Settings, _resource_id
from irisbackup.settings.identity import IdentityId
from irisbackup.settings.parity import ResourceGuardId


WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"
WorkspaceId = Annotated[ResourceId, _resource_id(WORKSPACE_TYPE)]


class SoftDelete(_Settings):
    state: Literal["AlwaysON", "Enabled", "Disabled"] = "AlwaysON"
    retention_days: int = Field(14, ge=14, le=180, strict=True)


class CustomerManagedKey(_Settings):
    key_uri: str = Field(pattern=r"^https://[a-z0-9-]{3,24}\.vault\.azure\.net/keys/[A-Za-z0-9-]+(/[0-9a-f]{32})?$")
    # A user-assigned identity avoids the creation-order trap of a system-assigned one
    # (the key vault must grant access before the vault can use the key).
    identity_id: IdentityId


class Diagnostics(_Settings):
    workspace_id: WorkspaceId


class VaultSettings(_Settings):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
    storage_redundancy: Literal["GeoRedundant", "ZoneRedundant", "LocallyRedundant"] = "GeoRedundant"
    cross_region_restore: bool = True
    soft_delete: SoftDelete = SoftDelete()
    immutability: Literal["Unlocked", "Locked", "Disabled"] = "Unlocked"
    public_network_access: Literal["Disabled", "Enabled"] = "Disabled"
    cross_subscription_restore: Literal["Disabled", "Enabled", "PermanentlyDisabled"] = "Disabled"
    job_failure_alerts: bool = True
    customer_managed_key: CustomerManagedKey | None = None
    diagnostics: Diagnostics | None = None
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    # Multi-user authorization: the vault's critical operations need the guard owner's approval.
    resource_guard_id: ResourceGuardId | None = None
    # A CanNotDelete lock on the vault; lifted while allowDestroy is true.
    delete_lock: bool = Field(True, strict=True)

    @model_validator(mode="after")
    def _cross_region_restore_needs_grs(self) -> VaultSettings:
        if self.cross_region_restore and self.storage_redundancy != "GeoRedundant":
            raise ValueError(
                f"crossRegionRestore: true needs storageRedundancy GeoRedundant (got {self.storage_redundancy}); "
                "set crossRegionRestore: false or use GeoRedundant"
            )
        return self
