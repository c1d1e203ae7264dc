"""The drill report: JSON (the record), Markdown (CI job summary) and JUnit XML (pure logic)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from xml.etree import ElementTree as ET

PASSED = "passed"
INTEGRITY_ERRORS = "integrity errors"
DID_NOT_START = "did not start"
COULD_NOT_CHECK = "could not check"
# Verdict words of the VM-side result line -> report verdicts.
FROM_CHECK = {"passed": PASSED, "integrity-errors": INTEGRITY_ERRORS, "did-not-start": DID_NOT_START,
              "could-not-check": COULD_NOT_CHECK}
PHASES = ("restore", "vm_build", "boot_to_agent_ready", "iris_start_and_recovery", "integrity_check", "teardown")

EXIT_PASSED, EXIT_VERDICT_FAILED, EXIT_INCOMPLETE = 0, 1, 2


@dataclass
class VmResult:
    vm: str
    verdict: str = COULD_NOT_CHECK
    reason: str = "not-run"  # ok, or a kebab-case token naming why not
    recovery_point: dict | None = None  # {id, time, type, app_consistent}
    phases: dict[str, float] = field(default_factory=dict)  # seconds per PHASES entry that ran
    check: dict | None = None  # the VM-side result line, as parsed
    restored_vm: str | None = None
    # The mirror members this VM's copy holds: {set, instance, product, kind, restores_to, mirror_removed}
    mirror_members: list[dict] = field(default_factory=list)


@dataclass
class RunReport:
    stack: str
    run_id: str
    started: str
    finished: str = ""
    dry_run: bool = False
    vms: list[VmResult] = field(default_factory=list)
    drill_error: str | None = None  # why the drill itself could not complete
    interrupted: bool = False
    orphans: list[str] = field(default_factory=list)  # "<kind>/<name>" teardown could not delete

    @property
    def exit_code(self) -> int:
        if self.drill_error or self.interrupted or self.orphans:
            return EXIT_INCOMPLETE
        if any(v.verdict != PASSED for v in self.vms):
            return EXIT_VERDICT_FAILED
        return EXIT_PASSED

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "exit_code": self.exit_code}, indent=2)


def _point_text(point: dict | None) -> str:
    if not point:
        return "-"
    kind = point["type"] if point["app_consistent"] else f"**{point['type']} (not application-consistent)**"
    return f"{point['time']} {kind}"


def _not_checked(result: VmResult) -> list[str]:
    items = []
    for inst in (result.check or {}).get("instances", []):
        items += [f"{inst['name']}: {n['dir']} ({n['reason']})" for n in inst.get("not_checked", [])]
    return items


# Where a member's backup can be restored (IRIS Data Integrity Guide, mirrored databases): a failover
# member's on any member of its mirror, an async member's only on async members, as new copies.
RESTORES_TO = {"failover": "any member of the mirror", "async": "async members only (new copies)"}


def mirror_members(refs, check: dict | None) -> list[dict]:
    """The report's view of the mirror members on a restored VM; `mirror_removed` is what the check did
    (ok, failed, not-needed when the copy's CPF names no mirror, not-run when the check did not get there)."""
    by_name = {i.get("name", "").lower(): i for i in (check or {}).get("instances", [])}
    return [{"set": ref.mirror_set, "instance": ref.instance, "product": ref.product, "kind": ref.kind,
             "restores_to": RESTORES_TO[ref.kind],
             "mirror_removed": by_name.get(ref.instance.lower(), {}).get("unmirror", "not-run")}
            for ref in refs]


def _member_lines(report: RunReport) -> list[str]:
    return [f"- {v.vm}: {m['instance']} ({m['product']}), {m['kind']} member of {m['set']} (its backup restores to "
            f"{m['restores_to']}); mirroring removed on the copy before the integrity check: {m['mirror_removed']}"
            for v in report.vms for m in v.mirror_members]


def to_markdown(report: RunReport) -> str:
    status = {EXIT_PASSED: "all passed", EXIT_VERDICT_FAILED: "a verdict failed",
              EXIT_INCOMPLETE: "the drill could not complete"}[report.exit_code]
    lines = [f"## Restore drill `{report.stack}` run {report.run_id}: {status}", "",
             f"Started {report.started}, finished {report.finished}." + (" Dry run: nothing was created." if report.dry_run else ""), "",
             "| VM | recovery point | verdict | " + " | ".join(p.replace("_", " ") for p in PHASES) + " |",
             "|---|---|---|" + "---|" * len(PHASES)]
    for v in report.vms:
        verdict = v.verdict if v.reason == "ok" else f"{v.verdict} ({v.reason})"
        times = " | ".join(f"{v.phases[p]:.0f} s" if p in v.phases else "-" for p in PHASES)
        lines.append(f"| {v.vm} | {_point_text(v.recovery_point)} | {verdict} | {times} |")
    members = _member_lines(report)
    if members:
        lines += ["", "Mirror members restored:", *members]
    partial = [f"- {v.vm}: {item}" for v in report.vms for item in _not_checked(v)]
    if partial:
        lines += ["", "Not checked (the check could not read them in isolation):", *partial]
    if report.drill_error:
        lines += ["", f"Drill error: {report.drill_error}"]
    if report.interrupted:
        lines += ["", "Interrupted: teardown ran; VMs after the interrupted one were not drilled."]
    if report.orphans:
        lines += ["", "Teardown left these behind (`python -m drill sweep` deletes them):",
                  *[f"- {o}" for o in report.orphans]]
    return "\n".join(lines) + "\n"


def to_junit(report: RunReport) -> str:
    failures = sum(v.verdict != PASSED for v in report.vms)
    suite = ET.Element("testsuite", name=f"restore-drill.{report.stack}", tests=str(len(report.vms)),
                       failures=str(failures), errors=str(int(report.exit_code == EXIT_INCOMPLETE)),
                       timestamp=report.started)
    for v in report.vms:
        case = ET.SubElement(suite, "testcase", classname=f"restore-drill.{report.stack}", name=v.vm,
                             time=f"{sum(v.phases.values()):.0f}")
        if v.verdict != PASSED:
            ET.SubElement(case, "failure", message=f"{v.verdict} ({v.reason})", type=v.verdict.replace(" ", "-"))
        ET.SubElement(case, "system-out").text = json.dumps(asdict(v))
    if report.exit_code == EXIT_INCOMPLETE:
        reason = report.drill_error or ("interrupted" if report.interrupted else f"orphans: {report.orphans}")
        case = ET.SubElement(suite, "testcase", classname=f"restore-drill.{report.stack}", name="drill")
        ET.SubElement(case, "error", message=reason)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
