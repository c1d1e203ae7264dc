"""The hook verdict line format (irisbackup/hooks/hook_verdict.py) and everything on the Azure side that
depends on it: the data collection rule, the alert queries and the on-call queries must use the same
tag, facility, JSON keys and verdict names. A hooks test can import hook_verdict.parse_line to assert
the lines the hooks emit."""

from __future__ import annotations

import json
import re

import pytest

from irisbackup.health import health_rules
from irisbackup.health.health_alerts import SYSLOG_LEVELS
from irisbackup.hooks import hook_verdict
from tests.program.harness import example_settings, only, run_with_settings

GOOD = ('{"v":1,"event":"verdict","run":"20240101T220000Z-4711","script":"post","version":"1.4.0",'
        '"instances":["IRISAPP","IRISREPORT"],"verdict":"not-consistent","reason":"writes-resumed-early"}')


def test_a_line_in_the_agreed_format_parses():
    line = hook_verdict.parse_line(GOOD)
    assert line["verdict"] == "not-consistent" and line["instances"] == ["IRISAPP", "IRISREPORT"]


@pytest.mark.parametrize("edit, expected", [
    (lambda d: {**d, "verdict": "consistent-ish"}, "verdict is 'consistent-ish'"),
    (lambda d: {**d, "reason": "IRIS said no"}, "reason is 'IRIS said no'"),
    (lambda d: {**d, "script": "thaw"}, "script is 'thaw'"),
    (lambda d: {k: d[k] for k in reversed(list(d))}, "keys must be exactly"),
    (lambda d: {**d, "extra": 1}, "keys must be exactly"),
])
def test_lines_outside_the_vocabulary_are_rejected(edit, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        hook_verdict.parse_line(json.dumps(edit(json.loads(GOOD))))


def test_severity_is_notice_only_for_application_consistent_and_collected_by_the_rule():
    assert hook_verdict.SEVERITY["application-consistent"] == "notice"
    assert {hook_verdict.SEVERITY[v] for v in hook_verdict.VERDICTS if v != "application-consistent"} == {"err"}
    # logger's notice/err are the data collection rule's Notice/Error levels
    assert {"Notice", "Error"} <= set(SYSLOG_LEVELS)


@pytest.mark.parametrize("path", sorted(health_rules.QUERIES.glob("*.kql")), ids=lambda p: p.name)
def test_query_files_use_the_vocabulary(path):
    text = path.read_text()
    parameters = health_rules.query_parameters(text)
    expected = {
        "tag": health_rules.kql_string(hook_verdict.SYSLOG_TAG),
        "facility": health_rules.kql_string(hook_verdict.SYSLOG_FACILITY),
        "healthyVerdicts": health_rules.kql_dynamic_strings(hook_verdict.HEALTHY_VERDICTS),
    }
    assert {k: v for k, v in parameters.items() if k in expected} == {k: expected[k] for k in parameters if k in expected}
    assert set(re.findall(r"\bLine\.(\w+)", text)) <= set(hook_verdict.MIRROR_KEYS)
    body = text.partition(health_rules.PARAMETERS_END)[2]
    kebab_literals = set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', body))  # verdict names written out in a query
    assert kebab_literals <= set(hook_verdict.VERDICTS), kebab_literals
    if "Syslog" in text:
        assert "ProcessName == tag" in text and "Facility == facility" in text


def test_the_deployed_rule_and_queries_carry_the_vocabulary():
    run = run_with_settings(example_settings("prod"))
    dcr = only(run, "azure-native:monitor:DataCollectionRule")
    [syslog] = dcr.inputs["dataSources"]["syslog"]
    assert syslog["facilityNames"] == [hook_verdict.SYSLOG_FACILITY]
    [flow] = dcr.inputs["dataFlows"]
    assert f'let tag = "{hook_verdict.SYSLOG_TAG}";' in flow["transformKql"]
    assert flow["transformKql"].rstrip().endswith("| where ProcessName == tag")
    rule = only(run, "azure-native:monitor:ScheduledQueryRule", "health-rsv-iris-prod-verdict-not-consistent")
    query = rule.inputs["criteria"]["allOf"][0]["query"]
    assert 'let healthyVerdicts = dynamic(["application-consistent", "no-instances", "crash-consistent-allowed"]);' in query
    assert f'let facility = "{hook_verdict.SYSLOG_FACILITY}";' in query
