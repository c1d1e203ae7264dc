"""The stack's `health` settings: backup health alerts in Azure Monitor (pure logic, no Pulumi).

Health is on by default wherever the vault sends its logs to a workspace (`vault.diagnostics`), because
the alerts query that workspace; it can be switched off explicitly, and switching it on without a
workspace is an error. The alerts go to the vault's action group (`vault.alertEmails`); without
addresses they still fire in Azure Monitor, unrouted, and the offline plan says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from irisbackup.azure_ids import ResourceId
from irisbackup.settings.base import SYSTEM_ASSIGNED, _Settings
from irisbackup.settings.identity import IDENTITY_TYPE, IdentityId

if TYPE_CHECKING:
    from irisbackup.settings.stack import StackSettings
    from irisbackup.settings.vm import VmSettings


class HealthSettings(_Settings):
    # None: on when vault.diagnostics.workspaceId is set (resolved while the stack is validated).
    enabled: bool | None = None
    # Hours past the RPO before a VM counts as in breach (backup window, job duration, log latency).
    grace_hours: int = Field(2, ge=0, le=24, strict=True)
    # False when Azure Policy (or another team) already installs Azure Monitor Agent on the VMs.
    install_agent: bool = True
    # User-assigned identity the agent authenticates with; without it the VM's system-assigned one.
    agent_identity_id: IdentityId | None = None
    # Region of the data collection rule and alert rules: the workspace's region (default: location).
    location: str | None = Field(None, pattern=r"^[a-z][a-z0-9]{2,39}$")


def _resolve(health: HealthSettings, info: ValidationInfo) -> HealthSettings:
    vault = info.data.get("vault")
    if vault is None:  # the vault section has its own errors; nothing to check against
        return health
    workspace = vault.diagnostics.workspace_id if vault.diagnostics else None
    enabled = workspace is not None if health.enabled is None else health.enabled
    if enabled and workspace is None:
        raise ValueError("health.enabled is true but vault.diagnostics.workspaceId is not set; the health alerts query "
                         "the vault's logs in that Log Analytics workspace: set it, or set health.enabled: false")
    return health.model_copy(update={"enabled": enabled})


# The `health` field of StackSettings: declared after `vault`, validated even when left out.
HealthField = Annotated[HealthSettings, Field(default_factory=dict, validate_default=True), AfterValidator(_resolve)]



def agent_identity(vm: VmSettings, health: HealthSettings) -> ResourceId | None:
    """The user-assigned identity Azure Monitor Agent on this VM is told to use (the VM's own, else the stack's
    health.agentIdentityId); None: the VM's system-assigned one."""
    return vm.identity if isinstance(vm.identity, ResourceId) else health.agent_identity_id


def agent_identity_problem(settings: StackSettings) -> str | None:
    """Azure Monitor Agent authenticates with a managed identity of the VM (azure-monitor-agent-overview); without one
    the verdicts never arrive and every hooked VM alerts as silent. The program does not change VMs, so the
    stack says which identity each has."""
    if not settings.health.enabled or settings.health.agent_identity_id is not None:
        return None
    missing = [f"vms[{index}] ({vm.name})" for index, vm in enumerate(settings.vms)
               if vm.identity is None and vm.consistency == "application" and not vm.retired]
    if not missing:
        return None
    return (f"{', '.join(missing)}: identity is not set, but health is on (vault.diagnostics.workspaceId) and Azure "
            "Monitor Agent collects the hook verdicts with the VM's managed identity; set identity: "
            f"{SYSTEM_ASSIGNED} (the VM has it enabled) or the {IDENTITY_TYPE} ID assigned to the VM, or "
            "health.agentIdentityId, or health.enabled: false")
