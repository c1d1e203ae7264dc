"""The hooks' copy of the mirror rule table (hooks/mirror.sh ib_mirror_need, ib_mirror_role) against
the Python one (irisbackup/vm/mirror_spec.py snapshot_need, role_from_status): every preference x kind x
role x readiness x async setting, run through both in one dash process, must give the same answer, so
the two cannot drift apart."""

from __future__ import annotations

import itertools
import subprocess

from irisbackup.vm.mirror_spec import (
    AsyncMembers,
    BackupPreference,
    MemberKind,
    MirrorRole,
    role_from_status,
    snapshot_need,
)
from tests.program.harness import ROOT

HOOKS = ROOT / "hooks"
STATUSES = ("PRIMARY", "BACKUP", "CONNECTED", "MULTIASYNC^1/2", "NOTINIT", "TRANSITION", "SYNCHRONIZING",
            "WAITING", "STOPPED", "CRASHED", "SOMETHINGNEW")


def _shell(lines: str) -> list[str]:
    script = f'IB_HOOK_DIR={HOOKS}\n. "$IB_HOOK_DIR/common.sh"\n{lines}'
    result = subprocess.run(["dash", "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.splitlines()


def test_every_combination_gets_the_same_answer_from_the_shell_table():
    combinations = list(itertools.product(BackupPreference, MemberKind, MirrorRole, (True, False), AsyncMembers))
    calls = "".join(f'ib_mirror_need {p.value} {k.value} {r.value} {int(ready)} {a.value}; printf "%s\\n" "$IB_NEED"\n'
                    for p, k, r, ready, a in combinations)
    shell = _shell(calls)
    assert len(shell) == len(combinations) == 120
    for combination, answer in zip(combinations, shell):
        need = snapshot_need(*combination)
        assert answer == f"{need.consistency.value} {int(need.alert)} {need.reason}", combination


def test_every_status_token_maps_to_the_same_role():
    shell = _shell("".join(f'ib_mirror_role "{status}"; printf "%s\\n" "$IB_ROLE"\n' for status in STATUSES))
    assert shell == [role_from_status(status).value for status in STATUSES]
