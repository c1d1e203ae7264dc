"""`python -m posture_diff` / `make diff` end to end: real trees rendered by their own code in subprocesses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from posture_diff.__main__ import main
from offline_plan.stack_file import stack_file_path
from posture_diff.trees import render_plans
from tests.program.harness import ROOT

_NOT_PROGRAM = shutil.ignore_patterns("venv", ".git", "tests", "bench", "docs", "tools", "__pycache__", ".pytest_cache")


def project_copy(destination: Path) -> Path:
    shutil.copytree(ROOT, destination, ignore=_NOT_PROGRAM)
    return destination


def edit_stack(tree: Path, stack: str, edit) -> None:
    path = stack_file_path(tree, stack)
    document = yaml.safe_load(path.read_text())
    edit(document["config"]["irisbackup:settings"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def weaken(settings) -> None:
    settings["policies"]["enhanced-4h"]["schedule"]["intervalHours"] = 8
    settings["vault"]["crossRegionRestore"] = False
    settings["vms"] = settings["vms"][:2]
    kept = {vm["id"].rsplit("/", 1)[-1] for vm in settings["vms"]}
    if "drill" in settings:  # the drill may only name VMs of the stack
        settings["drill"]["vms"] = [vm for vm in settings["drill"]["vms"] if vm["name"] in kept]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """base: the project as it is; head: prod weakened, dev's stack file deleted, a new staging stack."""
    root = tmp_path_factory.mktemp("trees")
    base, head = project_copy(root / "base"), project_copy(root / "head")
    edit_stack(head, "prod", weaken)
    (head / "examples" / "Pulumi.dev.yaml").rename(head / "examples" / "Pulumi.staging.yaml")
    return base, head


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_stack_of_either_tree_is_compared_and_blocking_changes_fail(trees, tmp_path, capsys):
    base, head = trees
    status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head), "--json", str(tmp_path / "diff.json"))
    assert status == 1
    document = json.loads((tmp_path / "diff.json").read_text())
    by_stack = {stack["stack"]: stack["changes"] for stack in document["stacks"]}
    assert set(by_stack) == {"dev", "prod", "staging"}
    assert by_stack["staging"][0]["kind"] == "improvement" and by_stack["staging"][0]["before"] is None
    assert by_stack["dev"][0]["after"] is None and by_stack["dev"][0]["kind"] == "neutral"
    prod = {change["path"]: change for change in by_stack["prod"]}
    for change in prod.values():
        assert {"path", "before", "after", "kind", "message"} <= set(change)
    assert (prod["policies.enhanced-4h.rpoHours"]["before"], prod["policies.enhanced-4h.rpoHours"]["after"]) == (4, 8)
    assert prod["vault.crossRegionRestore"]["classes"] == ["regression", "irreversible"]
    assert prod["vms.vm-cache-prod-1"]["classes"] == ["regression"]
    # the data loss is the protected item's delete, read from the two plans, once
    [item] = [c for c in prod.values() if c["path"].endswith("ProtectedItem::vm-cache-prod-1-protected-item")]
    assert item["classes"] == ["regression", "data loss"] and item["before"]["vaultName"] == "rsv-iris-prod"
    # ... one per VM dropped from the list, the retired one too: its kept recovery points go with its item
    lost = {c["path"].rsplit("::", 1)[-1] for c in prod.values() if "data loss" in c["classes"]}
    assert lost == {"vm-cache-prod-1-protected-item", "vm-iris-prod-old-protected-item"}
    assert re.search(r"regression +\[IRREVERSIBLE\] vault.crossRegionRestore: Enabled -> Disabled", out)
    assert '"acknowledge": [' in out


def test_a_stack_that_moved_into_examples_is_the_same_stack_with_no_posture_change(tmp_path, capsys):
    """A base from before examples/ kept its stacks beside Pulumi.yaml; the head keeps them in examples/."""
    base, head = project_copy(tmp_path / "base"), project_copy(tmp_path / "head")
    for path in sorted((base / "examples").glob("Pulumi.*.yaml")):
        path.rename(base / path.name)
    (base / "examples").rmdir()
    assert stack_file_path(base, "prod") == base / "Pulumi.prod.yaml"
    assert stack_file_path(head, "prod") == head / "examples" / "Pulumi.prod.yaml"
    status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head))
    assert status == 0, out
    for stack in ("dev", "prod"):
        assert re.search(rf"^=+ stack {stack}\b.*\n\s*no posture change", out, re.M), out


def test_a_stack_acknowledging_each_blocking_change_passes(trees, tmp_path, capsys):
    base, head = trees
    run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "prod", "--json", str(tmp_path / "d.json"))
    blocking = [c for c in json.loads((tmp_path / "d.json").read_text())["stacks"][0]["changes"] if len(c["classes"]) > 1]
    config = head / "policy" / "config" / "prod.json"
    config.write_text(json.dumps({"acknowledge": [
        {"path": c["path"], "before": c["before"], "after": c["after"], "reason": "reviewed in change 42"} for c in blocking]}))
    try:
        status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "prod")
        assert status == 0 and "(acknowledged)" in out
        # the same file is still a valid policy pack config: acknowledgements never reach the pack
        plan = subprocess.run([str(ROOT / "venv" / "bin" / "python"), "-m", "offline_plan", "--stack", "prod"],
                              cwd=head, capture_output=True, text=True)
        assert plan.returncode == 0, plan.stderr
        config.write_text(json.dumps({"acknowledge": [{"path": "vault.crossRegionRestore", "reason": ""}]}))
        status, _, err = run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "prod")
        assert status == 2 and "acknowledge[0].before: required" in err
    finally:
        config.unlink()


def test_base_is_a_git_ref_and_an_unknown_ref_is_an_error(tmp_path, capsys):
    repo = project_copy(tmp_path / "repo")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    edit_stack(repo, "dev", lambda s: s["policies"]["daily-dev"]["retention"].update(dailyDays=14))
    status, out, _ = run(capsys, "--base", "HEAD", "--project", str(repo), "--stack", "dev")
    assert status == 0
    assert re.search(r"improvement +policies.daily-dev.retention.dailyDays: 7 -> 14", out)
    status, _, err = run(capsys, "--base", "no-such-ref", "--project", str(repo))
    assert status == 2 and "no-such-ref" in err


def make_dry_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-n", "-o", "venv/.installed", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_make_diff_and_review_take_base_and_json():
    diff = make_dry_run("diff", "BASE=origin/main", "JSON=d.json")
    assert diff.returncode == 0 and "venv/bin/python -m posture_diff --base origin/main --json d.json" in diff.stdout
    review = make_dry_run("review", "BASE=origin/main")
    assert "-m offline_plan --all" in review.stdout and "-m posture_diff --base origin/main" in review.stdout
    assert "posture_diff" not in make_dry_run("review").stdout
    missing = make_dry_run("diff")
    assert missing.returncode != 0 and "make diff needs BASE=<git ref>" in missing.stderr


RENAMED_ITEM = 'f"{name}-protected-item"'


def test_a_code_refactor_renaming_the_protected_items_blocks_until_an_alias_keeps_them(tmp_path, capsys):
    base = project_copy(tmp_path / "base")
    head = project_copy(tmp_path / "head")
    component = head / "irisbackup" / "vm" / "protected_vm.py"
    code = component.read_text()
    assert code.count(RENAMED_ITEM) == 1
    component.write_text(code.replace(RENAMED_ITEM, 'f"{name}-backup-item"'))
    status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "dev", "--json", str(tmp_path / "d.json"))
    [stack] = json.loads((tmp_path / "d.json").read_text())["stacks"]
    assert status == 1 and stack["changes"], out
    for change in stack["changes"]:  # only the resources changed: the settings are the same
        assert change["classes"] == ["regression", "data loss"] and change["path"].endswith("-protected-item")
        assert "Pulumi creates that one and deletes this one, the same Azure resource" in change["message"]
    aliased = 'opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-protected-item")], '
    component.write_text(component.read_text().replace("opts=pulumi.ResourceOptions(parent=self, ", aliased, 1))
    status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "dev")
    assert status == 0 and "no posture change" in out


def test_the_diff_renders_each_stack_exactly_as_make_plan_writes_its_json(tmp_path):
    """The diff's renderer drops azure-native's API-version type aliases for speed: the plan must not change."""
    outcome = render_plans(ROOT, {"prod": tmp_path / "diff.json"})
    assert outcome["prod"]["code"] == 0, outcome
    plan = subprocess.run([str(ROOT / "venv" / "bin" / "python"), "-m", "offline_plan", "--stack", "prod", "--json",
                           str(tmp_path / "plan.json")], cwd=ROOT, capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    assert json.loads((tmp_path / "diff.json").read_text()) == json.loads((tmp_path / "plan.json").read_text())


def test_a_stack_that_cannot_render_is_an_error_naming_the_setting(tmp_path, capsys):
    base, head = project_copy(tmp_path / "base"), project_copy(tmp_path / "head")
    edit_stack(head, "dev", lambda s: s["policies"]["daily-dev"]["retention"].update(dailyDays="many"))
    status, out, _ = run(capsys, "--base-dir", str(base), "--project", str(head), "--stack", "dev", "--json", str(tmp_path / "d.json"))
    [stack] = json.loads((tmp_path / "d.json").read_text())["stacks"]
    assert status == 2 and stack["changes"] == [] and "working tree" in stack["error"] and "dailyDays" in stack["error"]
    assert "ERROR, cannot compare" in out and "Traceback" not in out
