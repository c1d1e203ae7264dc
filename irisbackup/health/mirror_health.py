"""The set-level health alert of mirrored IRIS (pure logic): no failover member of a mirror set has an
application-consistent recovery point within its RPO plus the grace period (queries/mirror_set_rpo.kql).

Per set, not per VM: with the default preference only the backup member's snapshot is consistent, so a
per-VM alert would fire for the primary every time. irisbackup/health/health_rules.py adds the rule to the
other health alerts; irisbackup/health/health_alerts.py declares it.
"""

from __future__ import annotations

from dataclasses import dataclass

# health_rules imports this module too: its names are read at call time, not at import.
from irisbackup.health import health_rules
from irisbackup.hooks import hook_verdict
from irisbackup.settings.mirror import freezes_at_backup
from irisbackup.settings.stack import StackSettings
from irisbackup.vm.mirror_spec import counts_for_set

QUERY = "mirror_set_rpo.kql"


@dataclass(frozen=True)
class SetMember:
    mirror_set: str
    vm: str  # lower case, as the queries compare VM names
    instance: str  # lower case
    rpo_hours: float


def set_members(settings: StackSettings) -> list[SetMember]:
    """Failover members the alert watches: protected application-consistently, in a set whose every
    watched member's RPO plus grace fits in an alert's look-back (else the query cannot see a run)."""
    vms = {vm.name.lower(): vm for vm in settings.vms}
    grace = settings.health.grace_hours
    watched = []
    for mirror in settings.mirrors:
        members = [
            SetMember(mirror.name, member.vm.lower(), member.instance.name.lower(),
                      health_rules.policy_rpo_hours(settings.policies[vms[member.vm.lower()].policy]))
            for member in mirror.members
            if counts_for_set(member.kind) and freezes_at_backup(vms[member.vm.lower()])
        ]
        if members and all(m.rpo_hours + grace <= health_rules.ALERT_LOOKBACK_HOURS for m in members):
            watched += members
    return watched


def mirror_set_rules(settings: StackSettings) -> list[health_rules.AlertRule]:
    members = set_members(settings)
    if not members:
        return []
    kql_string, kql_real = health_rules.kql_string, health_rules.kql_real
    rows = ", ".join(f"{kql_string(m.mirror_set)}, {kql_string(m.vm)}, {kql_string(m.instance)}, {kql_real(m.rpo_hours)}"
                     for m in members)
    grace = settings.health.grace_hours
    query = health_rules.render(
        QUERY, tag=kql_string(hook_verdict.SYSLOG_TAG), facility=kql_string(hook_verdict.SYSLOG_FACILITY),
        healthyVerdicts=health_rules.kql_dynamic_strings(hook_verdict.HEALTHY_VERDICTS), vaultName=kql_string(settings.vault.name),
        graceHours=kql_real(grace),
        members=f"datatable(MirrorSet: string, VmName: string, Instance: string, RpoHours: real) [{rows}]")
    return [health_rules.AlertRule(
        "mirror-set-rpo", "Mirror set without a consistent recovery point",
        f"No failover member of a mirror set has an application-consistent recovery point within its RPO plus "
        f"{grace} h (vault {settings.vault.name}). See docs/mirror.md.",
        1, query, ("MirrorSet",), "P2D", "PT1H")]
