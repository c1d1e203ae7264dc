"""What a reviewer sees in the offline plan: connections (not their keys), hook settings, schedules, targets."""

from __future__ import annotations

import json

import pytest

from irisbackup.hooks.hook_bundle import load_bundle
from offline_plan.render import to_json, to_text
from tests.program.harness import TEST_PRIVATE_KEY, example_settings, run_with_settings

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7Yk5cQ0sIu0tq0ZBqv1V0b2m5m8f6a0QZs4cJx0Zp"


@pytest.fixture(scope="module")
def prod():
    settings = example_settings("prod")
    settings["vms"][0]["ssh"].update(hostKey=KEY, port=2222)
    for vm in (vm for vm in settings["vms"] if "ssh" in vm):  # vm-cache-prod-1 takes delivery: runCommand
        vm["ssh"]["proxy"]["hostKey"] = f"10.20.0.4 {KEY}"  # as ssh-keyscan prints it
    settings["vms"][1]["hooks"]["continueBackupOnFailure"] = True
    run = run_with_settings(settings, "prod")
    return to_text(run, settings), json.loads(to_json(run, settings=settings))


def test_the_connection_shows_host_user_port_bastion_and_pinning_but_no_key(prod):
    text, document = prod
    assert ("ssh azureuser@10.20.1.4:2222 (host key pinned) via bastion azureuser@10.20.0.4:22 (host key pinned)"
            in text)
    assert "ssh azureuser@10.20.1.5:22 (host key NOT PINNED) via bastion azureuser@10.20.0.4:22 (host key pinned)" in text
    assert document["posture"]["vms"]["vm-iris-prod-1"]["ssh"] == {
        "host": "10.20.1.4", "user": "azureuser", "port": 2222, "hostKeyPinned": True,
        "proxy": {"host": "10.20.0.4", "user": "azureuser", "port": 22, "hostKeyPinned": True}}
    assert TEST_PRIVATE_KEY.splitlines()[1] not in text + json.dumps(document)


def test_a_host_key_not_pinned_is_a_warning_naming_the_hosts(prod):
    text, _ = prod
    warning = next(line for line in text.splitlines() if "WARNING: SSH host key not pinned" in line)
    assert "vm-iris-prod-2" in warning
    # pinned, or no SSH at all (Run Command)
    assert "vm-iris-prod-1" not in warning and "bastion" not in warning and "vm-cache-prod-1" not in warning


def test_no_warning_when_every_host_key_is_pinned():
    settings = example_settings("dev")
    settings["vms"][0]["ssh"]["hostKey"] = KEY
    assert "host key not pinned" not in to_text(run_with_settings(settings, "dev"), settings)


def test_hook_settings_version_schedule_and_targets_are_in_the_text(prod):
    text, _ = prod
    lines = text.splitlines()
    prod2 = lines.index(next(line for line in lines if line.startswith("    vm-iris-prod-2:")))
    version = load_bundle().version
    assert f"application-consistent (hooks {version}, sha256 " in lines[prod2] and "via ssh" in lines[prod2]
    assert f"    vm-cache-prod-1: policy enhanced-4h, application-consistent (hooks {version}" in text and "via runCommand" in text
    assert "instances=IRISAPP:iris IRISREPORT:iris" in lines[prod2 + 2]
    assert "continue_backup_on_failure=true" in lines[prod2 + 2] and "freeze_budget_seconds=200" in lines[prod2 + 2]
    assert "every 4 h from 00:00 in a 24 h window: 6 a day (RPO 4 h)" in text
    assert "customer-managed key https://kv-iris-prod.vault.azure.net/keys/backup-cmk (identity id-backup-cmk)" in text
    assert "diagnostics to workspace law-prod (" in text and "alert e-mails dba-oncall@example.com" in text


def test_daily_and_weekly_schedules_show_days_and_times():
    settings = example_settings("dev")
    settings["policies"]["weekly"] = {
        "kind": "standard", "schedule": {"frequency": "Weekly", "time": "21:30", "days": ["Saturday", "Sunday"]},
        "instantRestoreDays": 5, "retention": {"weekly": {"weeks": 8, "days": ["Saturday", "Sunday"]}}}
    text = to_text(run_with_settings(settings, "dev"), settings)
    assert "Policy daily-dev (standard, UTC): Daily at 22:00 (RPO 24 h)" in text
    assert "Policy weekly (standard, UTC): Weekly on Saturday, Sunday at 21:30 (RPO 144 h)" in text
