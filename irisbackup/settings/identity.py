"""Managed identity IDs, shared by the vault's customer-managed key, the VMs and the health settings.
"""

from __future__ import annotations

from typing import Annotated

from irisbackup.azure_ids import ResourceId
from irisbackup.settings.base import _resource_id


IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
IdentityId = Annotated[ResourceId, _resource_id(IDENTITY_TYPE)]
