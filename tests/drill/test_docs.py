"""docs/restore-drill.md promises: every reason token, verdict, phase and disarm the code uses is documented."""

import re
from pathlib import Path

from drill import report

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "restore-drill.md").read_text()


def test_every_reason_the_runner_can_give_is_documented():
    code = (ROOT / "drill" / "runner.py").read_text()
    reasons = set(re.findall(r'VerdictStop\("([a-z-]+)"', code)) | {"drill-error", "interrupted"}
    assert reasons and all(f"`{r}`" in DOC for r in reasons), reasons


def test_verdicts_phases_and_exit_codes_are_documented():
    for verdict in report.FROM_CHECK.values():
        assert f"`{verdict}`" in DOC
    for phase in report.PHASES:
        assert f"`{phase}`" in DOC
    assert "**0**" in DOC and "**1**" in DOC and "**2**" in DOC


def test_disarmed_settings_are_the_ones_the_check_sets():
    script = (ROOT / "drill" / "vm" / "check.sh").read_text()
    for key in ("SystemStart", "ZSTU", "JoinMirror"):
        assert f"{key} 0" in script and f"{key}=0" in DOC
