"""The stack's `mirrors` settings: IRIS mirror sets, their members, QoS timeout and backup preference.

Pure logic (no Pulumi). A mirror set names its members (a VM of the stack's vms[] and the instance on
it), the mirror's QoS timeout and which members should give the set its application-consistent
recovery point (irisbackup/vm/mirror_spec.py). The set-level health alert (queries/mirror_set_rpo.kql),
the drill report and the role-aware hooks read it. Design and sources: docs/mirror.md.

Freeze window and QoS: during a snapshot the database is frozen for about the snapshot plus up to two
runner polls (docs/hooks.md), and Azure's file-system freeze blocks the journal, so on a failover member
the window must stay well under QoS/2 (the effective QoS timeout lies between QoS/2 and QoS, High
Availability Guide). Two checks follow, by severity:
- error: 2 x runnerPollSeconds (the part of the window the hooks themselves add, even with an instant
  snapshot) reaches QoS/2: such a member can never stay under QoS/2.
- warning (mirror_warnings): freezeBudgetSeconds (the watchdog's bound when the snapshot or the
  post-script is late) reaches QoS/2. It cannot be an error: the hooks' nesting rules put the budget
  above azureTimeoutSeconds, itself above 6 x (callTimeoutSeconds + 1); the warning says what that
  worst case does to the mirror.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from irisbackup.settings.base import _Settings
from irisbackup.vm.mirror_spec import AsyncMembers, BackupPreference, MemberKind

DEFAULT_QOS_SECONDS = 8  # IRIS's default QoS timeout (High Availability Guide)
ISCAGENT_PORT = 2188  # the ISCAgent's (and the arbiter's) default port
MAX_FAILOVER_MEMBERS = 2  # a mirror has one or two failover members (High Availability Guide)


def _instance_name() -> re.Pattern[str]:
    from irisbackup.settings.vm import INSTANCE_NAME
    return INSTANCE_NAME


def _member_instance(value: Any) -> Any:
    """`NAME`, `NAME:iris` or `NAME:cache` (the hooks' instance syntax), or {name, product}."""
    if isinstance(value, str):
        match = re.fullmatch(rf"({_instance_name().pattern})(?::(iris|cache))?", value)
        if not match:
            raise ValueError(f"expected NAME, NAME:iris or NAME:cache (NAME matching {_instance_name().pattern})")
        return {"name": match[1], "product": match[2] or "iris"}
    return value


class MemberInstance(_Settings):
    name: str
    product: Literal["iris", "cache"] = "iris"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _instance_name().fullmatch(value):
            raise ValueError(f"does not match ^{_instance_name().pattern}$")
        return value


class MirrorMember(_Settings):
    # The name of a VM in the stack's vms[] (the last segment of its id).
    vm: str = Field(min_length=1)
    instance: Annotated[MemberInstance, BeforeValidator(_member_instance)]
    kind: MemberKind = MemberKind.FAILOVER

    @property
    def key(self) -> tuple[str, str]:
        return self.vm.lower(), self.instance.name.lower()

    @property
    def label(self) -> str:
        return f"{self.vm}/{self.instance.name}:{self.instance.product}"


class MirrorSet(_Settings):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    members: list[MirrorMember] = Field(min_length=1)
    qos_timeout_seconds: int = Field(DEFAULT_QOS_SECONDS, ge=2, le=60, strict=True)
    backup_preference: BackupPreference = BackupPreference.PREFER_BACKUP_FAILOVER
    async_members: AsyncMembers = AsyncMembers.ALLOWED
    # The arbiter's address (host or host:port, port 2188 by default): the drill sandbox must not reach it.
    arbiter: str | None = Field(None, pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")

    @property
    def arbiter_address(self) -> tuple[str, int] | None:
        if self.arbiter is None:
            return None
        host, _, port = self.arbiter.partition(":")
        return host, int(port or ISCAGENT_PORT)

    @property
    def failover_members(self) -> list[MirrorMember]:
        return [m for m in self.members if m.kind is MemberKind.FAILOVER]

    @model_validator(mode="after")
    def _shape(self) -> MirrorSet:
        count = len(self.failover_members)
        if not 1 <= count <= MAX_FAILOVER_MEMBERS:
            raise ValueError(f"members has {count} failover members; a mirror has 1 or {MAX_FAILOVER_MEMBERS} "
                             "(set kind: async on the others)")
        keys = [m.key for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError(f"members lists the same VM and instance twice: {[m.label for m in self.members]}")
        return self


def freezes_at_backup(vm: Any) -> bool:
    """The VM's hooks freeze IRIS at each backup: protected, application-consistent."""
    return not vm.retired and vm.consistency == "application"


def _member_problems(at: str, member: MirrorMember, vm: Any, mirror: MirrorSet) -> list[str]:
    problems = []
    listed = {(i.name.lower(), i.product) for i in vm.hooks.instances}
    if listed and (member.instance.name.lower(), member.instance.product) not in listed:
        problems.append(f"{at}.instance: {member.instance.name}:{member.instance.product} is not in "
                        f"vms[{vm.name}].hooks.instances; allowed: "
                        f"{', '.join(f'{i.name}:{i.product}' for i in vm.hooks.instances)}")
    polls = vm.hooks.runner_poll_seconds
    if member.kind is MemberKind.FAILOVER and freezes_at_backup(vm) and 2 * polls * 2 >= mirror.qos_timeout_seconds:
        problems.append(
            f"{at}: vms[{vm.name}].hooks.runnerPollSeconds {polls} freezes the database for at least 2 x {polls} = "
            f"{2 * polls} s per snapshot, not under half the mirror's qosTimeoutSeconds ({mirror.qos_timeout_seconds} / 2); "
            "lower runnerPollSeconds or raise qosTimeoutSeconds")
    return problems


def _problems(sets: list[MirrorSet], vms: list[Any]) -> list[str]:
    known = {vm.name.lower(): vm for vm in vms}
    problems: list[str] = []
    first_set: dict[tuple[str, str], str] = {}
    for index, mirror in enumerate(sets):
        for position, member in enumerate(mirror.members):
            at = f"mirrors[{index}].members[{position}]"
            if member.key in first_set:
                problems.append(f"{at}: {member.label} is already a member of mirror set {first_set[member.key]!r}; "
                                "an instance belongs to one mirror")
            first_set.setdefault(member.key, mirror.name)
            vm = known.get(member.vm.lower())
            if vm is None:
                problems.append(f"{at}.vm: {member.vm!r} is not a VM of this stack; allowed: "
                                f"{', '.join(sorted(v.name for v in vms))}")
            else:
                problems += _member_problems(at, member, vm, mirror)
        if not any(freezes_at_backup(known[m.vm.lower()]) for m in mirror.failover_members if m.vm.lower() in known):
            problems.append(f"mirrors[{index}]: no failover member's VM is protected application-consistently (every "
                            "one is retired, crash-consistent or unknown): the set would have no consistent recovery point")
    return problems


def _check_against_vms(sets: list[MirrorSet], info: ValidationInfo) -> list[MirrorSet]:
    """Checks needing the stack's VMs: `mirrors` is declared after `vms` in StackSettings, so the
    validated VMs are in info.data (absent if they failed to validate: nothing to check against)."""
    vms = info.data.get("vms")
    if vms is None:
        return sets
    names = [s.name.lower() for s in sets]
    problems = [f"mirror set names are not unique: {[s.name for s in sets]}"] if len(set(names)) != len(names) else []
    problems += _problems(sets, vms)
    if problems:
        raise ValueError("; ".join(problems))
    return sets


# The field type StackSettings uses for `mirrors` (declare it after `vms`).
MirrorsField = Annotated[list[MirrorSet], AfterValidator(_check_against_vms)]


def mirror_warnings(settings: Any) -> list[str]:
    """Settings-time warnings (the program logs them; nothing is refused): a failover member whose
    freeze budget reaches QoS/2, one line per set."""
    vms = {vm.name.lower(): vm for vm in settings.vms}
    warnings = []
    for mirror in settings.mirrors:
        members = [(m, vms[m.vm.lower()]) for m in mirror.failover_members if m.vm.lower() in vms]
        late = [(m, vm.hooks.freeze_budget_seconds) for m, vm in members
                if freezes_at_backup(vm) and vm.hooks.freeze_budget_seconds * 2 >= mirror.qos_timeout_seconds]
        if late:
            budgets = ", ".join(f"{m.label} {budget} s" for m, budget in late)
            warnings.append(
                f"mirror set {mirror.name}: freezeBudgetSeconds ({budgets}) is not under half its qosTimeoutSeconds "
                f"({mirror.qos_timeout_seconds} s): a run whose snapshot or post-script is that late keeps the member "
                "frozen past the QoS timeout, so the mirror can enter the trouble state or fail over before the "
                "watchdog thaws (normal runs freeze for the snapshot plus two runner polls; docs/mirror.md)")
    return warnings



def hook_mirror_members(settings: Any, vm_name: str) -> str:
    """The hooks' `mirror_members` setting for one VM: `NAME:product=SET,KIND,PREFERENCE,ASYNC` per member
    instance on it (hooks/mirror.sh), space-separated; empty when the VM holds no member."""
    return " ".join(
        f"{m.instance.name}:{m.instance.product}={mirror.name},{m.kind.value},{mirror.backup_preference.value},"
        f"{mirror.async_members.value}"
        for mirror in settings.mirrors for m in mirror.members if m.vm.lower() == vm_name.lower())
