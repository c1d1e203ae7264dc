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

from components import health_rules
from components.settings import parse_settings
from tests.health.kqlcheck import diagnostics, errors
from tests.program.harness import example_settings

KQL_FILES = sorted(health_rules.QUERIES.glob("*.kql"))


def test_every_query_file_has_no_language_service_error_or_warning():
    found = diagnostics(KQL_FILES)
    assert sorted(found) == sorted(path.name for path in KQL_FILES) and len(found) == 7
    assert {file: diags for file, diags in found.items() if diags} == {}


def test_the_queries_as_rendered_for_the_prod_stack_have_no_error(tmp_path):
    settings = parse_settings(example_settings("prod"))
    rendered = {f"alert-{rule.key}.kql": rule.query
                for rule in health_rules.alert_rules(settings, health_rules.health_targets(settings))}
    rendered["dcr-transform.kql"] = health_rules.dcr_transform()
    rendered.update({f"oncall-{q.file}": q.body for q in health_rules.oncall_queries()})
    for name, text in rendered.items():
        (tmp_path / name).write_text(text)
    found = diagnostics([tmp_path / name for name in rendered])
    assert len(found) == 7
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
