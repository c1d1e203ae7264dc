"""RPO and retention as Azure schedules them (irisbackup/schedule.py), edge cases included."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from irisbackup.schedule import backups_per_day, rpo_hours, snapshot_only_backups_per_day, vault_retention_days


def hourly(interval, window, start="2024-01-01T00:00:00Z"):
    return {"schedulePolicy": {"scheduleRunFrequency": "Hourly", "hourlySchedule": {
        "interval": interval, "scheduleWindowStartTime": start, "scheduleWindowDuration": window}},
        "instantRpRetentionRangeInDays": 7,
        "retentionPolicy": {"dailySchedule": {"retentionDuration": {"count": 35, "durationType": "Days"}}}}


@pytest.mark.parametrize("interval, window, per_day, rpo", [
    (4, 24, 6, 4),     # round the clock: every gap is the interval
    (4, 4, 1, 24),     # one backup a day, not six (the window holds only k=0)
    (4, 12, 3, 16),    # 00, 04, 08; then 16 h to the next day's first
    (4, 10, 3, 16),    # a window that is not a multiple of the interval: k*4 < 10 -> 0, 4, 8
    (6, 24, 4, 6),
    (8, 16, 2, 16),
    (12, 24, 2, 12),
    (12, 12, 1, 24),
])
def test_hourly_rpo_follows_the_window(interval, window, per_day, rpo):
    properties = hourly(interval, window)
    assert backups_per_day(properties) == per_day
    assert rpo_hours(properties) == rpo
    assert snapshot_only_backups_per_day(properties) == per_day - 1


def test_a_window_across_midnight_has_the_same_gaps():
    assert rpo_hours(hourly(4, 12, start="2024-01-01T20:00:00Z")) == 16


def test_the_engine_sends_floats_behind_read_only_proxies():
    properties = MappingProxyType({"schedulePolicy": MappingProxyType({
        "scheduleRunFrequency": "Hourly", "hourlySchedule": MappingProxyType({"interval": 4.0, "scheduleWindowDuration": 4.0})})})
    assert rpo_hours(properties) == 24.0


@pytest.mark.parametrize("schedule, rpo", [
    ({"scheduleRunFrequency": "Daily", "scheduleRunTimes": ["2024-01-01T22:00:00Z"]}, 24),
    ({"scheduleRunFrequency": "Weekly", "scheduleRunDays": ["Sunday"]}, 168),
    ({"scheduleRunFrequency": "Weekly", "scheduleRunDays": ["Monday", "Thursday"]}, 96),  # Thu -> Mon is 4 days
    ({"scheduleRunFrequency": "Weekly", "weeklySchedule": {"scheduleRunDays": ["Saturday", "Sunday"]}}, 144),
    ({"scheduleRunFrequency": "Weekly", "scheduleRunDays": list(
        ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"))}, 24),
])
def test_daily_and_weekly_rpo(schedule, rpo):
    assert rpo_hours({"schedulePolicy": schedule}) == rpo


@pytest.mark.parametrize("properties", [
    None, {}, {"schedulePolicy": {"scheduleRunFrequency": "Hourly"}},
    {"schedulePolicy": {"scheduleRunFrequency": "Hourly", "hourlySchedule": {"interval": 4}}},
    {"schedulePolicy": {"scheduleRunFrequency": "Monthly"}},
])
def test_an_incomplete_schedule_has_no_rpo(properties):
    assert rpo_hours(properties) is None


def test_only_the_last_backup_of_an_hourly_day_gets_the_vault_retention():
    properties = hourly(4, 24)
    assert vault_retention_days(properties) == 35
    assert snapshot_only_backups_per_day(properties) == 5
    daily = {"schedulePolicy": {"scheduleRunFrequency": "Daily"}, **{k: v for k, v in properties.items() if k != "schedulePolicy"}}
    assert snapshot_only_backups_per_day(daily) == 0


def test_a_weekly_policy_keeps_its_points_for_the_weekly_tier():
    properties = {"schedulePolicy": {"scheduleRunFrequency": "Weekly"},
                  "retentionPolicy": {"weeklySchedule": {"retentionDuration": {"count": 12.0, "durationType": "Weeks"}}}}
    assert vault_retention_days(properties) == 84
    assert vault_retention_days({"retentionPolicy": {}}) is None
