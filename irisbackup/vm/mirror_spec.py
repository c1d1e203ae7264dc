"""Mirrored IRIS: which member's snapshot must be application-consistent, and when to alert (pure logic).

A mirror has up to two failover members (one primary, one backup) and any number of async members.
The stack's `mirrors` settings (irisbackup/settings/mirror.py) say, per mirror set, which members
should give the set its application-consistent recovery point (the backup preference). At freeze time
the hooks read the instance's role (`$SYSTEM.Mirror.GetStatus()`) and whether the mirror is
failover-ready (`SYS.Mirror.IsFailoverReady()`), and ask `snapshot_need` what this member's snapshot
must be:

- `required`: the hooks must freeze; a snapshot that is not application-consistent is a failure.
- `allowed`: a crash-consistent snapshot is acceptable (another member gives the consistent copy), so
  the hooks may spare this member the freeze.

and whether the run must raise an alert. The one alert rule: a failover member that is not
failover-ready (the mirror has no active, caught-up backup, or the member is not active in the mirror)
always alerts, so such a member is never the set's only consistent copy without anyone knowing; and so
does a member whose observed role contradicts the settings (never silently crash-consistent).

Sources (docs/mirror.md): a backup of a failover member restores on any member, one of an async member
only to async members (IRIS Data Integrity Guide, "Backup and restore of mirrored databases"); freezing
the primary is allowed (Data Integrity Guide, external backup; High Availability Guide); the roles and
readiness come from %SYSTEM.Mirror.GetStatus and SYS.Mirror.IsFailoverReady (class reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BackupPreference(str, Enum):
    # The backup failover member gives the consistent copy; the primary only when the mirror is not
    # failover-ready (fallback). The primary's commit path never sees the file-system freeze normally.
    PREFER_BACKUP_FAILOVER = "preferBackupFailover"
    # Both failover members freeze (InterSystems advises backing up both: roles flip on failover).
    ANY_FAILOVER = "anyFailover"
    # Only the primary gives the consistent copy (a mirror whose backup member must not be disturbed).
    PRIMARY_ONLY = "primaryOnly"


class MemberKind(str, Enum):
    """How a member is configured in the mirror (static, from the settings)."""

    FAILOVER = "failover"
    ASYNC = "async"


class MirrorRole(str, Enum):
    """What the instance reports at freeze time."""

    PRIMARY = "primary"
    BACKUP = "backup"
    ASYNC = "async"  # a connected async member
    NOT_READY = "not-ready"  # a member, but not active: transition, synchronizing, waiting, stopped, crashed
    NOT_MEMBER = "not-member"  # IRIS says it is not in a mirror (NOTINIT) although the settings say it is


class Consistency(str, Enum):
    REQUIRED = "required"
    ALLOWED = "allowed"  # crash-consistent is acceptable


class AsyncMembers(str, Enum):
    """Whether async members' snapshots must be application-consistent (`mirrors[].asyncMembers`)."""

    ALLOWED = "allowed"
    REQUIRED = "required"


@dataclass(frozen=True)
class SnapshotNeed:
    consistency: Consistency
    alert: bool
    reason: str  # kebab-case token, as in the hooks' verdict lines


# $SYSTEM.Mirror.GetStatus() tokens (class reference %SYSTEM.Mirror); MULTIASYNC^n/m is an async
# member of several mirrors. Every other token (TRANSITION, SYNCHRONIZING, WAITING, STOPPED, CRASHED,
# or an unreadable answer) is a member that is not active in the mirror.
_STATUS_ROLES = {"PRIMARY": MirrorRole.PRIMARY, "BACKUP": MirrorRole.BACKUP, "CONNECTED": MirrorRole.ASYNC,
                 "NOTINIT": MirrorRole.NOT_MEMBER}


def role_from_status(status: str) -> MirrorRole:
    """The role for a `$SYSTEM.Mirror.GetStatus()` answer."""
    token = status.strip().upper()
    if token.startswith("MULTIASYNC"):
        return MirrorRole.ASYNC
    return _STATUS_ROLES.get(token, MirrorRole.NOT_READY)


def counts_for_set(kind: MemberKind) -> bool:
    """Whether a member's consistent recovery point satisfies the set's RPO: failover members only,
    because an async member's backup restores only to async members (it cannot replace a failover
    member's databases)."""
    return kind is MemberKind.FAILOVER


def snapshot_need(preference: BackupPreference, kind: MemberKind, role: MirrorRole, failover_ready: bool,
                  async_members: AsyncMembers = AsyncMembers.ALLOWED) -> SnapshotNeed:
    """What this member's snapshot must be. `failover_ready` is what SYS.Mirror.IsFailoverReady says on
    this member (meaningful on the primary and the backup; ignored for other roles)."""
    required, allowed = Consistency.REQUIRED, Consistency.ALLOWED
    if role is MirrorRole.NOT_MEMBER:
        return SnapshotNeed(required, True, "not-a-mirror-member")
    if kind is MemberKind.ASYNC:
        if role is MirrorRole.ASYNC:
            return SnapshotNeed(Consistency(async_members.value), False, "async-member")
        if role is MirrorRole.NOT_READY:
            # Not connected: its copy is behind; alert only when the set wanted it consistent.
            return SnapshotNeed(allowed, async_members is AsyncMembers.REQUIRED, "async-not-connected")
        return SnapshotNeed(required, True, "role-not-as-configured")  # an async reporting a failover role
    if role is MirrorRole.ASYNC:
        return SnapshotNeed(required, True, "role-not-as-configured")
    if role is MirrorRole.NOT_READY:
        return SnapshotNeed(allowed, True, "member-not-active")
    if not failover_ready:
        # No active, caught-up backup: the primary is the only member whose copy is current, so it
        # freezes whatever the preference (the fallback); a lagging backup freezes if it was meant to.
        if role is MirrorRole.PRIMARY:
            return SnapshotNeed(required, True, "mirror-not-failover-ready")
        wanted = preference is not BackupPreference.PRIMARY_ONLY
        return SnapshotNeed(required if wanted else allowed, True, "mirror-not-failover-ready")
    wanted_roles = {
        BackupPreference.PREFER_BACKUP_FAILOVER: {MirrorRole.BACKUP},
        BackupPreference.ANY_FAILOVER: {MirrorRole.PRIMARY, MirrorRole.BACKUP},
        BackupPreference.PRIMARY_ONLY: {MirrorRole.PRIMARY},
    }[preference]
    if role in wanted_roles:
        return SnapshotNeed(required, False, f"{role.value}-by-preference")
    return SnapshotNeed(allowed, False, f"{role.value}-spared-by-preference")
