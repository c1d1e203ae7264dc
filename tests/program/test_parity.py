"""The parity features (issue 10) from stack settings to declared resources and the review summary:
resource guard link, delete lock, retired VMs, disk selection, archive tiering, instant-restore
resource group. Bad inputs name the setting path, the value and what is allowed."""

from __future__ import annotations

import pytest

from irisbackup.settings import parse_settings
from offline_plan.render import summary
from tests.program.harness import of_type, only, run_with_settings
from tests.program.test_settings import DELETE, problems_for, set_path

GUARD = ("/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-security-guards"
         "/providers/Microsoft.DataProtection/resourceGuards/rg-guard-backup-prod")
PROXY = "azure-native:recoveryservices:ResourceGuardProxy"
LOCK = "azure-native:authorization:ManagementLockByScope"
ITEM = "azure-native:recoveryservices:ProtectedItem"
POLICY = "azure-native:recoveryservices:ProtectionPolicy"
KEY = "irisbackup:settings"
OLD = "vms[3]"  # the retired VM of Pulumi.prod.yaml
ARCHIVE = "policies.enhanced-4h.archive"
SNAPSHOT_RG = "policies.enhanced-4h.instantRestoreResourceGroup"


# --- bad inputs ------------------------------------------------------------------------------------

BAD = [  # (path, bad value, expected problem: path, value and what is allowed)
    ("vault.resourceGuardId", GUARD.replace("Microsoft.DataProtection/resourceGuards", "Microsoft.KeyVault/vaults"),
     f"{KEY}.vault.resourceGuardId: '{GUARD.replace('Microsoft.DataProtection/resourceGuards', 'Microsoft.KeyVault/vaults')}' "
     "expected a Microsoft.DataProtection/resourceGuards ID"),
    ("vault.deleteLock", "yes", f"{KEY}.vault.deleteLock: 'yes' Input should be a valid boolean"),
    ("vault.deleteLock", 0, f"{KEY}.vault.deleteLock: 0 Input should be a valid boolean"),
    ("vms[0].disks", {"include": [0], "exclude": [1]},
     f"{KEY}.vms[0].disks: give exactly one of include (back up only these data-disk LUNs) or exclude"),
    ("vms[0].disks", {"exclude": []}, f"{KEY}.vms[0].disks: exclude lists no LUN; list at least one data-disk LUN (0-63)"),
    ("vms[0].disks", {"include": [1, 1]}, f"{KEY}.vms[0].disks: include has duplicate LUNs: [1, 1]"),
    ("vms[0].disks", {"include": [64]}, f"{KEY}.vms[0].disks.include[0]: 64 Input should be less than or equal to 63"),
    ("vms[0].disks", {"include": [2], "os": True}, f"{KEY}.vms[0].disks.os: unknown setting"),
    ("vms[0].retired", "soon", f"{KEY}.vms[0].retired: 'soon' Input should be a valid boolean"),
    (ARCHIVE, {"mode": "TierAfter"}, f"{KEY}.{ARCHIVE}: mode TierAfter needs afterMonths (at least 3)"),
    (ARCHIVE, {"mode": "TierAfter", "afterMonths": 2},
     f"{KEY}.{ARCHIVE}.afterMonths: 2 Input should be greater than or equal to 3"),
    (ARCHIVE, {"mode": "TierRecommended", "afterMonths": 4},
     f"{KEY}.{ARCHIVE}: afterMonths goes with mode TierAfter only"),
    (ARCHIVE, {"mode": "TierAll"}, f"{KEY}.{ARCHIVE}.mode: 'TierAll' Input should be 'TierRecommended' or 'TierAfter'"),
    (SNAPSHOT_RG, {"suffix": "-x"}, f"{KEY}.{SNAPSHOT_RG}.prefix: required setting is missing"),
    (SNAPSHOT_RG, {"prefix": "rg snapshots"}, f"{KEY}.{SNAPSHOT_RG}.prefix: 'rg snapshots' does not match"),
    (SNAPSHOT_RG, {"prefix": "rg-snap-", "suffix": "-prod."},
     f"{KEY}.{SNAPSHOT_RG}: suffix '-prod.' ends in a period; resource group names cannot"),
    (SNAPSHOT_RG, {"prefix": "p" * 70, "suffix": "s" * 5},
     f"{KEY}.{SNAPSHOT_RG}: prefix and suffix together have 75 characters; Azure allows at most 74"),
]


@pytest.mark.parametrize("path, bad, expected", BAD, ids=[f"{rule[0]}={rule[1]!r}"[:60] for rule in BAD])
def test_a_bad_parity_setting_names_path_value_and_what_is_allowed(prod_settings, path, bad, expected):
    parse_settings(prod_settings)
    set_path(prod_settings, path, bad)
    problems = problems_for(prod_settings)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_archive_needs_monthly_or_yearly_points_kept_6_months_past_the_move(prod_settings):
    set_path(prod_settings, "policies.enhanced-4h.retention.yearly", DELETE)
    set_path(prod_settings, "policies.enhanced-4h.retention.monthly.months", 9)
    parse_settings(prod_settings)  # 3 months to the move + 6 left = 9
    set_path(prod_settings, f"{ARCHIVE}.afterMonths", 4)
    assert problems_for(prod_settings) == [
        f"{KEY}.policies.enhanced-4h: archive TierAfter needs monthly or yearly recovery points kept at least 10 months "
        "(moved after 4 months, with 6 months left); the longest kept here is 9 months"]
    set_path(prod_settings, "policies.enhanced-4h.retention.monthly", DELETE)
    assert problems_for(prod_settings) == [
        f"{KEY}.policies.enhanced-4h: archive needs retention.monthly or retention.yearly: Azure moves only monthly "
        "and yearly recovery points of a VM to the archive tier"]


def test_recommended_tiering_counts_yearly_points_in_months(prod_settings):
    set_path(prod_settings, ARCHIVE, {"mode": "TierRecommended"})
    set_path(prod_settings, "policies.enhanced-4h.retention.monthly", DELETE)
    set_path(prod_settings, "policies.enhanced-4h.retention.yearly.years", 1)
    assert parse_settings(prod_settings).policies["enhanced-4h"].archive.needed_retention_months == 9


def test_a_delete_lock_asked_for_in_a_destroyable_stack_is_a_contradiction(dev_settings):
    assert parse_settings(dev_settings).vault.delete_lock is True  # default; lifted by allowDestroy, see below
    set_path(dev_settings, "vault.deleteLock", True)
    assert problems_for(dev_settings) == [
        f"{KEY}.vault.deleteLock: true contradicts allowDestroy: true (a CanNotDelete lock makes `pulumi destroy` fail "
        "on the vault); allowed: leave deleteLock out (the lock is lifted while allowDestroy is true) or set allowDestroy: false"]


def test_a_retired_vm_needs_no_ssh_but_still_a_policy_of_the_stack(prod_settings):
    assert parse_settings(prod_settings).vms[3].retired and prod_settings["vms"][3].get("ssh") is None
    set_path(prod_settings, f"{OLD}.retired", False)
    assert "needs ssh" in problems_for(prod_settings)[0]
    set_path(prod_settings, f"{OLD}.retired", True)
    set_path(prod_settings, f"{OLD}.policy", "gone")
    assert problems_for(prod_settings)[0].startswith(f"{KEY}.{OLD}.policy: 'gone' is not a policy of this stack")


# --- declared resources -------------------------------------------------------------------------------


def test_prod_links_the_resource_guard_and_locks_the_vault(prod_settings):
    run = run_with_settings(prod_settings)
    proxy = only(run, PROXY)
    assert proxy.inputs["resourceGuardProxyName"] == "VaultProxy" and proxy.inputs["vaultName"] == "rsv-iris-prod"
    assert proxy.inputs["properties"] == {"resourceGuardResourceId": GUARD}
    assert proxy.protect  # deleting it also needs the guard owner's approval
    lock = only(run, LOCK)
    assert (lock.inputs["scope"], lock.inputs["level"]) == ("<id of rsv-iris-prod-vault>", "CanNotDelete")
    assert any(d.endswith("rsv-iris-prod-vault") for d in lock.dependencies)


def test_allow_destroy_lifts_the_lock_and_a_stack_may_opt_out_of_it(dev_settings, prod_settings):
    assert of_type(run_with_settings(dev_settings), LOCK) == [] == of_type(run_with_settings(dev_settings), PROXY)
    set_path(prod_settings, "vault.deleteLock", False)
    assert of_type(run_with_settings(prod_settings), LOCK) == []


@pytest.mark.parametrize("immutability, state, keeps_policy", [
    ("Unlocked", "BackupsSuspended", True), ("Locked", "BackupsSuspended", True), ("Disabled", "ProtectionStopped", False),
])
def test_a_retired_vm_keeps_its_item_in_the_state_the_vault_allows(prod_settings, immutability, state, keeps_policy):
    set_path(prod_settings, "vault.immutability", immutability)
    run = run_with_settings(prod_settings)
    item = only(run, ITEM, "vm-iris-prod-old-protected-item")
    assert item.inputs["properties"]["protectionState"] == state and item.protect
    assert ("policyId" in item.inputs["properties"]) is keeps_policy
    assert "extendedProperties" not in item.inputs["properties"]
    # Only what its inputs name (vault, policy): no hooks, extension or NSG rules to wait for.
    assert {d.split("::")[-1] for d in item.dependencies} <= {"rsv-iris-prod-vault", "enhanced-4h-policy"}
    assert not [r for r in run.resources if "vm-iris-prod-old" in r.name and r.name != item.name
                and r.type != "irisbackup:vm:ProtectedVm"]  # no hooks, no extension
    assert "vm-iris-prod-old" in run.outputs["protectedItems"] and "vm-iris-prod-old" not in run.outputs["hooks"]


def test_protected_items_carry_the_disk_selection(prod_settings):
    run = run_with_settings(prod_settings)
    properties = {vm: only(run, ITEM, f"{vm}-protected-item").inputs["properties"]
                  for vm in ("vm-iris-prod-1", "vm-iris-prod-2", "vm-cache-prod-1")}
    assert properties["vm-iris-prod-1"]["extendedProperties"] == {
        "diskExclusionProperties": {"diskLunList": [3], "isInclusionList": False}}
    assert properties["vm-iris-prod-2"]["extendedProperties"] == {
        "diskExclusionProperties": {"diskLunList": [0, 1, 2], "isInclusionList": True}}
    assert "extendedProperties" not in properties["vm-cache-prod-1"] and "protectionState" not in properties["vm-cache-prod-1"]


def test_the_policy_carries_archive_tiering_and_the_snapshot_resource_group(prod_settings):
    properties = only(run_with_settings(prod_settings), POLICY).inputs["properties"]
    assert properties["tieringPolicy"] == {"ArchivedRP": {"tieringMode": "TierAfter", "duration": 3, "durationType": "Months"}}
    assert properties["instantRPDetails"] == {"azureBackupRGNamePrefix": "rg-iris-prod-snapshots-",
                                              "azureBackupRGNameSuffix": "-westeurope"}
    set_path(prod_settings, ARCHIVE, {"mode": "TierRecommended"})
    set_path(prod_settings, SNAPSHOT_RG, {"prefix": "rg-snap-"})
    properties = only(run_with_settings(prod_settings), POLICY).inputs["properties"]
    assert properties["tieringPolicy"] == {"ArchivedRP": {"tieringMode": "TierRecommended"}}
    assert properties["instantRPDetails"] == {"azureBackupRGNamePrefix": "rg-snap-"}


# --- review summary -----------------------------------------------------------------------------------


def test_the_review_summary_shows_every_parity_feature(prod_settings, dev_settings):
    lines = summary(run_with_settings(prod_settings))
    assert ("    delete lock CanNotDelete, multi-user authorization by resource guard rg-guard-backup-prod "
            "(subscription 22222222-2222-2222-2222-222222222222)") in lines
    assert ("    monthly/yearly points move to the archive tier after 3 Months; instant-restore snapshots in resource "
            "group rg-iris-prod-snapshots-N-westeurope") in lines
    assert ("    vm-iris-prod-old: RETIRED (backups suspended, recovery points expire as per policy enhanced-4h), "
            "protected from destroy") in lines
    vm_lines = {line.split(":")[0].strip(): line for line in lines if line.startswith("    vm-")}
    assert "all disks but data LUN 3, protected" in vm_lines["vm-iris-prod-1"]
    assert "OS disk + data LUN 0, 1, 2 only, protected" in vm_lines["vm-iris-prod-2"]
    assert "all disks, protected" in vm_lines["vm-cache-prod-1"]
    dev = summary(run_with_settings(dev_settings))
    assert "    NO delete lock, NO resource guard (multi-user authorization off)" in dev
    assert ("    archive tier off; instant-restore snapshots in resource group AzureBackupRG_<geo>_N (Azure's default)"
            in dev)
