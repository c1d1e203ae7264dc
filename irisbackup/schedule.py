"""RPO and retention of an Azure VM backup policy, computed the way Azure Backup schedules it.

The one place for this arithmetic: the policy pack (policy/backup_rules.py), the offline plan summary
(offline_plan/render.py), the posture diff and the health alerts import it from here. Pure and stdlib-only
on purpose: the Pulumi CLI runs the policy pack with only the repository on sys.path.

Input is the ARM-shaped (camelCase) `properties` of a ProtectionPolicy as azure-native sends them: plain
dicts from the offline plan, read-only Mapping proxies with every number a float from the real engine.

How Azure schedules (Microsoft Learn, backup-azure-vms-enhanced-policy):
- Hourly (enhanced policy only): a backup at windowStart + k * interval for every k with
  k * interval < windowDuration, every day. Every 4 hours in a 4-hour window is one backup a day, not six;
  the worst gap is the one from the day's last backup to the next day's first.
- "The last backup of the day is transferred to the vault": it gets the daily retention. The other backups
  of the day stay snapshots only, kept `instantRpRetentionRangeInDays`.
- Daily: one backup a day. Weekly: one on each scheduled day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAYS_PER_UNIT = {"Days": 1, "Weeks": 7}


def field(value: Any, *path: str) -> Any:
    """The value at `path` in nested mappings, or None where any key is missing."""
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def number(value: Any) -> float | None:
    """A number as a float (the engine sends floats, the offline plan ints; numeric strings accepted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            return None
    return float(value)


def _hourly(properties: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """(interval, window duration) in hours of an Hourly schedule, or None when not Hourly or incomplete."""
    schedule = field(properties, "schedulePolicy")
    if field(schedule, "scheduleRunFrequency") != "Hourly":
        return None
    interval = number(field(schedule, "hourlySchedule", "interval"))
    window = number(field(schedule, "hourlySchedule", "scheduleWindowDuration"))
    if not interval or not window or interval <= 0 or window <= 0:
        return None
    return interval, window


def backups_per_day(properties: Mapping[str, Any] | None) -> int | None:
    """Scheduled backups a day: Hourly k * interval < window, Daily 1; None for Weekly or unknown."""
    hourly = _hourly(properties)
    if hourly:
        interval, window = hourly
        return math.ceil(window / interval)
    return 1 if field(properties, "schedulePolicy", "scheduleRunFrequency") == "Daily" else None


def _weekly_days(schedule: Any) -> list[int]:
    days = field(schedule, "weeklySchedule", "scheduleRunDays") or field(schedule, "scheduleRunDays") or []
    if not isinstance(days, Sequence) or isinstance(days, str):
        return []
    return sorted({DAY_NAMES.index(day) for day in days if day in DAY_NAMES})


def rpo_hours(properties: Mapping[str, Any] | None) -> float | None:
    """The longest time between two scheduled recovery points, in hours (None when it cannot be told)."""
    schedule = field(properties, "schedulePolicy")
    frequency = field(schedule, "scheduleRunFrequency")
    if frequency == "Hourly":
        hourly = _hourly(properties)
        if hourly is None:
            return None
        interval, _ = hourly
        last_of_day = (backups_per_day(properties) - 1) * interval  # type: ignore[operator]
        return max(interval, 24.0 - last_of_day)
    if frequency == "Daily":
        return 24.0
    if frequency == "Weekly":
        days = _weekly_days(schedule)
        if not days:
            return 168.0
        gaps = [later - earlier for earlier, later in zip(days, days[1:] + [days[0] + 7])]
        return 24.0 * max(gaps)
    return None


def vault_retention_days(properties: Mapping[str, Any] | None) -> float | None:
    """How long the point that goes to the vault is kept: the daily tier, or the weekly one of a weekly policy."""
    retention = field(properties, "retentionPolicy")
    for tier in ("dailySchedule", "weeklySchedule"):
        duration = field(retention, tier, "retentionDuration")
        count, unit = number(field(duration, "count")), field(duration, "durationType")
        if count is not None and unit in _DAYS_PER_UNIT:
            return count * _DAYS_PER_UNIT[unit]
    return None


def snapshot_only_backups_per_day(properties: Mapping[str, Any] | None) -> int:
    """Backups of a day that never reach the vault (all but the last of an Hourly day)."""
    per_day = backups_per_day(properties)
    return per_day - 1 if per_day and _hourly(properties) else 0


def instant_restore_days(properties: Mapping[str, Any] | None) -> float | None:
    return number(field(properties, "instantRpRetentionRangeInDays"))
