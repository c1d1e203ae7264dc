"""The `policies` section: schedule, instant restore and retention as Azure Backup allows them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic.alias_generators import to_camel
from tzlocal.windows_tz import win_tz

from irisbackup.settings.base import _Settings
from irisbackup.settings.parity import ArchiveTiering, InstantRestoreResourceGroup, archive_problems
from irisbackup.settings.retention import DAYS, Retention


# Azure Backup schedules accept Windows time zone IDs ("UTC", "W. Europe Standard Time").
TIME_ZONES = frozenset(win_tz)


def _schedule_time(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):(00|30)", value):
        raise ValueError("expected a time HH:MM on the hour or half hour (e.g. 22:00 or 22:30), as Azure Backup requires")
    return value


def _time_zone(value: Any) -> str:
    if value not in TIME_ZONES:
        raise ValueError("expected a Windows time zone ID as Azure Backup uses them, e.g. UTC or W. Europe Standard Time")
    return value


ScheduleTime = Annotated[str, BeforeValidator(_schedule_time)]


class Schedule(_Settings):
    frequency: Literal["Hourly", "Daily", "Weekly"]
    time: ScheduleTime | None = None
    days: list[DAYS] = []
    interval_hours: Literal[4, 6, 8, 12] | None = None
    window_start: ScheduleTime | None = None
    window_hours: int | None = Field(None, ge=4, le=24, strict=True)

    @model_validator(mode="after")
    def _fields_match_frequency(self) -> Schedule:
        wanted = {
            "Hourly": {"interval_hours", "window_start", "window_hours"},
            "Daily": {"time"},
            "Weekly": {"time", "days"},
        }[self.frequency]
        given = {name for name in ("time", "days", "interval_hours", "window_start", "window_hours") if getattr(self, name)}
        if missing := wanted - given:
            raise ValueError(f"a {self.frequency} schedule needs {_camel_list(missing)}")
        if extra := given - wanted:
            raise ValueError(f"a {self.frequency} schedule takes only {_camel_list(wanted)}, not {_camel_list(extra)}")
        if len(set(self.days)) != len(self.days):
            raise ValueError(f"days has duplicates: {self.days}")
        return self

    @property
    def run_time(self) -> str:
        """The time of day that retention points are taken at."""
        return self.window_start if self.frequency == "Hourly" else self.time  # type: ignore[return-value]


class PolicySettings(_Settings):
    kind: Literal["standard", "enhanced"]
    time_zone: Annotated[str, BeforeValidator(_time_zone)] = "UTC"
    schedule: Schedule
    instant_restore_days: int = Field(2, ge=1, le=30, strict=True)
    retention: Retention
    archive: ArchiveTiering | None = None
    instant_restore_resource_group: InstantRestoreResourceGroup | None = None

    @model_validator(mode="after")
    def _azure_policy_rules(self) -> PolicySettings:
        problems = []
        frequency = self.schedule.frequency
        if self.kind == "standard":
            if frequency == "Hourly":
                problems.append("schedule.frequency Hourly needs kind: enhanced (standard policies run Daily or Weekly)")
            if frequency == "Weekly" and self.instant_restore_days != 5:
                problems.append(f"instantRestoreDays is {self.instant_restore_days}; a standard Weekly policy keeps instant restore points exactly 5 days")
            elif self.instant_restore_days > 5:
                problems.append(f"instantRestoreDays is {self.instant_restore_days}; standard policies allow 1-5 (enhanced: 1-30)")
        if frequency == "Weekly":
            if self.retention.daily_days is not None:
                problems.append("retention.dailyDays is not allowed with a Weekly schedule; use retention.weekly")
            if self.retention.weekly is None:
                problems.append("a Weekly schedule needs retention.weekly")
            elif set(self.retention.weekly.days) != set(self.schedule.days):
                problems.append(f"retention.weekly.days {self.retention.weekly.days} must be the schedule's days {self.schedule.days}")
            for tier in (self.retention.monthly, self.retention.yearly):
                if tier is not None and tier.day not in self.schedule.days:
                    problems.append(f"a monthly/yearly retention day ({tier.day}) must be one of the schedule's days {self.schedule.days}")
        elif self.retention.daily_days is None:
            problems.append(f"a {frequency} schedule needs retention.dailyDays (7-9999)")
        problems += archive_problems(self.archive, self.retention)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _camel_list(names: set[str]) -> str:
    return ", ".join(sorted(to_camel(name) for name in names))
