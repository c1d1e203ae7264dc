"""The stack's `health` settings: backup health alerts in Azure Monitor (pure logic, no Pulumi).

Health is on by default wherever the vault sends its logs to a workspace (`vault.diagnostics`), because
the alerts query that workspace; it can be switched off explicitly, and switching it on without a
workspace is an error. The alerts go to the vault's action group (`vault.alertEmails`); without
addresses they still fire in Azure Monitor, unrouted, and the offline plan says so.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

# settings.py imports this module after defining IdentityId (the field line in StackSettings).
from .settings import IdentityId
from .settings_base import _Settings


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

