"""`make plan` / `make review`: verdicts under the tree, exit status, JSON violations, config files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from offline_plan.__main__ import main, review_all
from tests.program.harness import ROOT


def plan(*args: str) -> subprocess.CompletedProcess:
    """The CLI as `make plan` runs it, in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "offline_plan", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def plan_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same CLI in this process (fast): exit status and what it printed."""
    status = main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def weakened_dev(tmp_path, name: str = "weak"):
    stack = (ROOT / "examples/Pulumi.dev.yaml").read_text()
    weakened = stack.replace("    vault:\n      name: rsv-iris-dev\n",
                             "    vault:\n      name: rsv-iris-dev\n      publicNetworkAccess: Enabled\n")
    assert weakened != stack
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(weakened)
    return path


def test_plan_prints_a_verdict_per_rule_under_the_tree_and_passes_dev():
    result = plan("--stack", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("Resources:") < out.index("Backup settings for review:") < out.index("Policy verdicts")
    assert "config: stack settings + policy/config/dev.json" in out
    assert "  passed     vault-public-network-access (mandatory)" in out
    assert "  ADVISORY   vault-soft-delete\n      rsv-iris-dev-vault: vault rsv-iris-dev: soft delete is Disabled" in out
    assert "  ADVISORY   vault-customer-managed-key\n      rsv-iris-dev-vault: vault rsv-iris-dev: backup data is encrypted" in out
    assert "Policy check passed: no mandatory violation, 5 advisory." in out


def test_a_mandatory_violation_fails_the_plan_and_lands_in_the_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    result = plan_here(capsys, "--stack", "dev", "--stack-file", str(weakened_dev(tmp_path, "dev")), "--json", str(out))
    assert result.returncode == 1, result.stderr
    assert "  MANDATORY  vault-public-network-access" in result.stdout
    assert "Policy check FAILED: 1 mandatory violation(s), 5 advisory" in result.stdout
    document = json.loads(out.read_text())
    assert {"policy": "vault-public-network-access", "level": "mandatory", "resource": "rsv-iris-dev-vault",
            "message": "vault rsv-iris-dev: public network access is Enabled (Azure enables it when unset); "
                       "set vault.publicNetworkAccess: Disabled"} in document["violations"]
    assert {v["level"] for v in document["violations"]} == {"mandatory", "advisory"}
    verdicts = {p["policy"]: p["verdict"] for p in document["policies"]}
    assert verdicts["vault-public-network-access"] == "mandatory violation" and verdicts["policy-rpo"] == "passed"
    assert "test-key-material" not in out.read_text() + result.stdout


def test_a_policy_config_file_changes_thresholds_and_levels(tmp_path, capsys):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"policy-rpo": {"maxHours": 2}, "vault-customer-managed-key": "mandatory"}))
    result = plan_here(capsys, "--stack", "prod", "--policy-config", str(strict))
    assert result.returncode == 1
    assert ("backup policy enhanced-4h: the longest gap between two scheduled recovery points is 4 hours, more than "
            "the RPO of 2 h; schedule it Daily, or Hourly with intervalHours and windowHours that leave no gap over 2 h"
            ) in result.stdout
    lenient = tmp_path / "lenient.json"
    lenient.write_text(json.dumps({"all": "advisory"}))
    weak = weakened_dev(tmp_path)
    assert plan_here(capsys, "--stack", "weak", "--stack-file", str(weak)).returncode == 1
    assert plan_here(capsys, "--stack", "weak", "--stack-file", str(weak), "--policy-config", str(lenient)).returncode == 0


def test_an_invalid_policy_config_is_an_error_not_a_verdict(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"policy-rpo": {"maxHour": 2}}))
    result = plan_here(capsys, "--stack", "prod", "--policy-config", str(bad))
    assert result.returncode == 2
    assert "policy-rpo.maxHour: unknown setting; policy-rpo takes maxHours" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_assembled_config_is_written_for_pulumi_preview(tmp_path, capsys):
    out = tmp_path / "policy-config.json"
    assert plan_here(capsys, "--stack", "dev", "--write-policy-config", str(out)).returncode == 0
    config = json.loads(out.read_text())
    assert config["data-safety-protect"] == {"allowDestroy": True}
    assert config["coverage-protected-items"] == {"requiredVms": ["vm-iris-dev-1"]}
    assert config["policy-daily-retention"] == {"minDays": 7}  # from policy/config/dev.json


def test_review_checks_every_stack_file_and_fails_on_any_mandatory_violation(tmp_path, capsys):
    (tmp_path / "Pulumi.dev.yaml").write_text((ROOT / "examples/Pulumi.dev.yaml").read_text())
    weakened_dev(tmp_path)
    assert review_all(None, tmp_path) == 1
    out = capsys.readouterr().out
    assert "=== stack dev (Pulumi.dev.yaml) ===" in out and "=== stack weak (Pulumi.weak.yaml) ===" in out
    assert "  dev: passed (5 advisory violations)" in out  # + resource guard
    # weak has no reviewed exceptions file: production thresholds apply on top of the public network access
    # (storage, retention, instant restore, soft delete, immutability).
    assert "  weak: FAILED (6 mandatory, 3 advisory violations)" in out


def test_review_covers_the_examples_labelled_as_such_and_a_real_stack_of_the_same_name_wins(tmp_path, capsys):
    (tmp_path / "examples").mkdir()
    for stack in ("dev", "prod"):
        shutil.copy(ROOT / f"examples/Pulumi.{stack}.yaml", tmp_path / "examples")
    assert review_all(None, tmp_path) == 0
    out = capsys.readouterr().out
    assert "=== stack prod (examples/Pulumi.prod.yaml, example: fake ids) ===" in out
    assert "  dev (example): passed" in out and "  prod (example): passed" in out
    (tmp_path / "Pulumi.dev.yaml").write_text((ROOT / "examples/Pulumi.dev.yaml").read_text())
    assert review_all(None, tmp_path) == 0
    out = capsys.readouterr().out
    assert "=== stack dev (Pulumi.dev.yaml) ===" in out and "  dev: passed" in out and "dev (example)" not in out


MINIMAL_STACK = """\
config:
  irisbackup:sshPrivateKey:
    secure: v1:placeholder
  irisbackup:settings:
    location: westeurope
    resourceGroupId: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-backup
    vault:
      name: rsv-new
    policies:
      daily:
        kind: enhanced
        schedule:
          frequency: Daily
          time: "23:00"
        retention:
          dailyDays: 30
    vms:
      - id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-app-1
        policy: daily
        ssh:
          host: 10.0.0.4
          user: azureuser
"""


def test_a_new_stack_with_only_required_keys_passes_with_no_policy_exceptions(tmp_path, capsys):
    # Every value the program defaults (continueBackupOnFailure true, soft delete AlwaysON, ...) meets the pack's
    # defaults: a stack needs exceptions only for what it chooses to weaken.
    stack_file = tmp_path / "Pulumi.new.yaml"
    stack_file.write_text(MINIMAL_STACK)
    result = plan_here(capsys, "--stack", "new", "--stack-file", str(stack_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "config: stack settings + none" in result.stdout
    assert "  passed     hooks-plugin-config (mandatory)" in result.stdout
    # CMK, diagnostics and the resource guard: advisory outside production.
    assert "Policy check passed: no mandatory violation, 3 advisory." in result.stdout


def test_make_review_is_wired_to_every_stack_and_the_policy_config():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nreview: $(STAMP)\n\t$(PY) -m offline_plan --all $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))\n" in makefile
    dry = subprocess.run(["make", "-n", "review", "plan", "STACK=prod", "POLICY_CONFIG=x.json"], cwd=ROOT,
                         capture_output=True, text=True)
    assert "offline_plan --all --policy-config x.json" in dry.stdout
    assert "offline_plan --stack prod  --policy-config x.json" in dry.stdout
