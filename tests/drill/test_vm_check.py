"""drill/vm/check.sh under dash, against the iris drill double: start, recovery, integrity outcomes."""

import subprocess
import sys
from pathlib import Path

import pytest

from vmcheck import CHECK, DrillVm


@pytest.fixture
def vm(tmp_path):
    return DrillVm(tmp_path)


def test_shellcheck_clean():
    subprocess.run([str(Path(sys.executable).parent / "shellcheck"), "-s", "sh", str(CHECK)], check=True)


def test_happy_path_disarms_before_start_checks_every_database_and_stops(vm):
    vm.add_instance("IRISPROD", databases=("0 1 /data/app/", "0 1 /data/audit/"))
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    assert run.result["verdict"] == "passed"
    (inst,) = run.result["instances"]
    assert inst["start"] == "ok" and inst["integrity"] == "ok" and inst["checked"] == 2
    assert inst["disarmed"] == ["SystemStart", "ZSTU"]
    # the start saw the disarmed CPF; integrity covered both databases; the instance was stopped last
    assert run.events[0] == "IRISPROD start SystemStart=0 ZSTU=0 JoinMirror="
    assert run.events[2] == 'IRISPROD integrity "/data/app/","/data/audit/" maxproc=8'
    assert run.events[-1] == "IRISPROD stop"
    assert run.stdout.strip().splitlines()[-1].startswith("DRILL-RESULT ")


def test_every_instance_from_qlist_when_none_named(vm):
    vm.add_instance("IRISA")
    vm.add_instance("CACHEB", "cache")
    run = vm.run()
    assert sorted(i["name"] for i in run.result["instances"]) == ["CACHEB", "IRISA"]
    assert run.result["verdict"] == "passed"


# (double outcome, verdict, instance field, its value): integrity errors, an incomplete check, a failed
# start, and a WIJ mismatch (recovery that needs an operator).
OUTCOMES = [
    ({"integrity": "errors"}, "integrity-errors", "integrity", "errors"),
    ({"integrity": "incomplete"}, "could-not-check", "integrity", "incomplete"),
    ({"start": "fail"}, "did-not-start", "start", "failed"),
    ({"start": "mismatch"}, "did-not-start", "start", "operator-needed"),
]


@pytest.mark.parametrize("outcome, verdict, key, value", OUTCOMES)
def test_failed_outcomes(vm, outcome, verdict, key, value):
    vm.add_instance("IRISPROD", **outcome)
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    assert run.result["verdict"] == verdict
    assert run.result["instances"][0][key] == value
    if key == "start":  # no integrity check on an instance that is not up
        assert not any("integrity" in e for e in run.events)


def test_instance_auto_started_at_boot_is_checked_without_restart(vm):
    vm.add_instance("IRISPROD", status="running")
    run = vm.run('DRILL_INSTANCES="IRISPROD:iris"')
    (inst,) = run.result["instances"]
    assert inst["autostarted"] is True and inst["disarmed"] == []
    assert not any(" start " in e for e in run.events)
    assert run.result["verdict"] == "passed"


def test_credentials_are_sent_first_when_configured(vm, tmp_path):
    vm.add_instance("IRISPROD")
    (tmp_path / "instances" / "IRISPROD" / "credentials").write_text("drill\nsecret\n")
    creds = tmp_path / "creds"
    creds.write_text("drill\nsecret\n")
    assert vm.run(f'DRILL_INSTANCES="IRISPROD:iris" DRILL_CREDENTIALS={creds}').result["verdict"] == "passed"
    creds.write_text("drill\nwrong\n")
    assert vm.run(f'DRILL_INSTANCES="IRISPROD:iris" DRILL_CREDENTIALS={creds}').result["verdict"] != "passed"


def test_no_instance_is_could_not_check(vm):
    run = vm.run()
    assert run.result == {"v": 1, "verdict": "could-not-check", "instances": []}
