"""Backup health in Azure Monitor: the hooks' verdict lines collected from each VM, alert rules on
RPO breach, on the verdicts and per mirror set, and the on-call queries as a query pack.

Per stack: a data collection rule (syslog, facility user, kept only for the hooks' tag) and its
association with every VM that runs hooks, Azure Monitor Agent on those VMs, up to four scheduled
query rules routed to the vault's action group, a query pack with the two on-call queries, and per
watched VM a watch start (when the stack first watched it; the alerts' grace for a new VM runs from it).
What to write, query and render lives in health_rules (pure); this module only declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import compute, monitor, operationalinsights

from irisbackup.creation_stamp import creation_stamp
from irisbackup.health.mirror_health import mirror_set_rules
from irisbackup.hooks import hook_verdict
from irisbackup.health.health_rules import (
    AlertRule,
    HealthTarget,
    alert_rules,
    dcr_transform,
    oncall_queries,
    watches_vms,
    with_watch_starts,
)
from irisbackup.settings.health import agent_identity
from irisbackup.settings.stack import StackSettings

AGENT_EXTENSION_NAME = "AzureMonitorLinuxAgent"
# The levels the hooks log at (notice: consistent, err: not) and everything more severe.
SYSLOG_LEVELS = ["Notice", "Warning", "Error", "Critical", "Alert", "Emergency"]
_DESTINATION = "workspace"


@dataclass
class HealthAlertsArgs:
    settings: StackSettings
    targets: list[HealthTarget]
    # The vault's action group (vault.alertEmails); None: the alerts fire in Azure Monitor unrouted.
    action_group_id: pulumi.Input[str] | None
    tags: dict[str, str] = field(default_factory=dict)
    # VM name (lower case) -> the extension writes on that VM the agent's install waits for (no parallel 409).
    agent_after: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    # Per VM name, what its watch start waits for (its protected item): the start is then no earlier
    # than the protection, and the alerts give a new VM its grace from there.
    watch_after: dict[str, pulumi.Resource] = field(default_factory=dict)


class HealthAlerts(pulumi.ComponentResource):
    def __init__(self, name: str, args: HealthAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:health:HealthAlerts", name, None, opts)
        settings = args.settings
        self._resource_group = settings.resource_group_id.resource_group
        self._location = settings.health.location or settings.location
        self._workspace_id = str(settings.vault.diagnostics.workspace_id)  # type: ignore[union-attr]  # settings check
        self._tags = args.tags
        hooked = [target for target in args.targets if target.hooks]
        if hooked:
            self._collect_verdicts(name, settings, hooked, args.agent_after)
        starts = self._watch_starts(name, args)
        self.alert_rules = {
            rule.key: self._alert_rule(name, settings.vault.name, rule, args.action_group_id, starts)
            for rule in alert_rules(settings, args.targets) + mirror_set_rules(settings)  # per mirror set
        }
        self._query_pack(name, settings.vault.name)
        self.register_outputs({"alert_rules": {key: rule.id for key, rule in self.alert_rules.items()}})

    def _child(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    def _watch_starts(self, name: str, args: HealthAlertsArgs) -> pulumi.Output[dict[str, str]]:
        """VM name -> when the stack first watched it (a creation stamp)."""
        return pulumi.Output.all(**{
            target.name: creation_stamp(
                f"{name}-{target.vm_id.name}-watch-start",
                self._child([args.watch_after[target.vm_id.name]] if target.vm_id.name in args.watch_after else None),
            )
            for target in args.targets
        })

    def _collect_verdicts(self, name: str, settings: StackSettings, hooked: list[HealthTarget],
                          agent_after: dict[str, list[pulumi.Resource]]) -> None:
        rule = monitor.DataCollectionRule(
            f"{name}-verdict-collection",
            resource_group_name=self._resource_group,
            data_collection_rule_name=f"dcr-{settings.vault.name}-hook-verdicts",
            location=self._location,
            kind="Linux",
            description=f"Hook verdict lines (syslog {hook_verdict.SYSLOG_FACILITY}, tag {hook_verdict.SYSLOG_TAG}) "
                        "to the vault's workspace",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(syslog=[monitor.SyslogDataSourceArgs(
                name="hook-verdicts", streams=["Microsoft-Syslog"],
                facility_names=[hook_verdict.SYSLOG_FACILITY], log_levels=SYSLOG_LEVELS,
            )]),
            destinations=monitor.DataCollectionRuleDestinationsArgs(log_analytics=[
                monitor.LogAnalyticsDestinationArgs(name=_DESTINATION, workspace_resource_id=self._workspace_id),
            ]),
            data_flows=[monitor.DataFlowArgs(
                streams=["Microsoft-Syslog"], destinations=[_DESTINATION],
                transform_kql=dcr_transform(), output_stream="Microsoft-Syslog",
            )],
            tags=self._tags,
            opts=self._child(),
        )
        for target in hooked:
            after = agent_after.get(target.name, [])
            agent = self._agent(name, target, settings, after) if settings.health.install_agent else None
            monitor.DataCollectionRuleAssociation(
                f"{name}-{target.vm_id.name}-verdict-collection",
                resource_uri=str(target.vm_id),
                association_name="irisbackup-hook-verdicts",
                data_collection_rule_id=rule.id,
                description="Sends the irisbackup hook verdict lines to the vault's workspace",
                opts=self._child([agent] if agent else None),
            )

    def _agent(self, name: str, target: HealthTarget, settings: StackSettings,
               after: list[pulumi.Resource]) -> compute.VirtualMachineExtension:
        [vm] = [vm for vm in settings.vms if vm.name.lower() == target.name]
        identity = agent_identity(vm, settings.health)
        return compute.VirtualMachineExtension(
            f"{name}-{target.vm_id.name}-monitor-agent",
            resource_group_name=target.vm_id.resource_group,
            vm_name=target.vm_id.name,
            vm_extension_name=AGENT_EXTENSION_NAME,
            location=settings.location,
            publisher="Microsoft.Azure.Monitor",
            type="AzureMonitorLinuxAgent",
            type_handler_version="1.0",
            auto_upgrade_minor_version=True,
            enable_automatic_upgrade=True,
            # With a user-assigned identity the agent must be told which one; without, it uses the
            # VM's system-assigned identity (vms[].identity; docs/operating.md, "What the VMs need").
            settings={"authentication": {"managedIdentity": {
                "identifier-name": "mi_res_id", "identifier-value": str(identity)}}} if identity else None,
            tags=self._tags,
            # Other data collection rules may use the agent too: switching health off leaves it installed.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, depends_on=after),
        )

    def _alert_rule(self, name: str, vault: str, rule: AlertRule, action_group_id: pulumi.Input[str] | None,
                    starts: pulumi.Output[dict[str, str]]) -> monitor.ScheduledQueryRule:
        return monitor.ScheduledQueryRule(
            f"{name}-{rule.key}",
            resource_group_name=self._resource_group,
            rule_name=f"ar-{vault}-{rule.key}",
            location=self._location,
            kind="LogAlert",
            display_name=f"{rule.display_name} ({vault})",
            description=rule.description,
            severity=rule.severity,
            enabled=True,
            scopes=[self._workspace_id],
            evaluation_frequency=rule.frequency,
            window_size=rule.window,
            mute_actions_duration=rule.mute,
            auto_mitigate=rule.mute is None,  # a muted rule re-fires per new verdict instead of resolving
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=starts.apply(lambda found: with_watch_starts(rule.query, {vm: found[vm] for vm in rule.vms}))
                if watches_vms(rule) else rule.query,
                time_aggregation="Count",
                operator="GreaterThan",
                threshold=0,
                dimensions=[monitor.DimensionArgs(name=d, operator="Include", values=["*"]) for d in rule.dimensions],
                failing_periods=monitor.ConditionFailingPeriodsArgs(
                    number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
            )]),
            actions=monitor.ActionsArgs(action_groups=[action_group_id]) if action_group_id else None,
            tags=self._tags,
            opts=self._child(),
        )

    def _query_pack(self, name: str, vault: str) -> None:
        pack = operationalinsights.QueryPack(
            f"{name}-oncall-queries",
            resource_group_name=self._resource_group,
            query_pack_name=f"qp-{vault}-oncall",
            location=self._location,
            tags=self._tags,
            opts=self._child(),
        )
        for query in oncall_queries():
            operationalinsights.Query(
                f"{name}-{query.file.removesuffix('.kql').replace('_', '-')}",
                resource_group_name=self._resource_group,
                query_pack_name=pack.name,
                id=query.id,
                display_name=query.display_name,
                description=query.description,
                body=query.body,
                related=operationalinsights.LogAnalyticsQueryPackQueryPropertiesRelatedArgs(
                    resource_types=["microsoft.compute/virtualmachines"]),
                tags={"irisbackup": ["on-call"]},
                opts=self._child(),
            )
