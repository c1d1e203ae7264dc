"""The rules of the irisbackup backup-posture policy pack (CrossGuard), as plain importable code.

Each rule is a pulumi_policy ResourceValidationPolicy or StackValidationPolicy whose name is the rule
id. What a rule decides is a small function over the resource's properties (camelCase mappings, as
azure-native and pulumi-command send them), so the same code serves three callers:

- `pulumi preview --policy-pack policy` (policy/__main__.py builds the PolicyPack from RULES);
- the offline check of `make plan` / `make review` (policy/offline.py hands these very validate
  functions hand-built ResourceValidationArgs / StackValidationArgs from the offline plan);
- the tests.

Nearly self-contained: the Pulumi CLI runs the pack directory as a script (__main__.py puts the pack and
the repository root on sys.path), and the only program module imported is components/schedule.py - the
one RPO/retention calculation, pure and stdlib-only (tests keep the other shared constants equal).
Thresholds come from each rule's config schema (defaults a regulated production estate accepts);
`--policy-pack-config FILE` tunes them and overrides enforcement levels.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.schedule import field as _get
from components.schedule import number as _number
from components.schedule import rpo_hours, vault_retention_days
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PACK_NAME = "irisbackup-backup-posture"

# Facts shared with the program (components/settings.py); tests/policy keeps them equal.
AZURE_SCRIPT_TIMEOUT_CAP = 1800  # VMSnapshotPluginHost.conf: no pre/post script may run longer
IRIS_FREEZE_TIMEOUT_CAP = 1200  # reported maximum of IRIS's ExternalFreezeTimeOut
# Service tags a backup egress rule may name only with a region ("Storage.westeurope"): the global tag
# opens 443 to every storage account in every region.
REGIONAL_SERVICE_TAGS = ("Storage",)
# Global tags Microsoft documents for the backup agents (backup-azure-arm-vms-prepare); not needed by the
# snapshot extension itself, still acceptable destinations.
GLOBAL_SERVICE_TAGS = ("AzureBackup", "AzureActiveDirectory")
RETIRED_STATES = ("ProtectionStopped", "BackupsSuspended")  # components/parity_spec.py

VAULT = "azure-native:recoveryservices:Vault"
PROTECTION_POLICY = "azure-native:recoveryservices:ProtectionPolicy"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
EXTENSION = "azure-native:compute:VirtualMachineExtension"
SECURITY_RULE = "azure-native:network:SecurityRule"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
RESOURCE_GUARD_PROXY = "azure-native:recoveryservices:ResourceGuardProxy"
COMMAND = "command:remote:Command"
HOOKS_COMPONENT = "irisbackup:hooks:FreezeThawHooks"
# The Run Command delivery channel (components/run_command_hooks.py); its script reads the bundle
# identity and the action from public parameters and the settings from a protected one.
RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
RUN_COMMAND_HOOKS_COMPONENT = "irisbackup:hooks:RunCommandHooks"
RUN_COMMAND_PARAMETERS = {"action": "IRISBACKUP_ACTION", "version": "IRISBACKUP_BUNDLE_VERSION",
                          "sha256": "IRISBACKUP_BUNDLE_SHA256", "settings": "IRISBACKUP_SETTINGS"}

# Azure's built-in policy definitions (first 8 hex digits of the id) that a rule mirrors.
AZURE_BUILTIN_POLICIES = {
    "vault-soft-delete": "31b8092a",
    "vault-immutability": "d6f6f560",
    "vault-public-network-access": "9ebbbba3",
    "vault-cross-subscription-restore": "f19b0c83",
    "vault-storage-redundancy": "8f09fda1",
    "vault-customer-managed-key": "2e94d99a",
    "vault-diagnostic-settings": "c717fb0c",
    "coverage-protected-items": "013e242c",
}

_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Destinations that mean "anywhere": never acceptable for a backup egress rule.
_WILDCARD_DESTINATIONS = {"*", "any", "internet", "0.0.0.0/0", "::/0"}


# --- reading properties ------------------------------------------------------------------------
# The real engine hands rules read-only Mapping/Sequence proxies (and floats for every number), the
# offline check plain values; these helpers accept both.



def _list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []



def _show(value: Any) -> str:
    if value is None or value == "":
        return "not set"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _vm_name(resource_id: Any) -> str | None:
    if not isinstance(resource_id, str) or "/" not in resource_id:
        return None
    return resource_id.rstrip("/").rsplit("/", 1)[-1].lower() or None


# --- rule construction -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a resource rule decides on: the same fields from the real engine and the offline plan."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool


ResourceCheck = Callable[[Subject, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Mapping[str, Any], Mapping[str, str]], Iterable[tuple[str, str | None]]]


def rule_config(policy: Policy, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The schema defaults overlaid with the configured values (the CLI also applies the defaults)."""
    schema = policy.config_schema.properties if policy.config_schema else {}
    config = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    config.update({key: value for key, value in (given or {}).items() if key != "enforcementLevel"})
    return config


def _describe(rule_id: str, text: str) -> str:
    builtin = AZURE_BUILTIN_POLICIES.get(rule_id)
    return f"{text} (mirrors Azure Policy {builtin})" if builtin else text


def _resource_rule(rule_id: str, text: str, level: EnforcementLevel, types: tuple[str, ...], check: ResourceCheck,
                   remediation: str, properties: dict[str, dict[str, Any]] | None = None) -> ResourceValidationPolicy:
    policy: ResourceValidationPolicy

    def validate(args: ResourceValidationArgs, report_violation: Callable[..., None]) -> None:
        if args.resource_type not in types:
            return
        opts = getattr(args, "opts", None)
        subject = Subject(args.resource_type, args.name, args.urn, args.props, bool(getattr(opts, "protect", False)))
        for message in check(subject, rule_config(policy, args.get_config())):
            report_violation(message, None)

    policy = ResourceValidationPolicy(
        name=rule_id, description=_describe(rule_id, text), validate=validate, enforcement_level=level,
        config_schema=PolicyConfigSchema(properties or {}), remediation_steps=remediation,
    )
    return policy


def _stack_rule(rule_id: str, text: str, level: EnforcementLevel, check: StackCheck, remediation: str,
                properties: dict[str, dict[str, Any]] | None = None) -> StackValidationPolicy:
    policy: StackValidationPolicy

    def validate(args: StackValidationArgs, report_violation: Callable[..., None]) -> None:
        config = rule_config(policy, args.get_config())
        for message, urn in check(list(args.resources), config, args.stack_tags or {}):
            report_violation(message, urn)

    policy = StackValidationPolicy(
        name=rule_id, description=_describe(rule_id, text), validate=validate, enforcement_level=level,
        config_schema=PolicyConfigSchema(properties or {}), remediation_steps=remediation,
    )
    return policy


MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


def _integer(default: int, minimum: int, maximum: int | None = None, description: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "integer", "minimum": minimum, "default": default, "description": description}
    if maximum is not None:
        spec["maximum"] = maximum
    return spec


def _boolean(default: bool, description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "description": description}


def _names(default: list[str], description: str, allowed: Sequence[str] | None = None) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string"}
    if allowed:
        items["enum"] = list(allowed)
    return {"type": "array", "items": items, "default": default, "description": description}


# --- vault -------------------------------------------------------------------------------------


def _vault(subject: Subject) -> str:
    return f"vault {_get(subject.props, 'vaultName') or subject.name}"


def check_vault_soft_delete(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    settings = _get(subject.props, "properties", "securitySettings", "softDeleteSettings")
    state, days = _get(settings, "softDeleteState"), _number(_get(settings, "softDeleteRetentionPeriodInDays"))
    allowed = ["AlwaysON"] if config["requireAlwaysOn"] else ["AlwaysON", "Enabled"]
    problems = []
    if state not in allowed:
        problems.append(f"{_vault(subject)}: soft delete is {_show(state)}; set vault.softDelete.state to "
                        f"{' or '.join(allowed)} so deleted backup data stays recoverable")
    if days is None or days < config["minRetentionDays"]:
        problems.append(f"{_vault(subject)}: soft-deleted backup data is kept {_show(days)} days; set "
                        f"vault.softDelete.retentionDays to at least {config['minRetentionDays']}")
    return problems


def check_vault_immutability(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    state = _get(subject.props, "properties", "securitySettings", "immutabilitySettings", "state")
    allowed = ["Locked"] if config["requireLocked"] else ["Unlocked", "Locked"]
    if state in allowed:
        return []
    return [f"{_vault(subject)}: immutability is {_show(state)}; set vault.immutability to {' or '.join(allowed)} "
            "so recovery points cannot be deleted before they expire"]


def check_vault_public_network_access(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    access = _get(subject.props, "properties", "publicNetworkAccess")
    if access == "Disabled":
        return []
    return [f"{_vault(subject)}: public network access is {_show(access)} (Azure enables it when unset); "
            "set vault.publicNetworkAccess: Disabled"]


def check_vault_cross_subscription_restore(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    state = _get(subject.props, "properties", "restoreSettings", "crossSubscriptionRestoreSettings",
                 "crossSubscriptionRestoreState")
    if state in ("Disabled", "PermanentlyDisabled"):
        return []
    return [f"{_vault(subject)}: cross-subscription restore is {_show(state)} (Azure enables it when unset); "
            "set vault.crossSubscriptionRestore: Disabled (or PermanentlyDisabled)"]


def check_vault_storage_redundancy(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    redundancy = _get(subject.props, "properties", "redundancySettings", "standardTierStorageRedundancy")
    allowed = list(config["allowed"])
    if redundancy in allowed:
        return []
    return [f"{_vault(subject)}: storage redundancy is {_show(redundancy)}; set vault.storageRedundancy to one of "
            f"{', '.join(allowed)}"]


def check_vault_customer_managed_key(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    if _get(subject.props, "properties", "encryption", "keyVaultProperties", "keyUri"):
        return []
    return [f"{_vault(subject)}: backup data is encrypted with a platform-managed key; set "
            "vault.customerManagedKey (keyUri and a user-assigned identityId) to use your own key"]


def check_vault_job_failure_alerts(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    state = _get(subject.props, "properties", "monitoringSettings", "azureMonitorAlertSettings", "alertsForAllJobFailures")
    if state == "Enabled":
        return []
    return [f"{_vault(subject)}: Azure Monitor alerts for failed backup jobs are {_show(state)}; set "
            "vault.jobFailureAlerts: true so a failed (or non-consistent) backup is noticed"]


def check_vault_diagnostic_settings(resources: list[PolicyResource], config: Mapping[str, Any],
                                    stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    problems = []
    for vault in (r for r in resources if r.resource_type == VAULT):
        exported = [
            r for r in resources
            if r.resource_type == DIAGNOSTIC_SETTING and any(d.urn == vault.urn for d in r.dependencies)
            and _get(r.props, "workspaceId")
        ]
        if not exported:
            name = _get(vault.props, "vaultName") or vault.name
            problems.append((f"vault {name}: no diagnostic setting sends its backup logs to a Log Analytics workspace; "
                             "set vault.diagnostics.workspaceId", vault.urn))
    return problems


def _unguarded_vaults(resources: list[PolicyResource]) -> list[PolicyResource]:
    """Vaults no ResourceGuardProxy of the stack links to a resource guard (multi-user authorization)."""
    guarded = set()
    for proxy in (r for r in resources if r.resource_type == RESOURCE_GUARD_PROXY):
        guard = str(_get(proxy.props, "properties", "resourceGuardResourceId") or "")
        if "/providers/microsoft.dataprotection/resourceguards/" in guard.lower():
            guarded |= {d.urn for d in proxy.dependencies} | {_get(proxy.props, "vaultName")}
    return [v for v in resources if v.resource_type == VAULT and not {v.urn, _get(v.props, "vaultName")} & guarded]


def _guard_violations(resources: list[PolicyResource]) -> list[tuple[str, str | None]]:
    return [(f"vault {_get(v.props, 'vaultName') or v.name} is not linked to a resource guard (multi-user "
             "authorization), so a compromised Contributor can disable soft delete or stop protection and delete "
             "backup data without a second person; set vault.resourceGuardId to the security team's resource guard",
             v.urn) for v in _unguarded_vaults(resources)]


def check_vault_multi_user_authorization(resources: list[PolicyResource], config: Mapping[str, Any],
                                         stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    # Production stacks are the mandatory twin's (vault-multi-user-authorization-production).
    return [] if is_production(resources, config, stack_tags) else _guard_violations(resources)


def check_vault_multi_user_authorization_production(resources: list[PolicyResource], config: Mapping[str, Any],
                                                    stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    return _guard_violations(resources) if is_production(resources, config, stack_tags) else []


# --- backup policies ---------------------------------------------------------------------------


def _vm_policy_properties(subject: Subject) -> Mapping[str, Any] | None:
    properties = _get(subject.props, "properties")
    return properties if _get(properties, "backupManagementType") == "AzureIaasVM" else None


def _policy(subject: Subject) -> str:
    return f"backup policy {_get(subject.props, 'policyName') or subject.name}"


def check_policy_rpo(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if properties is None:
        return []
    # As Azure schedules it: an Hourly policy's window matters (components/schedule.py).
    hours = rpo_hours(properties)
    if hours is not None and hours <= config["maxHours"]:
        return []
    return [f"{_policy(subject)}: the longest gap between two scheduled recovery points is {_show(hours)} hours, "
            f"more than the RPO of {config['maxHours']} h; schedule it Daily, or Hourly with intervalHours and "
            f"windowHours that leave no gap over {config['maxHours']} h"]


def check_policy_daily_retention(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if properties is None:
        return []
    days = vault_retention_days(properties)
    if days is not None and days >= config["minDays"]:
        return []
    return [f"{_policy(subject)}: the daily recovery point is kept {_show(days)} days in the vault; set "
            f"retention.dailyDays to at least {config['minDays']}"]


def check_policy_instant_restore(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if properties is None:
        return []
    days = _number(_get(properties, "instantRpRetentionRangeInDays"))
    if days is not None and days >= config["minDays"]:
        return []
    return [f"{_policy(subject)}: instant-restore snapshots are kept {_show(days)} days; set instantRestoreDays to at "
            f"least {config['minDays']}"]


def check_policy_not_crash_consistent_only(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if _get(properties, "snapshotConsistencyType") != "OnlyCrashConsistent":
        return []
    return [f"{_policy(subject)}: snapshotConsistencyType OnlyCrashConsistent skips the freeze/thaw hooks and "
            "never gives an application-consistent IRIS backup; remove snapshotConsistencyType"]


def is_production(resources: list[PolicyResource], config: Mapping[str, Any], stack_tags: Mapping[str, str]) -> bool:
    """`production` in the rule's config when set; otherwise the `environment` stack tag or vault tag."""
    if config.get("production") is not None:
        return bool(config["production"])
    environments = {str(name).lower() for name in config["productionEnvironments"]}
    candidates = [stack_tags.get("environment")]
    candidates += [_get(r.props, "tags", "environment") for r in resources if r.resource_type == VAULT]
    return any(str(value).lower() in environments for value in candidates if value)


def check_policy_long_term_retention(resources: list[PolicyResource], config: Mapping[str, Any],
                                     stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    if not is_production(resources, config, stack_tags):
        return []
    problems = []
    for policy in (r for r in resources if r.resource_type == PROTECTION_POLICY):
        properties = _get(policy.props, "properties")
        if _get(properties, "backupManagementType") != "AzureIaasVM":
            continue
        name = _get(policy.props, "policyName") or policy.name
        retention = _get(properties, "retentionPolicy")
        for tier, unit, key, minimum in (("monthlySchedule", "months", "monthly", config["minMonths"]),
                                         ("yearlySchedule", "years", "yearly", config["minYears"])):
            count = _number(_get(retention, tier, "retentionDuration", "count"))
            if count is None or count < minimum:
                kept = f"{_show(count)} {unit}" if count is not None else "not at all"
                problems.append((f"backup policy {name}: this production stack keeps {key} recovery points {kept}; "
                                 f"set retention.{key}.{unit} to at least {minimum}", policy.urn))
    return problems


# --- coverage ----------------------------------------------------------------------------------


def _item_vm(item: PolicyResource) -> str | None:
    """The VM a protected item backs up: its sourceResourceId, else its ProtectedVm parent's name."""
    name = _vm_name(_get(item.props, "properties", "sourceResourceId"))
    if name:
        return name
    if item.parent is not None:
        return item.parent.name.lower()
    return item.name.removesuffix("-protected-item").lower()


def _hooks_vm(resource: PolicyResource) -> str | None:
    """The VM a freeze/thaw hooks deployment is for: component `hooks-<vm>`, SSH install
    `hooks-<vm>-install` or run command `hooks-<vm>-runcommand`."""
    if resource.resource_type in (HOOKS_COMPONENT, RUN_COMMAND_HOOKS_COMPONENT) and resource.name.startswith("hooks-"):
        return resource.name.removeprefix("hooks-").lower()
    if _is_hooks_install(resource.resource_type, resource.name, resource.urn) or _is_hooks_run_command(
            resource.resource_type, resource.name, resource.urn):
        return resource.name.removeprefix("hooks-").removesuffix("-install").removesuffix("-runcommand").lower()
    return None


def _is_hooks_install(resource_type: str, name: str, urn: str) -> bool:
    return (resource_type == COMMAND and name.startswith("hooks-") and name.endswith("-install")
            and f"{HOOKS_COMPONENT}$" in (urn or ""))


def _is_hooks_run_command(resource_type: str, name: str, urn: str) -> bool:
    return (resource_type == RUN_COMMAND and name.startswith("hooks-") and name.endswith("-runcommand")
            and f"{RUN_COMMAND_HOOKS_COMPONENT}$" in (urn or ""))


def _run_command_parameter(props: Any, key: str, protected: bool = False) -> Any:
    """A run command parameter's value by our name for it (RUN_COMMAND_PARAMETERS)."""
    found = [_get(p, "value") for p in _list(_get(props, "protectedParameters" if protected else "parameters"))
             if _get(p, "name") == RUN_COMMAND_PARAMETERS[key]]
    return found[0] if found else None


def _installs_hooks(resource: PolicyResource) -> bool:
    """An SSH install command, or a run command whose action is install (not the uninstall step)."""
    if _is_hooks_install(resource.resource_type, resource.name, resource.urn):
        return True
    return (_is_hooks_run_command(resource.resource_type, resource.name, resource.urn)
            and _run_command_parameter(resource.props, "action") == "install")


def check_coverage_protected_items(resources: list[PolicyResource], config: Mapping[str, Any],
                                   stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    problems: list[tuple[str, str | None]] = []
    vault_urns = {r.urn for r in resources if r.resource_type == VAULT}
    vault_names = {_get(r.props, "vaultName") for r in resources if r.resource_type == VAULT} - {None}
    protected: set[str] = set()
    for item in (r for r in resources if r.resource_type == PROTECTED_ITEM):
        vm = _item_vm(item)
        if vm:
            protected.add(vm)
        in_stack_vault = any(d.urn in vault_urns for d in item.dependencies) or _get(item.props, "vaultName") in vault_names
        if not in_stack_vault:
            problems.append((f"protected item {item.name} (VM {vm}) is not in a vault of this stack; "
                             "declare the vault in this stack and pass it to the protected item", item.urn))
    # Every VM the stack knows of: extensions and hooks it deploys, and the VMs the config names.
    known: dict[str, str | None] = {str(vm).lower(): None for vm in config["requiredVms"]}
    for resource in resources:
        vm = _get(resource.props, "vmName") if resource.resource_type == EXTENSION else _hooks_vm(resource)
        if isinstance(vm, str) and vm:
            if known.get(vm.lower()) is None:
                known[vm.lower()] = resource.urn
    for vm in sorted(set(known) - protected):
        problems.append((f"VM {vm} is part of this stack but has no protected item in its vault (Azure Backup is "
                         "not enabled for it); list it under vms with a policy", known[vm]))
    return problems


def _is_retired(item: PolicyResource) -> bool:
    """A retired VM's item takes no more backups, so it needs no hooks (docs/vm-lifecycle.md)."""
    return _get(item.props, "properties", "protectionState") in RETIRED_STATES


def check_coverage_hooks(resources: list[PolicyResource], config: Mapping[str, Any],
                         stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    crash_consistent = {str(vm).lower() for vm in config["crashConsistentVms"]}
    problems = []
    for item in (r for r in resources if r.resource_type == PROTECTED_ITEM):
        vm = _item_vm(item)
        if vm in crash_consistent or _is_retired(item):
            continue
        hooked = any(_hooks_vm(d) == vm and _installs_hooks(d) for d in item.dependencies)
        if not hooked:
            problems.append((f"protected item {item.name}: VM {vm} has no freeze/thaw hooks deployment (hooks-{vm}-install "
                             f"over SSH or hooks-{vm}-runcommand installing through Run Command) that its protection "
                             "depends on, so its backups are only crash-consistent; give the VM ssh or delivery: "
                             "runCommand, or mark it explicitly with consistency: crash", item.urn))
    return problems


# --- network -----------------------------------------------------------------------------------


def _egress_destination_problem(destination: str, config: Mapping[str, Any]) -> str | None:
    base, _, region = destination.partition(".")
    if destination.lower() in _WILDCARD_DESTINATIONS:
        return f"wildcard destination {destination}"
    if base in config["regionalServiceTags"]:
        # Storage.westeurope, never the global Storage tag (every storage account in every region).
        return None if region.isalnum() else (f"destination {destination} is the global {base} tag (every region), "
                                              "not the vault's region")
    if destination in config["allowedServiceTags"]:
        return None
    return f"destination {destination} is not a backup service tag"


def check_network_egress_only(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    props = subject.props
    rule = f"security rule {_get(props, 'securityRuleName') or subject.name}"
    allowed = [f"{tag}.<region>" for tag in config["regionalServiceTags"]] + list(config["allowedServiceTags"])
    problems = []
    if _get(props, "direction") != "Outbound":
        problems.append(f"{rule}: direction is {_show(_get(props, 'direction'))}; the backup needs no inbound access, "
                        "remove the rule or make it Outbound")
    if _get(props, "access") != "Allow":
        problems.append(f"{rule}: access is {_show(_get(props, 'access'))}; backup egress rules only Allow")
    if _get(props, "protocol") != "Tcp":
        problems.append(f"{rule}: protocol is {_show(_get(props, 'protocol'))}; use Tcp")
    ports = [p for p in [_get(props, "destinationPortRange"), *_list(_get(props, "destinationPortRanges"))] if p is not None]
    if [str(p) for p in ports] != ["443"]:
        problems.append(f"{rule}: destination ports are {', '.join(map(str, ports)) or 'not set'}; allow only 443")
    destinations = [str(d) for d in [_get(props, "destinationAddressPrefix"), *_list(_get(props, "destinationAddressPrefixes"))]
                    if d is not None]
    if not destinations:
        problems.append(f"{rule}: no destination; set one of the service tags {', '.join(allowed)}")
    for destination in destinations:
        if problem := _egress_destination_problem(destination, config):
            problems.append(f"{rule}: {problem}; use one of {', '.join(allowed)}")
    return problems


# --- hooks -------------------------------------------------------------------------------------


def parse_hook_settings(text: Any) -> dict[str, str]:
    """The key=value settings install.sh reads on stdin (comments and blank lines ignored)."""
    values = {}
    for line in str(text or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _hooks(subject: Subject) -> str:
    return f"hooks of VM {subject.name.removeprefix('hooks-').removesuffix('-install').removesuffix('-runcommand')}"


def _installed_settings(subject: Subject) -> Any:
    """The settings text install.sh reads: stdin of the SSH install, the protected parameter of the
    run command; None when the subject installs no hooks (other resources, the uninstall step)."""
    if _is_hooks_install(subject.type, subject.name, subject.urn):
        return _get(subject.props, "stdin")
    if (_is_hooks_run_command(subject.type, subject.name, subject.urn)
            and _run_command_parameter(subject.props, "action") == "install"):
        return _run_command_parameter(subject.props, "settings", protected=True) or ""
    return None


def check_hooks_plugin_config(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    text = _installed_settings(subject)
    if text is None:
        return []
    settings = parse_hook_settings(text)
    where = _hooks(subject)
    problems = []
    required = config.get("continueBackupOnFailure")
    wanted = None if required is None else ("true" if required else "false")
    actual = settings.get("continue_backup_on_failure")
    if actual not in ("true", "false") or (wanted is not None and actual != wanted):
        problems.append(f"{where}: continueBackupOnFailure is {_show(actual)}; this estate requires {wanted or 'true or false'} "
                        f"(set vms[].hooks.continueBackupOnFailure: {wanted or 'true or false'})")
    seconds = {key: _number(settings.get(key)) for key in (
        "azure_timeout_seconds", "freeze_budget_seconds", "wd_suspend_limit_seconds", "external_freeze_timeout_seconds")}
    if missing := [key for key, value in seconds.items() if value is None]:
        return problems + [f"{where}: the plugin settings lack {', '.join(missing)}; the hooks need every timeout"]
    azure, budget = seconds["azure_timeout_seconds"], seconds["freeze_budget_seconds"]
    wd_limit, freeze_timeout = seconds["wd_suspend_limit_seconds"], seconds["external_freeze_timeout_seconds"]
    azure_cap = min(config["maxAzureTimeoutSeconds"], AZURE_SCRIPT_TIMEOUT_CAP)
    if not 1 <= azure <= azure_cap:  # type: ignore[operator]
        problems.append(f"{where}: timeoutInSeconds (azureTimeoutSeconds) is {_show(azure)}; Azure caps a script at "
                        f"{AZURE_SCRIPT_TIMEOUT_CAP} s and this estate at {azure_cap} s; lower vms[].hooks.azureTimeoutSeconds")
    if budget > config["maxFreezeBudgetSeconds"]:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds is {_show(budget)}; IRIS may stay frozen at most "
                        f"{config['maxFreezeBudgetSeconds']} s; lower vms[].hooks.freezeBudgetSeconds")
    if not azure < budget:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds ({_show(budget)}) must exceed azureTimeoutSeconds ({_show(azure)}) "
                        "so the watchdog outlasts Azure's wait")
    if not budget < wd_limit:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds ({_show(budget)}) must stay below IRIS's own auto-thaw "
                        f"wdSuspendLimitSeconds ({_show(wd_limit)})")
    if not wd_limit < freeze_timeout:  # type: ignore[operator]
        problems.append(f"{where}: wdSuspendLimitSeconds ({_show(wd_limit)}) must stay below "
                        f"externalFreezeTimeoutSeconds ({_show(freeze_timeout)})")
    if freeze_timeout > IRIS_FREEZE_TIMEOUT_CAP:  # type: ignore[operator]
        problems.append(f"{where}: externalFreezeTimeoutSeconds is {_show(freeze_timeout)}; IRIS accepts at most "
                        f"{IRIS_FREEZE_TIMEOUT_CAP} s")
    return problems


def check_hooks_version_pinned(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    if _is_hooks_install(subject.type, subject.name, subject.urn):
        triggers = [str(t) for t in _list(_get(subject.props, "triggers"))]
        if any(_SEMVER.fullmatch(t) for t in triggers) and any(_SHA256.fullmatch(t) for t in triggers):
            return []
        return [f"{_hooks(subject)}: the install is not pinned to a bundle version and sha256 (triggers: "
                f"{', '.join(triggers) or 'none'}); deploy the hooks through FreezeThawHooks, whose triggers are "
                "[version, sha256]"]
    if _installed_settings(subject) is None:
        return []
    # The run command's script checks that these parameters name the bundle it carries.
    version, sha256 = (str(_run_command_parameter(subject.props, key) or "") for key in ("version", "sha256"))
    if _SEMVER.fullmatch(version) and _SHA256.fullmatch(sha256):
        return []
    return [f"{_hooks(subject)}: the run command is not pinned to a bundle version and sha256 (parameters "
            f"{RUN_COMMAND_PARAMETERS['version']}={_show(version)}, {RUN_COMMAND_PARAMETERS['sha256']}={_show(sha256)}); "
            "deploy the hooks through RunCommandHooks"]


# --- data safety -------------------------------------------------------------------------------


def check_data_safety_protect(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    environment = str(_get(subject.props, "tags", "environment") or "").lower()
    if subject.type == VAULT and config["allowDestroy"] and environment in {"prod", "production"}:
        # allowDestroy is for throwaway stacks; a vault tagged as production never is one.
        return [f"{_vault(subject)} is tagged environment={environment} but the stack sets allowDestroy: true, "
                "so `pulumi destroy` could delete production backup data; set allowDestroy: false"]
    if subject.protect or config["allowDestroy"]:
        return []
    what = _vault(subject) if subject.type == VAULT else f"protected item {subject.name}"
    return [f"{what} is not protected from deletion, so `pulumi destroy` would delete backup data; keep protect=True "
            "(settings allowDestroy: false); only a throwaway stack may set allowDestroy: true"]


# --- the pack ----------------------------------------------------------------------------------

_PRODUCTION_PROPERTIES = {
    "production": {"type": ["boolean", "null"],
                   "description": "Treat the stack as production (true/false); unset: decide by the environment tag"},
    "productionEnvironments": _names(["prod", "production"], "environment tag values (stack or vault tag) that mean production"),
}

RULES: list[Policy] = [
    _resource_rule(
        "vault-soft-delete", "Vault soft delete is enabled or always on, with a minimum retention",
        MANDATORY, (VAULT,), check_vault_soft_delete,
        "Set vault.softDelete.state AlwaysON (or Enabled) and retentionDays at least minRetentionDays.",
        {"minRetentionDays": _integer(14, 14, 180, "days soft-deleted backup data must be kept (Azure: 14-180)"),
         "requireAlwaysOn": _boolean(False, "accept only AlwaysON (irreversible) soft delete")}),
    _resource_rule(
        "vault-immutability", "Vault immutability is enabled", MANDATORY, (VAULT,), check_vault_immutability,
        "Set vault.immutability Unlocked or Locked (Locked cannot be undone).",
        {"requireLocked": _boolean(False, "accept only Locked (irreversible) immutability")}),
    _resource_rule(
        "vault-public-network-access", "Vault public network access is disabled", MANDATORY, (VAULT,),
        check_vault_public_network_access, "Set vault.publicNetworkAccess Disabled."),
    _resource_rule(
        "vault-cross-subscription-restore", "Vault cross-subscription restore is disabled", MANDATORY, (VAULT,),
        check_vault_cross_subscription_restore, "Set vault.crossSubscriptionRestore Disabled or PermanentlyDisabled."),
    _resource_rule(
        "vault-storage-redundancy", "Vault storage redundancy is one of the allowed kinds", MANDATORY, (VAULT,),
        check_vault_storage_redundancy, "Set vault.storageRedundancy to an allowed kind.",
        {"allowed": _names(["GeoRedundant", "ZoneRedundant"], "storage redundancy kinds accepted",
                           ["GeoRedundant", "ZoneRedundant", "LocallyRedundant"])}),
    _resource_rule(
        "vault-customer-managed-key", "Vault encrypts backup data with a customer-managed key", ADVISORY, (VAULT,),
        check_vault_customer_managed_key, "Set vault.customerManagedKey (keyUri, identityId)."),
    _resource_rule(
        "vault-job-failure-alerts", "Vault raises Azure Monitor alerts for every failed backup job", MANDATORY, (VAULT,),
        check_vault_job_failure_alerts, "Set vault.jobFailureAlerts true (the default)."),
    _stack_rule(
        "vault-diagnostic-settings", "Every vault sends its backup logs to Log Analytics", ADVISORY,
        check_vault_diagnostic_settings, "Set vault.diagnostics.workspaceId."),
    _stack_rule(
        "vault-multi-user-authorization", "Vaults of non-production stacks are linked to a resource guard", ADVISORY,
        check_vault_multi_user_authorization, "Set vault.resourceGuardId.", dict(_PRODUCTION_PROPERTIES)),
    _stack_rule(
        "vault-multi-user-authorization-production", "Vaults of production stacks are linked to a resource guard",
        MANDATORY, check_vault_multi_user_authorization_production, "Set vault.resourceGuardId.",
        dict(_PRODUCTION_PROPERTIES)),
    _resource_rule(
        "policy-rpo", "Backup policies leave no gap over maxHours hours between scheduled recovery points", MANDATORY,
        (PROTECTION_POLICY,), check_policy_rpo,
        "Schedule the policy Daily, or Hourly with an interval and window that leave no longer gap.",
        {"maxHours": _integer(24, 1, None, "longest accepted time between two recovery points (RPO), in hours")}),
    _resource_rule(
        "policy-daily-retention", "Backup policies keep the daily (vault) recovery point at least minDays days", MANDATORY,
        (PROTECTION_POLICY,), check_policy_daily_retention, "Raise retention.dailyDays.",
        {"minDays": _integer(30, 1, None, "shortest accepted daily retention, in days")}),
    _resource_rule(
        "policy-instant-restore", "Backup policies keep instant-restore snapshots at least minDays days", MANDATORY,
        (PROTECTION_POLICY,), check_policy_instant_restore, "Raise instantRestoreDays.",
        {"minDays": _integer(2, 1, 30, "shortest accepted instant-restore retention, in days (Azure: 1-5 V1, 1-30 V2)")}),
    _stack_rule(
        "policy-long-term-retention", "Production backup policies keep monthly and yearly recovery points", ADVISORY,
        check_policy_long_term_retention, "Add retention.monthly and retention.yearly to the production policies.",
        {**_PRODUCTION_PROPERTIES,
         "minMonths": _integer(12, 1, None, "shortest accepted monthly retention, in months"),
         "minYears": _integer(1, 1, None, "shortest accepted yearly retention, in years")}),
    _resource_rule(
        "policy-not-crash-consistent-only", "Backup policies never restrict snapshots to crash consistency",
        MANDATORY, (PROTECTION_POLICY,), check_policy_not_crash_consistent_only,
        "Remove snapshotConsistencyType OnlyCrashConsistent."),
    _stack_rule(
        "coverage-protected-items", "Every VM of the stack is protected by a vault of the stack", MANDATORY,
        check_coverage_protected_items, "List every VM under vms, with a policy of the stack's vault.",
        {"requiredVms": _names([], "VM names that must have a protected item (the offline check fills in the stack's vms)")}),
    _stack_rule(
        "coverage-hooks", "Every protected VM depends on its freeze/thaw hooks unless marked crash-consistent",
        MANDATORY, check_coverage_hooks, "Give the VM ssh or delivery: runCommand, or set its consistency: crash.",
        {"crashConsistentVms": _names([], "VM names explicitly backed up without hooks (settings vms[].consistency: crash)")}),
    _resource_rule(
        "network-egress-only", "NSG rules only allow outbound TCP 443 to regional backup service tags", MANDATORY,
        (SECURITY_RULE,), check_network_egress_only, "Keep only Outbound Allow Tcp 443 rules to the service tags.",
        {"regionalServiceTags": _names(list(REGIONAL_SERVICE_TAGS), "service tags accepted only as <tag>.<region>"),
         "allowedServiceTags": _names(list(GLOBAL_SERVICE_TAGS), "global service tags accepted as they are")}),
    _resource_rule(
        "hooks-plugin-config", "Freeze/thaw hook settings keep Azure's and IRIS's time limits and the failure mode",
        MANDATORY, (COMMAND, RUN_COMMAND), check_hooks_plugin_config, "Adjust vms[].hooks timeouts and continueBackupOnFailure.",
        # Unset by default: the program's default (true: a file-system-consistent backup, labelled so by Azure,
        # beats a missed one) passes; an estate may require false (a failed freeze fails the job) or true.
        {"continueBackupOnFailure": {"type": ["boolean", "null"], "default": None,
                                     "description": "required continueBackupOnFailure; unset: either, as long as it is set"},
         "maxAzureTimeoutSeconds": _integer(AZURE_SCRIPT_TIMEOUT_CAP, 1, AZURE_SCRIPT_TIMEOUT_CAP,
                                            "longest accepted timeoutInSeconds (Azure's cap: 1800)"),
         "maxFreezeBudgetSeconds": _integer(300, 1, IRIS_FREEZE_TIMEOUT_CAP, "longest accepted freeze of IRIS, in seconds")}),
    _resource_rule(
        "hooks-version-pinned", "The deployed freeze/thaw bundle is pinned by version and sha256", MANDATORY,
        (COMMAND, RUN_COMMAND), check_hooks_version_pinned,
        "Deploy hooks through FreezeThawHooks (triggers [version, sha256]) or RunCommandHooks (bundle parameters)."),
    _resource_rule(
        "data-safety-protect", "Vaults and protected items are protected from deletion unless the stack allows destroy",
        MANDATORY, (VAULT, PROTECTED_ITEM), check_data_safety_protect, "Keep protect=True (allowDestroy: false).",
        {"allowDestroy": _boolean(False, "the stack may be destroyed with its backup data (settings allowDestroy)")}),
]

RULES_BY_ID = {rule.name: rule for rule in RULES}
