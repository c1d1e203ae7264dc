"""The backup posture of one stack, as a reviewer compares it: pure logic over an offline plan's JSON.

Built from the plan JSON (`offline_plan --json`: resources with masked inputs, outputs) and the raw
`irisbackup:settings` object, so the same function reads a plan rendered by an older version of the
program (posture_diff renders the base ref with that ref's own code). Keys are dotted paths once
flattened (`vault.crossRegionRestore`, `policies.enhanced-4h.rpoHours`, `vms.vm-1.hooks.version`).

Nothing is dropped: settings this module does not know (a section another feature adds) and ARM
properties of the vault and policies it does not read land under their own path, so a diff still
shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irisbackup.schedule import backups_per_day, rpo_hours, snapshot_only_backups_per_day, vault_retention_days

VAULT = "azure-native:recoveryservices:Vault"
POLICY = "azure-native:recoveryservices:ProtectionPolicy"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
SECURITY_RULE = "azure-native:network:SecurityRule"
EXTENSION = "azure-native:compute:VirtualMachineExtension"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
RESOURCE_GUARD_PROXY = "azure-native:recoveryservices:ResourceGuardProxy"
LOCK = "azure-native:authorization:ManagementLockByScope"
RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
ALERT_RULE = "azure-native:monitor:ScheduledQueryRule"
DRILL_SANDBOX = "irisbackup:drill:DrillSandbox"
INSTALL_SUFFIX = "-install"

# Settings read into the curated posture below; any other key is carried as it stands.
_STACK_KEYS = {"location", "resourceGroupId", "allowDestroy", "tags", "vault", "policies", "networkSecurityGroups", "vms"}
_VAULT_KEYS = {"name", "storageRedundancy", "crossRegionRestore", "softDelete", "immutability", "publicNetworkAccess",
               "crossSubscriptionRestore", "jobFailureAlerts", "customerManagedKey", "diagnostics", "alertEmails",
               "resourceGuardId", "deleteLock"}
_POLICY_KEYS = {"kind", "timeZone", "schedule", "instantRestoreDays", "retention", "archive", "instantRestoreResourceGroup"}
_VM_KEYS = {"id", "policy", "networkSecurityGroups", "manageExtension", "consistency", "ssh", "hooks", "retired", "disks"}
# ARM properties read into the curated posture; the rest of `properties` is carried under `other`.
_VAULT_PROPERTIES = ("securitySettings.softDeleteSettings", "securitySettings.immutabilitySettings.state",
                     "redundancySettings", "restoreSettings.crossSubscriptionRestoreSettings.crossSubscriptionRestoreState",
                     "monitoringSettings.azureMonitorAlertSettings.alertsForAllJobFailures", "publicNetworkAccess", "encryption")
_POLICY_PROPERTIES = ("timeZone", "schedulePolicy", "instantRpRetentionRangeInDays", "policyType", "backupManagementType",
                      "retentionPolicy", "tieringPolicy", "instantRPDetails")
# A retired VM (vms[].retired): its protected item stays, with one of these states.
RETIRED_STATES = ("BackupsSuspended", "ProtectionStopped")


def build_posture(plan: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    resources = [r for r in plan.get("resources", []) if isinstance(r, Mapping)]
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(str(resource.get("type")), []).append(resource)
    policy_names = {f"<id of {p.get('name')}>": p.get("inputs", {}).get("policyName") for p in by_type.get(POLICY, [])}
    return {
        "stack": {"location": settings.get("location"), "resourceGroupId": settings.get("resourceGroupId"),
                  "tags": settings.get("tags") or {},
                  # Protections as declared (not as set): on only when the program declares their resources.
                  "healthAlerts": bool(by_type.get(ALERT_RULE)), "restoreDrills": bool(by_type.get(DRILL_SANDBOX)),
                  **_extra(settings, _STACK_KEYS)},
        "vault": _vault(by_type, settings.get("vault") or {}),
        "policies": {
            str(policy.get("inputs", {}).get("policyName")): _policy(policy, (settings.get("policies") or {}))
            for policy in by_type.get(POLICY, [])
        },
        "vms": _vms(by_type, resources, plan.get("outputs") or {}, settings, policy_names),
        "egress": _egress(by_type.get(SECURITY_RULE, [])),
    }


# --- vault ---------------------------------------------------------------------------------------


def _vault(by_type: Mapping[str, list], vault_settings: Mapping[str, Any]) -> dict[str, Any] | None:
    vaults = by_type.get(VAULT, [])
    if not vaults:
        return None
    vault = vaults[0]
    inputs = vault.get("inputs", {})
    properties = inputs.get("properties", {})
    security = properties.get("securitySettings", {})
    soft_delete = security.get("softDeleteSettings", {})
    redundancy = properties.get("redundancySettings", {})
    encryption = properties.get("encryption") or {}
    emails = sorted(receiver.get("emailAddress") for group in by_type.get(ACTION_GROUP, [])
                    for receiver in group.get("inputs", {}).get("emailReceivers", []))
    return {
        "name": inputs.get("vaultName"),
        "location": inputs.get("location"),
        "protectedFromDestroy": bool(vault.get("options", {}).get("protect")),
        "storageRedundancy": redundancy.get("standardTierStorageRedundancy"),
        "crossRegionRestore": redundancy.get("crossRegionRestore"),
        "softDelete": {"state": soft_delete.get("softDeleteState"), "retentionDays": soft_delete.get("softDeleteRetentionPeriodInDays")},
        "immutability": security.get("immutabilitySettings", {}).get("state"),
        "publicNetworkAccess": properties.get("publicNetworkAccess"),
        "crossSubscriptionRestore": properties.get("restoreSettings", {}).get("crossSubscriptionRestoreSettings", {})
        .get("crossSubscriptionRestoreState"),
        "jobFailureAlerts": properties.get("monitoringSettings", {}).get("azureMonitorAlertSettings", {}).get("alertsForAllJobFailures"),
        "customerManagedKey": encryption.get("keyVaultProperties", {}).get("keyUri"),
        "customerManagedKeyIdentity": encryption.get("kekIdentity", {}).get("userAssignedIdentity"),
        "diagnosticsWorkspace": next((d.get("inputs", {}).get("workspaceId") for d in by_type.get(DIAGNOSTICS, [])), None),
        "alertEmails": emails,
        "deleteLock": next((lock.get("inputs", {}).get("level") for lock in by_type.get(LOCK, [])
                            if lock.get("inputs", {}).get("scope") == f"<id of {vault.get('name')}>"), None),
        "resourceGuardId": next((proxy.get("inputs", {}).get("properties", {}).get("resourceGuardResourceId")
                                 for proxy in by_type.get(RESOURCE_GUARD_PROXY, [])
                                 if proxy.get("inputs", {}).get("vaultName") == inputs.get("vaultName")), None),
        **_extra(vault_settings, _VAULT_KEYS),
        "other": _unread(properties, _VAULT_PROPERTIES),
    }


# --- policies ------------------------------------------------------------------------------------


def _policy(policy: Mapping[str, Any], policy_settings: Mapping[str, Any]) -> dict[str, Any]:
    inputs = policy.get("inputs", {})
    properties = inputs.get("properties", {})
    retention = properties.get("retentionPolicy", {})
    ladder = {
        name: retention.get(tier, {}).get("retentionDuration", {}).get("count")
        for name, tier in (("dailyDays", "dailySchedule"), ("weeklyWeeks", "weeklySchedule"),
                           ("monthlyMonths", "monthlySchedule"), ("yearlyYears", "yearlySchedule"))
    }
    return {
        "kind": "enhanced" if properties.get("policyType") == "V2" else "standard",
        "timeZone": properties.get("timeZone"),
        "rpoHours": _whole(rpo_hours(properties)),
        "backupsPerDay": backups_per_day(properties),
        # Hourly: only the day's last backup reaches the vault; the others stay snapshots (irisbackup/schedule.py).
        "snapshotOnlyBackupsPerDay": snapshot_only_backups_per_day(properties),
        "vaultRetentionDays": _whole(vault_retention_days(properties)),
        "schedule": schedule_details(properties.get("schedulePolicy", {})),
        "instantRestoreDays": properties.get("instantRpRetentionRangeInDays"),
        "retention": ladder,
        "retentionKeeps": retention_keeps(retention),
        "archive": (properties.get("tieringPolicy") or {}).get("ArchivedRP"),
        "instantRestoreResourceGroup": properties.get("instantRPDetails"),
        **_extra(policy_settings.get(inputs.get("policyName")) or {}, _POLICY_KEYS),
        "other": _unread(properties, _POLICY_PROPERTIES),
    }


def retention_keeps(retention: Mapping[str, Any]) -> dict[str, list[str]]:
    """Which backups each long-term tier keeps ("Sunday", "First Sunday", "January First Sunday", "day 1")."""
    keeps: dict[str, list[str]] = {}
    if weekly := retention.get("weeklySchedule"):
        keeps["weekly"] = list(weekly.get("daysOfTheWeek") or [])
    if monthly := retention.get("monthlySchedule"):
        keeps["monthly"] = _days_of_month(monthly)
    if yearly := retention.get("yearlySchedule"):
        keeps["yearly"] = [f"{month} {day}" for month in yearly.get("monthsOfYear") or [] for day in _days_of_month(yearly)]
    return keeps


def _days_of_month(tier: Mapping[str, Any]) -> list[str]:
    weekly = tier.get("retentionScheduleWeekly") or {}
    daily = tier.get("retentionScheduleDaily") or {}
    return ([f"{week} {day}" for week in weekly.get("weeksOfTheMonth") or [] for day in weekly.get("daysOfTheWeek") or []]
            + [("last day" if entry.get("isLast") else f"day {entry.get('date')}") for entry in daily.get("daysOfTheMonth") or []])


def schedule_details(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """Frequency, times and days of an ARM schedulePolicy (V1 or V2), as the stack file states them."""
    frequency = schedule.get("scheduleRunFrequency")
    if frequency == "Hourly":
        hourly = schedule.get("hourlySchedule", {})
        return {"frequency": frequency, "intervalHours": hourly.get("interval"),
                "windowStart": _time_of_day(hourly.get("scheduleWindowStartTime")), "windowHours": hourly.get("scheduleWindowDuration")}
    inner = schedule.get("dailySchedule") or schedule.get("weeklySchedule") or {}
    times = schedule.get("scheduleRunTimes") or inner.get("scheduleRunTimes") or []
    days = schedule.get("scheduleRunDays") or inner.get("scheduleRunDays") or []
    details: dict[str, Any] = {"frequency": frequency, "time": ", ".join(_time_of_day(t) for t in times) or None}
    if frequency == "Weekly":
        details["days"] = list(days)
    return details


def _time_of_day(timestamp: Any) -> str | None:
    text = str(timestamp or "")
    return text[11:16] if "T" in text else (text or None)


# --- VMs -----------------------------------------------------------------------------------------


def _vms(by_type: Mapping[str, list], resources: list, outputs: Mapping[str, Any], settings: Mapping[str, Any],
         policy_names: Mapping[str, Any]) -> dict[str, Any]:
    vm_settings = {_name(vm.get("id")): vm for vm in settings.get("vms") or [] if isinstance(vm, Mapping)}
    items = {_name(item.get("inputs", {}).get("properties", {}).get("sourceResourceId")): item
             for item in by_type.get(PROTECTED_ITEM, [])}
    extensions = {ext.get("parent") for ext in by_type.get(EXTENSION, [])}
    installs = {r.get("name"): r for r in resources if str(r.get("name", "")).endswith(INSTALL_SUFFIX)}
    hooks_out = outputs.get("hooks") if isinstance(outputs.get("hooks"), Mapping) else {}
    uninstalling = _run_command_uninstalls(by_type.get(RUN_COMMAND, []))
    vms = {}
    for name in sorted(set(vm_settings) | set(items)):
        raw = vm_settings.get(name, {})
        item = items.get(name)
        item_properties = item.get("inputs", {}).get("properties", {}) if item else {}
        hooks = hooks_out.get(name) if isinstance(hooks_out.get(name), Mapping) else None
        consistency = raw.get("consistency") or ("application" if hooks else "crash")
        install = installs.get(f"hooks-{name}{INSTALL_SUFFIX}")
        vms[name] = {
            "protected": item is not None,
            "retired": bool(raw.get("retired", False)) or item_properties.get("protectionState") in RETIRED_STATES,
            "protectionState": item_properties.get("protectionState"),
            "disks": (item_properties.get("extendedProperties") or {}).get("diskExclusionProperties"),
            "protectedFromDestroy": bool(item and item.get("options", {}).get("protect")),
            "policy": policy_names.get(item_properties.get("policyId"), item_properties.get("policyId")) if item else raw.get("policy"),
            "consistency": consistency,
            "extension": "declared" if item and item.get("parent") in extensions else "left to Azure Backup",
            "hooksUninstall": name in uninstalling,
            "hooks": {
                "version": hooks.get("version"), "sha256": hooks.get("sha256"), "channel": hooks.get("channel", "ssh"),
                "settings": hook_settings(install.get("inputs", {}).get("stdin")) if install else None,
            } if hooks else None,
            "ssh": ssh_summary(raw.get("ssh")),
            **_extra(raw, _VM_KEYS),
        }
    return vms


def _run_command_uninstalls(run_commands: list[Mapping[str, Any]]) -> set[str]:
    """VMs whose hooks Run Command is the removal step (parameter IRISBACKUP_ACTION=uninstall)."""
    return {
        str(command.get("inputs", {}).get("vmName"))
        for command in run_commands
        if {"name": "IRISBACKUP_ACTION", "value": "uninstall"} in (command.get("inputs", {}).get("parameters") or [])
    }


def hook_settings(text: Any) -> dict[str, str] | None:
    """The key=value settings sent to install.sh (comments skipped); None when masked or absent."""
    if not isinstance(text, str):
        return None
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def ssh_summary(ssh: Any) -> dict[str, Any] | None:
    """The non-secret parts of a VM's SSH connection: where it goes and whether the host keys are pinned."""
    if not isinstance(ssh, Mapping):
        return None
    proxy = ssh.get("proxy") if isinstance(ssh.get("proxy"), Mapping) else None
    return {
        "host": ssh.get("host"), "user": ssh.get("user"), "port": ssh.get("port", 22),
        "hostKeyPinned": bool(ssh.get("hostKey")),
        "proxy": {"host": proxy.get("host"), "user": proxy.get("user"), "port": proxy.get("port", 22),
                  "hostKeyPinned": bool(proxy.get("hostKey"))} if proxy else None,
    }


# --- egress --------------------------------------------------------------------------------------


def _egress(rules: list[Mapping[str, Any]]) -> dict[str, Any]:
    """NSG name -> destination -> the rule, in priority order."""
    egress: dict[str, dict[str, Any]] = {}
    for rule in sorted(rules, key=lambda r: r.get("inputs", {}).get("priority", 0)):
        inputs = rule.get("inputs", {})
        egress.setdefault(str(inputs.get("networkSecurityGroupName")), {})[str(inputs.get("destinationAddressPrefix"))] = {
            "rule": f"{inputs.get('direction')} {inputs.get('access')} {inputs.get('protocol')}/{inputs.get('destinationPortRange')}",
            "source": inputs.get("sourceAddressPrefix"), "priority": inputs.get("priority"),
        }
    return egress


# --- helpers -------------------------------------------------------------------------------------


def _name(resource_id: Any) -> str:
    return str(resource_id or "").rstrip("/").rsplit("/", 1)[-1]


def _extra(section: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    """Settings of a section that the curated posture does not read (added by another feature)."""
    return {key: value for key, value in section.items() if key not in known} if isinstance(section, Mapping) else {}


def _unread(properties: Mapping[str, Any], read: tuple[str, ...]) -> dict[str, Any]:
    """`properties` without the dotted paths in `read`."""
    result: dict[str, Any] = {}
    for key, value in properties.items():
        inner = tuple(path.removeprefix(f"{key}.") for path in read if path.startswith(f"{key}."))
        if key in read:
            continue
        if inner and isinstance(value, Mapping):
            rest = _unread(value, inner)
            if rest:
                result[key] = rest
        else:
            result[key] = value
    return result


def _whole(number: float | None) -> Any:
    return int(number) if number is not None and float(number).is_integer() else number


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> leaf value; lists and empty mappings are leaves."""
    if isinstance(value, Mapping) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}
