"""Entry point of the policy pack for `pulumi preview --policy-pack policy`: builds the PolicyPack only.

PolicyPack() starts the analyzer server and blocks, so this file is never imported by tests or by
the offline check; they import backup_rules.py, which holds every rule.
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this directory as a script; make its sibling module importable either way, and the
# repository root for components/schedule.py (the one RPO/retention calculation, stdlib-only).
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from backup_rules import PACK_NAME, RULES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=RULES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Backup posture of irisbackup stacks: vault hardening, RPO and retention, coverage, egress, "
                "freeze/thaw hooks and destroy protection.",
)
