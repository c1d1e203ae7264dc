"""Find and delete what crashed drills left in the sandbox: run resources older than maxAgeHours."""

from __future__ import annotations

from datetime import datetime, timedelta

from irisbackup.drill import drill_naming as naming

from .azure_ops import RunResource


def leftovers(resources: list[RunResource], stack: str, now: datetime, max_age_hours: int) -> list[RunResource]:
    """Run resources of this stack whose run started more than max_age_hours ago. Resources Pulumi
    manages carry SANDBOX_TAG instead and are never returned."""
    cutoff = now - timedelta(hours=max_age_hours)
    old = []
    for r in resources:
        if naming.SANDBOX_TAG in r.tags or r.tags.get(naming.RUN_TAG) != stack:
            continue
        try:
            started = datetime.fromisoformat(r.tags.get(naming.STARTED_TAG, ""))
        except ValueError:
            started = None  # a run tag without a readable start: old enough to be a leftover
        if started is None or started <= cutoff:
            old.append(r)
    return old
