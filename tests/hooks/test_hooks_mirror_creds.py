"""Role-aware freezing of mirror members and IRIS credentials from Key Vault, end to end through the
installed hooks, the iris double (mirror roles, password logins) and the IMDS + Key Vault double.

Real clock, so a few cases, not the matrix: every preference x kind x role x readiness is checked
against the Python rule table in tests/program/test_mirror_hooks_table.py."""

from __future__ import annotations

import pytest
from azure_runner import APP, FS
from invariants import check, verdict_lines
from keyvault_double import KeyVaultDouble

from irisbackup.hooks.hook_verdict import mirror_alerts

VAULT, SECRET = "kv-iris-prod", "iris-freeze"
URL = f"https://{VAULT}.vault.azure.net/secrets/{SECRET}"
IDENTITY = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-iris/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/id-vm-iris")
PASSWORD = "S3cret-never-shown"
# The nesting rules with the credential fetch (one more step in the pre-script and the watchdog).
KV_TIMES = {"azure_timeout_seconds": 15, "freeze_budget_seconds": 18, "wd_suspend_limit_seconds": 29,
            "external_freeze_timeout_seconds": 35}


def member(preference: str = "preferBackupFailover", kind: str = "failover") -> str:
    return f"IRISA:iris=IRISMIRROR,{kind},{preference},allowed"


@pytest.fixture
def mvm(bare_vm):
    bare_vm.double.add_instance("IRISA", "iris")
    return bare_vm


def post_line(vm) -> dict:
    [line] = [line for line in verdict_lines(vm) if line["script"] == "post"]
    return line


def test_the_backup_member_freezes_and_the_verdict_names_its_role(mvm):
    mvm.double.set_mirror("IRISA", "BACKUP", ready=True)
    mvm.install(instances="IRISA:iris", mirror_members=member())
    res = mvm.backup()
    check(mvm, res, expect=[("post", "application-consistent", "ok")])
    assert res.outcome == APP and res.snapshot.consistent
    line = post_line(mvm)
    assert line["v"] == 2 and line["instances"] == ["IRISA:iris"]
    assert line["mirror"] == [{"instance": "IRISA:iris", "set": "IRISMIRROR", "kind": "failover", "role": "backup",
                               "ready": True, "consistency": "required", "alert": False, "reason": "backup-by-preference"}]


def test_a_healthy_primary_is_spared_and_azure_records_the_point_as_file_system_consistent(mvm):
    mvm.double.set_mirror("IRISA", "PRIMARY", ready=True)
    mvm.install(instances="IRISA:iris", mirror_members=member())
    res = mvm.backup()
    check(mvm, res, expect=[("post", "crash-consistent-allowed", "ok")])
    assert mvm.double.events("freeze") == []
    # Never labelled application-consistent: the pre-script fails on purpose, the backup goes on.
    assert res.outcome == FS and res.pre.exit_code == 1
    [entry] = post_line(mvm)["mirror"]
    assert (entry["role"], entry["consistency"], entry["alert"]) == ("primary", "allowed", False)


def test_a_primary_without_failover_readiness_freezes_and_alerts(mvm):
    mvm.double.set_mirror("IRISA", "PRIMARY", ready=False)
    mvm.install(instances="IRISA:iris", mirror_members=member())
    res = mvm.backup()
    check(mvm, res, expect=[("post", "application-consistent", "ok")])
    assert res.outcome == APP
    [alert] = mirror_alerts(post_line(mvm))
    assert (alert["role"], alert["ready"], alert["reason"]) == ("primary", False, "mirror-not-failover-ready")


@pytest.mark.parametrize("preference, kind, status, ready, frozen, alert", [
    ("anyFailover", "failover", "PRIMARY", True, True, False),
    ("primaryOnly", "failover", "BACKUP", True, False, False),
    ("preferBackupFailover", "async", "CONNECTED", True, False, False),
    ("preferBackupFailover", "failover", "TRANSITION", False, False, True),  # not active: spared, alerted
])
def test_each_preference_and_role_freezes_what_the_rule_table_says(mvm, preference, kind, status, ready, frozen, alert):
    mvm.double.set_mirror("IRISA", status, ready=ready)
    mvm.install(instances="IRISA:iris", mirror_members=member(preference, kind))
    res = mvm.backup()
    check(mvm, res)
    assert bool(mvm.double.events("freeze")) is frozen
    assert res.outcome == (APP if frozen else FS)
    line = post_line(mvm)
    assert line["verdict"] == ("application-consistent" if frozen else "crash-consistent-allowed")
    assert bool(mirror_alerts(line)) is alert


def test_a_role_that_cannot_be_read_is_frozen_with_an_alert_never_spared(mvm):
    mvm.double.set_mirror("IRISA", "PRIMARY", ready=True)  # would be spared if it answered
    mvm.double.set_behaviour("IRISA", "mirror", "hang")
    mvm.install(instances="IRISA:iris", mirror_members=member())
    res = mvm.backup()
    check(mvm, res, expect=[("post", "application-consistent", "ok")])
    [alert] = mirror_alerts(post_line(mvm))
    assert (alert["role"], alert["consistency"], alert["reason"]) == ("unreadable", "required", "role-unreadable")


def test_a_spared_member_next_to_a_frozen_instance_is_frozen_too(mvm):
    mvm.double.add_instance("OTHER", "iris")
    mvm.double.set_mirror("IRISA", "PRIMARY", ready=True)
    mvm.install(instances="IRISA:iris OTHER:iris", mirror_members=member())
    res = mvm.backup()
    check(mvm, res, expect=[("post", "application-consistent", "ok")])
    assert {e.name for e in mvm.double.events("freeze")} == {"IRISA", "OTHER"}
    assert sorted(post_line(mvm)["instances"]) == ["IRISA:iris", "OTHER:iris"]


def _kv_vm(vm, **kw) -> KeyVaultDouble:
    vm.double.add_instance("IRISA", "iris", auth="password", credentials=("irisbackup", PASSWORD))
    kv = KeyVaultDouble(vm.double.dir, vm.double.bin_dir)
    kv.set_identity(IDENTITY)
    kv.add_secret(VAULT, SECRET, f"irisbackup\n{PASSWORD}\n")
    vm.install(instances="IRISA:iris", key_vault_secret_url=URL, managed_identity=IDENTITY, **KV_TIMES, **kw)
    return kv


def _nowhere_in_plain_text(vm, kv) -> None:
    """The password was never on a command line, in an environment or in a file on the VM."""
    assert kv.leaks() == []
    assert mvm_calls_without(vm, PASSWORD)
    assert [e for e in vm.double.events() if e.kind == "secret-in-environment"] == []
    for path in vm.root.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def mvm_calls_without(vm, text: str) -> bool:
    return all(text not in arg for call in vm.double.calls() for arg in call)


def test_credentials_from_key_vault_reach_iris_on_stdin_only(bare_vm):
    kv = _kv_vm(bare_vm)
    res = bare_vm.backup()
    check(bare_vm, res, expect=[("post", "application-consistent", "ok")])
    assert res.outcome == APP
    # The pre-script logged in for the check and the freeze, the post-script for its check, thaw and verification.
    assert len(bare_vm.double.events("login-ok", "IRISA")) >= 5
    assert all("&msi_res_id=" + IDENTITY in r for r in kv.requests() if r.startswith("http://169.254.169.254"))
    _nowhere_in_plain_text(bare_vm, kv)


def test_a_refused_secret_stops_the_freeze_and_the_credentials_file_is_the_fallback(bare_vm, tmp_path):
    kv = _kv_vm(bare_vm)
    kv.set_behaviour("kv", "deny")
    res = bare_vm.backup()
    check(bare_vm, res, expect=[("pre", "not-consistent", "credentials-unusable")])
    assert bare_vm.double.events("freeze") == [] and "Key Vault Secrets User" in bare_vm.log()
    # A hand-provisioned file (root-only) takes over when Key Vault cannot be read.
    creds = bare_vm.root / "etc/irisbackup-creds"
    creds.write_text(f"irisbackup\n{PASSWORD}\n")
    creds.chmod(0o600)
    bare_vm.double.reset_logs()
    bare_vm.set_installed("credentials_file", str(creds))
    res = bare_vm.backup()
    check(bare_vm, res, expect=[("post", "application-consistent", "ok")])
    assert "falling back to credentials_file" in bare_vm.log()


def test_the_install_self_check_reads_the_secret_and_names_what_is_wrong(bare_vm):
    bare_vm.double.add_instance("IRISA", "iris", auth="password", credentials=("irisbackup", PASSWORD))
    kv = KeyVaultDouble(bare_vm.double.dir, bare_vm.double.bin_dir)
    kv.set_identity("system")  # the VM has a system-assigned identity, the settings name a user-assigned one
    kv.add_secret(VAULT, SECRET, f"irisbackup\n{PASSWORD}\n")
    p = bare_vm.install(None, check=False, instances="IRISA:iris", key_vault_secret_url=URL,
                        managed_identity=IDENTITY, **KV_TIMES)
    assert p.returncode == 3 and "managed identity token from IMDS failed (HTTP 400" in p.stderr, p.stderr
    assert not bare_vm.config_path.exists()


def test_the_watchdog_reads_the_credentials_again_and_thaws_when_no_post_script_comes(bare_vm):
    kv = _kv_vm(bare_vm)
    res = bare_vm.backup(post_runs=False)  # the extension dies after the snapshot
    check(bare_vm, res, expect=[("watchdog", "watchdog-fired", "watchdog-fired")])
    assert not bare_vm.double.is_frozen("IRISA")
    assert [e.kind for e in bare_vm.double.events(name="IRISA") if e.kind in ("freeze", "thaw")] == ["freeze", "thaw"]
    _nowhere_in_plain_text(bare_vm, kv)
