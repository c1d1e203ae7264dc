"""Drills of mirror members through the real SDK clients, the fake Azure and the VM-side check under
dash: the report names the member and its role, and says whether mirroring was removed on the copy."""

import json

import pytest
from azure_harness import assert_safe, make_drill, points
from fake_azure import Scenario
from test_drill_runs import wire_check
from vmcheck import DrillVm

from drill import config as drill_config
from drill.plan import dry_run
from drill.report import to_junit, to_markdown

GOOD = points((2, "AppConsistent"), (26, "AppConsistent"))
MIRROR_CPF = "[MirrorMember]\nSystemName=IRISPROD-A\nJoinMirror=1\n[Startup]\nSystemStart=1\n"
MEMBER = {"set": "IRISMIRROR", "instance": "IRISPROD", "product": "iris", "kind": "failover",
          "restores_to": "any member of the mirror"}


def restored_member(tmp_path, unmirror="ok"):
    vm = DrillVm(tmp_path)
    vm.add_instance("IRISPROD", cpf=MIRROR_CPF, databases=("1 0 /data/mirrored/", "0 1 /data/local/"),
                    unmirror=unmirror)
    return vm


def test_the_report_names_the_member_and_role_restored(tmp_path):
    drill, fake, _ = make_drill(Scenario(points=GOOD))
    wire_check(fake, restored_member(tmp_path))
    report = drill.run("run1")
    (result,) = report.vms
    assert (result.verdict, result.reason) == ("passed", "ok")
    assert result.mirror_members == [{**MEMBER, "mirror_removed": "ok"}]
    assert result.check["instances"][0]["checked"] == 2  # the mirrored database was checked out of the mirror
    markdown = to_markdown(report)
    assert ("- vm-iris-prod-1: IRISPROD (iris), failover member of IRISMIRROR (its backup restores to any member "
            "of the mirror); mirroring removed on the copy before the integrity check: ok") in markdown
    assert json.loads(report.to_json())["vms"][0]["mirror_members"][0]["kind"] == "failover"
    assert '"mirror_members": [{"set": "IRISMIRROR"' in to_junit(report)
    assert_safe(fake)


def test_a_member_whose_mirror_could_not_be_removed_is_not_passed(tmp_path):
    drill, fake, _ = make_drill(Scenario(points=GOOD))
    wire_check(fake, restored_member(tmp_path, unmirror="fail"))
    (result,) = drill.run("run2").vms
    assert result.verdict == "could not check"
    assert result.mirror_members == [{**MEMBER, "mirror_removed": "failed"}]
    assert result.check["instances"][0]["not_checked"] == [{"dir": "/data/mirrored/", "reason": "still-mirrored"}]


def test_a_drill_that_stops_before_the_check_still_names_the_member(tmp_path):
    drill, fake, _ = make_drill(Scenario(points=GOOD, restore_outcome="Failed"))
    (result,) = drill.run("run3").vms
    assert result.reason == "restore-failed" and result.mirror_members == [{**MEMBER, "mirror_removed": "not-run"}]
    assert "mirroring removed on the copy before the integrity check: not-run" in to_markdown(drill.run("run4"))


def test_members_of_a_vm_come_from_the_mirror_settings_and_other_instances_are_not_members():
    config = drill_config.load("prod")
    by_vm = {vm.name: vm.mirror_members for vm in config.vms}
    assert [(m.mirror_set, m.instance, m.kind) for m in by_vm["vm-iris-prod-1"]] == [("IRISMIRROR", "IRISPROD", "failover")]
    assert [m.instance for m in by_vm["vm-iris-prod-2"]] == ["IRISAPP"]  # IRISREPORT runs there, outside the mirror


@pytest.mark.parametrize("vm, instance", [("vm-iris-prod-1", "IRISPROD"), ("vm-iris-prod-2", "IRISAPP")])
def test_the_dry_run_says_how_each_member_is_restored(vm, instance):
    lines = dry_run(drill_config.load("prod"), "run5")
    start = lines.index(next(line for line in lines if line.endswith(f". {vm}")))
    block = lines[start:start + 10]
    assert any(line.strip().startswith(f"mirror member {instance} (failover, set IRISMIRROR): "
                                       "SYS.Mirror.RemoveMirrorConfiguration(1,0,0) on the copy") for line in block), block
