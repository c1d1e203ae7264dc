"""Names and tags of the restore-drill sandbox (pure logic, no Pulumi).

Shared by the Pulumi program (irisbackup/drill/drill_sandbox.py, which declares the long-lived sandbox)
and the drill runtime (`python -m drill`, which creates and deletes the per-run resources in it).

Two tags keep the two lifetimes apart, so the sweep can never delete what Pulumi manages:
- SANDBOX_TAG (`irisbackup-drill-sandbox: <stack>`): the resource group, VNet, NSG, storage account
  and identity Pulumi declares. Long-lived; only `pulumi destroy` removes them.
- RUN_TAG (`irisbackup-drill: <stack>`) plus RUN_ID_TAG and STARTED_TAG: every resource one drill
  run creates (VM, NIC, disks). Teardown deletes them by run id; the sweep by RUN_TAG and age.
"""

from __future__ import annotations

import hashlib
import re

SANDBOX_TAG = "irisbackup-drill-sandbox"
RUN_TAG = "irisbackup-drill"
RUN_ID_TAG = "irisbackup-drill-run"
STARTED_TAG = "irisbackup-drill-started"
# Where RestoreDisks writes the VM config and template in the staging account.
STAGING_CONTAINER = "drill-restores"

_RG_MAX = 90
_STORAGE_PREFIX = "irisdrill"
_VM_NAME_MAX = 64  # Linux VM names


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", text).strip("-").lower()


def drill_resource_group_name(stack: str, configured: str | None = None) -> str:
    """The sandbox resource group: drill.resourceGroupName, or rg-irisbackup-drill-<stack>."""
    return configured or f"rg-irisbackup-drill-{_slug(stack)}"[:_RG_MAX]


def vnet_name(stack: str) -> str:
    return f"vnet-irisbackup-drill-{_slug(stack)}"[:64]


SUBNET_NAME = "snet-drill"


def nsg_name(stack: str) -> str:
    return f"nsg-irisbackup-drill-{_slug(stack)}"[:80]


def identity_name(stack: str) -> str:
    return f"id-irisbackup-drill-{_slug(stack)}"[:128]


def staging_account_name(subscription_id: str, resource_group: str, stack: str) -> str:
    """3-24 lowercase letters and digits, globally unique: a fixed prefix and a hash of where the
    account lives, so it is stable across runs of one stack and differs between stacks and tenants."""
    digest = hashlib.sha256(f"{subscription_id.lower()}/{resource_group.lower()}/{stack}".encode()).hexdigest()
    return (_STORAGE_PREFIX + digest)[:24]


def sandbox_tags(stack: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Tags of the Pulumi-declared sandbox resources: the stack's own tags and SANDBOX_TAG."""
    return {**(base or {}), SANDBOX_TAG: stack}


def run_tags(stack: str, run_id: str, started: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Tags of the resources one drill run creates (started: ISO 8601 UTC, read by the sweep)."""
    return {**(base or {}), RUN_TAG: stack, RUN_ID_TAG: run_id, STARTED_TAG: started}


def restored_vm_name(vm_name: str, run_id: str) -> str:
    """The VM a drill builds from restored disks: never the production name, unique per run."""
    suffix = f"-{_slug(run_id)[:12]}"
    return f"drill-{_slug(vm_name)}"[: _VM_NAME_MAX - len(suffix)] + suffix


def restored_nic_name(vm_name: str, run_id: str) -> str:
    return f"nic-{restored_vm_name(vm_name, run_id)}"[:80]
