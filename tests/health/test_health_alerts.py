"""The health section and what it declares, from the example stacks under the mock engine."""

from __future__ import annotations

import copy

import pytest

from irisbackup.health import health_rules, mirror_health
from irisbackup.settings import SettingsError, parse_settings
from tests.program.harness import deployer_clock, of_type, only, run_with_settings

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
    assert ('let vaultId = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-iris-backup-prod/'
            'providers/Microsoft.RecoveryServices/vaults/rsv-iris-prod";') in query
    assert "let graceHours = 3.0;" in query and "let firstDataHours = 24.0;" in query
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


def test_a_vms_own_user_assigned_identity_is_the_one_its_agent_uses(prod_settings):
    vm_identity = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-iris-prod/providers/"
                   "Microsoft.ManagedIdentity/userAssignedIdentities/id-vm-iris-prod-2")
    prod_settings["vms"][1]["identity"] = vm_identity
    by_vm = {agent.inputs["vmName"]: agent.inputs.get("settings") for agent in agents(run_with_settings(prod_settings))}
    assert by_vm["vm-iris-prod-2"] == {"authentication": {"managedIdentity": {
        "identifier-name": "mi_res_id", "identifier-value": vm_identity}}}
    # systemAssigned: the agent needs no settings, it finds the VM's identity itself.
    assert by_vm["vm-iris-prod-1"] is None and by_vm["vm-cache-prod-1"] is None


def test_render_rejects_a_parameter_the_file_does_not_have():
    with pytest.raises(ValueError, match=r"rpo_breach.kql has no parameter\(s\) \['vaultname'\]"):
        health_rules.render("rpo_breach.kql", vaultname='"x"')


def test_plan_review_shows_what_fires_where(prod_settings, dev_settings):
    from offline_plan.render import summary as review_summary
    lines = review_summary(run_with_settings(prod_settings))
    assert ("    Backup RPO breach (rsv-iris-prod): severity 1, every PT1H over P2D, to the vault's action group"
            in lines)
    assert "    on-call queries: query pack qp-rsv-iris-prod-oncall" in lines
    assert ("    new VMs: no alert for missing data before their watch start + RPO + grace (RPO breach: + 24 h for the "
            "first data push); 3 watch start(s), each taken once on the deployer at its first `pulumi up`") in lines
    assert any(line.startswith("    hook verdicts collected from: vm-cache-prod-1 (Azure Monitor Agent declared)")
               for line in lines)
    prod_settings["vault"]["alertEmails"] = []
    assert any(line.endswith("NOT ROUTED (vault.alertEmails is empty)") for line in review_summary(run_with_settings(prod_settings)))
    assert "  Backup health alerts: OFF (needs vault.diagnostics.workspaceId; see docs/operating.md)" in review_summary(
        run_with_settings(dev_settings))


def test_the_alerts_use_the_rpo_the_plan_shows(prod_settings):
    # 4-hourly in a 12 h window: the longest gap is overnight, 24 - 8 = 16 h (irisbackup/schedule.py).
    prod_settings["policies"]["enhanced-4h"]["schedule"]["windowHours"] = 12
    from offline_plan.render import summary as review_summary
    run = run_with_settings(prod_settings)
    assert any("(RPO 16 h)" in line for line in review_summary(run))
    query = only(run, RULE, "health-rsv-iris-prod-rpo-breach").inputs["criteria"]["allOf"][0]["query"]
    assert '"vm-iris-prod-1", 16.0' in query


def _query(run, key: str) -> str:
    return only(run, RULE, f"health-rsv-iris-prod-{key}").inputs["criteria"]["allOf"][0]["query"]


def test_the_rpo_query_is_keyed_on_the_vault_resource_id_not_its_name(prod_settings):
    body = _query(run_with_settings(prod_settings), "rpo-breach").partition(health_rules.PARAMETERS_END)[2]
    assert body.count("_ResourceId =~ vaultId") == 2  # both tables
    assert "VaultName" not in body


@pytest.fixture
def deployed_watch_starts():
    with deployer_clock() as stamps:
        yield stamps


def test_every_watched_vm_gets_a_watch_start_taken_after_its_protection(prod_settings, deployed_watch_starts):
    from irisbackup.creation_stamp import STAMP_COMMAND
    run = run_with_settings(prod_settings)
    commands = {c.name: c for c in of_type(run, "command:local:Command") if c.name.endswith("-watch-start")}
    watched = [t.vm_id.name for t in health_rules.health_targets(parse_settings(prod_settings))]
    assert sorted(commands) == sorted(f"health-rsv-iris-prod-{vm}-watch-start" for vm in watched)
    assert "vm-iris-prod-old" not in " ".join(commands)  # retired: not watched
    items = {r.urn: r.name for r in of_type(run, "azure-native:recoveryservices:ProtectedItem")}
    for vm in watched:
        command = commands[f"health-rsv-iris-prod-{vm}-watch-start"]
        assert command.inputs == {"create": STAMP_COMMAND}  # no update, no triggers: runs once
        assert [items[d] for d in command.dependencies if d in items] == [f"{vm}-protected-item"]
    for key, vms in (("rpo-breach", watched), ("verdict-stale", watched)):
        head = _query(run, key).partition(health_rules.PARAMETERS_END)[0]
        watch_line = next(line for line in head.splitlines() if line.startswith("let watchStarts"))
        for vm in vms:
            start = deployed_watch_starts[f"health-rsv-iris-prod-{vm}-watch-start"]
            assert f'"{vm}", datetime({start})' in watch_line, (key, vm)
    assert "watchStarts" not in _query(run, "verdict-not-consistent")


def test_a_new_vm_only_adds_its_own_watch_start(prod_settings):
    def watch_starts(run):
        return {c.name for c in of_type(run, "command:local:Command") if c.name.endswith("-watch-start")}

    before = watch_starts(run_with_settings(prod_settings))
    new_vm = copy.deepcopy(prod_settings["vms"][0])
    new_vm["id"] = new_vm["id"].rsplit("/", 1)[0] + "/vm-iris-prod-3"
    prod_settings["vms"].append(new_vm)
    after = watch_starts(run_with_settings(prod_settings))
    assert after - before == {"health-rsv-iris-prod-vm-iris-prod-3-watch-start"} and before <= after


def test_a_watch_start_that_is_not_a_utc_time_is_refused():
    query = health_rules.render("rpo_breach.kql")
    assert '"vm-a", datetime(null)' in health_rules.with_watch_starts(query, {"VM-A": None})
    with pytest.raises(ValueError, match=r"watch start of vm-a: 'Fri Dec  4' is not a UTC time like 2025-01-06T03:00:00Z"):
        health_rules.with_watch_starts(query, {"vm-a": "Fri Dec  4"})


def test_alert_rules_alone_watch_every_vm_from_the_start(prod_settings):
    """Without the deployed starts (empty watchStarts) a VM with no recovery point alerts at once: a
    missing start can never silence the alert."""
    settings = parse_settings(prod_settings)
    for rule in health_rules.alert_rules(settings, health_rules.health_targets(settings)) + mirror_health.mirror_set_rules(settings):
        if health_rules.watches_vms(rule):
            assert "let watchStarts = datatable(VmName: string, WatchStart: datetime) [];" in rule.query
            assert "isnull(WatchStart) or now() > WatchStart" in rule.query


def test_the_readme_promise_about_new_vms_is_what_the_queries_do(prod_settings):
    readme = " ".join((health_rules.QUERIES.parent / "README.md").read_text().split())
    assert ("A new VM (or a new stack) does not alert for missing data before its first backup and the vault's "
            "first data push can have arrived") in readme
    settings = parse_settings(prod_settings)
    rules = {r.key: r for r in health_rules.alert_rules(settings, health_rules.health_targets(settings))}
    # No data at all counts only after the watch start plus RPO + grace (+ the 24 h first push for the vault's tables).
    assert "now() > WatchStart + (RpoHours + graceHours + firstDataHours) * 1h" in rules["rpo-breach"].query
    assert "let firstDataHours = 24.0;" in rules["rpo-breach"].query and health_rules.FIRST_DATA_HOURS == 24
    assert "now() > WatchStart + (RpoHours + graceHours) * 1h" in rules["verdict-stale"].query
