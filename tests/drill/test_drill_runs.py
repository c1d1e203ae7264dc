"""Whole drills through the real SDK clients and the fake Azure: every outcome the issue names.

The VM-side check really runs: the Run Command's script (as the fake received it) is executed
under dash against the iris drill double, and its output is what the fake reports."""

import signal

import pytest
from azure_harness import assert_safe, make_drill, points
from fake_azure import Scenario
from vmcheck import DrillVm

from drill.report import to_junit, to_markdown

GOOD = points((2, "AppConsistent"), (26, "AppConsistent"))


@pytest.fixture
def vm(tmp_path):
    v = DrillVm(tmp_path)
    v.add_instance("IRISPROD", databases=("0 1 /data/app/", "0 1 /data/audit/"))
    return v


def wire_check(fake, vm):
    """Run the script the drill sent through the Run Command on the fake VM; its output is the result."""
    def on_request(rec):
        if rec.route == "rc_put":
            fake.s.run_command_output = vm.run(rec.body["properties"]["source"]["script"]).stdout
    fake.on_request = on_request


def test_happy_path(vm):
    drill, fake, _ = make_drill(Scenario(points=GOOD))
    wire_check(fake, vm)
    report = drill.run("run1")
    (result,) = report.vms
    assert (result.verdict, result.reason) == ("passed", "ok")
    assert report.exit_code == 0 and report.orphans == []
    assert result.recovery_point == {"id": "rp0", "time": "2026-11-30T01:00:00+00:00", "type": "AppConsistent",
                                     "app_consistent": True}
    assert set(result.phases) == {"restore", "vm_build", "boot_to_agent_ready", "iris_start_and_recovery",
                                  "integrity_check", "teardown"}
    assert result.phases["restore"] > 0  # the fake clock advanced while the job was polled
    assert result.check["instances"][0]["checked"] == 2
    vm_put = next(r for r in fake.requests if r.route == "vm_put")
    disks = vm_put.body["properties"]["storageProfile"]
    assert disks["osDisk"]["createOption"] == "Attach" and disks["dataDisks"][0]["lun"] == 0
    nic = next(r for r in fake.requests if r.route == "nic_put").body
    assert "subnets/snet-drill" in nic["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"]
    assert not [k for k in fake.resources if k[1] in ("vm", "nic", "disk")]  # all gone
    assert_safe(fake)
    assert "| vm-iris-prod-1 |" in to_markdown(report) and 'failures="0"' in to_junit(report)


@pytest.mark.parametrize("code", ["LinkedAuthorizationFailed", "AuthorizationFailed"])
def test_a_refused_restore_is_a_drill_error_that_points_at_the_roles(code):
    drill, fake, _ = make_drill(Scenario(points=GOOD, restore_refused=code))
    report = drill.run("run-refused")
    assert report.vms[0].reason == "drill-error" and report.exit_code == 2
    assert code in report.drill_error and "docs/restore-drill.md" in report.drill_error
    assert "source-VM role" in report.drill_error and "pulumi up" in report.drill_error
    assert not [k for k in fake.resources if k[1] in ("vm", "nic", "disk")]  # nothing was created
    assert_safe(fake)


def test_restore_job_failed(vm):
    drill, fake, _ = make_drill(Scenario(points=GOOD, restore_outcome="Failed"))
    report = drill.run("run2")
    assert (report.vms[0].verdict, report.vms[0].reason) == ("could not check", "restore-failed")
    assert report.exit_code == 1
    assert not any(r.route == "vm_put" for r in fake.requests)
    assert_safe(fake)


def test_non_app_consistent_point_is_reported_as_such(vm):
    drill, fake, _ = make_drill(Scenario(points=points((1, "CrashConsistent"), (30, "AppConsistent"))))
    wire_check(fake, vm)
    report = drill.run("run3")
    assert report.vms[0].recovery_point["app_consistent"] is False
    assert report.vms[0].recovery_point["type"] == "CrashConsistent"
    assert "not application-consistent" in to_markdown(report)
    assert_safe(fake)


def test_vm_agent_never_ready(vm):
    drill, fake, clock = make_drill(Scenario(points=GOOD, agent_ready_after=None))
    report = drill.run("run4")
    assert (report.vms[0].verdict, report.vms[0].reason) == ("could not check", "agent-not-ready")
    assert report.vms[0].phases["boot_to_agent_ready"] >= 30 * 60
    assert not any(r.route == "rc_put" for r in fake.requests)
    assert report.exit_code == 1
    assert_safe(fake)


def test_run_command_timeout(vm):
    drill, fake, _ = make_drill(Scenario(points=GOOD, run_command_state="TimedOut"))
    report = drill.run("run5")
    assert (report.vms[0].verdict, report.vms[0].reason) == ("could not check", "run-command-timeout")
    assert_safe(fake)


def test_run_command_that_never_finishes_hits_our_deadline(vm):
    drill, fake, _ = make_drill(Scenario(points=GOOD, run_command_polls=10**6))
    report = drill.run("run5b")
    assert report.vms[0].reason == "run-command-timeout"
    assert_safe(fake)


def drill_on_vm(tmp_path, run_id, **instance):
    """A whole drill whose restored VM holds one instance with the given double outcome."""
    v = DrillVm(tmp_path)
    v.add_instance("IRISPROD", **instance)
    drill, fake, _ = make_drill(Scenario(points=GOOD))
    wire_check(fake, v)
    return drill.run(run_id), fake


def test_integrity_errors(tmp_path):
    report, fake = drill_on_vm(tmp_path, "run6", integrity="errors")
    assert report.vms[0].verdict == "integrity errors" and report.exit_code == 1
    assert 'failures="1"' in to_junit(report)
    assert_safe(fake)


def test_iris_does_not_start(tmp_path):
    report, fake = drill_on_vm(tmp_path, "run7", start="mismatch")
    assert report.vms[0].verdict == "did not start"
    assert report.vms[0].check["instances"][0]["start"] == "operator-needed"
    assert_safe(fake)


def test_teardown_fails_orphan_reported_and_sweep_finds_it(vm):
    drill, fake, clock = make_drill(Scenario(points=GOOD, fail_deletes={"vm"}))
    wire_check(fake, vm)
    report = drill.run("run8")
    assert report.vms[0].verdict == "passed"
    assert report.orphans == ["vm/drill-vm-iris-prod-1-run8"] and report.exit_code == 2
    assert "python -m drill sweep" in to_markdown(report)
    assert_safe(fake)
    from drill.sweep import leftovers
    clock.elapsed += 25 * 3600  # older than maxAgeHours (24)
    found = leftovers(drill.azure.run_resources(), "prod", clock.now(), 24)
    assert [(r.kind, r.name) for r in found] == [("vm", "drill-vm-iris-prod-1-run8")]
    fake.s.fail_deletes.clear()
    assert drill.delete_all(found) == [] and not [k for k in fake.resources if k[1] == "vm"]


def test_sweep_never_touches_sandbox_resources_or_recent_runs():
    from drill.azure_ops import RunResource
    from drill.sweep import leftovers
    from azure_harness import NOW
    old, new = "2026-11-28T00:00:00+00:00", "2026-11-30T02:00:00+00:00"
    resources = [RunResource("vm", "a", {"irisbackup-drill": "prod", "irisbackup-drill-started": old}),
                 RunResource("vm", "b", {"irisbackup-drill": "prod", "irisbackup-drill-started": new}),
                 RunResource("disk", "c", {"irisbackup-drill": "dev", "irisbackup-drill-started": old}),
                 RunResource("nic", "d", {"irisbackup-drill-sandbox": "prod", "irisbackup-drill": "prod"})]
    assert [r.name for r in leftovers(resources, "prod", NOW, 24)] == ["a"]


def test_interrupt_mid_drill_tears_down(vm):
    drill, fake, clock = make_drill(Scenario(points=GOOD, agent_ready_after=5))
    wire_check(fake, vm)
    interrupted = []

    def interrupt(_elapsed):  # SIGINT while waiting for the VM agent, as Ctrl-C or a CI cancel would
        if any(r.route == "vm_put" for r in fake.requests) and not interrupted:
            interrupted.append(True)
            signal.raise_signal(signal.SIGINT)
    clock.on_sleep = interrupt
    report = drill.run("run9")
    assert report.interrupted and report.exit_code == 2
    assert report.vms[0].reason == "interrupted"
    assert not any(r.route == "rc_put" for r in fake.requests)
    assert not [k for k in fake.resources if k[1] in ("vm", "nic", "disk")]
    assert_safe(fake)


def test_second_vm_runs_after_first_and_each_is_torn_down(vm):
    drill, fake, _ = make_drill(Scenario(points=GOOD), vms=None)
    wire_check(fake, vm)
    report = drill.run("run10")
    assert [v.vm for v in report.vms] == ["vm-iris-prod-1", "vm-iris-prod-2"]
    assert_safe(fake)
