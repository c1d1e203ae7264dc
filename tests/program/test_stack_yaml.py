"""Stack files are read by one reader (offline_plan/stack_yaml.py) that refuses hostile input quickly and
reads values as the Pulumi CLI does; the plan and the posture diff both go through it."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from offline_plan.stack_file import StackFileError, load_stack_config, stack_file_path, stack_names
from offline_plan.stack_yaml import MAX_ALIAS_NODES, MAX_BYTES, MAX_DEPTH
from posture_diff.__main__ import main as diff_main
from tests.program.harness import ROOT

# Nine levels of ten aliases each: about 10^9 nodes once expanded.
BILLION_LAUGHS = "config:\n  irisbackup:settings:\n    l0: &l0 [lol]\n" + "".join(
    f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
# Generous: a correctness bound (refused before expanding anything), not a speed target.
BOUND_SECONDS = 5


def _file(tmp_path: Path, text: str | bytes, stack: str = "hostile") -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _settings_file(tmp_path: Path, line: str) -> Path:
    return _file(tmp_path, f"config:\n  irisbackup:settings:\n    {line}\n")


def _plan(path: Path) -> subprocess.CompletedProcess:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    return subprocess.run([sys.executable, "-m", "offline_plan", "--stack", stack, "--stack-file", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _refused(path: Path, *expected: str) -> None:
    with pytest.raises(StackFileError) as error:
        load_stack_config(path)
    for text in expected:
        assert text in str(error.value)


HOSTILE = {
    "billion laughs": (BILLION_LAUGHS, ["YAML aliases expand the document by ", f"limited to {MAX_ALIAS_NODES}"]),
    "oversized": ("config: {}\n#" + "x" * MAX_BYTES, [f"bytes; stack files are limited to {MAX_BYTES} bytes"]),
    "self-referencing alias": ("config:\n  a: &a [*a]\n", ["config.a[0] contains an alias to itself"]),
    "deep nesting": ("config:\n  a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n",
                     [f"nested deeper than {MAX_DEPTH} levels"]),
    "python object tag": ("config:\n  a: !!python/object/apply:os.system [id]\n", ["python/object/apply:os.system is not accepted"]),
    "binary tag": ("config:\n  a: !!binary aGk=\n", ["tag tag:yaml.org,2002:binary is not accepted"]),
    "duplicate key": ("config:\n  irisbackup:settings:\n    allowDestroy: false\n    allowDestroy: true\n",
                      ["Pulumi.hostile.yaml:4: key 'allowDestroy' of config.irisbackup:settings is already set on line 3"]),
    "not UTF-8": (b"config:\n  a: \xff\n", ["is not UTF-8 text"]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_stack_files_are_refused_quickly_with_the_file_and_the_limit(tmp_path, case):
    text, expected = HOSTILE[case]
    path = _file(tmp_path, text)
    start = time.monotonic()
    _refused(path, "Pulumi.hostile.yaml", *expected)
    assert time.monotonic() - start < BOUND_SECONDS


@pytest.mark.parametrize("case", ["billion laughs", "oversized"])
def test_the_plan_refuses_them_with_exit_2_and_no_traceback(tmp_path, case):
    text, expected = HOSTILE[case]
    start = time.monotonic()
    result = _plan(_file(tmp_path, text))
    assert time.monotonic() - start < BOUND_SECONDS + 10  # + interpreter start-up on a busy machine
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: stack hostile: Pulumi.hostile.yaml")
    assert all(text in result.stderr for text in expected)


def test_the_posture_diff_refuses_them_too(tmp_path, capsys):
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    _file(head, BILLION_LAUGHS, "bomb")
    _file(head, HOSTILE["oversized"][0], "big")
    start = time.monotonic()
    assert diff_main(["--base-dir", str(base), "--project", str(head)]) == 2
    assert time.monotonic() - start < BOUND_SECONDS
    out = capsys.readouterr().out
    assert re.search(r"=== stack big ===\n  ERROR, cannot compare: working tree: Pulumi\.big\.yaml is \d+ bytes", out)
    assert "=== stack bomb ===\n  ERROR, cannot compare: working tree: Pulumi.bomb.yaml: YAML aliases expand" in out


# How the Pulumi CLI (gopkg.in/yaml.v2) and YAML 1.2's core schema read a plain scalar, written out by hand.
# Accepted when both agree; refused when they do not (the review would not see what deploys).
READINGS = [
    # text, Pulumi CLI (yaml.v2), YAML 1.2 core
    ("22:00", "22:00", "22:00"),     # YAML 1.1 (PyYAML) reads 1320: reported, not refused
    ("1:30:00", "1:30:00", "1:30:00"),
    ("2024-01-01", "2024-01-01", "2024-01-01"),
    ("1e3", 1000.0, 1000.0),
    ("0o17", 15, 15),
    ("0x1F", 31, 31),
    ("+12", 12, 12),
    ("true", True, True),
    ("False", False, False),
    ("~", None, None),
    (".inf", math.inf, math.inf),
    ("1.5", 1.5, 1.5),
    ("westeurope", "westeurope", "westeurope"),
    ("_1", "_1", "_1"),
    ("08", 8.0, 8),                  # yaml.v2: not octal, so a float
    ("yes", True, "yes"),
    ("off", False, "off"),
    ("y", True, "y"),
    ("N", False, "N"),
    ("0777", 511, 777),
    ("012", 10, 12),
    ("1_000", 1000, "1_000"),
    ("0b101", 5, "0b101"),
]


@pytest.mark.parametrize(("text", "cli", "core"), READINGS)
def test_a_value_is_read_as_the_pulumi_cli_reads_it_or_refused(tmp_path, text, cli, core):
    path = _settings_file(tmp_path, f"value: {text}")
    if type(cli) is type(core) and repr(cli) == repr(core):
        settings = load_stack_config(path).values["irisbackup:settings"]
        value = json.loads(settings)["value"]
        assert type(value) is type(core) and repr(value) == repr(core)
    else:
        _refused(path, f"Pulumi.hostile.yaml:3: config.irisbackup:settings.value: {text} is ",
                 "to the Pulumi CLI (YAML 1.1 rules) but", "in YAML 1.2", f'quote it ("{text}")')


@pytest.mark.parametrize(("text", "other"), [("22:00", "the integer 1320"), ("2024-01-01", "the date 2024-01-01"),
                                             ("1e3", "the string '1e3'"), ("0o17", "the string '0o17'")])
def test_a_value_other_yaml_1_1_readers_read_differently_is_reported(tmp_path, text, other):
    notes = load_stack_config(_settings_file(tmp_path, f"time: {text}")).notes
    assert len(notes) == 1 and notes[0].startswith(f"Pulumi.hostile.yaml:3: config.irisbackup:settings.time: {text} is read as ")
    assert f"YAML 1.1 readers such as PyYAML read {other}; quote it" in notes[0]
    quoted = load_stack_config(_settings_file(tmp_path, f'time: "{text}"'))
    assert quoted.notes == ()


def test_the_plan_reads_22_00_as_a_string_and_says_so(tmp_path):
    text = (ROOT / "examples/Pulumi.dev.yaml").read_text()
    assert 'time: "22:00"' in text
    unquoted = text.replace('time: "22:00"', "time: 22:00")
    line = unquoted.splitlines().index("          time: 22:00") + 1
    result = _plan(_file(tmp_path, unquoted, "dev"))
    assert result.returncode == 0, result.stderr
    assert "daily-dev" in result.stdout and "22:00" in result.stdout
    assert (f"warning: Pulumi.dev.yaml:{line}: config.irisbackup:settings.policies.daily-dev.schedule.time: 22:00 is read as "
            "the string '22:00' (YAML 1.2, as the Pulumi CLI reads it)") in result.stderr


def test_quoted_tagged_and_top_level_values_are_text_as_written(tmp_path):
    path = _file(tmp_path, "config:\n  irisbackup:flag: 0777\n  irisbackup:empty:\n  irisbackup:settings:\n"
                           "    a: 'yes'\n    b: !!str yes\n    base: &base {x: 1}\n    merged: {<<: *base, y0: 2}\n")
    config = load_stack_config(path)
    # The CLI keeps a top-level config value as the text written (config.Value unmarshals it as a string first).
    assert config.values["irisbackup:flag"] == "0777" and config.values["irisbackup:empty"] == ""
    assert config.values["irisbackup:settings"] == '{"a": "yes", "b": "yes", "base": {"x": 1}, "merged": {"x": 1, "y0": 2}}'
    assert config.notes == ()


def test_the_example_stack_files_need_no_note():
    assert stack_names(ROOT)
    for stack in stack_names(ROOT):
        assert load_stack_config(stack_file_path(ROOT, stack)).notes == (), stack


def test_only_the_stack_file_reader_parses_yaml_in_what_ships():
    shipped = [ROOT / "__main__.py", *ROOT.glob("irisbackup/**/*.py"), *ROOT.glob("offline_plan/*.py"), *ROOT.glob("policy/*.py"),
               *ROOT.glob("posture_diff/*.py"), *ROOT.glob("drill/*.py"), *ROOT.glob("tools/*.py")]
    readers = sorted(str(path.relative_to(ROOT)) for path in shipped if re.search(r"^\s*(import yaml|from yaml)", path.read_text(), re.M))
    assert readers == ["offline_plan/stack_yaml.py"]


def test_the_configuration_doc_states_the_limits_the_reader_applies():
    section = (ROOT / "docs" / "configuration.md").read_text().split("## How the stack file is read", 1)[1]
    assert MAX_BYTES == 1024 * 1024 and "larger than 1 MiB" in section
    assert f"more than {MAX_ALIAS_NODES:,} nodes" in section
    assert f"deeper than {MAX_DEPTH} levels" in section
    for text, cli, core in READINGS:
        if not (type(cli) is type(core) and repr(cli) == repr(core)) and text in ("yes", "0777", "1_000", "0b101"):
            assert f"`{text}`" in section
