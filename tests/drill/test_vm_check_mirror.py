"""drill/vm/check.sh on a restored mirror member, against the iris drill double's mirrored databases:
the copy is kept out of the mirror at startup, leaves it before the integrity check (mirror journals
kept), and no database is ever checked while still mirrored."""

import itertools
import re

import pytest

from vmcheck import DrillVm

MIRROR_CPF = "[MirrorMember]\nSystemName=IRISPROD-A\nJoinMirror=1\n[Startup]\nSystemStart=1\n"
JOURNAL = "MIRROR-IRISMIRROR-20261204.001"


@pytest.fixture
def vm(tmp_path):
    return DrillVm(tmp_path)


def member(vm, databases=("1 0 /data/mirrored/", "0 1 /data/local/"), **outcome):
    root = vm.add_instance("IRISPROD", cpf=MIRROR_CPF, databases=databases, **outcome)
    (root / "journal").mkdir()
    (root / "journal" / JOURNAL).write_text("journal\n")
    return root


def integrity_dirs(events):
    return [re.findall(r'"([^"]+)"', e) for e in events if e.startswith("IRISPROD integrity ")]


def test_a_member_leaves_the_mirror_before_every_database_is_checked(vm):
    root = member(vm)
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["mirror"] == "member" and "JoinMirror" in inst["disarmed"] and inst["unmirror"] == "ok"
    assert run.events[0].endswith("JoinMirror=0")  # kept out of the mirror at startup
    kinds = [e.split()[1] for e in run.events]
    assert kinds == ["start", "dblist", "remove-mirror", "dblist", "mount", "dblist", "integrity", "stop"]
    # DeleteDB=1 (the mirrored flag goes), CleanJournal=0 and CleanSSL=0; never called on a joined member
    assert run.events[2] == "IRISPROD remove-mirror 1,0,0 JoinMirror=0"
    assert run.events[4] == "IRISPROD mount /data/mirrored/"
    assert integrity_dirs(run.events) == [["/data/mirrored/", "/data/local/"]]
    assert inst["checked"] == 2 and inst["not_checked"] == [] and run.result["verdict"] == "passed"
    assert (root / "journal" / JOURNAL).exists()  # the mirror journals are kept


def test_when_the_mirror_cannot_be_removed_its_databases_are_not_checked_and_the_drill_says_so(vm):
    member(vm, unmirror="fail")
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["unmirror"] == "failed" and inst["checked"] == 1
    assert inst["not_checked"] == [{"dir": "/data/mirrored/", "reason": "still-mirrored"}]
    assert integrity_dirs(run.events) == [["/data/local/"]]
    assert run.result["verdict"] == "could-not-check"


def test_a_database_that_left_the_mirror_but_does_not_mount_is_a_gap_not_a_pass(vm):
    member(vm, mount="fail")
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["unmirror"] == "ok" and inst["checked"] == 1
    assert inst["not_checked"] == [{"dir": "/data/mirrored/", "reason": "not-mounted-after-unmirror"}]
    assert run.result["verdict"] == "could-not-check"


def test_an_auto_started_member_may_hold_a_mirror_role_so_the_removal_is_refused_and_reported(vm):
    member(vm, status="running")
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["autostarted"] is True and inst["unmirror"] == "failed"
    assert "IRISPROD remove-mirror 1,0,0 JoinMirror=1" in run.events
    assert run.result["verdict"] == "could-not-check"


def test_a_non_member_is_not_touched(vm):
    vm.add_instance("IRISPROD", databases=("0 1 /data/app/",))
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["mirror"] == "none" and inst["unmirror"] == "not-needed"
    assert not any("remove-mirror" in e for e in run.events)


# Across removal outcomes, boot states and mount states: no database is checked while mirrored, the
# journals survive, and "passed" only when every mirrored database was checked out of the mirror.
@pytest.mark.parametrize("unmirror, status, mounted, mount", list(itertools.product(
    ("ok", "fail"), ("down", "running"), ("0", "1"), ("ok", "fail"))))
def test_invariants_over_combined_states(vm, unmirror, status, mounted, mount):
    root = member(vm, databases=(f"1 {mounted} /data/mirrored/", "0 1 /data/local/"), unmirror=unmirror,
                  status=status, mount=mount)
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    removed = f"IRISPROD remove-mirror 1,0,0 JoinMirror={'1' if status == 'running' else '0'}" in run.events
    removed_ok = removed and inst["unmirror"] == "ok"
    for index, event in enumerate(run.events):
        if event.startswith("IRISPROD integrity ") and "/data/mirrored/" in event:
            assert removed_ok and any(e.startswith("IRISPROD remove-mirror") for e in run.events[:index])
    assert (root / "journal" / JOURNAL).exists()
    if run.result["verdict"] == "passed":
        assert inst["unmirror"] == "ok" and inst["checked"] == 2
