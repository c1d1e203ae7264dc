"""`python -m bench`: tables, machine info, and a JSON report holding every printed figure."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from typing import Any

import bench
from bench import Part
from bench import __main__ as cli
from bench.report import cell_text, machine_info, machine_text, part_json, table_text
from bench import program_scale as ps

NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _leaves(value: Any):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def unreported_figures(printed: str, report: dict[str, Any]) -> list[str]:
    """Numbers in the printed text that the JSON does not hold (raw `data` excluded: too easy a match)."""
    shown = {**report, "parts": [{k: v for k, v in part.items() if k != "data"} for part in report["parts"]]}
    strings = [leaf for leaf in _leaves(shown) if isinstance(leaf, str)]
    numbers = [leaf for leaf in _leaves(shown) if isinstance(leaf, (int, float)) and not isinstance(leaf, bool)]
    string_tokens = {token for text in strings for token in NUMBER.findall(text)}
    missing = []
    for token in NUMBER.findall(printed):
        decimals = len(token.split(".")[1]) if "." in token else 0
        if token in string_tokens or any(f"{n:.{decimals}f}" == token for n in numbers):
            continue
        missing.append(token)
    return missing


def test_table_and_json_of_a_part():
    part = Part("T", ["VMs", "plan (s)", "ok"], [[1, "0.50 (0.40-0.60)", True], [200, None, False]], ["a note 1.5"])
    text = table_text(part)
    assert text.splitlines()[0] == "## T"
    assert "| 200 | n/a              | no  |" in text and "- a note 1.5" in text
    assert cell_text(None) == "n/a" and cell_text(2.5) == "2.5"
    record = part_json("scale", part)
    assert record["rows"][0] == {"VMs": 1, "plan (s)": "0.50 (0.40-0.60)", "ok": True}
    assert unreported_figures(text, {"parts": [record]}) == []
    assert unreported_figures(text + " 7.25", {"parts": [record]}) == ["7.25"]


def test_machine_info_names_cpu_cores_memory_versions_and_load():
    machine = machine_info()
    assert machine["cores"] >= 1 and len(machine["load_average_start"]) == 3
    assert set(machine["packages"]) == {"pulumi", "pulumi-azure-native", "pulumi-command"}
    text = machine_text(machine)
    assert machine["cpu_model"] in text and machine["date"] in text and "load average at start" in text
    assert unreported_figures(text, {"machine": machine, "parts": []}) == []


def test_a_part_plugs_in_through_the_registry(monkeypatch, tmp_path, capsys):
    fake = types.ModuleType("bench_fake_part")
    fake.run = lambda quick, log=None: Part(f"fake quick={quick}", ["n", "ms"], [[3, 12.5]], ["median of 3"],
                                            {"raw": [12.4, 12.5]})
    monkeypatch.setitem(sys.modules, "bench_fake_part", fake)
    monkeypatch.setitem(bench.PARTS, "fake", "bench_fake_part")
    out = tmp_path / "r.json"
    assert cli.main(["--only", "fake", "--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert "## fake quick=True" in printed
    assert report["parts"] == [{"part": "fake", "title": "fake quick=True", "columns": ["n", "ms"],
                                "rows": [{"n": 3, "ms": 12.5}], "notes": ["median of 3"], "data": {"raw": [12.4, 12.5]}}]
    assert unreported_figures(printed, report) == []


def test_quick_scale_run_of_one_vm_reports_every_printed_figure(tmp_path):
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "scale", "--quick", "--vms", "1", "--json", str(out)],
        cwd=ps.ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    report = json.loads(out.read_text())
    assert report["machine"]["packages"]["pulumi"] and report["command"].startswith("python -m bench --quick")
    titles = [part["title"] for part in report["parts"]]
    assert len(titles) == 2 and titles[0].startswith("Program scale") and titles[1].startswith("Start-up")
    row = report["parts"][0]["rows"][0]
    # main's one-VM stack (11) + the vault's delete lock (on by default)
    assert row["VMs"] == 1 and row["resources flat"] == 12 and row["resources ours"].startswith("12 + ")
    for title in titles:
        assert f"## {title}" in completed.stdout
    assert unreported_figures(completed.stdout, report) == []
