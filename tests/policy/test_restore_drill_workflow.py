"""The restore-drill workflow and tools/drill_due.py, which turns per-stack cron schedules into its matrix."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from irisbackup.drill.cron import parse_cron
from tests.policy.test_workflows import commands, load, make_targets, steps
from tests.program.harness import ROOT

NAME = "restore-drill.yml"
DUE = ROOT / "tools" / "drill_due.py"


@pytest.fixture
def workflow() -> dict:
    return load(NAME)


def test_runs_hourly_and_by_hand_for_one_or_every_stack(workflow):
    [schedule] = workflow["on"]["schedule"]
    cron = parse_cron(schedule["cron"])
    assert len(cron.hours) == 24 and len(cron.minutes) == 1, "hourly: drill_due.py looks back one hour"
    assert workflow["on"]["workflow_dispatch"]["inputs"]["stack"]["required"] is False


def test_the_matrix_comes_from_drill_due(workflow):
    due = commands({"jobs": {"due": workflow["jobs"]["due"]}})
    assert "tools/drill_due.py --stack \"$REQUESTED\"" in due and "tools/drill_due.py --all" in due
    assert re.search(r"stacks=\$\(venv/bin/python tools/drill_due.py\)", due)
    drill = workflow["jobs"]["drill"]
    assert drill["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.due.outputs.stacks) }}"
    assert drill["strategy"]["fail-fast"] is False
    assert drill["if"] == "needs.due.outputs.stacks != '[]'"


def test_make_targets_exist(workflow):
    used = set(re.findall(r"^\s*make\s+([\w./-]+)", commands(workflow), re.M))
    assert used == {"venv/.installed", "plan"}
    assert "plan" in make_targets()
    assert re.search(r"^STAMP := \$\(VENV\)/\.installed$", (ROOT / "Makefile").read_text(), re.M)


def test_one_oidc_job_per_stack_that_is_never_cancelled_mid_drill(workflow):
    drill = workflow["jobs"]["drill"]
    # Its own environment: the deploy environment's approval gate would hold every scheduled drill.
    assert drill["environment"] == "drill-${{ matrix.stack }}" != load("deploy.yml")["jobs"]["up"]["environment"]
    assert drill["permissions"] == {"contents": "read", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}
    assert drill["concurrency"] == {"group": "restore-drill-${{ matrix.stack }}", "cancel-in-progress": False}
    [login] = [step for step in drill["steps"] if step.get("uses", "").startswith("azure/login@")]
    assert login["uses"] == "azure/login@v2"
    assert login["with"]["client-id"] == "${{ vars.DRILL_CLIENT_ID }}"
    assert not any("secrets." in json.dumps(step) for step in steps(workflow)), "OIDC: no stored credentials"


def test_a_failed_verdict_fails_the_job_and_the_report_is_still_published(workflow):
    drill_steps = workflow["jobs"]["drill"]["steps"]
    [run] = [step for step in drill_steps if "-m drill run" in step.get("run", "")]
    assert "continue-on-error" not in run and "|| true" not in run["run"] and "if" not in run
    assert "--stack ${{ matrix.stack }}" in run["run"] and '--report-dir "$REPORT_DIR"' in run["run"]
    after = drill_steps[drill_steps.index(run) + 1:]
    assert after and all(step.get("if") == "always()" for step in after)
    [summary] = [step for step in after if "GITHUB_STEP_SUMMARY" in step.get("run", "")]
    assert 'cat "$REPORT_DIR/summary.md" >> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    [artifact] = [step for step in after if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert workflow["jobs"]["drill"]["env"]["REPORT_DIR"].endswith("/" + artifact["with"]["path"].rstrip("/"))
    assert "${{ matrix.stack }}" in artifact["with"]["name"]
    assert any("-m drill sweep --stack ${{ matrix.stack }}" in step.get("run", "") for step in after)


def test_drill_cli_accepts_what_the_workflow_passes(workflow):
    cli = pytest.importorskip("drill.__main__", reason="the drill runtime (issue 13, branch h13a) is not merged here")
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    for line in re.findall(r"-m drill ([^\n]*)", commands(workflow)):
        command, *flags = line.split()
        assert command in ("run", "sweep")
        for flag in (f for f in flags if f.startswith("--")):
            assert flag in ("--stack", "--report-dir", "--dry-run"), flag


# --- tools/drill_due.py --------------------------------------------------------------------------


def project(tmp_path, schedule: str | None = "0 3 * * 0", enabled: bool = True):
    """A copy of the example stacks with prod's drill schedule (None: drill section removed)."""
    for stack in ("dev", "prod"):
        shutil.copy(ROOT / f"examples/Pulumi.{stack}.yaml", tmp_path)
    path = tmp_path / "Pulumi.prod.yaml"
    document = yaml.safe_load(path.read_text())
    drill = document["config"]["irisbackup:settings"]["drill"]
    drill.update(schedule=schedule, enabled=enabled)
    path.write_text(yaml.safe_dump(document))
    return tmp_path


def due(root, *args: str) -> subprocess.CompletedProcess:
    """tools/drill_due.py in its own process, as the workflow runs it, against the project at `root`."""
    program = ("import importlib.util, pathlib, sys; "
               f"spec = importlib.util.spec_from_file_location('drill_due', {str(DUE)!r}); "
               "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); "
               "sys.exit(module.main(sys.argv[2:], root=pathlib.Path(sys.argv[1])))")
    return subprocess.run([sys.executable, "-c", program, str(root), *args], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("now, expected", [
    ("2026-11-29T03:00:00+00:00", ["prod"]),   # a Sunday, exactly on time
    ("2026-11-29T03:59:00+00:00", ["prod"]),   # GitHub started the 03:00 run late
    ("2026-11-29T04:00:00+00:00", []),         # the next hourly run: not again
    ("2026-11-29T02:59:00+00:00", []),
    ("2026-11-30T03:00:00+00:00", []),         # Monday
])
def test_a_stack_is_due_once_in_the_hour_its_schedule_fires(tmp_path, now, expected):
    result = due(project(tmp_path), "--now", now)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_by_hand_every_stack_with_drills_or_one(tmp_path):
    root = project(tmp_path)
    assert json.loads(due(root, "--all").stdout) == ["prod"]
    assert json.loads(due(root, "--stack", "prod").stdout) == ["prod"]
    refused = due(root, "--stack", "dev")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "stack 'dev' has no restore drills (drill.enabled); stacks with drills: prod" in refused.stderr


def test_disabled_stacks_are_never_due(tmp_path):
    root = project(tmp_path, enabled=False)
    assert json.loads(due(root, "--now", "2026-11-29T03:00:00+00:00").stdout) == []
    assert json.loads(due(root, "--all").stdout) == []


def test_a_stack_with_bad_settings_stops_the_workflow_naming_the_problem(tmp_path):
    result = due(project(tmp_path, schedule="every sunday"), "--all")
    assert result.returncode == 2 and result.stdout == ""
    assert "Pulumi.prod.yaml: irisbackup:settings.drill.schedule: 'every sunday' expected a 5-field cron" in result.stderr


def test_the_repository_stacks_resolve_and_an_example_is_never_drilled(tmp_path):
    result = subprocess.run([sys.executable, str(DUE), "--all"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], "examples/ holds fake ids: only real stacks are drilled"
    (tmp_path / "examples").mkdir()
    project(tmp_path / "examples")
    assert json.loads(due(tmp_path, "--all").stdout) == []
    assert json.loads(due(project(tmp_path), "--all").stdout) == ["prod"]
