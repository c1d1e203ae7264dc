"""Test harness: example stack settings as dicts, and the real program run under the mock engine."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

from offline_plan.engine import PlanRun, Registration, run_program
from offline_plan.stack_file import StackConfig

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
TEST_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key-material-that-must-never-be-printed\n-----END OPENSSH PRIVATE KEY-----"


def example_settings(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"examples/Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"]["irisbackup:settings"])


# Plans already run in this process, by stack, settings and mock engine: most tests plan the example
# stacks unchanged, and one plan costs a second or two of CPU. Each caller gets its own deep copy.
_PLANS: dict[tuple[str, str, Any], PlanRun] = {}


def run_with_settings(settings: dict[str, Any], stack: str = "test", *, cached: bool = True) -> PlanRun:
    """The program's plan for these settings. cached=False runs it again (e.g. to see what it logs)."""
    from offline_plan import engine
    key = (stack, json.dumps(settings, sort_keys=True), engine._OfflineMocks.new_resource)
    if not cached or key not in _PLANS:
        _PLANS[key] = _run(settings, stack)
    return copy.deepcopy(_PLANS[key])


def _run(settings: dict[str, Any], stack: str) -> PlanRun:
    values = {
        "irisbackup:settings": json.dumps(settings),
        "irisbackup:sshPrivateKey": TEST_PRIVATE_KEY,
        "irisbackup:bastionPrivateKey": TEST_PRIVATE_KEY,
    }
    return run_program(stack, StackConfig(values, ["irisbackup:sshPrivateKey", "irisbackup:bastionPrivateKey"]), PROGRAM)


@contextlib.contextmanager
def deployer_clock(start: datetime = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)) -> Iterator[dict[str, str]]:
    """The mock engine answering each creation stamp (irisbackup/creation_stamp.py) as the deployer's
    `date -u` would at `pulumi up`, a minute later for each one created; yields the stamps by name."""
    from irisbackup.creation_stamp import STAMP_COMMAND, STAMP_FORMAT
    from offline_plan import engine
    original = engine._OfflineMocks.new_resource
    stamps: dict[str, str] = {}

    def new_resource(self, args):
        resource_id, outputs = original(self, args)
        if args.typ == "command:local:Command" and args.inputs.get("create") == STAMP_COMMAND:
            stamps[args.name] = outputs["stdout"] = f"{start + timedelta(minutes=len(stamps)):{STAMP_FORMAT}}"
        return resource_id, outputs
    with mock.patch.object(engine._OfflineMocks, "new_resource", new_resource):
        yield stamps


def only(run: PlanRun, type_token: str, name: str | None = None) -> Registration:
    found = [r for r in run.resources if r.type == type_token and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def of_type(run: PlanRun, type_token: str) -> list[Registration]:
    return [r for r in run.resources if r.type == type_token]
