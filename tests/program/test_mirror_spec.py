"""The mirror backup-preference logic (irisbackup/vm/mirror_spec.py), checked as properties over every
preference x member kind x observed role x failover readiness x async setting (the space is finite, so
every combination is enumerated rather than sampled)."""

from __future__ import annotations

import itertools

import pytest

from irisbackup.hooks import hook_verdict
from irisbackup.vm.mirror_spec import (
    AsyncMembers,
    BackupPreference,
    Consistency,
    MemberKind,
    MirrorRole,
    counts_for_set,
    role_from_status,
    snapshot_need,
)

REQUIRED, ALLOWED = Consistency.REQUIRED, Consistency.ALLOWED
ALL = list(itertools.product(BackupPreference, MemberKind, MirrorRole, (True, False), AsyncMembers))
FAILOVER_ROLES = (MirrorRole.PRIMARY, MirrorRole.BACKUP)


def need(preference, role, ready=True, kind=MemberKind.FAILOVER, async_members=AsyncMembers.ALLOWED):
    return snapshot_need(preference, kind, role, ready, async_members)


def test_every_combination_has_an_answer_in_the_vocabulary():
    assert len(ALL) == 3 * 2 * 5 * 2 * 2
    for combination in ALL:
        answer = snapshot_need(*combination)
        assert answer.consistency in Consistency and isinstance(answer.alert, bool)
        assert hook_verdict.REASON.match(answer.reason), (combination, answer.reason)


@pytest.mark.parametrize("preference, wanted", [
    (BackupPreference.PREFER_BACKUP_FAILOVER, {MirrorRole.BACKUP}),
    (BackupPreference.ANY_FAILOVER, {MirrorRole.PRIMARY, MirrorRole.BACKUP}),
    (BackupPreference.PRIMARY_ONLY, {MirrorRole.PRIMARY}),
])
def test_a_healthy_mirror_freezes_exactly_the_preferred_failover_members_and_never_alerts(preference, wanted):
    answers = {role: need(preference, role) for role in FAILOVER_ROLES}
    assert {role for role, answer in answers.items() if answer.consistency is REQUIRED} == wanted
    assert not any(answer.alert for answer in answers.values())


@pytest.mark.parametrize("preference", BackupPreference)
def test_a_healthy_mirror_always_has_a_required_failover_member_whichever_vm_is_primary(preference):
    # Roles flip on failover: the two VMs swap roles, the set still has a required member.
    for roles in (FAILOVER_ROLES, tuple(reversed(FAILOVER_ROLES))):
        assert any(need(preference, role).consistency is REQUIRED for role in roles)


@pytest.mark.parametrize("preference", BackupPreference)
def test_without_failover_readiness_the_primary_falls_back_to_required_and_alerts(preference):
    answer = need(preference, MirrorRole.PRIMARY, ready=False)
    assert answer.consistency is REQUIRED and answer.alert and answer.reason == "mirror-not-failover-ready"


def test_a_failover_member_that_is_not_failover_ready_always_alerts():
    for preference, kind, role, ready, async_members in ALL:
        not_ready = role is MirrorRole.NOT_READY or (role in FAILOVER_ROLES and not ready)
        if kind is MemberKind.FAILOVER and not_ready:
            assert snapshot_need(preference, kind, role, ready, async_members).alert, (preference, role, ready)


def test_no_alert_only_for_a_member_in_its_configured_healthy_state():
    for preference, kind, role, ready, async_members in ALL:
        answer = snapshot_need(preference, kind, role, ready, async_members)
        if answer.alert:
            continue
        if kind is MemberKind.FAILOVER:
            assert role in FAILOVER_ROLES and ready, (preference, role, ready)
        else:
            assert role is MirrorRole.ASYNC or (role is MirrorRole.NOT_READY and async_members is AsyncMembers.ALLOWED)


def test_losing_readiness_never_relaxes_a_required_snapshot():
    for preference, role in itertools.product(BackupPreference, FAILOVER_ROLES):
        if need(preference, role, ready=True).consistency is REQUIRED:
            assert need(preference, role, ready=False).consistency is REQUIRED, (preference, role)


def test_a_role_that_contradicts_the_settings_is_required_and_alerts():
    contradictions = [(MemberKind.FAILOVER, MirrorRole.ASYNC), (MemberKind.ASYNC, MirrorRole.PRIMARY),
                      (MemberKind.ASYNC, MirrorRole.BACKUP), (MemberKind.FAILOVER, MirrorRole.NOT_MEMBER),
                      (MemberKind.ASYNC, MirrorRole.NOT_MEMBER)]
    for preference, (kind, role), ready, async_members in itertools.product(
            BackupPreference, contradictions, (True, False), AsyncMembers):
        answer = snapshot_need(preference, kind, role, ready, async_members)
        assert answer.consistency is REQUIRED and answer.alert, (preference, kind, role)


def test_async_members_follow_the_async_setting_and_the_preference_never_matters_to_them():
    for preference, ready, async_members in itertools.product(BackupPreference, (True, False), AsyncMembers):
        answer = need(preference, MirrorRole.ASYNC, ready, MemberKind.ASYNC, async_members)
        assert answer.consistency.value == async_members.value and not answer.alert
        behind = need(preference, MirrorRole.NOT_READY, ready, MemberKind.ASYNC, async_members)
        assert behind.consistency is ALLOWED and behind.alert is (async_members is AsyncMembers.REQUIRED)


def test_only_failover_members_count_for_the_set():
    assert counts_for_set(MemberKind.FAILOVER) and not counts_for_set(MemberKind.ASYNC)


@pytest.mark.parametrize("status, role", [
    ("PRIMARY", MirrorRole.PRIMARY), ("BACKUP\n", MirrorRole.BACKUP), ("CONNECTED", MirrorRole.ASYNC),
    ("MULTIASYNC^2/3", MirrorRole.ASYNC), ("NOTINIT", MirrorRole.NOT_MEMBER), ("TRANSITION", MirrorRole.NOT_READY),
    ("SYNCHRONIZING", MirrorRole.NOT_READY), ("WAITING", MirrorRole.NOT_READY), ("STOPPED", MirrorRole.NOT_READY),
    ("CRASHED", MirrorRole.NOT_READY), ("", MirrorRole.NOT_READY), ("<PROTECT>", MirrorRole.NOT_READY),
])
def test_get_status_tokens_map_to_roles_and_anything_unknown_is_not_ready(status, role):
    assert role_from_status(status) is role
