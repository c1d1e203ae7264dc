"""What Pulumi would delete or replace among the resources that hold backup data (pure logic over two plans).

Pulumi matches a program's resources with its state by URN (offline_plan/urns.py). A resource of the
base plan that the working tree no longer declares at that URN, nor under an alias claiming it, is
DELETED: a code refactor that renames a resource or moves it to another parent is enough. A resource
still there is REPLACED (deleted, then created again) when an input azure-native cannot update in
place changes: every property in the resource's ARM URL path (pulumi/pulumi-azure-native issue 77:
"any property from the path of a resource URL must cause replacement"), and the identity Azure fixes
at creation (a vault's region; a protected item's source VM, whose ID names its resource group).

For a vault, a backup policy or a protected item, either means data loss: deleting a protected item
stops protection and deletes its recovery points, a vault's go with the vault, and a policy is
deleted only after the items on it moved to another one, whose retention then applies to their points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offline_plan.engine import PROJECT
from offline_plan.posture import POLICY, PROTECTED_ITEM, VAULT
from offline_plan.urns import plan_urns

from .compare import Change
from .rules import DATA_LOSS, REGRESSION


@dataclass(frozen=True)
class Guarded:
    label: str
    # Dotted input paths whose change makes azure-native replace the resource.
    replace_on_change: tuple[str, ...]
    loss: str


_VAULT_PATH = ("resourceGroupName", "vaultName")
GUARDED: dict[str, Guarded] = {
    VAULT: Guarded("vault", (*_VAULT_PATH, "location"), "every recovery point in the vault goes with it"),
    POLICY: Guarded("backup policy", (*_VAULT_PATH, "policyName"),
                    "the VMs on it must move to another policy first, and that policy's retention then applies to "
                    "their existing recovery points"),
    PROTECTED_ITEM: Guarded("protected item", (*_VAULT_PATH, "fabricName", "containerName", "protectedItemName",
                                               "properties.sourceResourceId"),
                            "protection stops and the VM's recovery points are deleted"),
}


def resource_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """One data-loss change per vault, policy or protected item of `before` that `after` deletes or replaces."""
    old = _keyed(before)
    new = _keyed(after)
    claimed = {alias: urn for urn, (resource, aliases) in new.items() for alias in aliases}
    changes = []
    for urn, (resource, _) in old.items():
        guarded = GUARDED.get(str(resource.get("type")))
        if guarded is None:
            continue
        match = urn if urn in new else claimed.get(urn)
        identity = _identity(resource, guarded)
        if match is None:
            changes.append(_deleted(urn, resource, guarded, identity, new))
            continue
        moved = {key: value for key, value in _identity(new[match][0], guarded).items() if identity.get(key) != value}
        if moved:
            changes.append(_replaced(urn, resource, guarded, {key: identity.get(key) for key in moved}, moved))
    return changes


def _keyed(plan: Mapping[str, Any]) -> dict[str, tuple[Mapping[str, Any], list[str]]]:
    resources = [r for r in plan.get("resources", []) if isinstance(r, Mapping)]
    urns = plan_urns(resources, str(plan.get("stack")), PROJECT)
    return {urn: (resource, aliases) for resource, (urn, aliases) in zip(resources, urns)}


def _identity(resource: Mapping[str, Any], guarded: Guarded) -> dict[str, Any]:
    return {path: _get(resource.get("inputs") or {}, path) for path in guarded.replace_on_change}


def _deleted(urn: str, resource: Mapping[str, Any], guarded: Guarded, identity: dict[str, Any],
             new: Mapping[str, tuple[Mapping[str, Any], list[str]]]) -> Change:
    twin = next((other_urn for other_urn, (other, _) in new.items()
                 if other.get("type") == resource.get("type") and _identity(other, guarded) == identity), None)
    if twin:
        why = (f"the program now declares it as {twin} with no alias to this URN: Pulumi creates that one and deletes "
               "this one, the same Azure resource; keep the old name or add aliases=[pulumi.Alias(...)] for the old URN")
    else:
        why = "the working tree no longer declares it (nor an alias to its URN)"
    return _change(urn, resource, guarded, identity, None, f"DELETED: {why}")


def _replaced(urn: str, resource: Mapping[str, Any], guarded: Guarded, was: dict[str, Any], now: dict[str, Any]) -> Change:
    moves = ", ".join(f"{key} {_short(was[key])} -> {_short(value)}" for key, value in now.items())
    return _change(urn, resource, guarded, was, now,
                   f"REPLACED: {moves} cannot change in place, so Pulumi deletes it and creates another")


def _change(urn: str, resource: Mapping[str, Any], guarded: Guarded, before: Any, after: Any, what: str) -> Change:
    options = resource.get("options") or {}
    if options.get("retainOnDelete"):
        consequence = "retainOnDelete: Azure keeps the old one, no longer managed by this stack"
        flags: tuple[str, ...] = ()
    else:
        consequence = guarded.loss + ("; it is protect=True, so `pulumi up` fails on it until someone lifts that"
                                      if options.get("protect") else "")
        flags = (DATA_LOSS,)
    message = f"{urn}: {guarded.label} {resource.get('name')} {what}; {consequence}"
    return Change(urn, before, after, REGRESSION, flags, message)


def _get(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else "..." + text[-97:]
