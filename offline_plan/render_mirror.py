"""Review lines for mirror sets (docs/mirror.md), from the stack settings the posture carries."""

from __future__ import annotations

from typing import Any

from irisbackup.settings.mirror import DEFAULT_QOS_SECONDS


def mirror_lines(posture: dict[str, Any]) -> list[str]:
    sets = [s for s in (posture.get("stack") or {}).get("mirrors") or [] if isinstance(s, dict)]
    if not sets:
        return []
    lines = ["  Mirror sets (docs/mirror.md):"]
    for mirror in sets:
        arbiter = f", arbiter {mirror['arbiter']}" if mirror.get("arbiter") else ""
        lines.append(f"    {mirror.get('name')}: {mirror.get('backupPreference', 'preferBackupFailover')}, "
                     f"QoS {mirror.get('qosTimeoutSeconds', DEFAULT_QOS_SECONDS)} s, "
                     f"async members {mirror.get('asyncMembers', 'allowed')}{arbiter}")
        members = [m for m in mirror.get("members") or [] if isinstance(m, dict)]
        for kind in ("failover", "async"):
            named = [f"{m.get('vm')}/{_instance(m.get('instance'))}" for m in members if m.get("kind", "failover") == kind]
            if named:
                lines.append(f"      {kind}: {', '.join(named)}")
    return lines


def _instance(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('name')}:{value.get('product', 'iris')}"
    return str(value) if ":" in str(value) else f"{value}:iris"
