"""The tests' fast clock (tests/doubles/clock): inert on a VM, and its doubles scale exactly the
durations they are given. No timing: the hooks' clock is compared with /proc/uptime read before
and after, the doubles' arguments with what a stand-in for the real command receives."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from clock import SCALE_ENV, valid_scale
from hooklib import CLOCK_DIR, HOOKS, REPO

NOT_A_SCALE = ["", "1", "0", "01", "-4", "4x", " 4", "4.0", "1000", "99999999999999999999"]


def uptime_cs() -> int:
    return round(float(Path("/proc/uptime").read_text().split()[0]) * 100)


def hooks_now(value: str | None) -> tuple[int, int, int]:
    """(uptime before, the hooks' IB_NOW, uptime after), centiseconds, with SCALE_ENV=value."""
    env = {"PATH": "/usr/bin:/bin"}
    if value is not None:
        env[SCALE_ENV] = value
    before = uptime_cs()
    out = subprocess.run(["sh", "-c", 'IB_HOOK_DIR="$1"; . "$1/common.sh"; ib_now; echo "$IB_NOW"', "sh", str(HOOKS)],
                         env=env, capture_output=True, text=True, timeout=30, check=True).stdout
    return before, int(out), uptime_cs()


@pytest.mark.parametrize("value", [None, *NOT_A_SCALE])
def test_anything_but_a_scale_leaves_the_hooks_on_the_real_clock(value):
    before, now, after = hooks_now(value)
    assert before <= now <= after
    assert valid_scale(value) == 1, "the tests' clock reads the variable as the hooks do"


@pytest.mark.parametrize("value", ["2", "4", "999"])
def test_a_scale_makes_the_hooks_clock_that_many_times_faster(value):
    before, now, after = hooks_now(value)
    assert int(value) * before <= now <= int(value) * after
    assert valid_scale(value) == int(value)


def test_nothing_that_ships_or_deploys_sets_the_scale():
    # Only common.sh names it, to read it; the installer, the Run Command and the program never do.
    named = {p.relative_to(REPO).as_posix() for d in ("hooks", "irisbackup", "drill", "offline_plan")
             for p in (REPO / d).rglob("*") if p.is_file() and SCALE_ENV in p.read_text(errors="replace")}
    assert named == {"hooks/common.sh"}
    code = "\n".join(line for line in (HOOKS / "common.sh").read_text().splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(rf"(^|[\s;]){SCALE_ENV}=|export\s+{SCALE_ENV}", code)


@pytest.fixture
def stand_in(tmp_path):
    """A directory with `sleep` and `timeout` that print their arguments (the 'real' commands)."""
    d = tmp_path / "real"
    d.mkdir()
    for name in ("sleep", "timeout"):
        (d / name).write_text(f'#!/bin/sh\nprintf "{name}"; printf " %s" "$@"; echo\n')
        os.chmod(d / name, 0o755)
    return d


def run_double(stand_in: Path, scale: str | None, *argv: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{CLOCK_DIR}:{stand_in}:/usr/bin:/bin"}
    if scale is not None:
        env[SCALE_ENV] = scale
    return subprocess.run([f"{CLOCK_DIR}/{argv[0]}", *argv[1:]], env=env, capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("scale, argv, received", [
    ("4", ["sleep", "1", "0.5"], "sleep 0.250000 0.125000"),
    ("4", ["sleep", "00.10"], "sleep 0.025000"),
    ("4", ["timeout", "-k", "1", "2", "iris", "qlist", "-k", "3"], "timeout -k 0.250000 0.500000 iris qlist -k 3"),
    ("999", ["timeout", "0.000001", "x"], "timeout 0.000001 x"),  # never 0: timeout(1) reads 0 as no limit
    ("4", ["sleep", "1m"], "sleep 1m"),  # not a plain number of seconds: kept
    (None, ["timeout", "-k", "1", "5", "logger", "a b"], "timeout -k 1 5 logger a b"),
    ("1", ["sleep", "0.1"], "sleep 0.1"),
])
def test_clock_doubles_divide_each_duration_by_the_scale(stand_in, scale, argv, received):
    p = run_double(stand_in, scale, *argv)
    assert p.returncode == 0 and p.stdout.strip() == received, p


def test_clock_double_without_a_real_command_behind_it_is_not_found(tmp_path):
    p = subprocess.run([f"{CLOCK_DIR}/timeout", "1", "true"], env={"PATH": f"{CLOCK_DIR}:{tmp_path}", SCALE_ENV: "4"},
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 127 and "not found" in p.stderr


def test_make_test_runs_in_workers_and_make_test_slow_reruns_the_hook_tests_on_the_real_clock():
    # What README (Dependencies) and docs/performance.md promise of the two targets.
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^PYTEST_WORKERS \?= 4$", makefile, re.M)
    assert re.search(r"^test: .*\n\t\$\(PY\) -m pytest -q -n \$\(PYTEST_WORKERS\)$", makefile, re.M)
    slow = re.search(r"^test-slow: .*\n\tHOOK_TESTS_CLOCK_SCALE=1 \$\(PY\) -m pytest .*\$\(REAL_CLOCK_TESTS\)$", makefile, re.M)
    paths = re.search(r"^REAL_CLOCK_TESTS := (.*)$", makefile, re.M)
    assert slow and paths and "tests/hooks" in paths[1].split()
    assert all((REPO / p).exists() for p in paths[1].split())
    pins = (REPO / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"pytest-xdist==[\d.]+", line) for line in pins)
    assert any(re.fullmatch(r"execnet==[\d.]+", line) for line in pins)
