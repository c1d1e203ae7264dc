"""Test harness: example stack settings as dicts, and the real program run under the mock engine."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

from offline_plan.engine import PlanRun, Registration, run_program
from offline_plan.stack_file import StackConfig

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
# The time every test plan runs at (names the run commands it creates: run_command_script.run_command_name).
PLAN_TIME = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
TEST_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\ntest-key-material-that-must-never-be-printed\n-----END OPENSSH PRIVATE KEY-----"


def example_settings(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"]["irisbackup:settings"])


def run_with_settings(settings: dict[str, Any], stack: str = "test", now: datetime = PLAN_TIME) -> PlanRun:
    values = {
        "irisbackup:settings": json.dumps(settings),
        "irisbackup:sshPrivateKey": TEST_PRIVATE_KEY,
        "irisbackup:bastionPrivateKey": TEST_PRIVATE_KEY,
    }
    with mock.patch("components.run_command_script.utc_now", return_value=now):
        return run_program(stack, StackConfig(values, ["irisbackup:sshPrivateKey", "irisbackup:bastionPrivateKey"]), PROGRAM)


def only(run: PlanRun, type_token: str, name: str | None = None) -> Registration:
    found = [r for r in run.resources if r.type == type_token and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def of_type(run: PlanRun, type_token: str) -> list[Registration]:
    return [r for r in run.resources if r.type == type_token]
