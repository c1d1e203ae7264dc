"""The set-level alert of mirrored IRIS (irisbackup/health/mirror_health.py, queries/mirror_set_rpo.kql) as the
program declares it under the mock engine: one rule per stack, one alert per mirror set, watching only
the failover members that can give the set a consistent recovery point."""

from __future__ import annotations

import re

from irisbackup.health import health_rules, mirror_health
from irisbackup.settings import parse_settings
from tests.program.harness import of_type, only, run_with_settings
from tests.program.test_settings_mirror import add_async_vm

RULE = "azure-native:monitor:ScheduledQueryRule"
NAME = "health-rsv-iris-prod-mirror-set-rpo"


def watched(query: str) -> list[tuple[str, str, str, float]]:
    """The (set, VM, instance, RPO) rows of the members datatable."""
    head = query.partition(health_rules.PARAMETERS_END)[0]
    [rows] = re.findall(r"^let members = datatable\(.*?\) \[(.*)\];$", head, re.M)
    cells = re.findall(r'"([^"]*)"|(\d+\.\d+)', rows)
    flat = [text or float(number) for text, number in cells]
    return [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)]  # type: ignore[misc]


def query_of(run) -> str:
    return only(run, RULE, NAME).inputs["criteria"]["allOf"][0]["query"]


def test_prod_alerts_per_set_on_its_two_failover_members(prod_settings):
    run = run_with_settings(prod_settings)
    rule = only(run, RULE, NAME)
    assert rule.inputs["ruleName"] == "ar-rsv-iris-prod-mirror-set-rpo" and rule.inputs["severity"] == 1
    [condition] = rule.inputs["criteria"]["allOf"]
    assert [d["name"] for d in condition["dimensions"]] == ["MirrorSet"]  # one alert per set, not per VM
    assert rule.inputs["windowSize"] == "P2D" and rule.inputs["evaluationFrequency"] == "PT1H"
    assert rule.inputs["actions"]["actionGroups"] == [f"<id of {only(run, 'azure-native:monitor:ActionGroup').name}>"]
    assert watched(query_of(run)) == [("IRISMIRROR", "vm-iris-prod-1", "irisprod", 4.0),
                                      ("IRISMIRROR", "vm-iris-prod-2", "irisapp", 4.0)]
    assert 'let vaultName = "rsv-iris-prod";' in query_of(run) and "let graceHours = 2.0;" in query_of(run)


def test_async_retired_and_crash_consistent_members_are_not_watched(prod_settings):
    prod_settings["mirrors"][0]["members"].append(add_async_vm(prod_settings))
    assert [row[1] for row in watched(query_of(run_with_settings(prod_settings)))] == ["vm-iris-prod-1", "vm-iris-prod-2"]
    vm = prod_settings["vms"][1]
    vm["consistency"] = "crash"
    for key in ("ssh", "hooks"):
        vm.pop(key)
    prod_settings["mirrors"][0]["members"][1]["instance"] = "IRISAPP"
    assert [row[1] for row in watched(query_of(run_with_settings(prod_settings)))] == ["vm-iris-prod-1"]


def test_every_set_is_in_the_one_rule(prod_settings):
    prod_settings["mirrors"].append({"name": "CACHEMIRROR", "members": [{"vm": "vm-cache-prod-1", "instance": "CACHE:cache"}]})
    run = run_with_settings(prod_settings)
    assert {row[0] for row in watched(query_of(run))} == {"IRISMIRROR", "CACHEMIRROR"}
    assert len([r for r in of_type(run, RULE) if "mirror" in r.name]) == 1


def test_no_rule_without_mirrors_or_without_health(prod_settings):
    without = {k: v for k, v in prod_settings.items() if k != "mirrors"}
    assert not [r for r in of_type(run_with_settings(without), RULE) if r.name == NAME]
    prod_settings["health"] = {"enabled": False}
    assert of_type(run_with_settings(prod_settings), RULE) == []


def test_a_set_whose_rpo_is_beyond_an_alert_lookback_is_not_alerted(prod_settings):
    settings = parse_settings(prod_settings)
    assert mirror_health.set_members(settings)
    prod_settings["policies"]["weekly"] = {
        "kind": "standard", "schedule": {"frequency": "Weekly", "time": "22:00", "days": ["Sunday"]},
        "instantRestoreDays": 5, "retention": {"weekly": {"weeks": 4, "days": ["Sunday"]}}}
    prod_settings["vms"][1]["policy"] = "weekly"  # one member beyond the look-back: the set cannot be judged
    settings = parse_settings(prod_settings)
    assert health_rules.policy_rpo_hours(settings.policies["weekly"]) + 2 > health_rules.ALERT_LOOKBACK_HOURS
    assert mirror_health.set_members(settings) == [] and mirror_health.mirror_set_rules(settings) == []


def test_the_query_joins_verdicts_to_member_instances_and_successful_jobs():
    text = (health_rules.QUERIES / mirror_health.QUERY).read_text()
    body = text.partition(health_rules.PARAMETERS_END)[2]
    # The member's own instance (NAME or NAME:product in the verdict), not any instance on the VM.
    assert "mv-expand Named = Instances" in body and 'tolower(extract(@"^([^:]+)", 1, Named))' in body
    assert "join kind=inner runInstances on VmName, Run" in body
    # A consistent verdict counts only with a successful backup job of that VM (the snapshot exists).
    assert 'JobStatus in ("Completed", "CompletedWithWarnings")' in body and "join kind=inner jobs on VmName" in body
    # Grace for new members: alerted only once a member has logged verdicts for longer than RPO + grace.
    assert "where Covered == 0 and Established > 0" in body


def test_the_plan_review_lists_the_set_alert(prod_settings):
    from offline_plan.render import summary as review_summary
    lines = review_summary(run_with_settings(prod_settings))
    assert any(line.startswith("    Mirror set without a consistent recovery point (rsv-iris-prod): severity 1, "
                               "every PT1H over P2D") for line in lines), lines
