"""Entry point of the policy pack for `pulumi preview --policy-pack policy`: builds the PolicyPack only.

PolicyPack() starts the analyzer server and blocks, so this file is never imported by tests or by
the offline check; they import backup_rules.py, which assembles every rule.
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this directory as a script (runpy.run_path), not as a package. Import the pack's
# modules as the package they are (PEP 366), so their relative imports of each other work either way;
# the repository root also serves irisbackup/schedule.py (the one RPO/retention calculation, stdlib-only).
_PACK_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(_PACK_DIR.parent)]
__package__ = _PACK_DIR.name  # noqa: A001

from .backup_rules import PACK_NAME, RULES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=RULES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Backup posture of irisbackup stacks: vault hardening, RPO and retention, coverage, egress, "
                "freeze/thaw hooks and destroy protection.",
)
