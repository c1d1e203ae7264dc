"""The dependency locks: requirements.lock is exactly the closure of requirements.txt, every line hashed;
the policy pack's lock is a subset of it; venv/ and policy/venv/ install them hash-checked; README says
why each top-level dependency is there."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.program.harness import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level_pins(path: Path) -> dict[str, str]:
    """name -> version of a human-edited requirements file; every requirement line an exact pin."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = _PIN.fullmatch(line)
            assert match, f"{path.name}: {line!r} is not an exact name==version pin"
            pins[canonical(match[1])] = match[2]
    return pins


@dataclass
class Locked:
    version: str
    hashes: frozenset[str]
    via: frozenset[str]  # who asked for it: "-r <file>" for a top-level pin, else the requiring package


def locked(path: Path) -> dict[str, Locked]:
    """Parse a hash lock as `make lock` writes it: `name==version \\`, `--hash=sha256:...` lines, `# via`."""
    entries: dict[str, Locked] = {}
    name, version, hashes, via = None, "", set(), set()
    for raw in path.read_text().splitlines() + [""]:
        line = raw.strip()
        requirement = not raw.startswith((" ", "#")) and line
        if (requirement or not raw) and name:
            entries[name] = Locked(version, frozenset(hashes), frozenset(via))
            name, hashes, via = None, set(), set()
        if requirement:
            match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\", line)
            assert match, f"{path.name}: {line!r} is not a hashed exact pin (options and URLs do not belong in a lock)"
            name, version = canonical(match[1]), match[2]
        elif line.startswith("--hash=") and name:
            hashes.add(line.removesuffix("\\").strip().removeprefix("--hash="))
        elif name and line.startswith("#"):
            text = line.lstrip("#").strip()
            text = text.removeprefix("via").strip() if text == "via" or text.startswith("via ") else text
            via.update([text] if text else [])
    return entries


def test_every_top_level_dependency_is_an_exact_pin_and_the_lock_has_each_at_that_version():
    pins = top_level_pins(ROOT / "requirements.txt")
    lock = locked(ROOT / "requirements.lock")
    assert {name: lock[name].version for name in pins if name in lock} == pins, "run `make lock`"
    # Exactly: what the lock took from requirements.txt is requirements.txt, nothing stale left over.
    assert {name for name, entry in lock.items() if "-r requirements.txt" in entry.via} == set(pins)


def test_every_locked_line_is_hashed_and_transitive_ones_say_who_needs_them():
    for path in (ROOT / "requirements.lock", ROOT / "policy/requirements.txt"):
        lock = locked(path)
        assert len(lock) > 20, path  # the parser saw the file
        for name, entry in lock.items():
            assert entry.hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in entry.hashes), (path, name)
            assert entry.via, f"{path.name}: {name} is in the lock for no reason"
        assert "--index-url" not in path.read_text() and "--find-links" not in path.read_text(), "no machine's index in a lock"


def test_the_policy_pack_lock_is_its_own_pins_at_the_programs_versions():
    pack_pins = top_level_pins(ROOT / "policy/requirements.in")
    pack_lock = locked(ROOT / "policy/requirements.txt")
    program_pins = top_level_pins(ROOT / "requirements.txt")
    program_lock = locked(ROOT / "requirements.lock")
    assert {name for name, entry in pack_lock.items() if "-r policy/requirements.in" in entry.via} == set(pack_pins)
    # One set of versions: the pack and the offline check of `make plan` run the same packages.
    assert {name: program_pins[name] for name in pack_pins} == pack_pins
    for name, entry in pack_lock.items():
        assert (entry.version, entry.hashes) == (program_lock[name].version, program_lock[name].hashes), name
    assert "pulumi-azure-native" not in pack_lock and "pydantic" not in pack_lock  # no program dependency


def test_venvs_install_only_the_hash_locks_and_rebuild_when_they_change():
    program = re.search(r"^\$\(STAMP\): (\S+)\n((?:\t.*\n)+)", MAKEFILE, re.M)
    pack = re.search(r"^\$\(POLICY_STAMP\): (\S+)\n((?:\t.*\n)+)", MAKEFILE, re.M)
    for (lock, recipe), python in ((program.groups(), "$(PY)"), (pack.groups(), "$(POLICY_VENV)/bin/python")):
        [install] = [line for line in recipe.splitlines() if "pip install" in line]
        assert install.strip().startswith(f"{python} -m pip install ") and install.endswith(f"--require-hashes --no-deps -r {lock}")
        assert f"{python} -m pip check" in recipe  # --no-deps: a lock missing a dependency fails the build
    assert program[1] == "requirements.lock" and pack[1] == "policy/requirements.txt"
    assert re.search(r"^POLICY_VENV := policy/venv$", MAKEFILE, re.M)


def test_make_lock_regenerates_both_locks_from_the_top_level_pins():
    result = subprocess.run(["make", "--no-print-directory", "-n", "lock", "LOCK_TOOL_VENV=/nonexistent/tool"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    compiles = [line for line in result.stdout.splitlines() if "/nonexistent/tool/bin/uv pip compile" in line]
    assert len(compiles) == 2
    program, pack = compiles
    for line in compiles:
        assert "--generate-hashes" in line and "--python-version 3.11" in line and "--python-platform x86_64-manylinux" in line
    assert program.endswith("requirements.txt -o requirements.lock")
    assert pack.endswith("policy/requirements.in -c requirements.lock -o policy/requirements.txt")
    # The tool is pinned and lives outside venv/: nothing installs it at install time.
    assert re.search(r"pip install .*uv==\d+\.\d+\.\d+$", result.stdout, re.M)
    assert "uv" not in top_level_pins(ROOT / "requirements.txt")
    for path in (ROOT / "requirements.lock", ROOT / "policy/requirements.txt"):
        assert path.read_text().splitlines()[1] == "#    make lock", f"{path.name} was not written by make lock"


def test_readme_says_why_each_top_level_dependency_is_there():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Dependencies", 1)[1].split("\n## ", 1)[0]
    named = {canonical(name) for row in table.splitlines() if row.startswith("| `")
             for name in re.findall(r"`([^`]+)`", row.split("|")[1])}
    pins = set(top_level_pins(ROOT / "requirements.txt"))
    assert pins <= named, f"README Dependencies misses {sorted(pins - named)}"
    assert {name for name in named - pins if not name.startswith("@")} == set(), "README lists a package that is not pinned"
    assert "make lock" in table and "requirements.lock" in table
