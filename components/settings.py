"""The stack's settings: one structured config object, parsed and validated before anything is declared.

Pure logic (no Pulumi). Every rule here mirrors something Azure or the VM hooks would reject later,
so a bad stack file fails in seconds with every problem listed, instead of half-way through `pulumi up`.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from tzlocal.windows_tz import win_tz

from .azure_ids import ResourceId, parse_resource_group_id
from .egress_spec import EGRESS_PRIORITY_SLOTS, SERVICE_TAG_REGIONS
from .settings_base import _managed_identity, _resource_id, _Settings
from .settings_credentials import KeyVaultCredentials, fetch_step_problems, identity_problem, vault_name_problem
from .settings_drill import DrillField, DrillSettings
from .settings_parity import (
    ArchiveTiering,
    DiskSelection,
    InstantRestoreResourceGroup,
    ResourceGuardId,
    archive_problems,
    parity_problems,
)

PROJECT = "irisbackup"
CONFIG_KEY = "settings"
# How error messages name the config object: the key as it stands in Pulumi.<stack>.yaml.
_SHOWN_KEY = f"{PROJECT}:{CONFIG_KEY}"

VM_TYPE = "Microsoft.Compute/virtualMachines"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"

# Azure Backup schedules accept Windows time zone IDs ("UTC", "W. Europe Standard Time").
TIME_ZONES = frozenset(win_tz)
DAYS = Literal["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
WEEKS_OF_MONTH = Literal["First", "Second", "Third", "Fourth", "Last"]
MONTHS = Literal[
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
INSTANCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
CONFIG_KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
# Azure's limit for one pre- or post-script (VMSnapshotPluginHost.conf).
AZURE_SCRIPT_TIMEOUT_CAP = 1800
# Reported maximum of IRIS's ExternalFreezeTimeOut.
IRIS_FREEZE_TIMEOUT_CAP = 1200


def _resource_group_id(value: Any) -> ResourceId:
    if not isinstance(value, str):
        raise ValueError("expected a resource group ID as a string")
    return parse_resource_group_id(value)


def _schedule_time(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):(00|30)", value):
        raise ValueError("expected a time HH:MM on the hour or half hour (e.g. 22:00 or 22:30), as Azure Backup requires")
    return value


def _time_zone(value: Any) -> str:
    if value not in TIME_ZONES:
        raise ValueError("expected a Windows time zone ID as Azure Backup uses them, e.g. UTC or W. Europe Standard Time")
    return value


ScheduleTime = Annotated[str, BeforeValidator(_schedule_time)]
VmId = Annotated[ResourceId, _resource_id(VM_TYPE)]
NsgId = Annotated[ResourceId, _resource_id(NSG_TYPE)]
WorkspaceId = Annotated[ResourceId, _resource_id(WORKSPACE_TYPE)]
IdentityId = Annotated[ResourceId, _resource_id(IDENTITY_TYPE)]
ResourceGroupId = Annotated[ResourceId, BeforeValidator(_resource_group_id)]
Seconds = Annotated[int, Field(ge=1, strict=True)]


# --- vault -------------------------------------------------------------------------------------


class SoftDelete(_Settings):
    state: Literal["AlwaysON", "Enabled", "Disabled"] = "AlwaysON"
    retention_days: int = Field(14, ge=14, le=180, strict=True)


class CustomerManagedKey(_Settings):
    key_uri: str = Field(pattern=r"^https://[a-z0-9-]{3,24}\.vault\.azure\.net/keys/[A-Za-z0-9-]+(/[0-9a-f]{32})?$")
    # A user-assigned identity avoids the creation-order trap of a system-assigned one
    # (the key vault must grant access before the vault can use the key).
    identity_id: IdentityId


class Diagnostics(_Settings):
    workspace_id: WorkspaceId


class VaultSettings(_Settings):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,49}$")
    storage_redundancy: Literal["GeoRedundant", "ZoneRedundant", "LocallyRedundant"] = "GeoRedundant"
    cross_region_restore: bool = True
    soft_delete: SoftDelete = SoftDelete()
    immutability: Literal["Unlocked", "Locked", "Disabled"] = "Unlocked"
    public_network_access: Literal["Disabled", "Enabled"] = "Disabled"
    cross_subscription_restore: Literal["Disabled", "Enabled", "PermanentlyDisabled"] = "Disabled"
    job_failure_alerts: bool = True
    customer_managed_key: CustomerManagedKey | None = None
    diagnostics: Diagnostics | None = None
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = []
    # Multi-user authorization: the vault's critical operations need the guard owner's approval.
    resource_guard_id: ResourceGuardId | None = None
    # A CanNotDelete lock on the vault; lifted while allowDestroy is true.
    delete_lock: bool = Field(True, strict=True)

    @model_validator(mode="after")
    def _cross_region_restore_needs_grs(self) -> VaultSettings:
        if self.cross_region_restore and self.storage_redundancy != "GeoRedundant":
            raise ValueError(
                f"crossRegionRestore: true needs storageRedundancy GeoRedundant (got {self.storage_redundancy}); "
                "set crossRegionRestore: false or use GeoRedundant"
            )
        return self


# --- backup policies ---------------------------------------------------------------------------


class Schedule(_Settings):
    frequency: Literal["Hourly", "Daily", "Weekly"]
    time: ScheduleTime | None = None
    days: list[DAYS] = []
    interval_hours: Literal[4, 6, 8, 12] | None = None
    window_start: ScheduleTime | None = None
    window_hours: int | None = Field(None, ge=4, le=24, strict=True)

    @model_validator(mode="after")
    def _fields_match_frequency(self) -> Schedule:
        wanted = {
            "Hourly": {"interval_hours", "window_start", "window_hours"},
            "Daily": {"time"},
            "Weekly": {"time", "days"},
        }[self.frequency]
        given = {name for name in ("time", "days", "interval_hours", "window_start", "window_hours") if getattr(self, name)}
        if missing := wanted - given:
            raise ValueError(f"a {self.frequency} schedule needs {_camel_list(missing)}")
        if extra := given - wanted:
            raise ValueError(f"a {self.frequency} schedule takes only {_camel_list(wanted)}, not {_camel_list(extra)}")
        if len(set(self.days)) != len(self.days):
            raise ValueError(f"days has duplicates: {self.days}")
        return self

    @property
    def run_time(self) -> str:
        """The time of day that retention points are taken at."""
        return self.window_start if self.frequency == "Hourly" else self.time  # type: ignore[return-value]


class WeeklyRetention(_Settings):
    weeks: int = Field(ge=1, le=5163, strict=True)
    days: list[DAYS] = Field(default=["Sunday"], min_length=1)


class MonthlyRetention(_Settings):
    months: int = Field(ge=1, le=1188, strict=True)
    week: WEEKS_OF_MONTH = "First"
    day: DAYS = "Sunday"


class YearlyRetention(_Settings):
    years: int = Field(ge=1, le=99, strict=True)
    month: MONTHS = "January"
    week: WEEKS_OF_MONTH = "First"
    day: DAYS = "Sunday"


class Retention(_Settings):
    daily_days: int | None = Field(None, ge=7, le=9999, strict=True)
    weekly: WeeklyRetention | None = None
    monthly: MonthlyRetention | None = None
    yearly: YearlyRetention | None = None


class PolicySettings(_Settings):
    kind: Literal["standard", "enhanced"]
    time_zone: Annotated[str, BeforeValidator(_time_zone)] = "UTC"
    schedule: Schedule
    instant_restore_days: int = Field(2, ge=1, le=30, strict=True)
    retention: Retention
    archive: ArchiveTiering | None = None
    instant_restore_resource_group: InstantRestoreResourceGroup | None = None

    @model_validator(mode="after")
    def _azure_policy_rules(self) -> PolicySettings:
        problems = []
        frequency = self.schedule.frequency
        if self.kind == "standard":
            if frequency == "Hourly":
                problems.append("schedule.frequency Hourly needs kind: enhanced (standard policies run Daily or Weekly)")
            if frequency == "Weekly" and self.instant_restore_days != 5:
                problems.append(f"instantRestoreDays is {self.instant_restore_days}; a standard Weekly policy keeps instant restore points exactly 5 days")
            elif self.instant_restore_days > 5:
                problems.append(f"instantRestoreDays is {self.instant_restore_days}; standard policies allow 1-5 (enhanced: 1-30)")
        if frequency == "Weekly":
            if self.retention.daily_days is not None:
                problems.append("retention.dailyDays is not allowed with a Weekly schedule; use retention.weekly")
            if self.retention.weekly is None:
                problems.append("a Weekly schedule needs retention.weekly")
            elif set(self.retention.weekly.days) != set(self.schedule.days):
                problems.append(f"retention.weekly.days {self.retention.weekly.days} must be the schedule's days {self.schedule.days}")
            for tier in (self.retention.monthly, self.retention.yearly):
                if tier is not None and tier.day not in self.schedule.days:
                    problems.append(f"a monthly/yearly retention day ({tier.day}) must be one of the schedule's days {self.schedule.days}")
        elif self.retention.daily_days is None:
            problems.append(f"a {frequency} schedule needs retention.dailyDays (7-9999)")
        problems += archive_problems(self.archive, self.retention)
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --- network -----------------------------------------------------------------------------------


class NsgSettings(_Settings):
    id: NsgId
    # Our rules take fixed slots firstPriority + 0..3 (components/egress_spec.py), whichever features are on,
    # so they never collide with each other and all stay within Azure's 100-4096.
    first_priority: int = Field(ge=100, le=4096 - EGRESS_PRIORITY_SLOTS + 1, strict=True)


# --- VMs and hooks -----------------------------------------------------------------------------


HOST_KEY_TYPE = re.compile(r"ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa")
HOST_KEY = re.compile(rf"(?:{HOST_KEY_TYPE.pattern}) [A-Za-z0-9+/]+={{0,2}}")


def _host_key(value: Any) -> str:
    """`TYPE BASE64`, as pulumi-command compares it; also takes the line `ssh-keyscan` prints
    (`HOST TYPE BASE64`, comment lines starting with #) and a trailing comment, and keeps TYPE BASE64."""
    if not isinstance(value, str):
        raise ValueError("expected a host key string (the output of ssh-keyscan -t ed25519 HOST)")
    lines = [line.split() for line in value.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"expected one host key line, got {len(lines)}; pick one key type: ssh-keyscan -t ed25519 HOST")
    fields = lines[0]
    if len(fields) > 2 and not HOST_KEY_TYPE.fullmatch(fields[0]):
        fields = fields[1:]  # the host name ssh-keyscan puts first
    key = " ".join(fields[:2])
    if not HOST_KEY.fullmatch(key):
        raise ValueError(f"does not match {HOST_KEY.pattern} (optionally after the host name, as ssh-keyscan prints it)")
    return key


HostKey = Annotated[str, BeforeValidator(_host_key)]
# The managed identity the VM has (the program does not change VMs): what Azure Monitor Agent signs in with.
VmIdentity = Annotated[str | ResourceId, _managed_identity(IDENTITY_TYPE)]


class SshProxy(_Settings):
    host: str = Field(min_length=1, pattern=r"^[A-Za-z0-9.:-]+$")
    user: str = Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    port: int = Field(22, ge=1, le=65535, strict=True)
    private_key_config: str = Field("sshPrivateKey", pattern=CONFIG_KEY_NAME.pattern)
    # Without it pulumi-command does not check which host it reached (the plan warns).
    host_key: HostKey | None = None


class Ssh(SshProxy):
    proxy: SshProxy | None = None


class Instance(_Settings):
    name: str = Field(pattern=f"^{INSTANCE_NAME.pattern}$")
    product: Literal["iris", "cache"] = "iris"


# Seconds between TERM and KILL of an iris call past its limit (IB_KILL_GRACE in hooks/common.sh):
# one call lasts at most callTimeoutSeconds + this, a "step".
HOOK_KILL_GRACE = 1
# Worst cases in steps, every call hanging (docs/hooks.md "Worst cases"): the pre-script makes six
# calls in sequence (qlist, IsWDSuspendedExt, ExternalFreeze, rollback ExternalThaw, stat -W,
# verification); the watchdog, once it fires, four (IsWDSuspendedExt, ExternalThaw, stat -W, verification).
PRE_SCRIPT_STEPS = 6
WATCHDOG_STEPS = 4


class HookSettings(_Settings):
    instances: list[Instance] = []
    call_timeout_seconds: Seconds = 15
    azure_timeout_seconds: Annotated[int, Field(ge=1, le=AZURE_SCRIPT_TIMEOUT_CAP, strict=True)] = 120
    freeze_budget_seconds: Seconds = 200
    wd_suspend_limit_seconds: Seconds = 300
    external_freeze_timeout_seconds: Annotated[int, Field(ge=1, le=IRIS_FREEZE_TIMEOUT_CAP, strict=True)] = 600
    # ScriptsExecutionPollTimeSeconds of the plugin config: how often Azure's runner checks whether a
    # script ended (1-5, Azure's default 3). Every phase lasts one or two polls, so the freeze window is
    # about snapshot + 2 polls; 1 keeps it shortest.
    runner_poll_seconds: Annotated[int, Field(ge=1, le=5, strict=True)] = 1
    credentials_file: str | None = Field(None, pattern=r"^/[A-Za-z0-9_./-]+$")
    continue_backup_on_failure: bool = True
    # IRIS credentials read from Key Vault just before the freeze (components/settings_credentials.py).
    key_vault_credentials: KeyVaultCredentials | None = None

    @model_validator(mode="after")
    def _timeouts_nest(self) -> HookSettings:
        # install.sh checks the same rules on the VM (tests/program/test_hooks_contract.py keeps them in
        # agreement). Azure must wait for the pre-script's worst case; Azure starts the post-script up
        # to two polls after that; the watchdog must outlast both, and IRIS's own limits the watchdog.
        step = self.call_timeout_seconds + HOOK_KILL_GRACE
        rules = [
            (self.azure_timeout_seconds > PRE_SCRIPT_STEPS * step,
             f"azureTimeoutSeconds ({self.azure_timeout_seconds}) must exceed {PRE_SCRIPT_STEPS} x (callTimeoutSeconds + "
             f"{HOOK_KILL_GRACE}) = {PRE_SCRIPT_STEPS * step}, the pre-script's worst case"),
            (self.freeze_budget_seconds > self.azure_timeout_seconds + 2 * self.runner_poll_seconds,
             f"freezeBudgetSeconds ({self.freeze_budget_seconds}) must exceed azureTimeoutSeconds + 2 x runnerPollSeconds "
             f"({self.azure_timeout_seconds + 2 * self.runner_poll_seconds})"),
            (self.wd_suspend_limit_seconds > self.freeze_budget_seconds + WATCHDOG_STEPS * step,
             f"wdSuspendLimitSeconds ({self.wd_suspend_limit_seconds}) must exceed freezeBudgetSeconds + {WATCHDOG_STEPS} x "
             f"(callTimeoutSeconds + {HOOK_KILL_GRACE}) = {self.freeze_budget_seconds + WATCHDOG_STEPS * step}, the watchdog's worst case"),
            (self.external_freeze_timeout_seconds > self.wd_suspend_limit_seconds,
             f"externalFreezeTimeoutSeconds ({self.external_freeze_timeout_seconds}) must exceed wdSuspendLimitSeconds ({self.wd_suspend_limit_seconds})"),
        ]
        problems = [message for ok, message in rules if not ok]
        problems += fetch_step_problems(self, step, PRE_SCRIPT_STEPS, WATCHDOG_STEPS)
        if self.key_vault_credentials and (problem := vault_name_problem(self.key_vault_credentials)):
            problems.append(problem)
        # An instance is its product and its name: PROD:iris and PROD:cache are two (hooks/settings.sh agrees).
        names = [f"{instance.name}:{instance.product}" for instance in self.instances]
        if len(set(names)) != len(names):
            problems.append(f"instances has duplicate names: {names}; list each NAME:product once")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class VmSettings(_Settings):
    id: VmId
    policy: str
    network_security_groups: list[NsgId] = []
    # False (default): Azure Backup installs VMSnapshotLinux on the first backup, as Microsoft recommends;
    # true declares it too (see components/protected_vm.py for why that is safe, and when it is not needed).
    manage_extension: bool = False
    # "crash" is an explicit, reviewable opt-out of freeze/thaw hooks.
    consistency: Literal["application", "crash"] = "application"
    ssh: Ssh | None = None
    # How the hooks reach the VM: pulumi-command over SSH, or Azure managed Run Command (no SSH).
    delivery: Literal["ssh", "runCommand"] = "ssh"
    hooks: HookSettings = HookSettings()
    # Stop protection, keep the recovery points (docs/vm-lifecycle.md); no hooks, no extension.
    retired: bool = Field(False, strict=True)
    disks: DiskSelection | None = None
    identity: VmIdentity | None = None

    @property
    def name(self) -> str:
        return self.id.name

    @model_validator(mode="after")
    def _credentials_have_an_identity(self) -> VmSettings:
        if problem := identity_problem(self):
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _delivery_matches_ssh(self) -> VmSettings:
        if self.delivery == "runCommand" and self.ssh is not None:
            raise ValueError("delivery 'runCommand' takes no ssh (Azure's VM agent runs the installer; nothing connects "
                             "to the VM); remove ssh, or set delivery: ssh")
        if (self.delivery == "ssh" and self.consistency == "application" and self.ssh is None
                and not self.retired):
            raise ValueError("consistency 'application' needs ssh (how pulumi-command reaches the VM to install the hooks); "
                             "add ssh, set delivery: runCommand, or set consistency: crash to back up without freezing IRIS")
        return self


# --- the stack ---------------------------------------------------------------------------------

# Sections in their own modules build on _Settings above, so they are imported here, not at the top.
from .settings_health import HealthField, agent_identity_problem  # noqa: E402
from .settings_mirror import MirrorsField  # noqa: E402


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
    mirrors: MirrorsField = []  # after vms: members name stack VMs (components/settings_mirror.py)

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
                        "(components/egress_spec.py SERVICE_TAG_REGIONS), which the NSG rules need for Storage.<Region>; "
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
            "(start from Pulumi.dev.yaml; see docs/configuration.md)")


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


def _camel_list(names: set[str]) -> str:
    return ", ".join(sorted(to_camel(name) for name in names))
