"""Which recovery point a drill restores (pure logic)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

APP_CONSISTENT = "AppConsistent"
# Archive-tier points need rehydration (IaasVMRestoreWithRehydrationRequest) first: not drilled.
ARCHIVE_TIER = "ArchivedRP"


@dataclass(frozen=True)
class RecoveryPoint:
    id: str  # the recovery point name Azure Backup uses in the restore path
    time: datetime
    type: str  # AppConsistent | FileSystemConsistent | CrashConsistent | ...
    tiers: tuple[str, ...] = ()
    security_type: str | None = None
    disks: tuple[tuple[int, str], ...] = ()  # (LUN, source disk name) of the data disks

    @property
    def app_consistent(self) -> bool:
        return self.type == APP_CONSISTENT


class NoRecoveryPoint(Exception):
    pass


def choose(points: list[RecoveryPoint], mode: str, window_days: int, now: datetime,
           rng: random.Random | None = None) -> RecoveryPoint:
    """latest: the newest point; random: any point of the last window_days (AWS Backup's
    LATEST/RANDOM_WITHIN_WINDOW). Archive-only points are never chosen."""
    usable = [p for p in points if not p.tiers or any(t != ARCHIVE_TIER for t in p.tiers)]
    if mode == "latest":
        if not usable:
            raise NoRecoveryPoint("the vault holds no restorable (non-archive) recovery point for this VM")
        return max(usable, key=lambda p: p.time)
    start = now - timedelta(days=window_days)
    in_window = sorted((p for p in usable if p.time >= start), key=lambda p: p.time)
    if not in_window:
        raise NoRecoveryPoint(f"no restorable recovery point in the last {window_days} days")
    return (rng or random.Random()).choice(in_window)
