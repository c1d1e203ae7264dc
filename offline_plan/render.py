"""Text and JSON renderings of an offline plan run (pure logic over recorded registrations)."""

from __future__ import annotations

import json
from typing import Any

from irisbackup.drill.drill_roles import ROLE_NAMES

from .engine import PlanRun, Registration, engine_urns_of, group_by_type, mask_secrets
from .posture import build_posture
from .render_health import health_lines
from .render_mirror import mirror_lines
from .render_parity import disks_text, policy_parity_line, retired_text, vault_guard_line

# The restore-drill sandbox (docs/restore-drill.md), shown from the registrations themselves.
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
CREDENTIALS_PREFIX = "hook-credentials-"  # the name irisbackup/backup_stack.py gives KeyVaultCredentialsGrants
PUBLIC_IP = "azure-native:network:PublicIPAddress"

BANNER = ("OFFLINE RENDERING under Pulumi's mock engine: no Azure credentials, no network. It shows what the "
          "program declares for this stack file; it is not an Azure preview (run `pulumi preview` for that).")


def plan_document(run: PlanRun, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan as JSON-ready data: resources with masked inputs, outputs, and the reviewer's posture."""
    names = {resource.urn: resource.name for resource in run.resources}
    urns = engine_urns_of(run)
    document: dict[str, Any] = {
        "stack": run.stack,
        "resources": [
            {
                # as the Pulumi engine names it (state is matched by URN; aliases: the old URNs it takes over)
                "urn": urns[resource.urn][0],
                **({"aliases": urns[resource.urn][1]} if urns[resource.urn][1] else {}),
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
    }
    document["posture"] = build_posture(document, settings or {})
    return document


def to_json(run: PlanRun, extra: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> str:
    return json.dumps({**plan_document(run, settings), **(extra or {})}, indent=2, sort_keys=False, default=str)


def _options(resource: Registration) -> dict[str, Any]:
    options = {"protect": resource.protect, "retainOnDelete": resource.retain_on_delete,
               "deleteBeforeReplace": resource.delete_before_replace, "ignoreChanges": resource.ignore_changes}
    return {key: value for key, value in options.items() if value}


def to_text(run: PlanRun, settings: dict[str, Any] | None = None) -> str:
    production = {True: "true", False: "false"}.get((settings or {}).get("production"), "NOT SET")
    stack = f"Stack: {run.stack} (production: {production}; docs/policy.md, \"Production is explicit\")"
    return "\n".join([BANNER, "", stack, "", "Resources:", *_tree(run), "", *summary(run, settings)])


def summary(run: PlanRun, settings: dict[str, Any] | None = None) -> list[str]:
    """The review summary of a run; without the raw settings the SSH connections are not shown."""
    return review_summary(plan_document(run, settings)["posture"], run.resources)


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


def review_summary(posture: dict[str, Any], resources: list[Registration] | None = None) -> list[str]:
    """What a reviewer checks before approving: protections, RPO, retention ladder, coverage, connections,
    and the restore-drill sandbox when `resources` (the registrations) are given."""
    lines = ["Backup settings for review:"]
    if posture.get("vault"):
        lines += _vault_lines(posture["vault"]) + [vault_guard_line(posture["vault"])]
    for name, policy in posture.get("policies", {}).items():
        lines += _policy_lines(name, policy) + [policy_parity_line(policy)]
    lines.append("  Covered VMs:")
    for name, vm in posture.get("vms", {}).items():
        lines += _vm_lines(name, vm)
    if not posture.get("vms"):
        lines.append("    none")
    lines += _egress_lines(posture.get("egress", {}))
    unpinned = list(dict.fromkeys(host for name, vm in posture.get("vms", {}).items()
                                  if vm.get("consistency") == "application" for host in _unpinned(name, vm.get("ssh"))))
    if unpinned:
        lines.append(f"  WARNING: SSH host key not pinned for {', '.join(unpinned)}: pulumi-command does not verify which host "
                     "it reached. Pin it with ssh.hostKey / ssh.proxy.hostKey (ssh-keyscan -t ed25519 HOST).")
    return lines + mirror_lines(posture) + health_lines(resources) + credential_lines(resources) + _drill_lines(resources)


def _rules_text(rules: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{r.get('direction')} {r.get('access')} {r.get('protocol')}/{_one_or_many(r, 'destinationPortRange', 'destinationPortRanges')}"
        f" to {_one_or_many(r, 'destinationAddressPrefix', 'destinationAddressPrefixes')} (priority {r.get('priority')})"
        for r in sorted(rules, key=lambda r: (r.get("direction", ""), r.get("priority", 0)))
    )


def _one_or_many(rule: dict[str, Any], one: str, many: str) -> str:
    """An NSG rule field that is either singular (`destinationPortRange`) or plural (`...Ranges`)."""
    return str(rule[one]) if one in rule else ",".join(rule.get(many, []))


def _drill_lines(resources: list[Registration] | None) -> list[str]:
    """The restore-drill sandbox: what isolates it and what its identity may do (docs/restore-drill.md)."""
    if resources is None:
        return []
    by_type = group_by_type(resources)
    groups = [g for g in by_type.get(RESOURCE_GROUP, []) if g.parent.endswith("::drill")]
    if not groups:
        return ["  Restore drill sandbox: none (drill.enabled is false)"]
    group, [vnet], [nsg], [account] = groups[0], by_type[VNET], by_type[NSG], by_type[STORAGE_ACCOUNT]
    public_ips = [r.name for r in by_type.get(PUBLIC_IP, [])]
    sku = account.inputs.get("sku", {}).get("name")
    network = account.inputs.get("networkRuleSet", {})
    custom = {r.inputs["roleDefinitionId"]: r.inputs for r in by_type.get(ROLE_DEFINITION, [])}
    names = {**ROLE_NAMES, **{guid: role["roleName"] for guid, role in custom.items()}}
    grants = "; ".join(
        f"{names.get(r.inputs['roleDefinitionId'].rsplit('/', 1)[-1], r.inputs['roleDefinitionId'])} on {_scope_text(r.inputs['scope'])}"
        for r in sorted(by_type.get(ROLE_ASSIGNMENT, []), key=lambda r: r.name) if r.name.startswith("drill-")
    )
    roles = [f"    custom role {role['roleName']}: "
             f"{', '.join(a for p in role.get('permissions', []) for a in p.get('actions', []))}"
             for role in custom.values()]
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
        *roles,
    ]


def credential_lines(resources: list[Registration] | None) -> list[str]:
    """IRIS credentials from Key Vault: which VM identity reads which secret, and which secrets the program writes."""
    grants = [r for r in resources or [] if r.type == ROLE_ASSIGNMENT and r.name.startswith(CREDENTIALS_PREFIX)]
    if not grants:
        return []
    written = sorted(f"{r.inputs.get('vaultName')}/{r.inputs.get('secretName')}" for r in resources or []
                     if r.type == KEY_VAULT_SECRET)
    lines = ["  IRIS credentials from Key Vault (read by the hooks just before each freeze; never sent to the VM):"]
    lines += [f"    {r.name.removeprefix(CREDENTIALS_PREFIX).rsplit('-kv-secrets-user', 1)[0]}: Key Vault Secrets User on "
              f"{_scope_text(r.inputs['scope'])} only" for r in sorted(grants, key=lambda r: r.name)]
    lines.append(f"    written from a Pulumi secret: {', '.join(written) if written else 'none (existing secrets)'}")
    return lines


def _scope_text(scope: str) -> str:
    """`resource group rg-x` or `Microsoft.Storage/storageAccounts/st` (the provider part of the ID)."""
    resource = scope.partition("/providers/")[2]
    return resource or f"resource group {scope.rsplit('/', 1)[-1]}"


def _unpinned(name: str, ssh: dict[str, Any] | None) -> list[str]:
    """The hosts of one VM's connection (the VM, its bastion) whose SSH host key is not pinned."""
    if not ssh:
        return []
    proxy = ssh.get("proxy")
    return ([] if ssh["hostKeyPinned"] else [name]) + (
        [f"bastion {proxy['host']}"] if proxy and not proxy["hostKeyPinned"] else [])


def _vault_lines(vault: dict[str, Any]) -> list[str]:
    soft_delete = vault.get("softDelete", {})
    cmk = vault.get("customerManagedKey")
    encryption = (f"customer-managed key {cmk} (identity {_last(vault.get('customerManagedKeyIdentity'))})" if cmk
                  else "platform-managed key")
    workspace = vault.get("diagnosticsWorkspace")
    kept = "" if soft_delete.get("state") == "Disabled" else f" for {_days(soft_delete.get('retentionDays'))}"
    return [
        f"  Vault {vault.get('name')} ({vault.get('location')}):"
        f" {'protected from destroy' if vault.get('protectedFromDestroy') else 'DESTROYABLE (allowDestroy: true)'}",
        f"    soft delete {soft_delete.get('state')}{kept}, immutability {vault.get('immutability')}",
        f"    storage {vault.get('storageRedundancy')}, cross-region restore {vault.get('crossRegionRestore')},"
        f" cross-subscription restore {vault.get('crossSubscriptionRestore')}",
        f"    public network access {vault.get('publicNetworkAccess')}, job failure alerts {vault.get('jobFailureAlerts')},"
        f" encryption {encryption}",
        f"    diagnostics {'to workspace ' + _last(workspace) + ' (' + workspace + ')' if workspace else 'not sent to Log Analytics'};"
        f" alert e-mails {', '.join(vault.get('alertEmails') or []) or 'none'}",
        *_one_way_lines(vault.get("immutability"), cmk),
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


def _policy_lines(name: str, policy: dict[str, Any]) -> list[str]:
    schedule, hours = policy.get("schedule", {}), policy.get("rpoHours")
    if schedule.get("frequency") == "Hourly":
        when = (f"every {schedule.get('intervalHours')} h from {schedule.get('windowStart')}"
                f" in a {schedule.get('windowHours')} h window: {policy.get('backupsPerDay')} a day")
    elif schedule.get("frequency") == "Weekly":
        when = f"Weekly on {', '.join(schedule.get('days', []))} at {schedule.get('time')}"
    else:
        when = f"{schedule.get('frequency')} at {schedule.get('time')}"
    retention = policy.get("retention", {})
    ladder = [_plural(retention[key], unit) for key, unit in (("dailyDays", "day"), ("weeklyWeeks", "week"),
                                                              ("monthlyMonths", "month"), ("yearlyYears", "year"))
              if retention.get(key)]
    lines = [
        f"  Policy {name} ({policy.get('kind')}, {policy.get('timeZone')}): {when} (RPO {hours} h)",
        f"    instant restore {_days(policy.get('instantRestoreDays'))}; retention {' / '.join(ladder) or 'none'}",
    ]
    if snapshots := policy.get("snapshotOnlyBackupsPerDay"):
        lines.append(f"    only the last backup of a day goes to the vault (kept {_days(policy.get('vaultRetentionDays'))}); "
                     f"the other {snapshots} are snapshots kept {_days(policy.get('instantRestoreDays'))}")
    if policy.get("kind") != "enhanced":
        lines.append("    WARNING: a standard policy cannot protect Trusted Launch VMs at the pinned API version; "
                     "use kind: enhanced for them")
    return lines


def _vm_lines(name: str, vm: dict[str, Any]) -> list[str]:
    protection = "protected from destroy" if vm.get("protectedFromDestroy") else "DESTROYABLE"
    if retired := retired_text(vm):
        return [f"    {name}: {retired}, {protection}"]
    hooks = vm.get("hooks")
    consistency = (f"application-consistent (hooks {hooks.get('version')}, sha256 {str(hooks.get('sha256'))[:12]},"
                   f" via {hooks.get('channel')})"
                   if vm.get("consistency") == "application" and hooks else "CRASH-CONSISTENT ONLY (no freeze/thaw hooks)")
    if vm.get("hooksUninstall"):
        consistency += "; a Run Command uninstalls the hooks from the VM"
    lines = [f"    {name}: policy {vm.get('policy')}, {consistency}, VMSnapshotLinux {vm.get('extension')}, "
             f"{disks_text(vm)}, {protection}"]
    ssh = vm.get("ssh")
    if ssh and vm.get("consistency") == "application":
        proxy = ssh.get("proxy")
        via = (f" via bastion {proxy['user']}@{proxy['host']}:{proxy['port']}"
               f" (host key {'pinned' if proxy['hostKeyPinned'] else 'NOT PINNED'})" if proxy else "")
        lines.append(f"      ssh {ssh['user']}@{ssh['host']}:{ssh['port']} (host key {'pinned' if ssh['hostKeyPinned'] else 'NOT PINNED'})"
                     f"{via}; private keys are secrets")
    settings = (hooks or {}).get("settings")
    if settings:
        lines.append("      hook settings: " + ", ".join(f"{key}={value or '(empty)'}" for key, value in settings.items()))
    return lines


def _egress_lines(egress: dict[str, Any]) -> list[str]:
    lines = ["  NSG egress rules:"] + [
        f"    {nsg}: " + ", ".join(f"{rule['rule']} to {destination} (priority {rule['priority']})"
                               for destination, rule in rules.items())
        for nsg, rules in sorted(egress.items())
    ]
    return lines if egress else ["  NSG egress rules: none declared"]


def _last(resource_id: Any) -> str:
    return str(resource_id or "").rstrip("/").rsplit("/", 1)[-1]


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
