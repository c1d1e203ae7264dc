"""The stack's settings: one structured config object, parsed and validated before anything is declared.

Pure logic (no Pulumi). Every rule here mirrors something Azure or the VM hooks would reject later,
so a bad stack file fails in seconds with every problem listed, instead of half-way through `pulumi up`.
One module per section; this entry point re-exports their public names for callers outside the package's
settings (the program, offline_plan, policy, drill, tools, tests). Modules inside the package import the
section module itself, so the package's imports stay acyclic.
"""

from __future__ import annotations

from irisbackup.settings.identity import IDENTITY_TYPE, IdentityId
from irisbackup.settings.vault import (
    WORKSPACE_TYPE,
    WorkspaceId,
    SoftDelete,
    CustomerManagedKey,
    Diagnostics,
    VaultSettings,
)
from irisbackup.settings.retention import (
    DAYS,
    WEEKS_OF_MONTH,
    MONTHS,
    WeeklyRetention,
    MonthlyRetention,
    YearlyRetention,
    Retention,
)
from irisbackup.settings.policy import TIME_ZONES, ScheduleTime, Schedule, PolicySettings
from irisbackup.settings.vm import (
    VM_TYPE,
    NSG_TYPE,
    VmId,
    NsgId,
    Seconds,
    INSTANCE_NAME,
    CONFIG_KEY_NAME,
    AZURE_SCRIPT_TIMEOUT_CAP,
    IRIS_FREEZE_TIMEOUT_CAP,
    NsgSettings,
    HOST_KEY_TYPE,
    HOST_KEY,
    HostKey,
    VmIdentity,
    SshProxy,
    Ssh,
    Instance,
    HOOK_KILL_GRACE,
    PRE_SCRIPT_STEPS,
    WATCHDOG_STEPS,
    HookSettings,
    VmSettings,
)
from irisbackup.settings.stack import (
    PROJECT,
    CONFIG_KEY,
    ResourceGroupId,
    StackSettings,
    SettingsError,
    parse_settings,
    missing_settings_message,
)

__all__ = [
    "IDENTITY_TYPE",
    "IdentityId",
    "WORKSPACE_TYPE",
    "WorkspaceId",
    "SoftDelete",
    "CustomerManagedKey",
    "Diagnostics",
    "VaultSettings",
    "DAYS",
    "WEEKS_OF_MONTH",
    "MONTHS",
    "WeeklyRetention",
    "MonthlyRetention",
    "YearlyRetention",
    "Retention",
    "TIME_ZONES",
    "ScheduleTime",
    "Schedule",
    "PolicySettings",
    "VM_TYPE",
    "NSG_TYPE",
    "VmId",
    "NsgId",
    "Seconds",
    "INSTANCE_NAME",
    "CONFIG_KEY_NAME",
    "AZURE_SCRIPT_TIMEOUT_CAP",
    "IRIS_FREEZE_TIMEOUT_CAP",
    "NsgSettings",
    "HOST_KEY_TYPE",
    "HOST_KEY",
    "HostKey",
    "VmIdentity",
    "SshProxy",
    "Ssh",
    "Instance",
    "HOOK_KILL_GRACE",
    "PRE_SCRIPT_STEPS",
    "WATCHDOG_STEPS",
    "HookSettings",
    "VmSettings",
    "PROJECT",
    "CONFIG_KEY",
    "ResourceGroupId",
    "StackSettings",
    "SettingsError",
    "parse_settings",
    "missing_settings_message",
]
