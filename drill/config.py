"""What one drill run needs from the stack file (pure logic, no Azure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from irisbackup.azure_ids import ResourceId
from irisbackup.drill import drill_naming as naming
from irisbackup.settings import CONFIG_KEY, PROJECT, SettingsError, parse_settings
from offline_plan.stack_file import StackFileError, load_stack_config, stack_file_path

PROJECT_DIR = Path(__file__).resolve().parent.parent


class DrillConfigError(Exception):
    """The stack file cannot drive a drill; the message says which setting and why."""


@dataclass(frozen=True)
class Sandbox:
    """The Pulumi-declared sandbox: the only place a drill may create, change or delete anything."""

    subscription_id: str
    resource_group: str
    location: str
    vnet: str
    subnet: str
    staging_account: str

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def subnet_id(self) -> str:
        return (f"{self.resource_group_id}/providers/Microsoft.Network/virtualNetworks/{self.vnet}"
                f"/subnets/{self.subnet}")

    @property
    def staging_account_id(self) -> str:
        return f"{self.resource_group_id}/providers/Microsoft.Storage/storageAccounts/{self.staging_account}"


@dataclass(frozen=True)
class Instance:
    name: str
    product: str


@dataclass(frozen=True)
class MirrorMemberRef:
    """An instance of the VM that is a member of a mirror set (settings `mirrors`)."""

    mirror_set: str
    instance: str
    product: str
    kind: str  # failover | async


@dataclass(frozen=True)
class VmTarget:
    name: str
    source: ResourceId  # the production VM (read-only for the drill)
    recovery_point: str  # latest | random
    window_days: int
    instances: tuple[Instance, ...]  # empty: the check finds every instance on the VM
    credentials_file: str | None
    mirror_members: tuple[MirrorMemberRef, ...] = ()


@dataclass(frozen=True)
class DrillConfig:
    stack: str
    sandbox: Sandbox
    vault_name: str
    vault_resource_group: str
    vm_size: str
    run_command_timeout_minutes: int
    max_age_hours: int
    tags: dict[str, str]
    vms: tuple[VmTarget, ...]
    enabled: bool


def load(stack: str, project_dir: Path = PROJECT_DIR) -> DrillConfig:
    try:
        config = load_stack_config(stack_file_path(project_dir, stack))
        raw = json.loads(config.values.get(f"{PROJECT}:{CONFIG_KEY}", "null"))
        settings = parse_settings(raw)
    except (StackFileError, SettingsError) as error:
        raise DrillConfigError(str(error)) from None
    drill = settings.drill
    if not drill.vms:
        raise DrillConfigError(f"{PROJECT}:{CONFIG_KEY}.drill.vms: no VM to drill in stack {stack!r}; "
                               "list at least one vms[] name (docs/restore-drill.md)")
    vault_rg = settings.resource_group_id
    rg = naming.drill_resource_group_name(stack, drill.resource_group_name)
    sandbox = Sandbox(vault_rg.subscription_id, rg, settings.location, naming.vnet_name(stack), naming.SUBNET_NAME,
                      naming.staging_account_name(vault_rg.subscription_id, rg, stack))
    by_name = {vm.name.lower(): vm for vm in settings.vms}
    targets = tuple(_target(by_name[entry.name.lower()], entry, settings.mirrors) for entry in drill.vms)
    return DrillConfig(stack, sandbox, settings.vault.name, vault_rg.resource_group, drill.vm_size,
                       drill.run_command_timeout_minutes, drill.max_age_hours, dict(settings.tags), targets,
                       drill.enabled)


def _target(vm, entry, mirrors) -> VmTarget:
    instances = tuple(Instance(i.name, i.product) for i in vm.hooks.instances)
    members = tuple(MirrorMemberRef(mirror.name, member.instance.name, member.instance.product, member.kind.value)
                    for mirror in mirrors for member in mirror.members if member.vm.lower() == vm.name.lower())
    return VmTarget(vm.name, vm.id, entry.recovery_point, entry.window_days, instances, vm.hooks.credentials_file,
                    members)
