"""Verdict lines of VMs holding mirror members (format v2: the v1 keys plus "mirror"), as
irisbackup/hooks/hook_verdict.py parses them and the alert query reads them."""

from __future__ import annotations

import json

import pytest

from irisbackup.health import health_rules
from irisbackup.hooks import hook_verdict

ENTRY = {"instance": "IRISPROD:iris", "set": "IRISMIRROR", "kind": "failover", "role": "primary", "ready": False,
         "consistency": "required", "alert": True, "reason": "mirror-not-failover-ready"}
LINE = {"v": 2, "event": "verdict", "run": "20261204T020000Z-4242", "script": "post", "version": "2.2.0",
        "instances": ["IRISPROD:iris"], "verdict": "application-consistent", "reason": "ok", "mirror": [ENTRY]}


def test_a_v2_line_parses_and_names_its_alerts():
    line = hook_verdict.parse_line(json.dumps(LINE))
    assert hook_verdict.mirror_alerts(line) == [ENTRY]
    assert hook_verdict.mirror_alerts(dict(line, mirror=[dict(ENTRY, alert=False)])) == []


@pytest.mark.parametrize("edit", [
    lambda line: line.pop("mirror"),  # v2 without its key
    lambda line: line.update(v=1),  # v1 with a mirror key
    lambda line: line["mirror"][0].update(role="leader"),
    lambda line: line["mirror"][0].update(consistency="maybe"),
    lambda line: line["mirror"][0].update(alert="yes"),
    lambda line: line["mirror"][0].pop("ready"),
])
def test_a_broken_v2_line_is_refused(edit):
    line = json.loads(json.dumps(LINE))
    edit(line)
    with pytest.raises(ValueError):
        hook_verdict.parse_line(json.dumps(line))


def test_the_hooks_write_every_entry_key_and_role_the_parser_knows():
    code = (health_rules.QUERIES.parent / "hooks" / "mirror.sh").read_text()
    for key in hook_verdict.MIRROR_ENTRY_KEYS:
        assert f'\\"{key}\\":' in code, key
    for role in hook_verdict.MIRROR_ROLES:
        assert f"IB_ROLE={role}" in code, role


def test_the_not_consistent_alert_reads_the_mirror_alert_in_the_key_order_the_hooks_write():
    query = (health_rules.QUERIES / "verdict_not_consistent.kql").read_text()
    keys = hook_verdict.MIRROR_ENTRY_KEYS
    assert keys.index("reason") == keys.index("alert") + 1  # the query's extract() relies on it
    assert '"alert":\\s*true,\\s*"reason"' in query
