"""Five-field cron expressions as GitHub Actions reads them (UTC): parse, and say when one is due.

Pure logic. The restore-drill workflow runs hourly and asks, per stack, whether the stack's
`drill.schedule` fires within that hour (GitHub's own `schedule:` is static YAML, so the per-stack
schedules cannot be written into it). Syntax is POSIX cron as GitHub documents it: `*`, lists `a,b`,
ranges `a-b`, steps `*/n` and `a-b/n`; month and weekday names (JAN, MON) are accepted too.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAYS = {name.upper(): (number + 1) % 7 for number, name in enumerate(calendar.day_abbr)}
# (name, lowest, highest, names) of the five fields, in order.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    # 7 is Sunday as well as 0 (so 5-7 is Friday to Sunday).
    ("day of week", 0, 7, _DAYS),
)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    # Cron's rule: when both day fields are restricted, a day matches if EITHER matches.
    days_restricted: bool
    weekdays_restricted: bool

    def matches(self, moment: datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours or moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def fires_between(self, start: datetime, end: datetime) -> bool:
        """True if the expression fires at a minute in [start, end)."""
        moment = start.replace(second=0, microsecond=0)
        if moment < start:
            moment += timedelta(minutes=1)
        while moment < end:
            if self.matches(moment):
                return True
            moment += timedelta(minutes=1)
        return False


def parse_cron(expression: str) -> Cron:
    """Parse a five-field cron expression; ValueError names the field and what it allows."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    values = [_parse_field(text, *spec) for text, spec in zip(fields, _FIELDS)]
    return Cron(*values, days_restricted=fields[2] != "*", weekdays_restricted=fields[4] != "*")


def _parse_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    chosen: set[int] = set()
    for part in text.split(","):
        chosen |= _parse_part(part, name, low, high, names)
    return frozenset(0 if name == "day of week" and value == 7 else value for value in chosen)


def _parse_part(part: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    span, _, step_text = part.partition("/")
    step = _number(step_text, f"{name} step", 1, high - low + 1, {}) if step_text else 1
    if span == "*":
        first, last = low, high
    elif "-" in span:
        first_text, _, last_text = span.partition("-")
        first, last = _number(first_text, name, low, high, names), _number(last_text, name, low, high, names)
        if first > last:
            raise ValueError(f"{name} range {span!r} runs backwards")
    else:
        first = _number(span, name, low, high, names)
        last = high if step_text else first
    return set(range(first, last + 1, step))


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} {text!r} is not a number {low}-{high}")
    return int(text)
