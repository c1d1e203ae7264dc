"""Fixtures: fresh copies of the example stacks' settings for each test to modify."""

from typing import Any

import pytest

from tests.program.harness import example_settings


@pytest.fixture
def dev_settings() -> dict[str, Any]:
    return example_settings("dev")


@pytest.fixture
def prod_settings() -> dict[str, Any]:
    return example_settings("prod")
