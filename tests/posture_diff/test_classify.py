"""Posture changes, one by one, with the kind and flags a reviewer must see (in-process renderings)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline_plan.posture import build_posture, flatten
from offline_plan.render import to_json
from posture_diff.compare import apply_acknowledgements, diff_postures
from posture_diff.trees import production
from tests.program.harness import ROOT, example_settings, run_with_settings


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
        "policies.enhanced-4h.retention.dailyDays": (35, 14, {"regression", "data loss"}),
        "policies.enhanced-4h.retention.yearlyYears": (10, 1, {"regression", "data loss"}),
        "policies.enhanced-4h.instantRestoreDays": (7, 3, {"regression", "data loss"}),
        "vault.immutability": ("Unlocked", "Disabled", {"regression", "protection removed"}),
        "vault.crossRegionRestore": ("Enabled", "Disabled", {"regression", "irreversible"}),
        "vault.storageRedundancy": ("GeoRedundant", "ZoneRedundant", {"regression", "create-time only"}),
        "vault.softDelete.state": ("AlwaysON", "Enabled", {"regression", "irreversible", "protection removed"}),
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
    # blocking once, as the protected item's delete entry (test_replacements.py)
    assert classes(removed) == {"regression"} and "retired: true" in removed.message
    assert all(change.kind != "improvement" for change in changes.values())
    drilled = changes["stack.drill.vms"]
    assert drilled.kind == "regression" and "no longer drilled: vm-iris-prod-2" in drilled.message


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
    budget = changes["vms.vm-iris-prod-2.hooks.settings.freeze_budget_seconds"]
    assert (budget.before, budget.after, classes(budget)) == ("200", "230", {"improvement"})


def posture(**vm: Any) -> dict[str, Any]:
    return {"vault": {"immutability": "Unlocked", "deleteLock": "CanNotDelete"}, "policies": {"p": {"kind": "enhanced", "rpoHours": 4}},
            "vms": {"vm1": {"protected": True, "retired": False, "protectedFromDestroy": True, **vm}}}


def test_retiring_a_vm_keeps_its_data_and_deleting_it_loses_it():
    retired = {c.path: c for c in diff_postures(posture(), posture(retired=True))}
    assert classes(retired["vms.vm1.retired"]) == {"regression"}
    gone = {c.path: c for c in diff_postures(posture(), posture(protected=False))}
    assert classes(gone["vms.vm1.protected"]) == {"regression"} and "delete entry" in gone["vms.vm1.protected"].message
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
    assert classes(changes["vault.deleteLock"]) == {"regression", "protection removed"}
    assert set(changes) == {"policies.p.kind", "vms.vm1.delivery", "drill", "vault.deleteLock"}


def test_a_stack_only_at_base_or_only_now_is_one_change():
    [new] = diff_postures(None, posture())
    [gone] = diff_postures(posture(), None)
    assert (new.kind, new.after, gone.kind, gone.before) == ("improvement", "present", "neutral", "present")
    assert "pulumi destroy" in gone.message


def test_an_acknowledgement_matches_only_the_exact_change():
    changes = diff_postures(posture(), posture(protectedFromDestroy=False))
    [change] = [c for c in changes if c.path == "vms.vm1.protectedFromDestroy"]
    assert change.blocking
    unused = apply_acknowledgements(changes, [{"path": change.path, "before": True, "after": True, "reason": "x"}])
    assert change.blocking and len(unused) == 1
    assert apply_acknowledgements(changes, [dict(change.acknowledgement(), reason="decommissioned")]) == []
    assert not change.blocking and change.to_json()["acknowledged"] is True


def test_the_posture_holds_the_reviewer_facts_of_prod(prod):
    _, facts = prod
    flat = flatten(facts)
    assert flat["policies.enhanced-4h.schedule.windowStart"] == "00:00"
    assert flat["vms.vm-iris-prod-1.ssh.proxy.host"] == "10.20.0.4"
    assert flat["vms.vm-iris-prod-1.hooks.version"] and flat["egress.nsg-iris-data.Storage.WestEurope.rule"] == "Outbound Allow Tcp/443"
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
    assert classes(changes["vault.deleteLock"]) == {"regression", "protection removed"}
    assert classes(changes["vault.resourceGuardId"]) == {"regression", "protection removed"}


# --- each class of issue 19 as a property over the rules ------------------------------------------


def set_path(document: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = document
    for key in parents:
        node = node[key]
    node[last] = value
    return document


def only_change(before: dict[str, Any], path: str, value: Any):
    after = set_path(copy.deepcopy(before), path, value)
    [change] = [c for c in diff_postures(before, after) if c.path == path]
    return change


def test_every_retention_tier_cut_is_blocking_data_loss_and_a_longer_one_is_an_improvement(prod):
    _, before = prod
    flat = flatten(before)
    tiers = [path for path, value in flat.items() if isinstance(value, int) and path.startswith("policies.")
             and (".retention." in path or path.endswith(".instantRestoreDays"))]
    assert {path.rsplit(".", 1)[-1] for path in tiers} >= {"dailyDays", "weeklyWeeks", "monthlyMonths", "yearlyYears",
                                                           "instantRestoreDays"}
    for path in tiers:
        for cut in (flat[path] - 1, None):
            change = only_change(before, path, cut)
            assert classes(change) == {"regression", "data loss"} and change.blocking, (path, cut)
        assert classes(only_change(before, path, flat[path] + 1)) == {"improvement"}, path


# (path, stronger value, weaker value): every step down removes protection and blocks; a step up never does.
GUARDS = [
    ("vault.softDelete.state", "AlwaysON", "Enabled"), ("vault.softDelete.state", "Enabled", "Disabled"),
    ("vault.softDelete.state", "AlwaysON", "Disabled"), ("vault.immutability", "Locked", "Unlocked"),
    ("vault.immutability", "Unlocked", "Disabled"), ("vault.immutability", "Locked", "Disabled"),
    ("vault.resourceGuardId", "/subscriptions/2/resourceGroups/g/providers/Microsoft.DataProtection/resourceGuards/x", None),
    ("vault.deleteLock", "CanNotDelete", None), ("vault.protectedFromDestroy", True, False),
    ("vms.vm1.protectedFromDestroy", True, False),
]


@pytest.mark.parametrize(("path", "stronger", "weaker"), GUARDS)
def test_weakening_what_keeps_backup_data_from_deletion_blocks(path, stronger, weaker):
    base = set_path(posture(), path, stronger) if not path.startswith("vault.softDelete") else posture()
    if path.startswith("vault.softDelete"):
        base["vault"]["softDelete"] = {"state": stronger}
    change = only_change(base, path, weaker)
    assert "protection removed" in classes(change) and change.kind == "regression" and change.blocking
    back = only_change(set_path(copy.deepcopy(base), path, weaker), path, stronger)
    assert "protection removed" not in classes(back) and back.kind == "improvement"


# (path, before, after): a protection turned off or narrowed is a regression; the way back an improvement.
TURNED_OFF = [
    ("stack.healthAlerts", True, False), ("stack.restoreDrills", True, False),
    ("stack.drill.vms", [{"name": "vm1"}, {"name": "vm2"}], [{"name": "vm2", "recoveryPoint": "random"}]),
    ("stack.health.graceHours", 2, 6),
    ("vms.vm1.hooks.version", "1.4.0", "1.3.9"), ("vms.vm1.hooks.version", "2.0.0", "1.10.0"),
    ("vms.vm1.hooks.settings.freeze_budget_seconds", "200", "150"),
    ("vms.vm1.disks", None, {"diskLunList": [3], "isInclusionList": False}),
    ("vms.vm1.disks", {"diskLunList": [0, 1, 2], "isInclusionList": True}, {"diskLunList": [0, 1], "isInclusionList": True}),
    ("vms.vm1.disks", {"diskLunList": [3], "isInclusionList": False}, {"diskLunList": [3, 4], "isInclusionList": False}),
    # an exclude list naming every data disk the include list backed up: the OS disk only
    ("vms.vm1.disks", {"diskLunList": [0, 1, 2], "isInclusionList": True}, {"diskLunList": [0, 1, 2], "isInclusionList": False}),
    ("vms.vm1.disks", {"diskLunList": [3], "isInclusionList": False}, {"diskLunList": [0, 1, 2], "isInclusionList": True}),
    ("vms.vm1.disks", None, {"diskLunList": [], "isInclusionList": True}),
]


@pytest.mark.parametrize(("path", "before", "after"), TURNED_OFF)
def test_protections_turned_off_or_narrowed_are_regressions(path, before, after):
    base = posture(hooks={"version": "1.4.0", "settings": {"freeze_budget_seconds": "200"}}, disks=None)
    base["stack"] = {"healthAlerts": True, "restoreDrills": True, "drill": {"vms": []}, "health": {}}
    set_path(base, path, before)
    assert only_change(base, path, after).kind == "regression", (path, before, after)
    if not path.endswith(".disks"):  # two disk selections can both drop LUNs: the next test covers them both ways
        assert only_change(set_path(copy.deepcopy(base), path, after), path, before).kind == "improvement"


def backed_up(selection: dict[str, Any] | None) -> set[int]:
    if selection is None:
        return set(range(64))
    luns = set(selection["diskLunList"])
    return luns if selection["isInclusionList"] else set(range(64)) - luns


def test_a_disk_selection_is_a_regression_exactly_when_a_lun_backed_up_before_is_not_after():
    selections = [None] + [{"diskLunList": luns, "isInclusionList": inclusion}
                           for luns in ([], [0], [1], [0, 1], [0, 1, 2], [3]) for inclusion in (True, False)]
    for before in selections:
        for after in selections:
            if before == after:
                continue
            kind = only_change(posture(disks=before), "vms.vm1.disks", after).kind
            assert (kind == "regression") == bool(backed_up(before) - backed_up(after)), (before, after)


def test_a_policy_renamed_with_its_retention_cut_shows_the_cut_on_every_vm_it_protects(prod):
    def rename_and_cut(settings):
        policy = settings["policies"].pop("enhanced-4h")
        policy["retention"]["dailyDays"] = 30
        policy["retention"]["monthly"]["months"] = 12
        settings["policies"]["enhanced-4h-v2"] = policy
        for vm in settings["vms"]:
            vm["policy"] = "enhanced-4h-v2"

    changes = changes_after(prod, rename_and_cut)
    vms = [name for name, vm in prod[1]["vms"].items() if vm["policy"] == "enhanced-4h"]
    assert len(vms) == 4
    for vm in vms:
        assert classes(changes[f"vms.{vm}.policy"]) == {"neutral"}
        for tier, (old, new) in {"dailyDays": (35, 30), "monthlyMonths": (24, 12)}.items():
            cut = changes[f"vms.{vm}.protection.retention.{tier}"]
            assert (cut.before, cut.after, classes(cut), cut.blocking) == (old, new, {"regression", "data loss"}, True)
        assert f"vms.{vm}.protection.rpoHours" not in changes  # what did not change is not reported


def test_leaving_production_blocks_and_is_decided_by_the_policy_pack(prod):
    settings, before = prod

    def judged(production_setting, environment):
        variant = copy.deepcopy(settings)
        variant["tags"]["environment"] = environment
        if production_setting is None:
            variant.pop("production", None)
        else:
            variant["production"] = production_setting
        return production(ROOT, "eu1", json.loads(to_json(run_with_settings(variant, "eu1"))), variant)

    # a stack not named like production: the explicit setting decides; unset, the tag (the stricter reading)
    assert judged(True, "staging") is True and judged(False, "staging") is False
    assert judged(None, "prod") is True and judged(None, "staging") is False
    old, new = copy.deepcopy(before), copy.deepcopy(before)
    old["stack"]["production"], new["stack"]["production"] = True, False
    [change] = diff_postures(old, new)
    assert classes(change) == {"regression", "leaves production"} and change.blocking
    [back] = diff_postures(new, old)
    assert classes(back) == {"improvement"} and not back.blocking


def test_a_long_term_tier_that_stops_keeping_a_backup_loses_data_and_one_keeping_more_does_not(prod):
    def retention(settings):
        return settings["policies"]["enhanced-4h"]["retention"]

    edits = {  # tier -> (an edit keeping other backups, an edit keeping more)
        "weekly": (lambda s: retention(s)["weekly"].update(days=["Saturday"]),
                   lambda s: retention(s)["weekly"].update(days=["Sunday", "Wednesday"])),
        "monthly": (lambda s: retention(s)["monthly"].update(week="Last"), None),
        "yearly": (lambda s: retention(s)["yearly"].update(month="February"), None),
    }
    for tier, (other, more) in edits.items():
        change = changes_after(prod, other)[f"policies.enhanced-4h.retentionKeeps.{tier}"]
        assert classes(change) == {"regression", "data loss"} and change.blocking, tier
        if more:
            assert classes(changes_after(prod, more)[f"policies.enhanced-4h.retentionKeeps.{tier}"]) == {"improvement"}


def test_a_service_tag_spelt_as_azures_list_spells_it_is_the_same_rule(prod):
    before, after = copy.deepcopy(prod[1]), copy.deepcopy(prod[1])
    rules = after["egress"]["nsg-iris-data"]
    before["egress"]["nsg-iris-data"] = {key.replace("Storage.WestEurope", "Storage.westeurope"): rule
                                         for key, rule in rules.items()}
    assert diff_postures(before, after) == []
    del rules["Storage.WestEurope"]
    [change] = diff_postures(before, after)
    assert change.path == "egress.nsg-iris-data.Storage.westeurope" and change.kind == "regression"
