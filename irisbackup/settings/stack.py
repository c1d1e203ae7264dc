"""The stack's settings as a whole: the `irisbackup:settings` object, the checks between sections, and
parse_settings, which reports every problem at once.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from irisbackup.azure_ids import ResourceId, parse_resource_group_id
from irisbackup.network.egress_spec import SERVICE_TAG_REGIONS
from irisbackup.settings.base import _Settings
from irisbackup.settings.drill import DrillField, DrillSettings
from irisbackup.settings.health import HealthField, agent_identity_problem
from irisbackup.settings.mirror import MirrorsField
from irisbackup.settings.parity import parity_problems
from irisbackup.settings.policy import PolicySettings
from irisbackup.settings.vault import VaultSettings
from irisbackup.settings.vm import NsgSettings, VmSettings


PROJECT = "irisbackup"
CONFIG_KEY = "settings"
# How error messages name the config object: the key as it stands in Pulumi.<stack>.yaml.
_SHOWN_KEY = f"{PROJECT}:{CONFIG_KEY}"


def _resource_group_id(value: Any) -> ResourceId:
    if not isinstance(value, str):
        raise ValueError("expected a resource group ID as a string")
    return parse_resource_group_id(value)


ResourceGroupId = Annotated[ResourceId, BeforeValidator(_resource_group_id)]


class StackSettings(_Settings):
    location: str = Field(pattern=r"^[a-z][a-z0-9]{2,39}$")
    resource_group_id: ResourceGroupId
    # Throwaway environments only: lets `pulumi destroy` delete the vault and the backup data.
    allow_destroy: bool = False
    # Whether the production rules of the policy pack apply: explicit, never read from a tag
    # (docs/policy.md, "Production"); the pack fails a stack named or tagged prod that leaves it unset.
    production: bool | None = Field(None, strict=True)
    tags: dict[str, str] = {}
    vault: VaultSettings
    policies: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{2,149}$")], PolicySettings] = Field(min_length=1)
    network_security_groups: list[NsgSettings] = []
    vms: list[VmSettings] = Field(min_length=1)
    health: HealthField  # after vault: its default depends on vault.diagnostics
    drill: DrillField = DrillSettings()
    mirrors: MirrorsField = []  # after vms: members name stack VMs (irisbackup/settings/mirror.py)

    @model_validator(mode="after")
    def _destroy_must_be_possible(self) -> StackSettings:
        # What Azure refuses on `pulumi destroy`: "stop protection and delete data" in an immutable vault
        # (backup-azure-immutable-vault-concept, restricted operations), and deleting a vault that holds
        # soft-deleted items; "disabling soft delete is the only way to guarantee immediate deletion"
        # (use-restapi-update-vault-properties). AlwaysON can never be turned off.
        if not self.allow_destroy:
            return self
        problems = []
        if self.production:
            problems.append("allowDestroy: true on a stack with production: true would let `pulumi destroy` delete "
                            "production backup data; a production stack is never destroyable")
        if self.vault.immutability != "Disabled":
            problems.append(f"allowDestroy: true needs vault.immutability: Disabled (got {self.vault.immutability}); "
                            "an immutable vault refuses to delete protected items' recovery points before they expire")
        if self.vault.soft_delete.state != "Disabled":
            problems.append(f"allowDestroy: true needs vault.softDelete.state: Disabled (got {self.vault.soft_delete.state}); "
                            "a vault holding soft-deleted items cannot be deleted"
                            + (" and AlwaysON can never be turned off" if self.vault.soft_delete.state == "AlwaysON" else ""))
        if problems:
            raise ValueError("; ".join(problems) + " (or set allowDestroy: false)")
        return self

    @model_validator(mode="after")
    def _monitor_agent_has_an_identity(self) -> StackSettings:
        if problem := agent_identity_problem(self):
            raise ValueError(problem)
        return self


def _cross_references(raw: Any) -> list[str]:
    """Checks between sections, run on the raw object so they are reported next to field errors."""
    if not isinstance(raw, dict):
        return []
    policies = raw.get("policies") if isinstance(raw.get("policies"), dict) else {}
    nsg_entries = [e for e in _list(raw.get("networkSecurityGroups")) if isinstance(e, dict)]
    declared_nsgs = [str(e.get("id", "")).lower() for e in nsg_entries]
    problems = parity_problems(raw, _SHOWN_KEY)
    if len(set(declared_nsgs)) != len(declared_nsgs):
        problems.append(f"{_SHOWN_KEY}.networkSecurityGroups: the same NSG is listed twice; give each NSG one firstPriority")
    location = raw.get("location")
    if nsg_entries and isinstance(location, str) and re.fullmatch(r"[a-z][a-z0-9]{2,39}", location) \
            and location not in SERVICE_TAG_REGIONS:
        problems.append(f"{_SHOWN_KEY}.location: {location!r} is not in the service tag region table "
                        "(irisbackup/network/egress_spec.py SERVICE_TAG_REGIONS), which the NSG rules need for Storage.<Region>; "
                        f"known: {', '.join(sorted(SERVICE_TAG_REGIONS))}")
    vault_subscription = _subscription(raw.get("resourceGroupId"))
    seen_names: set[str] = set()
    for index, vm in enumerate(_list(raw.get("vms"))):
        if not isinstance(vm, dict):
            continue
        where = f"{_SHOWN_KEY}.vms[{index}]"
        name = str(vm.get("id", "")).rstrip("/").rsplit("/", 1)[-1].lower()
        if name and name in seen_names:
            problems.append(f"{where}.id: a VM named '{name}' is already in vms; each VM is listed once")
        seen_names.add(name)
        policy = vm.get("policy")
        if policies and isinstance(policy, str) and policy not in policies:
            problems.append(f"{where}.policy: '{policy}' is not a policy of this stack; allowed: {', '.join(sorted(policies))}")
        vm_subscription = _subscription(vm.get("id"))
        if vault_subscription and vm_subscription and vm_subscription != vault_subscription:
            problems.append(f"{where}.id: the VM is in subscription {vm_subscription} but the vault in {vault_subscription}; "
                            "Azure Backup protects VMs of the vault's own subscription only")
        for position, nsg in enumerate(_list(vm.get("networkSecurityGroups"))):
            if str(nsg).lower() not in declared_nsgs:
                problems.append(f"{where}.networkSecurityGroups[{position}]: {nsg!r} is not listed in networkSecurityGroups "
                                "(where its rule priority is set)")
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _subscription(value: Any) -> str | None:
    match = re.match(r"/subscriptions/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/", str(value), re.I)
    return match[1].lower() if match else None


class SettingsError(Exception):
    """Every problem of a stack's settings, each naming key path, value and what is allowed."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def parse_settings(raw: Any) -> StackSettings:
    """Validate the raw config object; raise SettingsError listing every problem at once."""
    problems = _cross_references(raw)
    try:
        settings = StackSettings.model_validate(raw)
    except ValidationError as error:
        problems = [_describe(error_item) for error_item in error.errors()] + problems
    if problems:
        raise SettingsError(problems)
    return settings


def missing_settings_message(config_keys: list[str]) -> str:
    """Why `irisbackup:settings` is absent, naming a misspelt key when the stack file has one."""
    ours = [key for key in config_keys if key.startswith(f"{PROJECT}:")]
    near = difflib.get_close_matches(_SHOWN_KEY, ours, n=1, cutoff=0.75) or [
        key for key in config_keys if key.rsplit(":", 1)[-1] == CONFIG_KEY]
    if near:
        return (f"{_SHOWN_KEY} is missing; the stack file has {near[0]!r}: did you mean {_SHOWN_KEY}? "
                "(the whole configuration is one object under that key; see docs/configuration.md)")
    return (f"{_SHOWN_KEY} is missing from the stack file: the whole configuration is one object under that key "
            "(start from examples/Pulumi.dev.yaml; see docs/configuration.md)")


def _describe(error: dict[str, Any]) -> str:
    path = _SHOWN_KEY + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown setting (check the spelling against the config reference in docs/configuration.md)"
    if error["type"] == "missing":
        return f"{path}: required setting is missing"
    if error["type"] == "string_pattern_mismatch":
        message = f"does not match {error['ctx']['pattern']}"
    value = error.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" {value!r}"
    return f"{path}:{shown} {message}" if shown else f"{path}: {message}"
