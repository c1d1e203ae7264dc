"""The health section and what it declares, from the example stacks under the mock engine."""

from __future__ import annotations

import pytest

from components import health_rules
from components.settings import SettingsError, parse_settings
from tests.program.harness import of_type, only, run_with_settings

RULE = "azure-native:monitor:ScheduledQueryRule"
AGENT = "azure-native:compute:VirtualMachineExtension"
DCR = "azure-native:monitor:DataCollectionRule"
DCRA = "azure-native:monitor:DataCollectionRuleAssociation"
WORKSPACE = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-monitoring/providers/"
             "Microsoft.OperationalInsights/workspaces/law-prod")


def agents(run):
    return [r for r in of_type(run, AGENT) if r.inputs["type"] == "AzureMonitorLinuxAgent"]


def test_prod_has_health_on_by_default_with_every_piece(prod_settings):
    assert "health" not in prod_settings or prod_settings["health"].get("enabled") is not False
    run = run_with_settings(prod_settings)
    rules = {r.inputs["ruleName"]: r for r in of_type(run, RULE)}
    assert sorted(rules) == ["ar-rsv-iris-prod-mirror-set-rpo", "ar-rsv-iris-prod-rpo-breach",
                             "ar-rsv-iris-prod-verdict-not-consistent", "ar-rsv-iris-prod-verdict-stale"]
    action_group = only(run, "azure-native:monitor:ActionGroup")
    for rule in rules.values():
        assert rule.inputs["scopes"] == [WORKSPACE]
        assert rule.inputs["actions"]["actionGroups"] == [f"<id of {action_group.name}>"]
    assert len(agents(run)) == 3 and len(of_type(run, DCRA)) == 3 and len(of_type(run, DCR)) == 1
    assert {a.inputs["vmName"] for a in agents(run)} == {"vm-iris-prod-1", "vm-iris-prod-2", "vm-cache-prod-1"}
    assert all(a.retain_on_delete and a.inputs["publisher"] == "Microsoft.Azure.Monitor" for a in agents(run))
    assert len(of_type(run, "azure-native:operationalinsights:Query")) == 2


def test_rpo_breach_query_carries_each_vm_rpo_and_the_grace(prod_settings):
    prod_settings["health"] = {"graceHours": 3}
    run = run_with_settings(prod_settings)
    query = only(run, RULE, "health-rsv-iris-prod-rpo-breach").inputs["criteria"]["allOf"][0]["query"]
    assert 'let vaultName = "rsv-iris-prod";' in query and "let graceHours = 3.0;" in query
    assert '["vm-iris-prod-1", 4.0, "vm-iris-prod-2", 4.0, "vm-cache-prod-1", 4.0]' in query


def test_dev_without_workspace_declares_no_health(dev_settings):
    run = run_with_settings(dev_settings)
    assert of_type(run, RULE) == [] and agents(run) == [] and of_type(run, DCR) == []


def test_health_on_without_a_workspace_is_a_clear_settings_error(dev_settings):
    dev_settings["health"] = {"enabled": True}
    with pytest.raises(SettingsError) as raised:
        parse_settings(dev_settings)
    [problem] = raised.value.problems
    assert problem.startswith("irisbackup:settings.health: health.enabled is true but vault.diagnostics.workspaceId is not set")
    assert "health.enabled: false" in problem


def test_health_can_be_switched_off_with_a_workspace(prod_settings):
    prod_settings["health"] = {"enabled": False}
    assert of_type(run_with_settings(prod_settings), RULE) == []


def test_without_alert_emails_the_rules_fire_unrouted(prod_settings):
    prod_settings["vault"]["alertEmails"] = []
    rules = of_type(run_with_settings(prod_settings), RULE)
    assert len(rules) == 4 and all("actions" not in r.inputs for r in rules)


def test_crash_consistent_vm_gets_rpo_alert_but_no_agent(prod_settings):
    vm = prod_settings["vms"][2]
    vm["consistency"] = "crash"
    for key in ("ssh", "hooks", "delivery"):
        vm.pop(key, None)
    run = run_with_settings(prod_settings)
    assert "vm-cache-prod-1" not in {a.inputs["vmName"] for a in agents(run)}
    assert len(of_type(run, DCRA)) == 2
    stale = only(run, RULE, "health-rsv-iris-prod-verdict-stale").inputs["criteria"]["allOf"][0]["query"]
    assert "vm-cache-prod-1" not in stale.partition(health_rules.PARAMETERS_END)[0]
    rpo = only(run, RULE, "health-rsv-iris-prod-rpo-breach").inputs["criteria"]["allOf"][0]["query"]
    assert '"vm-cache-prod-1", 4.0' in rpo


def test_a_retired_vm_is_not_watched(prod_settings):
    run = run_with_settings(prod_settings)
    assert "vm-iris-prod-old" in {vm["id"].rsplit("/", 1)[-1] for vm in prod_settings["vms"] if vm.get("retired")}
    rpo = only(run, RULE, "health-rsv-iris-prod-rpo-breach").inputs["criteria"]["allOf"][0]["query"]
    assert "vm-iris-prod-old" not in rpo and "vm-iris-prod-old" not in {a.inputs["vmName"] for a in agents(run)}


def test_weekly_rpo_is_beyond_an_alert_lookback_so_verdict_age_is_not_alerted(prod_settings):
    settings = parse_settings(prod_settings)
    weekly = [health_rules.HealthTarget(settings.vms[0].id, 168.0, True)]
    assert health_rules.verdict_freshness_targets(weekly, 2) == []
    daily = [health_rules.HealthTarget(settings.vms[0].id, 24.0, True)]
    assert health_rules.verdict_freshness_targets(daily, 2) == daily


def test_agent_identity_and_opting_out_of_the_agent(prod_settings):
    identity = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-iris-prod/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/id-ama")
    prod_settings["health"] = {"agentIdentityId": identity}
    [agent, *_] = agents(run_with_settings(prod_settings))
    assert agent.inputs["settings"] == {"authentication": {"managedIdentity": {
        "identifier-name": "mi_res_id", "identifier-value": identity}}}
    prod_settings["health"] = {"installAgent": False}
    run = run_with_settings(prod_settings)
    assert agents(run) == [] and len(of_type(run, DCRA)) == 3


def test_render_rejects_a_parameter_the_file_does_not_have():
    with pytest.raises(ValueError, match=r"rpo_breach.kql has no parameter\(s\) \['vaultname'\]"):
        health_rules.render("rpo_breach.kql", vaultname='"x"')


def test_plan_review_shows_what_fires_where(prod_settings, dev_settings):
    from offline_plan.render import summary as review_summary
    lines = review_summary(run_with_settings(prod_settings))
    assert ("    Backup RPO breach (rsv-iris-prod): severity 1, every PT1H over P2D, to the vault's action group"
            in lines)
    assert "    on-call queries: query pack qp-rsv-iris-prod-oncall" in lines
    assert any(line.startswith("    hook verdicts collected from: vm-cache-prod-1 (Azure Monitor Agent declared)")
               for line in lines)
    prod_settings["vault"]["alertEmails"] = []
    assert any(line.endswith("NOT ROUTED (vault.alertEmails is empty)") for line in review_summary(run_with_settings(prod_settings)))
    assert "  Backup health alerts: OFF (needs vault.diagnostics.workspaceId; see docs/operating.md)" in review_summary(
        run_with_settings(dev_settings))


def test_the_alerts_use_the_rpo_the_plan_shows(prod_settings):
    # 4-hourly in a 12 h window: the longest gap is overnight, 24 - 8 = 16 h (components/schedule.py).
    prod_settings["policies"]["enhanced-4h"]["schedule"]["windowHours"] = 12
    from offline_plan.render import summary as review_summary
    run = run_with_settings(prod_settings)
    assert any("(RPO 16 h)" in line for line in review_summary(run))
    query = only(run, RULE, "health-rsv-iris-prod-rpo-breach").inputs["criteria"]["allOf"][0]["query"]
    assert '"vm-iris-prod-1", 16.0' in query
