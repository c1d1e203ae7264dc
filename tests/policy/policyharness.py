"""Helpers: run the real program for (modified) example settings and apply the pack as `make plan` does."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from offline_plan.engine import PlanRun, Registration
from policy.offline import PolicyCheck, check, merge_configs, settings_config, stack_policy_config
from tests.program.harness import example_settings, run_with_settings


def rendered(stack: str, settings: dict[str, Any] | None = None) -> tuple[PlanRun, dict[str, Any]]:
    """The program's registrations for `settings` (default: the example stack's) and the settings used."""
    settings = settings if settings is not None else example_settings(stack)
    return run_with_settings(settings, stack), settings


def checked(stack: str, settings: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
            registrations: list[Registration] | None = None, with_stack_file_config: bool = True) -> PolicyCheck:
    """The verdicts `make plan` gives: config from the settings, policy/config/<stack>.json, then `extra`."""
    run, settings = rendered(stack, settings) if registrations is None else (None, settings)
    if with_stack_file_config:
        config, _ = stack_policy_config(stack, settings)
    else:
        config = settings_config(settings)
    return check(registrations if registrations is not None else run.resources, merge_configs(config, extra or {}))


def edited(run: PlanRun, name: str, change: Callable[[Registration], Registration | None]) -> list[Registration]:
    """A copy of the registrations with one (found by logical name) changed, or dropped when change returns None."""
    found = [r for r in run.resources if r.name == name]
    assert len(found) == 1, f"no single registration named {name}"
    result = []
    for registration in run.resources:
        if registration.name == name:
            registration = change(dataclasses.replace(registration, inputs=copy.deepcopy(registration.inputs)))
            if registration is None:
                continue
        result.append(registration)
    return result


def with_inputs(path: tuple[str, ...], value: Any) -> Callable[[Registration], Registration]:
    """A change that sets (or, with value None, removes) one nested input."""
    def change(registration: Registration) -> Registration:
        target = registration.inputs
        for key in path[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
        return registration
    return change


def failing(result: PolicyCheck) -> dict[str, list[str]]:
    """rule id -> messages of its violations, for the rules that have any."""
    found: dict[str, list[str]] = {}
    for violation in result.violations:
        found.setdefault(violation.policy, []).append(violation.message)
    return found


def mandatory_failing(result: PolicyCheck) -> set[str]:
    return {violation.policy for violation in result.mandatory_violations}
