"""The `pulumi import --file` document that adopts an existing backup estate (docs/adoption.md).

Which Azure resource each declaration is comes from the stack settings and the program's own naming
(irisbackup/naming.py: the names the program sends Azure). Where each one sits in the stack (type,
logical name, parent components) comes from the program itself, run under the mock engine as `make plan`
runs it, so the imported state has exactly the URNs `pulumi up` declares afterwards.
"""

from __future__ import annotations

from typing import Any

from irisbackup.naming import (
    backup_policy_id,
    protected_item_id,
    resource_guard_proxy_id,
    snapshot_extension_id,
    vault_guard_name,
    vault_id,
)
from irisbackup.settings import StackSettings
from irisbackup.vault.vault_guard import RESOURCE_GUARD_PROXY_NAME
from offline_plan.engine import PlanRun, Registration

VAULT = "azure-native:recoveryservices:Vault"
POLICY = "azure-native:recoveryservices:ProtectionPolicy"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
# On a VM Azure Backup protects, its extension exists already: declared (manageExtension), it is adopted too.
EXTENSION = "azure-native:compute:VirtualMachineExtension"
# A vault with multi-user authorization has its one resource guard link already (vault.resourceGuardId).
GUARD_PROXY = "azure-native:recoveryservices:ResourceGuardProxy"
# What an estate that Azure Backup already protects has, and the program would otherwise try to create:
# resource type -> the component that declares it (other components' extensions, e.g. the monitor agent's, are new).
ADOPTED = {
    VAULT: "irisbackup:vault:BackupVault",
    POLICY: "irisbackup:policy:BackupPolicy",
    PROTECTED_ITEM: "irisbackup:vm:ProtectedVm",
    EXTENSION: "irisbackup:vm:ProtectedVm",
    GUARD_PROXY: "irisbackup:vault:VaultGuard",
}


class AdoptionError(Exception):
    pass


def existing_ids(settings: StackSettings) -> dict[tuple[str, str], str]:
    """(type token, name of the component declaring it) -> the ARM ID of the resource it stands for."""
    vault = vault_id(settings.resource_group_id, settings.vault.name)
    ids = {(VAULT, settings.vault.name): vault}
    ids |= {(POLICY, name): backup_policy_id(vault, name) for name in settings.policies}
    ids[(GUARD_PROXY, vault_guard_name(settings.vault.name))] = resource_guard_proxy_id(vault, RESOURCE_GUARD_PROXY_NAME)
    for vm in settings.vms:
        ids[(PROTECTED_ITEM, vm.name)] = protected_item_id(vault, vm.id)
        ids[(EXTENSION, vm.name)] = snapshot_extension_id(vm.id)
    return ids


def import_file(run: PlanRun, settings: StackSettings, new: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every adopted resource the program declares, with its ID, and the components above it (created
    empty by `pulumi import`, as parents: the program fills them in on its next `pulumi up`).
    `new`: names of policies and VMs that do not exist yet (the first `pulumi up` creates and protects them),
    and the vault guard's name when the vault has no resource guard link yet."""
    by_urn = {resource.urn: resource for resource in run.resources}
    ids = existing_ids(settings)
    known = {*settings.policies, *(vm.name for vm in settings.vms)}
    if settings.vault.resource_guard_id:
        known.add(vault_guard_name(settings.vault.name))
    if unknown := sorted(new - known):
        raise AdoptionError(f"--new {', '.join(unknown)}: not a policy, VM or resource guard link of this stack; these are: "
                            f"{', '.join(sorted(known))}")
    entries: dict[str, dict[str, Any]] = {}

    def add(resource: Registration, resource_id: str | None) -> str:
        if resource.urn not in entries:
            entry: dict[str, Any] = {"type": resource.type, "name": _key(resource), "logicalName": resource.name}
            parent = by_urn.get(resource.parent)  # None: the stack itself
            if parent is not None:
                if parent.custom:
                    raise AdoptionError(f"{resource.urn}: its parent {parent.urn} is a resource that is not adopted")
                entry["parent"] = add(parent, None)
            if resource_id:
                entry["id"] = resource_id
            else:
                entry["component"] = True
            entries[resource.urn] = entry
        return entries[resource.urn]["name"]

    for resource in run.resources:
        owner = by_urn.get(resource.parent)
        if owner is None or ADOPTED.get(resource.type) != owner.type or owner.name in new:
            continue
        key = (resource.type, owner.name)
        if key not in ids:
            raise AdoptionError(f"{resource.urn}: no existing resource known for a {resource.type} declared by {key[1]!r}")
        add(resource, ids[key])
    names = [entry["name"] for entry in entries.values()]
    if len(set(names)) != len(names):
        raise AdoptionError(f"two resources share an import name: {sorted(n for n in names if names.count(n) > 1)}")
    return {"resources": list(entries.values())}


def _key(resource: Registration) -> str:
    """The entry's name in the file (how children refer to their parent): unique across types."""
    return f"{resource.type.rsplit(':', 1)[-1]}-{resource.name}"
