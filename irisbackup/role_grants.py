"""One role, on one scope, and why: what the drill identity and the VMs' identities are granted
(pure logic, no Pulumi). Role definition and assignment names are GUIDs derived from what they stand
for, so every `pulumi up` of a stack names them the same (a random name would be a new resource)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from irisbackup.azure_ids import ResourceId

if TYPE_CHECKING:  # the drill's custom roles; only the type is needed here
    from irisbackup.drill.drill_roles import CustomRole

_NAMESPACE = uuid.UUID("5b7e2c1a-3f4d-4e8b-9a61-0d2c7f9e4b13")


def stable_guid(text: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, text))


@dataclass(frozen=True)
class RoleGrant:
    key: str  # logical name suffix of the role assignment
    role: str
    role_definition_guid: str
    scope: str
    why: str
    custom: CustomRole | None = None

    def role_definition_id(self, subscription_id: str) -> str:
        return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.role_definition_guid}"

    def assignment_name(self, identity: ResourceId) -> str:
        """Deterministic GUID name: one assignment per identity, role and scope (Azure allows no second)."""
        return stable_guid(f"{str(identity).lower()}|{self.role_definition_guid}|{self.scope.lower()}")
