"""Retention of recovery points (the `retention` of a backup policy); the archive rules read it too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from irisbackup.settings.base import _Settings


DAYS = Literal["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
WEEKS_OF_MONTH = Literal["First", "Second", "Third", "Fourth", "Last"]
MONTHS = Literal[
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


class WeeklyRetention(_Settings):
    weeks: int = Field(ge=1, le=5163, strict=True)
    days: list[DAYS] = Field(default=["Sunday"], min_length=1)


class MonthlyRetention(_Settings):
    months: int = Field(ge=1, le=1188, strict=True)
    week: WEEKS_OF_MONTH = "First"
    day: DAYS = "Sunday"


class YearlyRetention(_Settings):
    years: int = Field(ge=1, le=99, strict=True)
    month: MONTHS = "January"
    week: WEEKS_OF_MONTH = "First"
    day: DAYS = "Sunday"


class Retention(_Settings):
    daily_days: int | None = Field(None, ge=7, le=9999, strict=True)
    weekly: WeeklyRetention | None = None
    monthly: MonthlyRetention | None = None
    yearly: YearlyRetention | None = None
