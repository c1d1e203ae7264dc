"""Text and JSON renderings of an offline plan run (pure logic over recorded registrations)."""

from __future__ import annotations

import json
from typing import Any

from components.drill_isolation import ROLE_NAMES
from components.schedule import backups_per_day, rpo_hours, snapshot_only_backups_per_day, vault_retention_days

from .engine import PlanRun, Registration, mask_secrets
from .render_parity import disks_text, policy_parity_line, retired_text, vault_guard_line

VAULT = "azure-native:recoveryservices:Vault"
POLICY = "azure-native:recoveryservices:ProtectionPolicy"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
SECURITY_RULE = "azure-native:network:SecurityRule"
EXTENSION = "azure-native:compute:VirtualMachineExtension"
ALERT_RULE = "azure-native:monitor:ScheduledQueryRule"
COLLECTION = "azure-native:monitor:DataCollectionRuleAssociation"
QUERY_PACK = "azure-native:operationalinsights:QueryPack"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"

BANNER = ("OFFLINE RENDERING under Pulumi's mock engine: no Azure credentials, no network. It shows what the "
          "program declares for this stack file; it is not an Azure preview (run `pulumi preview` for that).")


def to_json(run: PlanRun, extra: dict[str, Any] | None = None) -> str:
    names = {resource.urn: resource.name for resource in run.resources}
    document = {
        "stack": run.stack,
        "resources": [
            {
                "type": resource.type,
                "name": resource.name,
                "parent": names.get(resource.parent),
                "inputs": mask_secrets(resource.inputs),
                "options": _options(resource),
                "dependsOn": sorted(names[urn] for urn in resource.dependencies if urn in names),
            }
            for resource in run.resources
        ],
        "outputs": run.outputs,
        **(extra or {}),
    }
    return json.dumps(document, indent=2, sort_keys=False, default=str)


def _options(resource: Registration) -> dict[str, Any]:
    options = {"protect": resource.protect, "retainOnDelete": resource.retain_on_delete,
               "deleteBeforeReplace": resource.delete_before_replace, "ignoreChanges": resource.ignore_changes}
    return {key: value for key, value in options.items() if value}


def to_text(run: PlanRun) -> str:
    return "\n".join([BANNER, "", f"Stack: {run.stack}", "", "Resources:", *_tree(run), "", *review_summary(run)])


def _tree(run: PlanRun) -> list[str]:
    children: dict[str, list[Registration]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent, []).append(resource)
    roots = [resource for resource in run.resources if resource.parent not in {r.urn for r in run.resources}]
    lines: list[str] = []

    def walk(resource: Registration, depth: int) -> None:
        flags = [flag for flag, on in (("protected", resource.protect), ("retained on delete", resource.retain_on_delete)) if on]
        suffix = f"  [{', '.join(flags)}]" if flags else ""
        lines.append(f"{'  ' * (depth + 1)}{resource.type}  {resource.name}{suffix}")
        for child in children.get(resource.urn, []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return lines


def review_summary(run: PlanRun) -> list[str]:
    """What a reviewer checks before approving: protections, RPO, retention ladder, coverage."""
    by_type: dict[str, list[Registration]] = {}
    for resource in run.resources:
        by_type.setdefault(resource.type, []).append(resource)
    lines = ["Backup settings for review:"]
    for vault in by_type.get(VAULT, []):
        lines += _vault_lines(vault) + [vault_guard_line(vault, by_type)]
    policy_names = {f"<id of {policy.name}>": policy.inputs.get("policyName") for policy in by_type.get(POLICY, [])}
    for policy in by_type.get(POLICY, []):
        lines += _policy_lines(policy) + [policy_parity_line(policy.inputs.get("properties", {}))]
    lines.append("  Covered VMs:")
    hooks_by_vm = _hooks_by_vm(run)
    uninstalling = _run_command_uninstalls(by_type.get(RUN_COMMAND, []))
    items = by_type.get(PROTECTED_ITEM, [])
    extension_parents = {extension.parent for extension in by_type.get(EXTENSION, [])}
    for item in items:
        properties = item.inputs.get("properties", {})
        vm = str(properties.get("sourceResourceId", "")).rsplit("/", 1)[-1]
        policy = policy_names.get(properties.get('policyId'), properties.get('policyId'))
        protection = 'protected from destroy' if item.protect else 'DESTROYABLE'
        if retired := retired_text(properties, policy):
            lines.append(f"    {vm}: {retired}, {protection}")
            continue
        hooks = hooks_by_vm.get(vm)
        consistency = f"application-consistent (hooks {hooks})" if hooks else "CRASH-CONSISTENT ONLY (no freeze/thaw hooks)"
        if vm in uninstalling:
            consistency += "; a Run Command uninstalls the hooks from the VM"
        extension = "declared" if item.parent in extension_parents else "left to Azure Backup"
        lines.append(f"    {vm}: policy {policy}, {consistency}, VMSnapshotLinux {extension}, "
                     f"{disks_text(properties)}, {protection}")
    if not items:
        lines.append("    none")
    lines += _egress_lines(by_type.get(SECURITY_RULE, []))
    lines += _health_lines(by_type)
    lines += _drill_lines(by_type)
    return lines


def _health_lines(by_type: dict[str, list[Registration]]) -> list[str]:
    rules = by_type.get(ALERT_RULE, [])
    if not rules:
        return ["  Backup health alerts: OFF (needs vault.diagnostics.workspaceId; see docs/operating.md)"]
    lines = ["  Backup health alerts (docs/operating.md):"]
    for rule in rules:
        inputs = rule.inputs
        routed = "to the vault's action group" if inputs.get("actions") else "NOT ROUTED (vault.alertEmails is empty)"
        lines.append(f"    {inputs.get('displayName')}: severity {int(inputs.get('severity', 0))}, every "
                     f"{inputs.get('evaluationFrequency')} over {inputs.get('windowSize')}, {routed}")
    agents = {str(e.inputs.get("vmName")) for e in by_type.get(EXTENSION, []) if e.inputs.get("type") == "AzureMonitorLinuxAgent"}
    vms = [str(a.inputs.get("resourceUri", "")).rsplit("/", 1)[-1] for a in by_type.get(COLLECTION, [])]
    lines.append("    hook verdicts collected from: " + (", ".join(
        f"{vm} (Azure Monitor Agent {'declared' if vm in agents else 'left to you'})" for vm in vms) or "none"))
    packs = [str(p.inputs.get("queryPackName")) for p in by_type.get(QUERY_PACK, [])]
    lines.append(f"    on-call queries: query pack {', '.join(packs) or 'none'}")
    return lines


def _egress_lines(rules: list[Registration]) -> list[str]:
    by_nsg: dict[str, list[Registration]] = {}
    for rule in rules:
        by_nsg.setdefault(str(rule.inputs.get("networkSecurityGroupName")), []).append(rule)
    lines = ["  NSG egress rules:"] + [
        f"    {nsg}: " + _rules_text([rule.inputs for rule in nsg_rules]) for nsg, nsg_rules in sorted(by_nsg.items())
    ]
    return lines if by_nsg else ["  NSG egress rules: none declared"]


def _rules_text(rules: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{r.get('direction')} {r.get('access')} {r.get('protocol')}/{r.get('destinationPortRange')}"
        f" to {r.get('destinationAddressPrefix')} (priority {r.get('priority')})"
        for r in sorted(rules, key=lambda r: (r.get("direction", ""), r.get("priority", 0)))
    )


def _drill_lines(by_type: dict[str, list[Registration]]) -> list[str]:
    """The restore-drill sandbox: what isolates it and what its identity may do (docs/restore-drill.md)."""
    groups = [g for g in by_type.get(RESOURCE_GROUP, []) if g.parent.endswith("::drill")]
    if not groups:
        return ["  Restore drill sandbox: none (drill.enabled is false)"]
    group, [vnet], [nsg], [account] = groups[0], by_type[VNET], by_type[NSG], by_type[STORAGE_ACCOUNT]
    public_ips = [r.name for r in by_type.get(PUBLIC_IP, [])]
    sku = account.inputs.get("sku", {}).get("name")
    network = account.inputs.get("networkRuleSet", {})
    grants = "; ".join(
        f"{ROLE_NAMES.get(r.inputs['roleDefinitionId'].rsplit('/', 1)[-1], r.inputs['roleDefinitionId'])} on {_scope_text(r.inputs['scope'])}"
        for r in sorted(by_type.get(ROLE_ASSIGNMENT, []), key=lambda r: r.name)
    )
    return [
        f"  Restore drill sandbox {group.inputs.get('resourceGroupName')} ({group.inputs.get('location')}): "
        f"VNet {', '.join(vnet.inputs.get('addressSpace', {}).get('addressPrefixes', []))}, "
        f"{'PUBLIC IPs ' + ', '.join(public_ips) if public_ips else 'no public IP'}, "
        f"{'PEERED' if vnet.inputs.get('virtualNetworkPeerings') else 'no peering'}",
        f"    NSG {nsg.inputs.get('networkSecurityGroupName')}: {_rules_text(nsg.inputs.get('securityRules', []))}",
        f"    staging account {account.inputs.get('accountName')}: {sku} {account.inputs.get('kind')}, "
        f"public blob access {'ON' if account.inputs.get('allowBlobPublicAccess') is not False else 'off'}, "
        f"TLS {account.inputs.get('minimumTlsVersion')}, network default {network.get('defaultAction', 'Allow')} "
        f"(bypass {network.get('bypass', 'none')})",
        f"    drill identity: {grants}",
    ]


def _scope_text(scope: str) -> str:
    """`resource group rg-x` or `Microsoft.Storage/storageAccounts/st` (the provider part of the ID)."""
    resource = scope.partition("/providers/")[2]
    return resource or f"resource group {scope.rsplit('/', 1)[-1]}"


def _vault_lines(vault: Registration) -> list[str]:
    properties = vault.inputs.get("properties", {})
    security = properties.get("securitySettings", {})
    soft_delete = security.get("softDeleteSettings", {})
    redundancy = properties.get("redundancySettings", {})
    restore = properties.get("restoreSettings", {}).get("crossSubscriptionRestoreSettings", {})
    alerts = properties.get("monitoringSettings", {}).get("azureMonitorAlertSettings", {})
    encryption = properties.get("encryption")
    return [
        f"  Vault {vault.inputs.get('vaultName')} ({vault.inputs.get('location')}):"
        f" {'protected from destroy' if vault.protect else 'DESTROYABLE (allowDestroy: true)'}",
        f"    soft delete {soft_delete.get('softDeleteState')}"
        f"{'' if soft_delete.get('softDeleteState') == 'Disabled' else ' for ' + _days(soft_delete.get('softDeleteRetentionPeriodInDays'))},"
        f" immutability {security.get('immutabilitySettings', {}).get('state')}",
        f"    storage {redundancy.get('standardTierStorageRedundancy')}, cross-region restore {redundancy.get('crossRegionRestore')},"
        f" cross-subscription restore {restore.get('crossSubscriptionRestoreState')}",
        f"    public network access {properties.get('publicNetworkAccess')}, job failure alerts {alerts.get('alertsForAllJobFailures')},"
        f" encryption {'customer-managed key' if encryption else 'platform-managed key'}",
        *_one_way_lines(security.get("immutabilitySettings", {}).get("state"), encryption),
    ]


def _one_way_lines(immutability: Any, encryption: Any) -> list[str]:
    """What a reviewer must know the program cannot check: it does not know the vault's history."""
    lines = []
    if immutability == "Locked":
        lines.append("    NOTE: immutability Locked is irreversible, and Azure refuses to CREATE a vault as Locked: "
                     "create it Unlocked, then set Locked in a later `pulumi up`")
    if encryption:
        lines.append("    NOTE: a customer-managed key applies only to a vault that never had an item registered; "
                     "its identity must never be disabled or switched")
    return lines


def _policy_lines(policy: Registration) -> list[str]:
    properties = policy.inputs.get("properties", {})
    schedule = properties.get("schedulePolicy", {})
    frequency = schedule.get("scheduleRunFrequency")
    hours = _whole(rpo_hours(properties))
    if frequency == "Hourly":
        hourly = schedule.get("hourlySchedule", {})
        rpo = (f"every {hourly.get('interval')} h in a {hourly.get('scheduleWindowDuration')} h window: "
               f"{backups_per_day(properties)} a day (RPO {hours} h)")
    else:
        rpo = f"{frequency} (RPO {hours} h)"
    retention = properties.get("retentionPolicy", {})
    ladder = [
        _plural(retention[key]['retentionDuration']['count'], unit)
        for key, unit in (("dailySchedule", "day"), ("weeklySchedule", "week"), ("monthlySchedule", "month"), ("yearlySchedule", "year"))
        if retention.get(key)
    ]
    enhanced = properties.get("policyType") == "V2"
    lines = [
        f"  Policy {policy.inputs.get('policyName')} ({'enhanced' if enhanced else 'standard'},"
        f" {properties.get('timeZone')}): {rpo}",
        f"    instant restore {_days(properties.get('instantRpRetentionRangeInDays'))}; retention {' / '.join(ladder) or 'none'}",
    ]
    if snapshots := snapshot_only_backups_per_day(properties):
        lines.append(f"    only the last backup of a day goes to the vault (kept {_days(_whole(vault_retention_days(properties)))}); "
                     f"the other {snapshots} are snapshots kept {_days(properties.get('instantRpRetentionRangeInDays'))}")
    if not enhanced:
        lines.append("    WARNING: a standard policy cannot protect Trusted Launch VMs at the pinned API version; "
                     "use kind: enhanced for them")
    return lines


def _hooks_by_vm(run: PlanRun) -> dict[str, str]:
    """VM name -> 'version, sha256 ..., via <channel>' of its hooks, from the stack output `hooks`."""
    return {
        vm: f"{identity.get('version')}, sha256 {str(identity.get('sha256'))[:12]}, via {identity.get('channel')}"
        for vm, identity in (run.outputs.get("hooks") or {}).items()
        if isinstance(identity, dict)
    }


def _run_command_uninstalls(run_commands: list[Registration]) -> set[str]:
    """VMs whose hooks run command is the removal step (parameter IRISBACKUP_ACTION=uninstall)."""
    return {
        str(command.inputs.get("vmName"))
        for command in run_commands
        if {"name": "IRISBACKUP_ACTION", "value": "uninstall"} in (command.inputs.get("parameters") or [])
    }


# --- policy pack verdicts ------------------------------------------------------------------------

_STATUS_LABEL = {"passed": "passed", "advisory violation": "ADVISORY", "mandatory violation": "MANDATORY",
                 "disabled": "disabled"}


def policy_lines(check: Any, config_files: list[Any] | None = None) -> list[str]:
    """One verdict per rule (passed, advisory violation, mandatory violation), each violation beneath it."""
    sources = ", ".join(str(path) for path in config_files or []) or "none"
    lines = [f"Policy verdicts (pack policy/, {len(check.verdicts)} rules; config: stack settings + {sources}):"]
    for verdict in check.verdicts:
        label = _STATUS_LABEL.get(verdict.status, verdict.status)
        lines.append(f"  {label:<9}  {verdict.policy}" + (f" ({verdict.level})" if verdict.status == "passed" else ""))
        for violation in verdict.violations:
            lines.append(f"      {violation.resource}: {violation.message}")
    mandatory = len(check.mandatory_violations)
    advisory = len(check.violations) - mandatory
    if mandatory:
        lines.append(f"Policy check FAILED: {mandatory} mandatory violation(s), {advisory} advisory; "
                     "`pulumi preview --policy-pack policy` would block this stack.")
    else:
        lines.append(f"Policy check passed: no mandatory violation, {advisory} advisory.")
    return lines


def policy_json(check: Any) -> dict[str, Any]:
    """The JSON keys an offline plan gains: every violation, and the verdict of every rule."""
    return {
        "violations": [
            {"policy": v.policy, "level": v.level, "resource": v.resource, "message": v.message} for v in check.violations
        ],
        "policies": [
            {"policy": verdict.policy, "level": verdict.level, "verdict": verdict.status,
             "violations": len(verdict.violations)}
            for verdict in check.verdicts
        ],
    }


def _plural(count: Any, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _days(count: Any) -> str:
    return _plural(count, "day")


def _whole(number: float | None) -> Any:
    return int(number) if number is not None and number.is_integer() else number
