"""Fixtures for the policy pack tests: example stacks rendered once, and a checker for modified copies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy.policyharness import rendered


@pytest.fixture(scope="session")
def dev_run():
    return rendered("dev")


@pytest.fixture(scope="session")
def prod_run():
    return rendered("prod")


@pytest.fixture
def settings_of():
    from tests.program.harness import example_settings

    def make(stack: str) -> dict[str, Any]:
        return example_settings(stack)

    return make
