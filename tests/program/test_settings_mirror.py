"""The `mirrors` settings (irisbackup/settings/mirror.py): member syntax, every validation error names
the setting, the value and what is allowed, and the freeze window against the mirror's QoS timeout."""

from __future__ import annotations

import pytest

from irisbackup.settings import parse_settings
from irisbackup.settings.mirror import mirror_warnings
from irisbackup.vm.mirror_spec import BackupPreference, MemberKind
from tests.program.test_settings import problems_for

WHERE = "irisbackup:settings.mirrors"
VM_ID = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-iris-prod/providers/Microsoft.Compute/virtualMachines/"


def add_async_vm(settings, name="vm-iris-prod-dr"):
    settings["vms"].append({"id": VM_ID + name, "policy": "enhanced-4h", "delivery": "runCommand", "identity": "systemAssigned",
                            "hooks": {"instances": [{"name": "IRISDR"}]}})
    return {"vm": name, "instance": "IRISDR", "kind": "async"}


def test_prod_declares_one_set_of_two_failover_members(prod_settings):
    [mirror] = parse_settings(prod_settings).mirrors
    assert [m.label for m in mirror.members] == ["vm-iris-prod-1/IRISPROD:iris", "vm-iris-prod-2/IRISAPP:iris"]
    assert {m.kind for m in mirror.members} == {MemberKind.FAILOVER}
    assert mirror.backup_preference is BackupPreference.PREFER_BACKUP_FAILOVER and mirror.qos_timeout_seconds == 8
    assert mirror.arbiter_address == ("10.20.0.10", 2188)


def test_defaults_and_no_mirrors(dev_settings, prod_settings):
    assert parse_settings(dev_settings).mirrors == []
    prod_settings["mirrors"] = [{"name": "M", "members": [{"vm": "vm-iris-prod-1", "instance": "IRISPROD"}]}]
    [mirror] = parse_settings(prod_settings).mirrors
    assert mirror.qos_timeout_seconds == 8 and mirror.backup_preference is BackupPreference.PREFER_BACKUP_FAILOVER
    assert mirror.async_members.value == "allowed" and mirror.arbiter_address is None


@pytest.mark.parametrize("instance, name, product", [
    ("IRISPROD", "IRISPROD", "iris"), ("IRISPROD:iris", "IRISPROD", "iris"),
    ({"name": "IRISPROD", "product": "iris"}, "IRISPROD", "iris"),
])
def test_member_instance_takes_the_hooks_syntax_or_an_object(prod_settings, instance, name, product):
    prod_settings["mirrors"][0]["members"][0]["instance"] = instance
    member = parse_settings(prod_settings).mirrors[0].members[0]
    assert (member.instance.name, member.instance.product) == (name, product)


def test_an_async_member_is_accepted(prod_settings):
    prod_settings["mirrors"][0]["members"].append(add_async_vm(prod_settings))
    prod_settings["mirrors"][0]["asyncMembers"] = "required"
    mirror = parse_settings(prod_settings).mirrors[0]
    assert [m.kind for m in mirror.members] == [MemberKind.FAILOVER, MemberKind.FAILOVER, MemberKind.ASYNC]
    assert len(mirror.failover_members) == 2


# (edit, the one problem it causes): each names its key path, the value and what is allowed.
def _second_set(settings):
    settings["mirrors"].append({"name": "OTHER", "members": [{"vm": "vm-iris-prod-1", "instance": "IRISPROD:iris"}]})


def _all_failover_retired(settings):
    settings["mirrors"][0]["members"] = [{"vm": "vm-iris-prod-old", "instance": "IRISOLD"}]


def _crash_only(settings):
    vm = settings["vms"][0]
    vm["consistency"] = "crash"
    for key in ("ssh", "hooks"):
        vm.pop(key)
    settings["mirrors"][0]["members"] = settings["mirrors"][0]["members"][:1]
    settings["mirrors"][0]["members"][0]["instance"] = "IRISPROD"


CASES = [
    ("a member in two sets", _second_set,
     f"{WHERE}: mirrors[1].members[0]: vm-iris-prod-1/IRISPROD:iris is already a member of mirror set 'IRISMIRROR'"),
    ("an unknown VM", lambda s: s["mirrors"][0]["members"][1].update(vm="vm-nope"),
     f"{WHERE}: mirrors[0].members[1].vm: 'vm-nope' is not a VM of this stack; allowed: vm-cache-prod-1, "),
    ("an instance the VM does not run", lambda s: s["mirrors"][0]["members"][1].update(instance="IRISREPORTS"),
     f"{WHERE}: mirrors[0].members[1].instance: IRISREPORTS:iris is not in vms[vm-iris-prod-2].hooks.instances; "
     "allowed: IRISAPP:iris, IRISREPORT:iris"),
    ("a set with no protected VM (retired)", _all_failover_retired,
     f"{WHERE}: mirrors[0]: no failover member's VM is protected application-consistently"),
    ("a set with no protected VM (crash only)", _crash_only,
     f"{WHERE}: mirrors[0]: no failover member's VM is protected application-consistently"),
    ("runner polls against QoS", lambda s: s["vms"][1]["hooks"].update(runnerPollSeconds=2),
     f"{WHERE}: mirrors[0].members[1]: vms[vm-iris-prod-2].hooks.runnerPollSeconds 2 freezes the database for at "
     "least 2 x 2 = 4 s per snapshot, not under half the mirror's qosTimeoutSeconds (8 / 2)"),
    ("three failover members", lambda s: s["mirrors"][0]["members"].append({"vm": "vm-cache-prod-1", "instance": "CACHE:cache"}),
     f"{WHERE}[0]: members has 3 failover members; a mirror has 1 or 2 (set kind: async on the others)"),
    ("the same member twice", lambda s: s["mirrors"][0]["members"].append({"vm": "VM-IRIS-PROD-1", "instance": "irisprod", "kind": "async"}),
     f"{WHERE}[0]: members lists the same VM and instance twice"),
    ("a bad instance syntax", lambda s: s["mirrors"][0]["members"][0].update(instance="IRISPROD:db2"),
     f"{WHERE}[0].members[0].instance: 'IRISPROD:db2' expected NAME, NAME:iris or NAME:cache"),
    ("a bad instance name", lambda s: s["mirrors"][0]["members"][0].update(instance={"name": "1RIS"}),
     f"{WHERE}[0].members[0].instance.name: '1RIS' does not match ^[A-Za-z][A-Za-z0-9_-]{{0,63}}$"),
    ("an unknown preference", lambda s: s["mirrors"][0].update(backupPreference="backupOnly"),
     f"{WHERE}[0].backupPreference: 'backupOnly' Input should be 'preferBackupFailover', 'anyFailover' or 'primaryOnly'"),
    ("a QoS out of range", lambda s: s["mirrors"][0].update(qosTimeoutSeconds=0),
     f"{WHERE}[0].qosTimeoutSeconds: 0 Input should be greater than or equal to 2"),
    ("duplicate set names", lambda s: s["mirrors"].append({"name": "irismirror", "members": [
        {"vm": "vm-cache-prod-1", "instance": "CACHE:cache"}]}),
     f"{WHERE}: mirror set names are not unique: ['IRISMIRROR', 'irismirror']"),
]


@pytest.mark.parametrize("edit, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_mistake_is_one_clear_problem(prod_settings, edit, expected):
    edit(prod_settings)
    problems = problems_for(prod_settings)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_every_mistake_at_once_is_listed_together(prod_settings):
    for _, edit, _expected in CASES[:3] + CASES[5:6]:
        edit(prod_settings)
    [problem] = problems_for(prod_settings)  # one field, its problems joined
    assert problem.count("; ") >= 3


def test_runner_polls_within_qos_over_two_pass_and_a_longer_qos_allows_longer_polls(prod_settings):
    prod_settings["vms"][1]["hooks"]["runnerPollSeconds"] = 3
    assert problems_for(prod_settings)
    prod_settings["mirrors"][0]["qosTimeoutSeconds"] = 13  # 2 x 3 = 6 < 6.5
    parse_settings(prod_settings)
    # An async member's polls do not matter: its freeze does not hold up the primary's commits.
    prod_settings["mirrors"][0]["qosTimeoutSeconds"] = 8
    prod_settings["vms"][1]["hooks"]["runnerPollSeconds"] = 1
    prod_settings["mirrors"][0]["members"].append(add_async_vm(prod_settings))
    prod_settings["vms"][-1]["hooks"]["runnerPollSeconds"] = 5
    parse_settings(prod_settings)


def test_freeze_budget_against_qos_is_a_warning_naming_the_members(prod_settings):
    [warning] = mirror_warnings(parse_settings(prod_settings))
    assert warning.startswith("mirror set IRISMIRROR: freezeBudgetSeconds (vm-iris-prod-1/IRISPROD:iris 200 s, "
                              "vm-iris-prod-2/IRISAPP:iris 200 s) is not under half its qosTimeoutSeconds (8 s)")
    # Invariant: a warning exactly when some protected failover member's budget reaches QoS/2.
    # The smallest budget the hooks' nesting rules allow: 1 s calls, 13 s Azure timeout, 16 s budget.
    for vm in prod_settings["vms"][:2]:
        vm["hooks"].update(callTimeoutSeconds=1, azureTimeoutSeconds=13, wdSuspendLimitSeconds=300)
    for qos, budget in ((60, 16), (60, 29), (60, 30), (32, 16), (8, 16), (8, 200)):
        prod_settings["mirrors"][0]["qosTimeoutSeconds"] = qos
        for vm in prod_settings["vms"][:2]:
            vm["hooks"]["freezeBudgetSeconds"] = budget
        assert bool(mirror_warnings(parse_settings(prod_settings))) == (budget * 2 >= qos), (qos, budget)


def test_no_warning_without_mirrors(dev_settings):
    assert mirror_warnings(parse_settings(dev_settings)) == []


def test_the_program_logs_the_warning_and_still_declares_everything(prod_settings, caplog):
    from tests.program.harness import run_with_settings
    with caplog.at_level("WARNING"):
        run = run_with_settings(prod_settings, cached=False)
    assert any(r.getMessage().startswith("mirror set IRISMIRROR: freezeBudgetSeconds") for r in caplog.records)
    assert run.resources


def test_the_plan_review_shows_each_set_its_preference_and_members(prod_settings):
    from offline_plan.render import summary
    from tests.program.harness import run_with_settings
    prod_settings["mirrors"][0]["members"].append(add_async_vm(prod_settings))
    lines = summary(run_with_settings(prod_settings), prod_settings)
    start = lines.index("  Mirror sets (docs/mirror.md):")
    assert lines[start + 1:start + 4] == [
        "    IRISMIRROR: preferBackupFailover, QoS 8 s, async members allowed, arbiter 10.20.0.10:2188",
        "      failover: vm-iris-prod-1/IRISPROD:iris, vm-iris-prod-2/IRISAPP:iris",
        "      async: vm-iris-prod-dr/IRISDR:iris"]
    del prod_settings["mirrors"]
    assert "  Mirror sets (docs/mirror.md):" not in summary(run_with_settings(prod_settings), prod_settings)
