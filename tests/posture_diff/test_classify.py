"""Posture changes, one by one, with the kind and flags a reviewer must see (in-process renderings)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline_plan.posture import build_posture, flatten
from offline_plan.render import to_json
from posture_diff.compare import apply_acknowledgements, diff_postures
from tests.program.harness import example_settings, run_with_settings


def posture_of(settings: dict[str, Any]) -> dict[str, Any]:
    return build_posture(json.loads(to_json(run_with_settings(settings, "prod"))), settings)


@pytest.fixture(scope="module")
def prod():
    settings = example_settings("prod")
    return settings, posture_of(settings)


def changes_after(prod, edit) -> dict[str, Any]:
    settings, before = prod
    changed = copy.deepcopy(settings)
    edit(changed)
    return {change.path: change for change in diff_postures(before, posture_of(changed))}


def classes(change) -> set[str]:
    return set(change.to_json()["classes"])


def weaken_prod_in_several_ways(settings: dict[str, Any]) -> None:
    """The hidden pull request: each line below weakens prod in one way."""
    policy = settings["policies"]["enhanced-4h"]
    policy["schedule"]["intervalHours"] = 8
    policy["retention"]["dailyDays"] = 14
    policy["retention"]["yearly"]["years"] = 1
    policy["instantRestoreDays"] = 3
    settings["vms"] = [vm for vm in settings["vms"] if not vm["id"].endswith("/vm-iris-prod-2")]
    if "drill" in settings:  # the drill may only name VMs of the stack
        settings["drill"]["vms"] = [vm for vm in settings["drill"]["vms"] if vm["name"] != "vm-iris-prod-2"]
    for mirror in settings.get("mirrors", []):  # and so may mirror sets
        mirror["members"] = [m for m in mirror["members"] if m["vm"] != "vm-iris-prod-2"]
    vault = settings["vault"]
    vault["immutability"] = "Disabled"
    vault["crossRegionRestore"] = False
    vault["storageRedundancy"] = "ZoneRedundant"
    vault["softDelete"]["state"] = "Enabled"
    vault["softDelete"]["retentionDays"] = 14
    vault["publicNetworkAccess"] = "Enabled"
    del vault["customerManagedKey"]
    settings["vms"][0]["hooks"]["continueBackupOnFailure"] = True
    settings["vms"][1]["consistency"] = "crash"


def test_a_pull_request_that_weakens_prod_is_reported_change_by_change(prod):
    changes = changes_after(prod, weaken_prod_in_several_ways)
    expected = {
        "policies.enhanced-4h.rpoHours": (4, 8, {"regression"}),
        "policies.enhanced-4h.retention.dailyDays": (35, 14, {"regression"}),
        "policies.enhanced-4h.retention.yearlyYears": (10, 1, {"regression"}),
        "policies.enhanced-4h.instantRestoreDays": (7, 3, {"regression"}),
        "vault.immutability": ("Unlocked", "Disabled", {"regression"}),
        "vault.crossRegionRestore": ("Enabled", "Disabled", {"regression", "irreversible"}),
        "vault.storageRedundancy": ("GeoRedundant", "ZoneRedundant", {"regression", "create-time only"}),
        "vault.softDelete.state": ("AlwaysON", "Enabled", {"regression", "irreversible"}),
        "vault.softDelete.retentionDays": (30, 14, {"regression"}),
        "vault.publicNetworkAccess": ("Disabled", "Enabled", {"regression"}),
        "vault.customerManagedKey": ("https://kv-iris-prod.vault.azure.net/keys/backup-cmk", None, {"regression", "irreversible"}),
        "vms.vm-iris-prod-1.hooks.settings.continue_backup_on_failure": ("false", "true", {"regression"}),
        "vms.vm-cache-prod-1.consistency": ("application", "crash", {"regression"}),
    }
    for path, (before, after, kinds) in expected.items():
        change = changes[path]
        assert (change.before, change.after, classes(change)) == (before, after, kinds), path
        assert change.kind == "regression" and path in change.message
    removed = changes["vms.vm-iris-prod-2"]
    assert removed.after is None and removed.before["protected"] is True
    assert classes(removed) == {"regression", "data loss"} and "retired: true" in removed.message
    assert all(change.kind != "improvement" for change in changes.values())
    assert changes["stack.drill.vms"].kind == "neutral"  # a section the diff does not know: reported, neutral


def test_stronger_settings_are_improvements_and_one_way_steps_are_flagged(prod):
    def strengthen(settings):
        settings["vault"]["immutability"] = "Locked"
        settings["vault"]["crossSubscriptionRestore"] = "PermanentlyDisabled"
        settings["policies"]["enhanced-4h"]["retention"]["dailyDays"] = 60

    changes = changes_after(prod, strengthen)
    assert classes(changes["vault.immutability"]) == {"improvement", "irreversible"}
    assert classes(changes["vault.crossSubscriptionRestore"]) == {"improvement", "irreversible"}
    assert classes(changes["policies.enhanced-4h.retention.dailyDays"]) == {"improvement"}


def test_a_new_vm_and_hook_and_ssh_changes(prod):
    def edit(settings):
        extra = copy.deepcopy(settings["vms"][0])
        extra["id"] = extra["id"].replace("vm-iris-prod-1", "vm-iris-prod-9")
        settings["vms"].append(extra)
        settings["vms"][1]["ssh"]["hostKey"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE"
        settings["vms"][1]["hooks"]["freezeBudgetSeconds"] = 230

    changes = changes_after(prod, edit)
    assert classes(changes["vms.vm-iris-prod-9"]) == {"improvement"}
    assert classes(changes["vms.vm-iris-prod-2.ssh.hostKeyPinned"]) == {"improvement"}
    assert changes["vms.vm-iris-prod-2.hooks.settings.freeze_budget_seconds"].kind == "neutral"


def posture(**vm: Any) -> dict[str, Any]:
    return {"vault": {"immutability": "Unlocked", "deleteLock": "CanNotDelete"}, "policies": {"p": {"kind": "enhanced", "rpoHours": 4}},
            "vms": {"vm1": {"protected": True, "retired": False, **vm}}}


def test_retiring_a_vm_keeps_its_data_and_deleting_it_loses_it():
    retired = {c.path: c for c in diff_postures(posture(), posture(retired=True))}
    assert classes(retired["vms.vm1.retired"]) == {"regression"}
    gone = {c.path: c for c in diff_postures(posture(), posture(protected=False))}
    assert classes(gone["vms.vm1.protected"]) == {"regression", "data loss"}
    stopped = {c.path: c for c in diff_postures(posture(), posture(protected=False, retired=True))}
    assert classes(stopped["vms.vm1.protected"]) == {"regression"}


def test_enhanced_to_standard_is_refused_and_unknown_settings_are_neutral_never_dropped():
    before, after = posture(), posture(delivery="runCommand")
    after["policies"]["p"]["kind"] = "standard"
    after["vault"]["deleteLock"] = None
    after["drill"] = {"schedule": "monthly"}
    changes = {c.path: c for c in diff_postures(before, after)}
    assert classes(changes["policies.p.kind"]) == {"regression", "irreversible"}
    assert classes(changes["vms.vm1.delivery"]) == {"neutral"}
    assert classes(changes["drill"]) == {"neutral"} and changes["drill"].after == {"schedule": "monthly"}
    assert classes(changes["vault.deleteLock"]) == {"regression"}
    assert set(changes) == {"policies.p.kind", "vms.vm1.delivery", "drill", "vault.deleteLock"}


def test_a_stack_only_at_base_or_only_now_is_one_change():
    [new] = diff_postures(None, posture())
    [gone] = diff_postures(posture(), None)
    assert (new.kind, new.after, gone.kind, gone.before) == ("improvement", "present", "neutral", "present")
    assert "pulumi destroy" in gone.message


def test_an_acknowledgement_matches_only_the_exact_change():
    changes = diff_postures(posture(), posture(protected=False))
    [change] = [c for c in changes if c.path == "vms.vm1.protected"]
    assert change.blocking
    unused = apply_acknowledgements(changes, [{"path": "vms.vm1.protected", "before": True, "after": True, "reason": "x"}])
    assert change.blocking and len(unused) == 1
    assert apply_acknowledgements(changes, [dict(change.acknowledgement(), reason="decommissioned")]) == []
    assert not change.blocking and change.to_json()["acknowledged"] is True


def test_the_posture_holds_the_reviewer_facts_of_prod(prod):
    _, facts = prod
    flat = flatten(facts)
    assert flat["policies.enhanced-4h.schedule.windowStart"] == "00:00"
    assert flat["vms.vm-iris-prod-1.ssh.proxy.host"] == "10.20.0.4"
    assert flat["vms.vm-iris-prod-1.hooks.version"] and flat["egress.nsg-iris-data.Storage.westeurope.rule"] == "Outbound Allow Tcp/443"
    assert "PRIVATE KEY" not in json.dumps(facts)


def test_parity_settings_retire_lock_guard_and_disks_are_classified(prod):
    def edit(settings):
        settings["vms"][0]["retired"] = True
        del settings["vms"][1]["disks"]
        settings["vault"]["deleteLock"] = False
        del settings["vault"]["resourceGuardId"]
        if "drill" in settings:  # a retired VM is not drilled
            settings["drill"]["vms"] = [vm for vm in settings["drill"]["vms"] if vm["name"] != "vm-iris-prod-1"]

    changes = changes_after(prod, edit)
    assert classes(changes["vms.vm-iris-prod-1.retired"]) == {"regression"}  # data kept: no data loss
    assert "vms.vm-iris-prod-1.protected" not in changes
    assert classes(changes["vms.vm-iris-prod-2.disks"]) == {"improvement"}  # every disk again
    assert classes(changes["vault.deleteLock"]) == {"regression"}
    assert classes(changes["vault.resourceGuardId"]) == {"regression"}
