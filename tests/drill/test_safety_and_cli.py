"""The sandbox guard refuses before anything is sent; the CLI: dry run, reports, exit codes."""

import json

import pytest
from azure_harness import FakeCredential, client_kwargs, make_drill, points
from fake_azure import Scenario

from drill import __main__ as cli
from drill.points import RecoveryPoint
from drill.safety import SafetyError
from irisbackup.azure_ids import parse_resource_id

PROD_VM = parse_resource_id("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-iris-prod"
                            "/providers/Microsoft.Compute/virtualMachines/vm-iris-prod-1", "Microsoft.Compute/virtualMachines")


def test_original_location_restore_is_refused_before_it_is_sent():
    from azure.mgmt.recoveryservicesbackup import models as bm
    drill, fake, _ = make_drill(Scenario())
    for kind in ("OriginalLocation", "AlternateLocation"):
        body = bm.RestoreRequestResource(properties=bm.IaasVMRestoreRequest(
            recovery_point_id="rp0", recovery_type=kind, source_resource_id=str(PROD_VM),
            target_resource_group_id=drill.config.sandbox.resource_group_id,
            storage_account_id=drill.config.sandbox.staging_account_id))
        with pytest.raises(SafetyError, match="RestoreDisks"):
            drill.azure.backup.restores.begin_trigger(
                "rsv-iris-prod", "rg-iris-backup-prod", "Azure", "c", "i", "rp0", body, polling=False).result()
    assert fake.requests == []


def test_restore_outside_the_sandbox_is_refused():
    drill, fake, _ = make_drill(Scenario())
    other = drill.config.sandbox.__class__(**{**drill.config.sandbox.__dict__, "resource_group": "rg-iris-prod"})
    drill.azure.sandbox = other  # a bug that points the request elsewhere: the client's policy still holds
    with pytest.raises(SafetyError):
        drill.azure.trigger_restore(PROD_VM, RecoveryPoint("rp0", points((1, "AppConsistent"))[0]["time"], "AppConsistent"))
    assert fake.requests == []


def test_writes_outside_the_sandbox_are_refused():
    drill, fake, _ = make_drill(Scenario())
    with pytest.raises(SafetyError, match="outside the sandbox"):
        drill.azure.compute.virtual_machines.begin_delete("rg-iris-prod", "vm-iris-prod-1").result()
    with pytest.raises(SafetyError, match="public IP"):
        drill.azure.network.network_interfaces.begin_create_or_update(
            drill.config.sandbox.resource_group, "nic", {"location": "westeurope", "properties": {"ipConfigurations": [
                {"name": "a", "properties": {"publicIPAddress": {"id": "/x"}}}]}}).result()
    assert fake.requests == []


def test_dry_run_needs_no_credentials_and_names_every_step(capsys):
    assert cli.main(["--stack", "prod", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for word in ("RestoreDisks", "never OriginalLocation", "no public IP", "drill-vm-iris-prod-1-", "Run Command",
                 "CheckList^Integrity", "tear down (always)", "vm-iris-prod-2", "random point of the last 14 days"):
        assert word in out


def test_bad_stack_is_exit_2_with_a_message(capsys):
    assert cli.main(["--stack", "nosuch", "--dry-run"]) == 2
    assert "no stack file" in capsys.readouterr().err


def test_stack_without_drill_vms_is_exit_2(capsys):
    assert cli.main(["--stack", "dev", "--dry-run"]) == 2
    assert "drill.vms" in capsys.readouterr().err


def test_cli_run_writes_json_markdown_junit_and_exits_with_the_verdict(tmp_path, capsys):
    from fake_azure import FakeAzure
    from azure_harness import FakeClock
    fake = FakeAzure(Scenario(points=points((2, "AppConsistent")), restore_outcome="Failed"))
    code = cli.main(["--stack", "prod", "--report-dir", str(tmp_path)], credential=FakeCredential(),
                    client_kwargs=client_kwargs(fake), clock=FakeClock())
    assert code == 1
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["exit_code"] == 1 and [v["reason"] for v in data["vms"]] == ["restore-failed", "restore-failed"]
    assert "could not check (restore-failed)" in (tmp_path / "summary.md").read_text()
    assert 'failures="2"' in (tmp_path / "junit.xml").read_text()


def test_sweep_cli_deletes_old_leftovers(capsys):
    from fake_azure import FakeAzure
    from azure_harness import FakeClock
    old = {"irisbackup-drill": "prod", "irisbackup-drill-run": "x", "irisbackup-drill-started": "2026-11-01T00:00:00+00:00"}
    fake = FakeAzure(Scenario(leftovers=[{"rg": "rg-irisbackup-drill-prod", "kind": "nic", "name": "nic-old", "tags": old},
                                         {"rg": "rg-irisbackup-drill-prod", "kind": "nic", "name": "sandbox",
                                          "tags": {"irisbackup-drill-sandbox": "prod"}}]))
    kwargs = {"credential": FakeCredential(), "client_kwargs": client_kwargs(fake), "clock": FakeClock()}
    assert cli.main(["sweep", "--stack", "prod", "--dry-run"], **kwargs) == 0
    assert "leftover: nic nic-old" in capsys.readouterr().out and len(fake.resources) == 2
    assert cli.main(["sweep", "--stack", "prod"], **kwargs) == 0
    assert [k[2] for k in fake.resources] == ["sandbox"]
