"""Review lines for the backup health alerts (docs/operating.md), from the registrations themselves."""

from __future__ import annotations

from .engine import Registration, group_by_type

EXTENSION = "azure-native:compute:VirtualMachineExtension"
ALERT_RULE = "azure-native:monitor:ScheduledQueryRule"
COLLECTION = "azure-native:monitor:DataCollectionRuleAssociation"
QUERY_PACK = "azure-native:operationalinsights:QueryPack"
LOCAL_COMMAND = "command:local:Command"


def health_lines(resources: list[Registration] | None) -> list[str]:
    if resources is None:
        return []
    by_type = group_by_type(resources)
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
    watched = [c for c in by_type.get(LOCAL_COMMAND, []) if c.name.endswith("-watch-start")]
    lines.append(f"    new VMs: no alert for missing data before their watch start + RPO + grace (RPO breach: + 24 h "
                 f"for the first data push); {len(watched)} watch start(s), each taken once on the deployer at its "
                 "first `pulumi up`")
    packs = [str(p.inputs.get("queryPackName")) for p in by_type.get(QUERY_PACK, [])]
    lines.append(f"    on-call queries: query pack {', '.join(packs) or 'none'}")
    return lines
