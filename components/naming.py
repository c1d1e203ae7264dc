"""Names Azure Backup and our NSG rules expect (pure logic, no Pulumi)."""

from __future__ import annotations

import re

from .azure_ids import ResourceId

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
