"""Azure resource IDs of the existing resources the stack refers to (pure logic, no Pulumi).

The program never looks resources up: it trusts IDs from the stack file, so their shape is checked
here, before anything is declared, instead of failing half-way through `pulumi up`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Resource group names: 1-90 of letters, digits, _ - . ( ), not ending in a period (Azure's rule).
_RESOURCE_GROUP = r"[-\w.()]{0,89}[-\w()]"
_NAME = r"[A-Za-z0-9][-\w.]{0,79}"

_RESOURCE_GROUP_ID = re.compile(rf"/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>{_RESOURCE_GROUP})", re.I)
_RESOURCE_ID = re.compile(
    rf"/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>{_RESOURCE_GROUP})"
    rf"/providers/(?P<provider>[A-Za-z]+\.[A-Za-z.]+)/(?P<type>[A-Za-z]+)/(?P<name>{_NAME})",
    re.I,
)


@dataclass(frozen=True)
class ResourceId:
    """A parsed resource (or resource group, when `resource_type` is empty) ID."""

    subscription_id: str
    resource_group: str
    resource_type: str = ""
    name: str = ""

    def __str__(self) -> str:
        base = f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
        return f"{base}/providers/{self.resource_type}/{self.name}" if self.resource_type else base


def parse_resource_group_id(value: str) -> ResourceId:
    """`/subscriptions/<guid>/resourceGroups/<name>` or ValueError saying what is expected."""
    match = _RESOURCE_GROUP_ID.fullmatch(value.strip().rstrip("/"))
    if not match:
        raise ValueError("expected a resource group ID: /subscriptions/<subscription GUID>/resourceGroups/<name>")
    return ResourceId(match["sub"].lower(), match["rg"])


def parse_resource_id(value: str, resource_type: str) -> ResourceId:
    """A resource ID of exactly `resource_type` (e.g. Microsoft.Compute/virtualMachines)."""
    expected = (
        f"expected a {resource_type} ID: /subscriptions/<subscription GUID>/resourceGroups/<group>"
        f"/providers/{resource_type}/<name>"
    )
    match = _RESOURCE_ID.fullmatch(value.strip().rstrip("/"))
    if not match:
        raise ValueError(expected)
    found = f"{match['provider']}/{match['type']}"
    if found.lower() != resource_type.lower():
        raise ValueError(f"{expected} (this ID is a {found})")
    # Azure treats the provider and type case-insensitively; keep the canonical spelling.
    return ResourceId(match["sub"].lower(), match["rg"], resource_type, match["name"])
