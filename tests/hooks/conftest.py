"""pytest fixtures for the hooks tests (helpers live in hooklib.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hooklib import VM  # noqa: E402


@pytest.fixture
def vm(tmp_path):
    v = VM(tmp_path)
    v.double.add_instance("IRIS", "iris")
    v.double.add_instance("CACHE", "cache")
    yield v
    v.cleanup()


@pytest.fixture
def bare_vm(tmp_path):
    v = VM(tmp_path)
    yield v
    v.cleanup()
