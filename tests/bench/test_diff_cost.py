"""bench/diff_cost.py: make diff against make review, alternating, judged on the 2x target (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import PARTS
from bench import diff_cost as dc
from bench.report import part_json, table_text
from offline_plan.stack_file import load_stack_config, raw_settings, stack_names
from tests.bench.test_cli import unreported_figures


def test_the_estate_holds_the_program_every_stack_file_and_a_generated_stack(tmp_path: Path):
    tree = dc.estate(tmp_path / "t", 3)
    assert (tree / "__main__.py").is_file() and (tree / "posture_diff" / "__main__.py").is_file()
    assert set(stack_names(tree)) == set(stack_names(dc.ROOT)) | {"bench3"} and (tree / "examples").is_dir()
    assert not (tree / "tests").exists() and not (tree / "venv").exists()
    config = load_stack_config(tree / "Pulumi.bench3.yaml")
    assert len(raw_settings(config)["vms"]) == 3 and "irisbackup:sshPrivateKey" in config.secret_keys


def test_both_commands_alternate_on_the_same_trees_and_the_ratio_is_judged(tmp_path: Path):
    calls: list[tuple[str, Path, Path]] = []
    seconds = {"review": 2.0, "diff": 3.0}

    def fake(name: str, tree: Path, base: Path) -> tuple[float, float]:
        calls.append((name, tree, base))
        assert tree != base and (base / "examples/Pulumi.prod.yaml").read_bytes() == (tree / "examples/Pulumi.prod.yaml").read_bytes()
        wall = seconds[name] * (1 if tree.name.endswith("-0") else 2.5)
        return wall, wall * 1.5

    part = dc.run(repetitions=2, vms=2, measure=fake)
    assert [name for name, _, _ in calls] == ["review", "diff", "diff", "review"] * 2
    assert [row[4] for row in part.rows] == ["1.50", "1.50"] and {row[5] for row in part.rows} == {"met"}
    assert [row[6:] for row in part.rows] == [["3.00 / 4.50", "1.50"], ["7.50 / 11.25", "1.50"]]
    assert any("worst median ratio 1.50" in note for note in part.notes)
    seconds["diff"] = 4.5
    part = dc.run(repetitions=1, vms=2, measure=fake)
    assert [row[5] for row in part.rows] == ["NOT MET", "NOT MET"] and any("NOT MET" in note for note in part.notes)
    text = table_text(part) + "\n" + "\n".join(part.notes)
    assert unreported_figures(text, {"parts": [part_json("diff", part)]}) == []


def test_registered_in_the_bench_cli():
    assert PARTS["diff"] == "bench.diff_cost"
