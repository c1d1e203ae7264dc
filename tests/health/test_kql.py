"""The KQL in queries/ under Microsoft's Kusto language service (@kusto/language-service-next, pinned
in tools/kql-check/package-lock.json), with the documented schemas of the tables it reads
(tools/kql-check/schemas.json, from the Azure Monitor Logs table reference).

What this checks: syntax; that every table, column, function and `let` name resolves; operand and
argument types (e.g. datetime compared with a number). It checks the files as committed (sample
parameters) and the queries exactly as the prod stack renders them for Azure.
What it does not check: what the queries return. No faithful Kusto engine runs offline here (the
Kusto emulator is a container image; the PyPI/npm "KQL on pandas/DuckDB/SQLite" packages are
re-implementations), so the row logic is only reviewed, and the data collection rule transformation
is not checked against the reduced KQL subset that transformations accept.
"""

from __future__ import annotations

import pytest

from irisbackup.health import health_rules, mirror_health
from irisbackup.settings import parse_settings
from tests.health.kqlcheck import diagnostics, errors
from tests.program.harness import example_settings

KQL_FILES = sorted(health_rules.QUERIES.glob("*.kql"))


def test_every_query_file_has_no_language_service_error_or_warning():
    found = diagnostics(KQL_FILES)
    assert sorted(found) == sorted(path.name for path in KQL_FILES) and len(found) == 7
    assert {file: diags for file, diags in found.items() if diags} == {}


def test_the_queries_as_rendered_for_the_prod_stack_have_no_error(tmp_path):
    settings = parse_settings(example_settings("prod"))
    rules = health_rules.alert_rules(settings, health_rules.health_targets(settings)) + mirror_health.mirror_set_rules(settings)
    rendered = {f"alert-{rule.key}.kql": rule.query for rule in rules}
    # As the deployed rules carry them: a recorded start per VM (one not yet known: null).
    rendered.update({
        f"alert-{rule.key}-watched.kql": health_rules.with_watch_starts(
            rule.query, {vm: None if index == 0 else "2026-12-04T19:00:00Z" for index, vm in enumerate(rule.vms)})
        for rule in rules if health_rules.watches_vms(rule)})
    rendered["dcr-transform.kql"] = health_rules.dcr_transform()
    rendered.update({f"oncall-{q.file}": q.body for q in health_rules.oncall_queries()})
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    found = diagnostics([tmp_path / name for name in rendered])
    assert len(found) == 9
    assert {file: errors(diags) for file, diags in found.items() if errors(diags)} == {}


@pytest.mark.parametrize("query, code, name", [
    ('Syslog | where SyslogMesage has "irisbackup"', "KS142", "SyslogMesage"),  # misspelt column
    ("AddonAzureBackupJob | take 1", "KS204", "AddonAzureBackupJob"),  # misspelt table
    ("CoreAzureBackup | project LatestRecoveryPoint", "KS142", "LatestRecoveryPoint"),  # not a documented column
])
def test_an_unknown_column_or_table_is_reported(tmp_path, query, code, name):
    (tmp_path / "bad.kql").write_text(query)
    [problem] = errors(diagnostics([tmp_path / "bad.kql"])["bad.kql"])
    assert code in problem and f"'{name}'" in problem


def test_a_type_error_is_reported(tmp_path):
    (tmp_path / "bad.kql").write_text("Syslog | where TimeGenerated > 3")
    [problem] = errors(diagnostics([tmp_path / "bad.kql"])["bad.kql"])
    assert "KS106" in problem and "datetime" in problem


@pytest.mark.parametrize("file", ["rpo_breach.kql", "verdict_stale.kql"])
def test_the_grace_from_the_watch_start_is_type_checked(tmp_path, file):
    """The language service binds the watchStarts lookup: a start that is not a datetime, or a table
    without the WatchStart column, is an error (so the grace arithmetic cannot silently compare strings)."""
    query = health_rules.render(file)
    as_string = query.replace("datatable(VmName: string, WatchStart: datetime)", "datatable(VmName: string, WatchStart: string)")
    as_string = as_string.replace("datetime(2025-01-06T03:00:00Z)", '"2025-01-06T03:00:00Z"')
    no_column = query.replace("WatchStart: datetime) [\"vm-sample-1\", datetime(2025-01-06T03:00:00Z)]", "Since: datetime) []")
    assert no_column != query and as_string != query
    (tmp_path / "as_string.kql").write_text(as_string)
    (tmp_path / "no_column.kql").write_text(no_column)
    found = diagnostics([tmp_path / "as_string.kql", tmp_path / "no_column.kql"])
    assert errors(found["as_string.kql"]), "a string WatchStart plus a timespan must not type-check"
    assert any("'WatchStart'" in e for e in errors(found["no_column.kql"])), found["no_column.kql"]


def test_the_rpo_query_reads_only_resource_specific_rows_of_this_vault():
    body = health_rules.render("rpo_breach.kql").partition(health_rules.PARAMETERS_END)[2]
    tables = {"AddonAzureBackupJobs", "CoreAzureBackup"}
    for table in tables:
        section = body.split(f"{table}\n", 1)[1].split(";", 1)[0]
        assert "| where _ResourceId =~ vaultId" in section, table
