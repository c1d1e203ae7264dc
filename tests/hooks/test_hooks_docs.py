"""docs/hooks.md says what the hooks do: its verdict vocabulary, its reasons and its worst cases are the
ones in the code (the behaviour behind each row of "Failure behaviour" is asserted in the fault matrix)."""

from __future__ import annotations

import re

import invariants
from hooklib import HOOKS, REPO

from irisbackup.settings import HOOK_KILL_GRACE, PRE_SCRIPT_STEPS, WATCHDOG_STEPS

DOC = (REPO / "docs" / "hooks.md").read_text()
CODE = "\n".join(p.read_text() for p in sorted(HOOKS.glob("*.sh")))


def documented_reasons() -> set[str]:
    paragraph = DOC[DOC.index("Reasons:"):DOC.index("In Log Analytics")]
    return set(re.findall(r"`([a-z-]+)`", paragraph))


def reasons_in_code() -> set[str]:
    patterns = [r"IB_REASON=([a-z-]+)", r"\bpre_fail ([a-z][a-z-]+) ", r"\bpre_rollback ([a-z][a-z-]+) ",
                r"\bpost_done \w+ [a-z-]+ ([a-z][a-z-]+) ", r"\breason=([a-z][a-z-]+)", r"reason:-([a-z-]+)",
                r"ib_verdict [a-z-]+ ([a-z][a-z-]+)"]
    return {m for pattern in patterns for m in re.findall(pattern, CODE)}


def test_every_reason_the_hooks_send_is_documented_and_no_other():
    assert reasons_in_code() == documented_reasons()


def test_the_documented_verdicts_are_the_agreed_vocabulary():
    table = DOC[DOC.index("| verdict | meaning |"):DOC.index("Reasons:")]
    assert set(re.findall(r"^\| `([a-z-]+)` \|", table, re.M)) == invariants.VERDICTS


def test_the_documented_worst_cases_are_the_ones_the_settings_enforce():
    assert f"azure_timeout > {PRE_SCRIPT_STEPS} x (call_timeout + {HOOK_KILL_GRACE})" in DOC
    assert f"wd_suspend_limit > freeze_budget + {WATCHDOG_STEPS} x (call_timeout + {HOOK_KILL_GRACE})" in DOC
    assert "freeze_budget > azure_timeout + 2 x runner_poll" in DOC
    assert f"| {PRE_SCRIPT_STEPS} steps" in DOC and f"| {WATCHDOG_STEPS} steps |" in DOC
    assert f"KILL {HOOK_KILL_GRACE} s later" in DOC
