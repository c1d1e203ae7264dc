"""What the health alerts watch and the queries they run, rendered from the stack settings (pure logic).

The KQL lives in queries/*.kql; each file begins with `let` parameter lines that are replaced here,
per stack, by KQL literals (the VMs and their RPOs, the vault, the grace period, and the syslog
format from hook_verdict). irisbackup/health/health_alerts.py declares the Azure resources from this, and
fills in the one parameter known only at deployment: when each VM was first watched (watchStarts,
see with_watch_starts).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from irisbackup.azure_ids import ResourceId
from irisbackup.drill.drill_isolation import vault_id
from irisbackup.hooks import hook_verdict
from irisbackup.schedule import rpo_hours
from irisbackup.settings.policy import PolicySettings
from irisbackup.settings.stack import StackSettings

QUERIES = Path(__file__).resolve().parents[2] / "queries"
PARAMETERS_END = "// --- end of parameters"
# The longest time range a log search alert rule can query (MicrosoftDocs/azure-docs#22637: 48 hours).
ALERT_LOOKBACK_HOURS = 48
# "After you finish the configuration, you should wait 24 hours for the initial data push"
# (learn.microsoft.com/azure/backup/backup-azure-monitoring-use-azuremonitor): how long a newly watched
# VM may show no recovery point at all, on top of its RPO and the grace, before that counts as a breach.
FIRST_DATA_HOURS = 24
# How a watch start is written (irisbackup/health/health_alerts.py records it when a VM is first watched).
WATCH_START = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# Stable ids for the query pack's queries (Azure wants a GUID per query).
_QUERY_ID_NAMESPACE = uuid.UUID("0c1f7a52-6b8e-4c3e-9d55-2f2d6a1b7e10")


@dataclass(frozen=True)
class HealthTarget:
    """A protected VM as the health alerts see it."""

    vm_id: ResourceId
    rpo_hours: float
    hooks: bool  # application-consistent: its hooks log verdict lines

    @property
    def name(self) -> str:
        return self.vm_id.name.lower()  # the queries compare lower-case VM names


@dataclass(frozen=True)
class AlertRule:
    key: str  # short name, part of the Azure rule name
    display_name: str
    description: str
    severity: int  # 0 (critical) .. 4 (verbose)
    query: str
    dimensions: tuple[str, ...]  # one alert per distinct value combination
    window: str  # ISO 8601: the query's time range
    frequency: str  # ISO 8601: how often it runs
    mute: str | None = None  # ISO 8601: no repeat notification for the same dimensions within
    vms: tuple[str, ...] = ()  # the VMs (lower-case names) the query watches, for with_watch_starts


@dataclass(frozen=True)
class OncallQuery:
    file: str
    display_name: str
    description: str
    body: str

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_QUERY_ID_NAMESPACE, self.file))


def policy_rpo_hours(policy: PolicySettings) -> float:
    """The policy's RPO as Azure schedules it (irisbackup/schedule.py), from the ARM schedule it renders to."""
    schedule = policy.schedule
    hours = rpo_hours({"schedulePolicy": {
        "scheduleRunFrequency": schedule.frequency,
        "hourlySchedule": {"interval": schedule.interval_hours, "scheduleWindowDuration": schedule.window_hours},
        "weeklySchedule": {"scheduleRunDays": list(schedule.days)},
    }})
    assert hours is not None  # settings allow only Hourly, Daily and Weekly schedules
    return hours


def health_targets(settings: StackSettings) -> list[HealthTarget]:
    return [
        HealthTarget(vm.id, policy_rpo_hours(settings.policies[vm.policy]), vm.consistency == "application")
        for vm in settings.vms
        if not vm.retired  # protection stopped on purpose: no backups, no hook runs to alert on
    ]


def verdict_freshness_targets(targets: list[HealthTarget], grace_hours: int) -> list[HealthTarget]:
    """VMs whose verdict age can be alerted on: with hooks, and RPO + grace within an alert's look-back."""
    return [t for t in targets if t.hooks and t.rpo_hours + grace_hours <= ALERT_LOOKBACK_HOURS]


def alert_rules(settings: StackSettings, targets: list[HealthTarget]) -> list[AlertRule]:
    grace = settings.health.grace_hours
    rules = [AlertRule(
        "rpo-breach", "Backup RPO breach",
        f"A VM's newest recovery point is older than its policy's RPO plus {grace} h (vault {settings.vault.name}). "
        "See docs/operating.md.",
        1, render("rpo_breach.kql", vaultId=kql_string(str(vault_id(settings.resource_group_id, settings.vault.name))),
                  graceHours=kql_real(grace), firstDataHours=kql_real(FIRST_DATA_HOURS), targets=kql_targets(targets),
                  watchStarts=kql_watch_starts({})),
        ("VmName",), "P2D", "PT1H", vms=tuple(t.name for t in targets))]
    if any(t.hooks for t in targets):
        rules.append(AlertRule(
            "verdict-not-consistent", "Backup not application-consistent",
            "The freeze/thaw hooks reported a verdict other than application-consistent, or a mirror member alert "
            "(not failover-ready, role not as configured). See docs/operating.md.",
            2, render("verdict_not_consistent.kql", **_format_parameters()),
            ("VmName", "Verdict", "Reason"), "PT1H", "PT15M", mute="PT1H"))
    fresh = verdict_freshness_targets(targets, grace)
    if fresh:
        rules.append(AlertRule(
            "verdict-stale", "Backup hooks silent",
            f"A VM's last hook verdict is older than its RPO plus {grace} h. See docs/operating.md.",
            2, render("verdict_stale.kql", tag=kql_string(hook_verdict.SYSLOG_TAG),
                      facility=kql_string(hook_verdict.SYSLOG_FACILITY), graceHours=kql_real(grace),
                      targets=kql_targets(fresh), watchStarts=kql_watch_starts({})),
            ("VmName",), "P2D", "PT1H", vms=tuple(t.name for t in fresh)))
    return rules  # the mirror-set rules: mirror_health.mirror_set_rules (docs/mirror.md)


def watches_vms(rule: AlertRule) -> bool:
    """Whether the rule's query takes the VMs' watch starts (with_watch_starts)."""
    return "watchStarts" in query_parameters(rule.query)


def with_watch_starts(query: str, starts: dict[str, str | None]) -> str:
    """The query with its watchStarts parameter set: VM name -> when the stack first watched it
    (`2025-01-06T03:00:00Z`), or None for "watched from the start". alert_rules leaves it empty, which
    means every VM is watched from the start, the safe side: a missing start alerts, never silences."""
    return _set_parameters(query, "alert query", {"watchStarts": kql_watch_starts(starts)})


def dcr_transform() -> str:
    return render("dcr_transform.kql", tag=kql_string(hook_verdict.SYSLOG_TAG))


def oncall_queries() -> list[OncallQuery]:
    return [
        OncallQuery("oncall_not_consistent.kql", "irisbackup: VMs with a non-application-consistent backup, and why",
                    "Per VM, verdict and reason in the last `days` days (edit it): runs, first and last seen.",
                    render("oncall_not_consistent.kql", **_format_parameters())),
        OncallQuery("oncall_last_consistent.kql", "irisbackup: last consistent recovery point per VM",
                    "When each VM last had a run with only an application-consistent verdict, beside its last "
                    "successful backup job (look-back `days`, edit it).",
                    render("oncall_last_consistent.kql", **_format_parameters())),
    ]


def _format_parameters() -> dict[str, str]:
    return {
        "tag": kql_string(hook_verdict.SYSLOG_TAG),
        "facility": kql_string(hook_verdict.SYSLOG_FACILITY),
        "healthyVerdicts": kql_dynamic_strings(hook_verdict.HEALTHY_VERDICTS),
    }


# --- rendering -----------------------------------------------------------------------------------


def query_parameters(text: str) -> dict[str, str]:
    """The `let` parameters of a query file: name -> the KQL literal it holds."""
    head, found, _ = text.partition(PARAMETERS_END)
    if not found:
        raise ValueError(f"no '{PARAMETERS_END}' line")
    return {m[1]: m[2] for m in re.finditer(r"^let (\w+) = (.*);$", head, re.M)}


def render(file: str, **values: str) -> str:
    """The query in queries/<file> with the given parameters replaced by KQL literals."""
    return _set_parameters((QUERIES / file).read_text(encoding="utf-8"), file, values)


def _set_parameters(text: str, source: str, values: dict[str, str]) -> str:
    unknown = set(values) - set(query_parameters(text))
    if unknown:
        raise ValueError(f"{source} has no parameter(s) {sorted(unknown)}")
    head, marker, body = text.partition(PARAMETERS_END)
    for key, literal in values.items():
        head = re.sub(rf"^let {key} = .*;$", lambda _: f"let {key} = {literal};", head, count=1, flags=re.M)
    return head + marker + body


def kql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kql_real(value: float) -> str:
    return f"{float(value)!r}"


def kql_dynamic_strings(values: tuple[str, ...] | list[str]) -> str:
    return "dynamic([" + ", ".join(kql_string(v) for v in values) + "])"


def kql_targets(targets: list[HealthTarget]) -> str:
    rows = ", ".join(f"{kql_string(t.name)}, {kql_real(t.rpo_hours)}" for t in targets)
    return f"datatable(VmName: string, RpoHours: real) [{rows}]"


def kql_watch_starts(starts: dict[str, str | None]) -> str:
    rows = []
    for vm, start in sorted(starts.items()):
        if start is not None and not WATCH_START.fullmatch(start.strip()):
            raise ValueError(f"watch start of {vm}: {start!r} is not a UTC time like 2025-01-06T03:00:00Z")
        rows.append(f"{kql_string(vm.lower())}, datetime({start.strip() if start else 'null'})")
    return f"datatable(VmName: string, WatchStart: datetime) [{', '.join(rows)}]"
