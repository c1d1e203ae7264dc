"""The `drill` settings section: defaults, every rule with a value that passes and one that fails,
and the cron parser the restore-drill workflow uses to pick due stacks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from irisbackup.drill.cron import parse_cron
from irisbackup.settings import parse_settings
from irisbackup.settings.drill import DEFAULT_ADDRESS_PREFIX
from tests.program.test_settings import problems_for, set_path

PROD_VM = "vm-iris-prod-1"


def test_drill_is_off_by_default_and_on_in_prod(dev_settings, prod_settings):
    dev = parse_settings(dev_settings).drill
    assert dev.enabled is False and dev.vms == []
    assert (dev.address_prefix, dev.vm_size, dev.max_age_hours, dev.run_command_timeout_minutes) == (
        DEFAULT_ADDRESS_PREFIX, "Standard_D4s_v5", 24, 60)
    prod = parse_settings(prod_settings).drill
    assert prod.enabled is True
    assert [(vm.name, vm.recovery_point, vm.window_days) for vm in prod.vms] == [
        ("vm-iris-prod-1", "latest", 7), ("vm-iris-prod-2", "random", 14)]


# (path under drill, good value, bad value, words the error must contain)
DRILL_RULES = [
    ("addressPrefix", "10.255.0.0/29", "10.255.0.0/30", "/29 or larger"),
    ("addressPrefix", "192.168.10.0/24", "10.255.0.1/24", "no host bits set"),
    ("addressPrefix", "172.16.0.0/16", "20.1.0.0/24", "private address range"),
    ("addressPrefix", "10.0.0.0/8", "fd00::/64", "IPv4 CIDR"),
    ("vmSize", "Standard_E8ds_v5", "D4s_v5", "does not match"),
    ("resourceGroupName", "rg-drill.prod", "rg-drill.", "does not match"),
    ("resourceGroupName", "r" * 90, "r" * 91, "does not match"),
    ("schedule", "30 2 * * MON-FRI", "30 2 * *", "5-field cron"),
    ("schedule", "0 */6 1,15 * *", "0 24 * * *", "hour '24' is not a number 0-23"),
    ("schedule", "*/15 3 * * 7", "*/0 3 * * *", "minute step '0'"),
    ("maxAgeHours", 1, 0, "greater than or equal to 1"),
    ("maxAgeHours", 720, 721, "less than or equal to 720"),
    ("runCommandTimeoutMinutes", 1440, 1441, "less than or equal to 1440"),
    ("vms[0].windowDays", 365, 366, "less than or equal to 365"),
    ("vms[0].windowDays", 1, 0, "greater than or equal to 1"),
    ("vms[0].recoveryPoint", "random", "oldest", "'latest' or 'random'"),
    ("vms[0].name", "vm-cache-prod-1", "vm-not-in-stack", "is not a VM of this stack; allowed: vm-cache-prod-1"),
    ("enabled", False, "sometimes", "valid boolean"),
]


@pytest.mark.parametrize("path, good, bad, expected", DRILL_RULES, ids=[f"{r[0]}={r[2]!r}" for r in DRILL_RULES])
def test_drill_rule_names_path_value_and_allowed(prod_settings, path, good, bad, expected):
    set_path(prod_settings, f"drill.{path}", good)
    parse_settings(prod_settings)
    set_path(prod_settings, f"drill.{path}", bad)
    problems = problems_for(prod_settings)
    assert len(problems) == 1, problems
    assert problems[0].startswith("irisbackup:settings.drill"), problems
    # The message names the path (either in the location or, for cross-checks, in the text).
    field = path.rsplit(".", 1)[-1]
    assert field in problems[0], problems
    assert expected in problems[0], problems
    assert repr(bad) in problems[0], problems


def test_an_enabled_drill_needs_vms_and_lists_each_once(prod_settings):
    set_path(prod_settings, "drill.vms", [])
    assert "enabled: true needs at least one entry in vms" in problems_for(prod_settings)[0]
    set_path(prod_settings, "drill.vms", [{"name": PROD_VM}, {"name": PROD_VM.upper()}])
    assert "vms has duplicate names" in problems_for(prod_settings)[0]
    set_path(prod_settings, "drill.enabled", False)
    set_path(prod_settings, "drill.vms", [])
    assert parse_settings(prod_settings).drill.enabled is False


def test_unknown_drill_keys_are_reported(prod_settings):
    set_path(prod_settings, "drill.vmSizes", "Standard_D2s_v5")
    assert problems_for(prod_settings) == [
        "irisbackup:settings.drill.vmSizes: unknown setting (check the spelling against the config reference in docs/configuration.md)"]


def test_vm_names_are_not_checked_against_vms_that_failed_to_validate(prod_settings):
    """One mistake, one message: a broken vms[] entry must not also flag the drill."""
    set_path(prod_settings, "vms[0].policy", 42)
    problems = problems_for(prod_settings)
    assert problems and not any("drill" in problem for problem in problems), problems


UTC = timezone.utc


@pytest.mark.parametrize("expression, moment, fires", [
    ("0 3 * * 0", datetime(2025, 1, 5, 3, 0, tzinfo=UTC), True),     # a Sunday
    ("0 3 * * 0", datetime(2025, 1, 6, 3, 0, tzinfo=UTC), False),    # a Monday
    ("0 3 * * 7", datetime(2025, 1, 5, 3, 0, tzinfo=UTC), True),     # 7 is Sunday too
    ("0 3 * * SUN", datetime(2025, 1, 5, 3, 0, tzinfo=UTC), True),
    ("0 3 1 * MON", datetime(2025, 1, 6, 3, 0, tzinfo=UTC), True),   # both day fields: either matches
    ("0 3 1 * MON", datetime(2025, 1, 7, 3, 0, tzinfo=UTC), False),
    ("0 3 1 JAN *", datetime(2025, 2, 1, 3, 0, tzinfo=UTC), False),
    ("*/20 3 * * *", datetime(2025, 2, 1, 3, 40, tzinfo=UTC), True),
    ("*/20 3 * * *", datetime(2025, 2, 1, 3, 41, tzinfo=UTC), False),
    ("0 1-5/2 * * *", datetime(2025, 2, 1, 5, 0, tzinfo=UTC), True),
    ("0 1-5/2 * * *", datetime(2025, 2, 1, 4, 0, tzinfo=UTC), False),
])
def test_cron_matches_like_posix_cron(expression, moment, fires):
    assert parse_cron(expression).matches(moment) is fires


def test_cron_fires_between_is_half_open():
    weekly = parse_cron("30 3 * * 0")
    sunday = datetime(2025, 1, 5, 3, 0, tzinfo=UTC)
    assert weekly.fires_between(sunday, sunday.replace(hour=4))
    assert not weekly.fires_between(sunday, sunday.replace(minute=30))
    assert not weekly.fires_between(sunday.replace(minute=31), sunday.replace(hour=5))


def test_every_drill_setting_is_in_the_configuration_reference():
    from pydantic.alias_generators import to_camel

    from irisbackup.settings.drill import DrillSettings, DrillVm
    from tests.program.harness import ROOT

    doc = (ROOT / "docs" / "configuration.md").read_text()
    keys = [f"drill.{to_camel(name)}" for name in DrillSettings.model_fields if name != "vms"]
    keys += [f"drill.vms[].{to_camel(name)}" for name in DrillVm.model_fields]
    for key in keys:
        assert f"| `{key}` |" in doc, key
