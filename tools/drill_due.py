#!/usr/bin/env python3
"""Which stacks the restore-drill workflow drills now: prints a JSON list for the job matrix.

    python tools/drill_due.py                 # stacks whose drill.schedule fired in the last hour
    python tools/drill_due.py --all           # every stack with drill.enabled (manual dispatch)
    python tools/drill_due.py --stack prod    # just prod; an error if prod has drills off

GitHub's `schedule:` is static YAML, so the workflow runs hourly and this picks the stacks whose own
5-field UTC cron fired within the hour before --now (a scheduled run GitHub starts late still finds
them). A stack whose settings do not validate is an error (exit 2), never silently skipped.
Only real stacks (Pulumi.<stack>.yaml beside Pulumi.yaml) are drilled: the examples in examples/ hold
fake ids and are never deployed, so never drilled.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from irisbackup.drill.cron import parse_cron  # noqa: E402
from irisbackup.settings import CONFIG_KEY, PROJECT, SettingsError, parse_settings  # noqa: E402
from irisbackup.settings.drill import DrillSettings  # noqa: E402
from offline_plan.stack_file import StackFileError, load_stack_config  # noqa: E402

LOOKBACK = timedelta(hours=1)


class DueError(Exception):
    pass


def drill_settings(root: Path) -> dict[str, DrillSettings]:
    """Each real stack's validated drill settings, by stack name (examples/ is not looked at)."""
    found = {}
    for path in sorted(root.glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            raw = json.loads(load_stack_config(path).values.get(f"{PROJECT}:{CONFIG_KEY}", "null"))
            found[stack] = parse_settings(raw).drill
        except (StackFileError, SettingsError) as error:
            raise DueError(f"{path.name}: {error}") from None
    return found


def stacks_to_drill(settings: dict[str, DrillSettings], now: datetime, stack: str | None = None,
                    everything: bool = False) -> list[str]:
    enabled = {name: drill for name, drill in settings.items() if drill.enabled}
    if stack is not None:
        if stack not in enabled:
            allowed = ", ".join(sorted(enabled)) or "none"
            raise DueError(f"stack {stack!r} has no restore drills (drill.enabled); stacks with drills: {allowed}")
        return [stack]
    if everything:
        return sorted(enabled)
    # The minutes in (now - 1 h, now]: a run that starts exactly on time still finds its own minute.
    start, end = now - LOOKBACK + timedelta(seconds=1), now + timedelta(seconds=1)
    return sorted(name for name, drill in enabled.items() if parse_cron(drill.schedule).fires_between(start, end))


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="tools/drill_due.py", description=__doc__.split("\n\n")[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--stack", help="drill this stack (it must have drill.enabled)")
    choice.add_argument("--all", action="store_true", help="every stack with drill.enabled")
    parser.add_argument("--now", type=datetime.fromisoformat, help="ISO time instead of the clock (tests)")
    args = parser.parse_args(argv)
    now = (args.now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    try:
        print(json.dumps(stacks_to_drill(drill_settings(root), now, args.stack or None, args.all)))
    except DueError as error:
        print(f"drill_due: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
