"""The `drill` section of the stack settings: restore drills into an isolated sandbox (issue 13).

Pure logic (no Pulumi). Off by default. The Pulumi program declares the sandbox from it
(irisbackup/drill/drill_sandbox.py); the drill runtime (`python -m drill`) reads the same models.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from irisbackup.drill.cron import parse_cron
from irisbackup.settings.base import _Settings

# Azure's smallest subnet is /29 (5 addresses reserved); the sandbox holds one subnet of this prefix.
SMALLEST_PREFIX = 29
DEFAULT_ADDRESS_PREFIX = "10.255.0.0/24"
DEFAULT_SCHEDULE = "0 3 * * 0"


def _address_prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected an IPv4 CIDR block as a string, e.g. 10.255.0.0/24")
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"expected an IPv4 CIDR block with no host bits set, e.g. 10.255.0.0/24 ({error})") from None
    if not network.is_private:
        raise ValueError("expected a private address range (RFC 1918, e.g. 10.255.0.0/24): the sandbox is never routable")
    if network.prefixlen > SMALLEST_PREFIX:
        raise ValueError(f"expected a prefix of /{SMALLEST_PREFIX} or larger (Azure's smallest subnet)")
    return str(network)


def _cron(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a 5-field cron expression in UTC as a string, e.g. '0 3 * * 0'")
    try:
        parse_cron(value)
    except ValueError as error:
        raise ValueError(f"expected a 5-field cron expression in UTC, e.g. '0 3 * * 0': {error}") from None
    return value


class DrillVm(_Settings):
    # The name of a VM in the stack's vms[] (the last segment of its id).
    name: str = Field(min_length=1)
    # latest: the newest recovery point; random: any point of the last windowDays (as AWS Backup
    # restore testing offers), so old points are proven restorable too.
    recovery_point: Literal["latest", "random"] = "latest"
    window_days: int = Field(7, ge=1, le=365, strict=True)


class DrillSettings(_Settings):
    enabled: bool = False
    # Default: naming.drill_resource_group_name(stack), see irisbackup/drill/drill_naming.py.
    resource_group_name: str | None = Field(None, pattern=r"^[-\w._()]{0,89}[-\w_()]$")
    address_prefix: Annotated[str, BeforeValidator(_address_prefix)] = DEFAULT_ADDRESS_PREFIX
    vm_size: str = Field("Standard_D4s_v5", pattern=r"^(Standard|Basic)_[A-Za-z0-9_-]{1,60}$")
    vms: list[DrillVm] = []
    schedule: Annotated[str, BeforeValidator(_cron)] = DEFAULT_SCHEDULE
    # The sweep deletes drill resources older than this that a crashed drill left behind.
    max_age_hours: int = Field(24, ge=1, le=720, strict=True)
    run_command_timeout_minutes: int = Field(60, ge=1, le=1440, strict=True)

    @model_validator(mode="after")
    def _enabled_needs_vms(self) -> DrillSettings:
        if self.enabled and not self.vms:
            raise ValueError("enabled: true needs at least one entry in vms (which VMs to restore)")
        names = [vm.name.lower() for vm in self.vms]
        if len(set(names)) != len(names):
            raise ValueError(f"vms has duplicate names: {[vm.name for vm in self.vms]}; list each VM once")
        return self


def _names_are_stack_vms(drill: DrillSettings, info: ValidationInfo) -> DrillSettings:
    """Each drill VM must be one of the stack's vms[]: checked here because `drill` is declared after
    `vms` in StackSettings, so the validated VMs are in info.data (absent if they failed to validate)."""
    stack_vms = info.data.get("vms")
    if stack_vms is None:
        return drill
    known = {vm.name.lower(): vm.name for vm in stack_vms}
    unknown = [
        f"vms[{index}].name: {vm.name!r} is not a VM of this stack; allowed: {', '.join(sorted(known.values()))}"
        for index, vm in enumerate(drill.vms) if vm.name.lower() not in known
    ]
    if unknown:
        raise ValueError("; ".join(unknown))
    return drill


# The field type StackSettings uses for `drill` (declare it after `vms`).
DrillField = Annotated[DrillSettings, AfterValidator(_names_are_stack_vms)]
