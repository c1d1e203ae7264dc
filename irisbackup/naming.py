"""Names Azure Backup and our NSG rules expect (pure logic, no Pulumi)."""

from __future__ import annotations

import re

from irisbackup.azure_ids import ResourceId

FABRIC_NAME = "Azure"
# Azure Backup installs the extension under this name; declaring another name would add a second copy.
SNAPSHOT_EXTENSION_NAME = "VMSnapshotLinux"


def protection_container_name(vm: ResourceId) -> str:
    return f"iaasvmcontainer;iaasvmcontainerv2;{vm.resource_group};{vm.name}"


def protected_item_name(vm: ResourceId) -> str:
    return f"vm;iaasvmcontainerv2;{vm.resource_group};{vm.name}"


def hook_owner_id(stack: str, vm_name: str) -> str:
    """Who installed a hook release on a VM (install.sh --owner): when a replacement deploys the
    identical bundle, the old resource's uninstall must not remove the release its successor uses."""
    return re.sub(r"[^A-Za-z0-9._:-]", "-", f"{stack}:{vm_name}")[:128]


def vault_guard_name(vault_name: str) -> str:
    """The VaultGuard component (resource guard link, delete lock): `make adopt --new` names it too."""
    return f"{vault_name}-guard"


def vault_id(resource_group: ResourceId, vault_name: str) -> str:
    """The ARM ID Azure gives the vault the program declares (REST path of Vaults_CreateOrUpdate)."""
    return str(ResourceId(resource_group.subscription_id, resource_group.resource_group,
                          "Microsoft.RecoveryServices/vaults", vault_name))


def backup_policy_id(vault: str, policy_name: str) -> str:
    return f"{vault}/backupPolicies/{policy_name}"


def protected_item_id(vault: str, vm: ResourceId) -> str:
    return (f"{vault}/backupFabrics/{FABRIC_NAME}/protectionContainers/{protection_container_name(vm)}"
            f"/protectedItems/{protected_item_name(vm)}")


def resource_guard_proxy_id(vault: str, proxy_name: str) -> str:
    return f"{vault}/backupResourceGuardProxies/{proxy_name}"


def snapshot_extension_id(vm: ResourceId) -> str:
    return f"{vm}/extensions/{SNAPSHOT_EXTENSION_NAME}"
