"""The rules of the irisbackup backup-posture policy pack (CrossGuard), as plain importable code.

Each rule is a pulumi_policy ResourceValidationPolicy or StackValidationPolicy whose name is the rule
id. What a rule decides is a small function over the resource's properties (camelCase mappings, as
azure-native and pulumi-command send them), so the same code serves three callers:

- `pulumi preview --policy-pack policy` (policy/__main__.py builds the PolicyPack from RULES);
- the offline check of `make plan` / `make review` (policy/offline.py hands these very validate
  functions hand-built ResourceValidationArgs / StackValidationArgs from the offline plan);
- the tests.

This module holds the vault, backup policy, network and data-safety checks and assembles RULES;
rule_kit.py reads properties and builds rules, hook_rules.py checks coverage and the freeze/thaw hooks.

Nearly self-contained: the Pulumi CLI runs the pack directory as a script (__main__.py imports it as the
`policy` package), and the only program module imported is irisbackup/schedule.py - the one
RPO/retention calculation, pure and stdlib-only (tests keep the other shared constants equal).
Thresholds come from each rule's config schema (defaults a regulated production estate accepts);
`--policy-pack-config FILE` tunes them and overrides enforcement levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irisbackup.schedule import field as _get
from irisbackup.schedule import number as _number
from irisbackup.schedule import rpo_hours, vault_retention_days
from pulumi_policy import Policy, PolicyResource

from .hook_rules import (
    AZURE_SCRIPT_TIMEOUT_CAP,
    COMMAND,
    IRIS_FREEZE_TIMEOUT_CAP,
    RUN_COMMAND,
    check_coverage_hooks,
    check_coverage_protected_items,
    check_hooks_plugin_config,
    check_hooks_version_pinned,
)
from .rule_kit import (
    ADVISORY,
    DIAGNOSTIC_SETTING,
    MANDATORY,
    PROTECTED_ITEM,
    PROTECTION_POLICY,
    RESOURCE_GUARD_PROXY,
    SECURITY_RULE,
    VAULT,
    Subject,
    as_list,
    boolean_config,
    integer_config,
    names_config,
    resource_rule,
    show,
    stack_rule,
)

PACK_NAME = "irisbackup-backup-posture"

# Without allowedDestinations (the stack's exact set per NSG, which the offline check and --write-policy-config
# fill in from irisbackup/network/egress_spec.py), the generic check. Tags accepted only with a region
# ("Storage.WestEurope"): the global tags open 443 to every storage account / every Azure IP in every region.
REGIONAL_SERVICE_TAGS = ("Storage", "AzureCloud")
# Global tags: Azure Monitor Agent needs AzureMonitor and AzureResourceManager, Key Vault credentials
# AzureKeyVault; AzureBackup and AzureActiveDirectory are Microsoft's list for the backup agents
# (backup-azure-arm-vms-prepare).
GLOBAL_SERVICE_TAGS = ("AzureBackup", "AzureActiveDirectory", "AzureMonitor", "AzureResourceManager", "AzureKeyVault")
# Destinations that mean "anywhere": never acceptable for a backup egress rule.
_WILDCARD_DESTINATIONS = {"*", "any", "internet", "0.0.0.0/0", "::/0"}


# --- vault -------------------------------------------------------------------------------------


def _vault(subject: Subject) -> str:
    return f"vault {_get(subject.props, 'vaultName') or subject.name}"


def check_vault_soft_delete(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    settings = _get(subject.props, "properties", "securitySettings", "softDeleteSettings")
    state, days = _get(settings, "softDeleteState"), _number(_get(settings, "softDeleteRetentionPeriodInDays"))
    allowed = ["AlwaysON"] if config["requireAlwaysOn"] else ["AlwaysON", "Enabled"]
    problems = []
    if state not in allowed:
        problems.append(f"{_vault(subject)}: soft delete is {show(state)}; set vault.softDelete.state to "
                        f"{' or '.join(allowed)} so deleted backup data stays recoverable")
    if days is None or days < config["minRetentionDays"]:
        problems.append(f"{_vault(subject)}: soft-deleted backup data is kept {show(days)} days; set "
                        f"vault.softDelete.retentionDays to at least {config['minRetentionDays']}")
    return problems


def check_vault_immutability(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    state = _get(subject.props, "properties", "securitySettings", "immutabilitySettings", "state")
    allowed = ["Locked"] if config["requireLocked"] else ["Unlocked", "Locked"]
    if state in allowed:
        return []
    return [f"{_vault(subject)}: immutability is {show(state)}; set vault.immutability to {' or '.join(allowed)} "
            "so recovery points cannot be deleted before they expire"]


def check_vault_public_network_access(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    access = _get(subject.props, "properties", "publicNetworkAccess")
    if access == "Disabled":
        return []
    return [f"{_vault(subject)}: public network access is {show(access)} (Azure enables it when unset); "
            "set vault.publicNetworkAccess: Disabled"]


def check_vault_cross_subscription_restore(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    state = _get(subject.props, "properties", "restoreSettings", "crossSubscriptionRestoreSettings",
                 "crossSubscriptionRestoreState")
    if state in ("Disabled", "PermanentlyDisabled"):
        return []
    return [f"{_vault(subject)}: cross-subscription restore is {show(state)} (Azure enables it when unset); "
            "set vault.crossSubscriptionRestore: Disabled (or PermanentlyDisabled)"]


def check_vault_storage_redundancy(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    redundancy = _get(subject.props, "properties", "redundancySettings", "standardTierStorageRedundancy")
    allowed = list(config["allowed"])
    if redundancy in allowed:
        return []
    return [f"{_vault(subject)}: storage redundancy is {show(redundancy)}; set vault.storageRedundancy to one of "
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
    return [f"{_vault(subject)}: Azure Monitor alerts for failed backup jobs are {show(state)}; set "
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
    # As Azure schedules it: an Hourly policy's window matters (irisbackup/schedule.py).
    hours = rpo_hours(properties)
    if hours is not None and hours <= config["maxHours"]:
        return []
    return [f"{_policy(subject)}: the longest gap between two scheduled recovery points is {show(hours)} hours, "
            f"more than the RPO of {config['maxHours']} h; schedule it Daily, or Hourly with intervalHours and "
            f"windowHours that leave no gap over {config['maxHours']} h"]


def check_policy_daily_retention(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if properties is None:
        return []
    days = vault_retention_days(properties)
    if days is not None and days >= config["minDays"]:
        return []
    return [f"{_policy(subject)}: the daily recovery point is kept {show(days)} days in the vault; set "
            f"retention.dailyDays to at least {config['minDays']}"]


def check_policy_instant_restore(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if properties is None:
        return []
    days = _number(_get(properties, "instantRpRetentionRangeInDays"))
    if days is not None and days >= config["minDays"]:
        return []
    return [f"{_policy(subject)}: instant-restore snapshots are kept {show(days)} days; set instantRestoreDays to at "
            f"least {config['minDays']}"]


def check_policy_not_crash_consistent_only(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    properties = _vm_policy_properties(subject)
    if _get(properties, "snapshotConsistencyType") != "OnlyCrashConsistent":
        return []
    return [f"{_policy(subject)}: snapshotConsistencyType OnlyCrashConsistent skips the freeze/thaw hooks and "
            "never gives an application-consistent IRIS backup; remove snapshotConsistencyType"]


def is_production(resources: list[PolicyResource], config: Mapping[str, Any], stack_tags: Mapping[str, str]) -> bool:
    """THE decision whether a stack is production: the explicit `production` of the stack settings.

    The settings' `production: true|false` reaches every production rule as its `production` config
    (policy/offline.py settings_config). A name or tag never decides on its own: when `production` is
    unset, a stack that looks like production (production_signs) is treated as production, so no
    production rule is skipped, and stack-production-explicit fails it until the setting is written.
    """
    if config.get("production") is not None:
        return bool(config["production"])
    return bool(production_signs(resources, config, stack_tags))


def production_signs(resources: list[PolicyResource], config: Mapping[str, Any], stack_tags: Mapping[str, str]) -> list[str]:
    """What makes a stack look like production: its name or an `environment` tag in productionEnvironments."""
    environments = {str(name).lower() for name in config.get("productionEnvironments") or ("prod", "production")}
    signs = sorted({f"the stack is named {stack}" for stack in map(_stack_of, resources) if stack and stack.lower() in environments})
    if str(stack_tags.get("environment") or "").lower() in environments:
        signs.append(f"the stack tag environment is {stack_tags['environment']}")
    for vault in (r for r in resources if r.resource_type == VAULT):
        tag = _get(vault.props, "tags", "environment")
        if tag and str(tag).lower() in environments:
            signs.append(f"vault {_get(vault.props, 'vaultName') or vault.name} is tagged environment={tag}")
    return signs


def _stack_of(resource: PolicyResource) -> str | None:
    """The stack name from a URN (urn:pulumi:<stack>::<project>::<type>::<name>), as the engine builds them."""
    parts = str(resource.urn).split(":", 3)
    return parts[2] if len(parts) == 4 and parts[:2] == ["urn", "pulumi"] and parts[2] else None


def check_stack_production_explicit(resources: list[PolicyResource], config: Mapping[str, Any],
                                    stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    signs = production_signs(resources, config, stack_tags)
    explicit = config.get("production")
    problems = []
    if explicit is None and signs:
        problems.append(f"production is not set, but {'; '.join(signs)}; production must be explicit: set "
                        "production: true in irisbackup:settings (or production: false for a stack that is not "
                        "production, and then neither name it nor tag it as one); meanwhile every production rule applies")
    elif explicit is False and signs:
        problems.append(f"production is false, but {'; '.join(signs)}; a stack that looks like production would skip "
                        "the production rules; set production: true, or rename the stack and change its environment tag")
    if is_production(resources, config, stack_tags) and config.get("allowDestroy"):
        # allowDestroy is for throwaway stacks; a production stack never is one.
        problems.append("this production stack sets allowDestroy: true, so `pulumi destroy` could delete production "
                        "backup data; set allowDestroy: false")
    return [(problem, None) for problem in problems]


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
                kept = f"{show(count)} {unit}" if count is not None else "not at all"
                problems.append((f"backup policy {name}: this production stack keeps {key} recovery points {kept}; "
                                 f"set retention.{key}.{unit} to at least {minimum}", policy.urn))
    return problems


# --- network -----------------------------------------------------------------------------------


def _stack_destinations(props: Mapping[str, Any], config: Mapping[str, Any]) -> list[str] | None:
    """What the stack's features need on this rule's NSG (allowedDestinations, keyed `<resource group>/<NSG>`
    in lower case); None without a stack's set: the generic check."""
    by_nsg = config["allowedDestinations"]
    if not isinstance(by_nsg, Mapping) or not by_nsg:
        return None
    nsg = f"{_get(props, 'resourceGroupName')}/{_get(props, 'networkSecurityGroupName')}".lower()
    return [str(d) for d in as_list(by_nsg.get(nsg))]


def _egress_destination_problem(destination: str, config: Mapping[str, Any], exact: list[str] | None) -> str | None:
    base, _, region = destination.partition(".")
    if destination.lower() in _WILDCARD_DESTINATIONS:
        return f"wildcard destination {destination}"
    if exact is not None:
        if destination in exact:
            return None
        spelt = [d for d in exact if d.lower() == destination.lower()]
        if spelt:  # Azure matches either, but stores what it was sent: state and portal drift
            return f"destination {destination} is not spelt as Azure's service tag list spells it ({spelt[0]})"
        return f"destination {destination} is not one the stack's features need on this NSG"
    if base in config["regionalServiceTags"]:
        # Storage.WestEurope, never the global Storage tag (every storage account in every region).
        return None if region.isalnum() else (f"destination {destination} is the global {base} tag (every region), "
                                              "not the vault's region")
    if destination in config["allowedServiceTags"]:
        return None
    return f"destination {destination} is not a service tag the stack's features need"


def check_network_egress_only(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    props = subject.props
    rule = f"security rule {_get(props, 'securityRuleName') or subject.name}"
    exact = _stack_destinations(props, config)
    allowed = exact if exact is not None else (
        [f"{tag}.<region>" for tag in config["regionalServiceTags"]] + list(config["allowedServiceTags"]))
    use = f"use one of {', '.join(allowed)}" if allowed else "the stack's features need no rule on this NSG"
    problems = []
    if _get(props, "direction") != "Outbound":
        problems.append(f"{rule}: direction is {show(_get(props, 'direction'))}; the backup needs no inbound access, "
                        "remove the rule or make it Outbound")
    if _get(props, "access") != "Allow":
        problems.append(f"{rule}: access is {show(_get(props, 'access'))}; backup egress rules only Allow")
    if _get(props, "protocol") != "Tcp":
        problems.append(f"{rule}: protocol is {show(_get(props, 'protocol'))}; use Tcp")
    ports = [p for p in [_get(props, "destinationPortRange"), *as_list(_get(props, "destinationPortRanges"))] if p is not None]
    if [str(p) for p in ports] != ["443"]:
        problems.append(f"{rule}: destination ports are {', '.join(map(str, ports)) or 'not set'}; allow only 443")
    destinations = [str(d) for d in [_get(props, "destinationAddressPrefix"), *as_list(_get(props, "destinationAddressPrefixes"))]
                    if d is not None]
    if not destinations:
        problems.append(f"{rule}: no destination; {use}")
    for destination in destinations:
        if problem := _egress_destination_problem(destination, config, exact):
            problems.append(f"{rule}: {problem}; {use}")
    return problems


# --- data safety -------------------------------------------------------------------------------


def check_data_safety_protect(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    # A production stack that allows destroy is stack-production-explicit's (it knows every resource).
    if subject.protect or config["allowDestroy"]:
        return []
    what = _vault(subject) if subject.type == VAULT else f"protected item {subject.name}"
    return [f"{what} is not protected from deletion, so `pulumi destroy` would delete backup data; keep protect=True "
            "(settings allowDestroy: false); only a throwaway stack may set allowDestroy: true"]


# --- the pack ----------------------------------------------------------------------------------

_PRODUCTION_PROPERTIES = {
    "production": {"type": ["boolean", "null"],
                   "description": "the stack is production (settings production); unset: a stack named or tagged as "
                                  "production is treated as one, and stack-production-explicit fails"},
    "productionEnvironments": names_config(["prod", "production"], "stack names and environment tag values (stack or vault tag) that look like production"),
}

RULES: list[Policy] = [
    resource_rule(
        "vault-soft-delete", "Vault soft delete is enabled or always on, with a minimum retention",
        MANDATORY, (VAULT,), check_vault_soft_delete,
        "Set vault.softDelete.state AlwaysON (or Enabled) and retentionDays at least minRetentionDays.",
        {"minRetentionDays": integer_config(14, 14, 180, "days soft-deleted backup data must be kept (Azure: 14-180)"),
         "requireAlwaysOn": boolean_config(False, "accept only AlwaysON (irreversible) soft delete")}),
    resource_rule(
        "vault-immutability", "Vault immutability is enabled", MANDATORY, (VAULT,), check_vault_immutability,
        "Set vault.immutability Unlocked or Locked (Locked cannot be undone).",
        {"requireLocked": boolean_config(False, "accept only Locked (irreversible) immutability")}),
    resource_rule(
        "vault-public-network-access", "Vault public network access is disabled", MANDATORY, (VAULT,),
        check_vault_public_network_access, "Set vault.publicNetworkAccess Disabled."),
    resource_rule(
        "vault-cross-subscription-restore", "Vault cross-subscription restore is disabled", MANDATORY, (VAULT,),
        check_vault_cross_subscription_restore, "Set vault.crossSubscriptionRestore Disabled or PermanentlyDisabled."),
    resource_rule(
        "vault-storage-redundancy", "Vault storage redundancy is one of the allowed kinds", MANDATORY, (VAULT,),
        check_vault_storage_redundancy, "Set vault.storageRedundancy to an allowed kind.",
        {"allowed": names_config(["GeoRedundant", "ZoneRedundant"], "storage redundancy kinds accepted",
                           ["GeoRedundant", "ZoneRedundant", "LocallyRedundant"])}),
    resource_rule(
        "vault-customer-managed-key", "Vault encrypts backup data with a customer-managed key", ADVISORY, (VAULT,),
        check_vault_customer_managed_key, "Set vault.customerManagedKey (keyUri, identityId)."),
    resource_rule(
        "vault-job-failure-alerts", "Vault raises Azure Monitor alerts for every failed backup job", MANDATORY, (VAULT,),
        check_vault_job_failure_alerts, "Set vault.jobFailureAlerts true (the default)."),
    stack_rule(
        "vault-diagnostic-settings", "Every vault sends its backup logs to Log Analytics", ADVISORY,
        check_vault_diagnostic_settings, "Set vault.diagnostics.workspaceId."),
    stack_rule(
        "stack-production-explicit", "A stack that looks like production says production: true, and is not destroyable",
        MANDATORY, check_stack_production_explicit,
        "Set production: true in irisbackup:settings (and allowDestroy: false).",
        {**_PRODUCTION_PROPERTIES,
         "allowDestroy": boolean_config(False, "the stack may be destroyed with its backup data (settings allowDestroy)")}),
    stack_rule(
        "vault-multi-user-authorization", "Vaults of non-production stacks are linked to a resource guard", ADVISORY,
        check_vault_multi_user_authorization, "Set vault.resourceGuardId.", dict(_PRODUCTION_PROPERTIES)),
    stack_rule(
        "vault-multi-user-authorization-production", "Vaults of production stacks are linked to a resource guard",
        MANDATORY, check_vault_multi_user_authorization_production, "Set vault.resourceGuardId.",
        dict(_PRODUCTION_PROPERTIES)),
    resource_rule(
        "policy-rpo", "Backup policies leave no gap over maxHours hours between scheduled recovery points", MANDATORY,
        (PROTECTION_POLICY,), check_policy_rpo,
        "Schedule the policy Daily, or Hourly with an interval and window that leave no longer gap.",
        {"maxHours": integer_config(24, 1, None, "longest accepted time between two recovery points (RPO), in hours")}),
    resource_rule(
        "policy-daily-retention", "Backup policies keep the daily (vault) recovery point at least minDays days", MANDATORY,
        (PROTECTION_POLICY,), check_policy_daily_retention, "Raise retention.dailyDays.",
        {"minDays": integer_config(30, 1, None, "shortest accepted daily retention, in days")}),
    resource_rule(
        "policy-instant-restore", "Backup policies keep instant-restore snapshots at least minDays days", MANDATORY,
        (PROTECTION_POLICY,), check_policy_instant_restore, "Raise instantRestoreDays.",
        {"minDays": integer_config(2, 1, 30, "shortest accepted instant-restore retention, in days (Azure: 1-5 V1, 1-30 V2)")}),
    stack_rule(
        "policy-long-term-retention", "Production backup policies keep monthly and yearly recovery points", ADVISORY,
        check_policy_long_term_retention, "Add retention.monthly and retention.yearly to the production policies.",
        {**_PRODUCTION_PROPERTIES,
         "minMonths": integer_config(12, 1, None, "shortest accepted monthly retention, in months"),
         "minYears": integer_config(1, 1, None, "shortest accepted yearly retention, in years")}),
    resource_rule(
        "policy-not-crash-consistent-only", "Backup policies never restrict snapshots to crash consistency",
        MANDATORY, (PROTECTION_POLICY,), check_policy_not_crash_consistent_only,
        "Remove snapshotConsistencyType OnlyCrashConsistent."),
    stack_rule(
        "coverage-protected-items", "Every VM of the stack is protected by a vault of the stack", MANDATORY,
        check_coverage_protected_items, "List every VM under vms, with a policy of the stack's vault.",
        {"requiredVms": names_config([], "VM names that must have a protected item (the offline check fills in the stack's vms)")}),
    stack_rule(
        "coverage-hooks", "Every protected VM depends on its freeze/thaw hooks unless marked crash-consistent",
        MANDATORY, check_coverage_hooks, "Give the VM ssh or delivery: runCommand, or set its consistency: crash.",
        {"crashConsistentVms": names_config([], "VM names explicitly backed up without hooks (settings vms[].consistency: crash)")}),
    resource_rule(
        "network-egress-only", "NSG rules only allow outbound TCP 443 to the service tags the stack's features need",
        MANDATORY, (SECURITY_RULE,), check_network_egress_only,
        "Keep only Outbound Allow Tcp 443 rules to the service tags the stack's features need.",
        {"allowedDestinations": {
            "type": "object", "default": {}, "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "per NSG (`<resource group>/<NSG name>`, lower case), exactly these destinations as spelt here; "
                           "the offline check fills in the stack's set (irisbackup/network/egress_spec.py); empty: the tag lists"},
         "regionalServiceTags": names_config(list(REGIONAL_SERVICE_TAGS), "service tags accepted only as <tag>.<region>"),
         "allowedServiceTags": names_config(list(GLOBAL_SERVICE_TAGS), "global service tags accepted as they are")}),
    resource_rule(
        "hooks-plugin-config", "Freeze/thaw hook settings keep Azure's and IRIS's time limits and the failure mode",
        MANDATORY, (COMMAND, RUN_COMMAND), check_hooks_plugin_config, "Adjust vms[].hooks timeouts and continueBackupOnFailure.",
        # Unset by default: the program's default (true: a file-system-consistent backup, labelled so by Azure,
        # beats a missed one) passes; an estate may require false (a failed freeze fails the job) or true.
        {"continueBackupOnFailure": {"type": ["boolean", "null"], "default": None,
                                     "description": "required continueBackupOnFailure; unset: either, as long as it is set"},
         "maxAzureTimeoutSeconds": integer_config(AZURE_SCRIPT_TIMEOUT_CAP, 1, AZURE_SCRIPT_TIMEOUT_CAP,
                                            "longest accepted timeoutInSeconds (Azure's cap: 1800)"),
         "maxFreezeBudgetSeconds": integer_config(300, 1, IRIS_FREEZE_TIMEOUT_CAP, "longest accepted freeze of IRIS, in seconds")}),
    resource_rule(
        "hooks-version-pinned", "The deployed freeze/thaw bundle is pinned by version and sha256", MANDATORY,
        (COMMAND, RUN_COMMAND), check_hooks_version_pinned,
        "Deploy hooks through FreezeThawHooks (triggers [version, sha256]) or RunCommandHooks (bundle parameters)."),
    resource_rule(
        "data-safety-protect", "Vaults and protected items are protected from deletion unless the stack allows destroy",
        MANDATORY, (VAULT, PROTECTED_ITEM), check_data_safety_protect, "Keep protect=True (allowDestroy: false).",
        {"allowDestroy": boolean_config(False, "the stack may be destroyed with its backup data (settings allowDestroy)")}),
]

RULES_BY_ID = {rule.name: rule for rule in RULES}
