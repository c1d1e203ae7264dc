"""One drill run: per VM pick a point, restore, build, boot, check; tear down always."""

from __future__ import annotations

import json
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from azure.core.exceptions import AzureError, HttpResponseError

from irisbackup.drill import drill_naming as naming

from .azure_ops import Azure, RestoredDisk
from .config import DrillConfig, VmTarget
from .points import NoRecoveryPoint, RecoveryPoint, choose
from .report import COULD_NOT_CHECK, FROM_CHECK, RunReport, VmResult, mirror_members
from .safety import SafetyError

CHECK_SCRIPT = Path(__file__).resolve().parent / "vm" / "check.sh"
RESULT_PREFIX = "DRILL-RESULT "
# What to look at when Azure refuses the drill identity (403): the roles the stack grants it.
REFUSED_HINT = ("Azure refused the drill identity: check its roles (docs/restore-drill.md, \"The drill identity's "
                "roles\"); after changing drill.vms, `pulumi up` must run first, it grants the source-VM role")
RESTORE_TIMEOUT = 8 * 3600
AGENT_TIMEOUT = 30 * 60
RUN_COMMAND_GRACE = 15 * 60
POLL = {"restore": 60, "agent": 15, "run_command": 30}
FAILED_JOB = {"Failed", "Cancelled"}
DONE_JOB = {"Completed", "CompletedWithWarnings"} | FAILED_JOB


class Clock:
    """Wall clock for reports, monotonic clock for deadlines; tests pass a fake that advances on sleep."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Interrupted(BaseException):
    """SIGINT/SIGTERM during a drill: unwinds to the teardown (BaseException: no except Exception eats it)."""


class VerdictStop(Exception):
    """This VM cannot be checked further; the reason is a finding about the backup, not a drill bug."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class RunState:
    """What this run created, for teardown: disks seen before the restore and every tagged name."""

    run_id: str
    disks_before: set[str] | None = None
    untagged_disks: set[str] | None = None


def check_script(target: VmTarget, timeout_minutes: int) -> str:
    """The script the Run Command executes: validated settings as assignments, then drill/vm/check.sh."""
    instances = " ".join(f"{i.name}:{i.product}" for i in target.instances)
    lines = [f"DRILL_INSTANCES='{instances}'", f"DRILL_CREDENTIALS='{target.credentials_file or ''}'",
             f"DRILL_START_TIMEOUT={min(timeout_minutes * 60, 1800)}"]
    return "\n".join(lines) + "\n" + CHECK_SCRIPT.read_text(encoding="utf-8")


def parse_result(output: str) -> dict | None:
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return None
    try:
        return json.loads(lines[-1][len(RESULT_PREFIX):])
    except ValueError:
        return None


class Drill:
    def __init__(self, config: DrillConfig, azure: Azure, clock: Clock | None = None,
                 log: Callable[[str], None] = print, rng=None):
        self.config, self.azure, self.clock, self.log, self.rng = config, azure, clock or Clock(), log, rng

    def run(self, run_id: str) -> RunReport:
        report = RunReport(self.config.stack, run_id, self.clock.now().isoformat(timespec="seconds"))
        try:
            with _signals_raise():
                for target in self.config.vms:
                    result = VmResult(target.name, mirror_members=mirror_members(target.mirror_members, None))
                    report.vms.append(result)
                    self._drill_vm(target, RunState(run_id), result, report)
                    if report.interrupted or report.drill_error:
                        break
        except Interrupted:
            report.interrupted = True
        report.finished = self.clock.now().isoformat(timespec="seconds")
        return report

    def _drill_vm(self, target: VmTarget, state: RunState, result: VmResult, report: RunReport) -> None:
        try:
            self._steps(target, state, result)
        except VerdictStop as stop:
            result.verdict, result.reason = COULD_NOT_CHECK, stop.reason
            self.log(f"{target.name}: could not check: {stop}")
        except Interrupted:
            result.reason = "interrupted"
            report.interrupted = True
            self.log(f"{target.name}: interrupted; tearing down")
        except (SafetyError, AzureError, OSError, ValueError) as error:
            result.reason = "drill-error"
            report.drill_error = f"{target.name}: {type(error).__name__}: {error}"
            if isinstance(error, HttpResponseError) and error.status_code == 403:
                report.drill_error += f" ({REFUSED_HINT})"
            self.log(f"{target.name}: drill error: {error}")
        finally:
            with _signals_deferred():
                started = self.clock.monotonic()
                report.orphans += self.teardown(state)
                result.phases["teardown"] = self.clock.monotonic() - started

    @contextmanager
    def _phase(self, result: VmResult, name: str):
        started = self.clock.monotonic()
        try:
            yield
        finally:
            result.phases[name] = round(self.clock.monotonic() - started, 3)

    def _tags(self, state: RunState) -> dict[str, str]:
        return naming.run_tags(self.config.stack, state.run_id, self.clock.now().isoformat(timespec="seconds"),
                               self.config.tags)

    def _wait(self, what: str, timeout: float, probe: Callable[[], bool]) -> bool:
        deadline = self.clock.monotonic() + timeout
        while not probe():
            if self.clock.monotonic() >= deadline:
                return False
            self.clock.sleep(POLL[what])
        return True

    def _steps(self, target: VmTarget, state: RunState, result: VmResult) -> None:
        point = self._pick(target, result)
        tags = self._tags(state)
        with self._phase(result, "restore"):
            disks = self._restore(target, point, state, tags)
        vm_name = naming.restored_vm_name(target.name, state.run_id)
        result.restored_vm = vm_name
        with self._phase(result, "vm_build"):
            nic = self.azure.create_nic(naming.restored_nic_name(target.name, state.run_id), tags)
            os_disk, data_disks = _layout(disks, point)
            self.azure.create_vm(vm_name, os_disk, data_disks, nic, point, tags)
        with self._phase(result, "boot_to_agent_ready"):
            if not self._wait("agent", AGENT_TIMEOUT, lambda: self.azure.agent_status(vm_name) == "Ready"):
                raise VerdictStop("agent-not-ready", f"VM agent not Ready after {AGENT_TIMEOUT // 60} min")
        self._check(target, vm_name, result, tags)

    def _pick(self, target: VmTarget, result: VmResult) -> RecoveryPoint:
        now = self.clock.now()
        days = target.window_days if target.recovery_point == "random" else 365
        points = self.azure.recovery_points(target.source, now - timedelta(days=days), now)
        try:
            point = choose(points, target.recovery_point, target.window_days, now, self.rng)
        except NoRecoveryPoint as error:
            raise VerdictStop("no-recovery-point", str(error)) from None
        result.recovery_point = {"id": point.id, "time": point.time.isoformat(timespec="seconds"),
                                 "type": point.type, "app_consistent": point.app_consistent}
        self.log(f"{target.name}: recovery point {point.id} of {point.time:%Y-%m-%d %H:%M} UTC, {point.type}"
                 + ("" if point.app_consistent else " (NOT application-consistent)"))
        return point

    def _restore(self, target: VmTarget, point: RecoveryPoint, state: RunState, tags: dict) -> list[RestoredDisk]:
        state.disks_before = {d.id.lower() for d in self.azure.disks()}
        operation = self.azure.trigger_restore(target.source, point)
        self.log(f"{target.name}: RestoreDisks into {self.config.sandbox.resource_group} (operation {operation})")
        job: dict = {}

        def job_done() -> bool:
            if "id" not in job:
                status, job_id = self.azure.restore_operation(operation)
                if job_id:
                    job["id"] = job_id
                elif status not in ("InProgress", "Succeeded"):
                    job["status"], job["error"] = status, "the restore was not accepted"
                    return True
                return False
            job["status"], job["error"] = self.azure.job(job["id"])
            return job["status"] in DONE_JOB

        if not self._wait("restore", RESTORE_TIMEOUT, job_done):
            raise VerdictStop("restore-timeout", f"restore job not done after {RESTORE_TIMEOUT // 3600} h")
        new = [d for d in self.azure.disks() if d.id.lower() not in state.disks_before]
        state.untagged_disks = {d.name for d in new}
        for disk in new:  # tagged, so teardown and the sweep find them by run id
            self.azure.tag_disk(disk.name, tags)
            state.untagged_disks.discard(disk.name)
        if job.get("status") in FAILED_JOB:
            raise VerdictStop("restore-failed", f"job {job.get('id')}: {job.get('status')} {job.get('error', '')}")
        if not any(d.os_type for d in new):
            raise VerdictStop("restore-failed", "the restore job completed but no OS disk appeared in the sandbox")
        return new

    def _check(self, target: VmTarget, vm_name: str, result: VmResult, tags: dict) -> None:
        timeout = self.config.run_command_timeout_minutes * 60
        self.azure.start_run_command(vm_name, check_script(target, self.config.run_command_timeout_minutes),
                                     timeout, tags)
        seen: dict = {}

        def finished() -> bool:
            seen["state"] = self.azure.run_command(vm_name)
            return seen["state"].state not in ("Pending", "Running", "Unknown")

        if not self._wait("run_command", timeout + RUN_COMMAND_GRACE, finished):
            raise VerdictStop("run-command-timeout", "no result from the Run Command in time")
        state = seen["state"]
        if state.state == "TimedOut":
            raise VerdictStop("run-command-timeout", f"the check ran longer than {timeout // 60} min")
        check = parse_result(state.output)
        if check is None:
            raise VerdictStop("run-command-failed", f"{state.state}, exit {state.exit_code}: {state.error[-300:]}")
        result.check = check
        result.mirror_members = mirror_members(target.mirror_members, check)
        result.verdict = FROM_CHECK.get(check.get("verdict"), COULD_NOT_CHECK)
        result.reason = "ok" if check.get("verdict") in FROM_CHECK else "unknown-check-verdict"
        instances = check.get("instances", [])
        result.phases["iris_start_and_recovery"] = float(sum(i.get("start_seconds", 0) for i in instances))
        result.phases["integrity_check"] = float(sum(i.get("integrity_seconds", 0) for i in instances))
        self.log(f"{target.name}: {result.verdict}")

    def teardown(self, state: RunState) -> list[str]:
        """Delete what this run created (by run id tag, and restored disks not yet tagged); the leftovers."""
        try:
            resources = self.azure.run_resources()
        except AzureError as error:
            self.log(f"teardown: cannot list the sandbox: {error}")
            return [f"sandbox/{self.config.sandbox.resource_group} (not listed: {type(error).__name__})"]
        ours = [r for r in resources if r.tags.get(naming.RUN_ID_TAG) == state.run_id
                or (r.kind == "disk" and r.name in (state.untagged_disks or set()))]
        return self.delete_all(ours)

    def delete_all(self, resources) -> list[str]:
        order = {"vm": 0, "nic": 1, "disk": 2}  # the VM holds the NIC and the disks
        orphans = []
        for r in sorted(resources, key=lambda r: order[r.kind]):
            try:
                self.azure.delete(r.kind, r.name)
                self.log(f"teardown: deleted {r.kind} {r.name}")
            except AzureError as error:
                orphans.append(f"{r.kind}/{r.name}")
                self.log(f"teardown: could not delete {r.kind} {r.name}: {type(error).__name__}")
        return orphans


def _layout(disks: list[RestoredDisk], point: RecoveryPoint) -> tuple[RestoredDisk, list[tuple[int, RestoredDisk]]]:
    """OS disk and (LUN, disk) pairs: a restored disk keeps its source disk's name as prefix [U], so
    the recovery point's disk list gives the LUN; otherwise disks take LUNs in name order."""
    os_disk = next(d for d in disks if d.os_type)
    data = sorted((d for d in disks if d is not os_disk), key=lambda d: d.name)
    luns = sorted(((lun, name) for lun, name in point.disks if lun is not None and lun >= 0),
                  key=lambda pair: -len(pair[1]))
    pairs, used = [], set()
    for disk in data:
        lun = next((lun for lun, name in luns if disk.name.lower().startswith(name.lower()) and lun not in used), None)
        if lun is None:
            lun = next(n for n in range(64) if n not in used and n not in {pair[0] for pair in luns})
        used.add(lun)
        pairs.append((lun, disk))
    return os_disk, sorted(pairs, key=lambda pair: pair[0])


def _raise(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def _signals_raise():
    previous = {s: signal.signal(s, _raise) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def _signals_deferred():
    """During teardown a second Ctrl-C must not leave resources behind: hold signals until done."""
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _f: caught.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            raise Interrupted(signal.Signals(caught[0]).name)
