"""The hook verdict syslog line: the one Python place that defines its format (pure logic).

The hooks write it after each pre/post/watchdog outcome (docs/hooks.md); Azure Monitor Agent collects
it into the Syslog table; the data collection rule and the alert queries in queries/ filter and parse
it. Every one of them renders its tag, facility and verdict names from here, and the tests check the
.kql files and any emitted line against these constants, so the two ends cannot drift apart.

    logger -t irisbackup -p user.<notice|err> -- '{"v":1,"event":"verdict",...}'
"""

from __future__ import annotations

import json
import re
from typing import Any

SYSLOG_TAG = "irisbackup"  # logger -t: the Syslog table's ProcessName
SYSLOG_FACILITY = "user"  # logger -p user.<severity>: the Syslog table's Facility
FORMAT_VERSION = 1
EVENT = "verdict"
# Keys of the JSON message, in the order the hooks write them.
KEYS = ("v", "event", "run", "script", "version", "instances", "verdict", "reason")
SCRIPTS = ("pre", "post", "watchdog")
VERDICTS = (
    "application-consistent",
    "not-consistent",
    "no-instances",  # nothing was running: the snapshot is consistent on disk
    "thaw-not-confirmed",
    "watchdog-fired",
    "rejected",  # another run was active; this one touched nothing
    "state-write-failed",  # thawed first, but the run record could not be written: not known consistent
)
# Verdicts after which the recovery point holds consistent databases; every other one alerts.
HEALTHY_VERDICTS = ("application-consistent", "no-instances")
# Each item of "instances" as bundle 2.1.0 on writes it: NAME:product (IRIS and Caché may share a NAME);
# bundles before it wrote the bare NAME, which parse_line still accepts.
INSTANCE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}:(iris|cache)$")
REASON_OK = "ok"
REASON = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # "ok" or a kebab-case token, never free text
# logger priority: notice when application-consistent, err otherwise.
SEVERITY = {verdict: "notice" if verdict == "application-consistent" else "err" for verdict in VERDICTS}


def parse_line(message: str) -> dict[str, Any]:
    """The verdict object of one syslog message; ValueError naming what breaks the format."""
    try:
        line = json.loads(message)
    except json.JSONDecodeError as error:
        raise ValueError(f"not one JSON object: {error}") from None
    if not isinstance(line, dict) or tuple(line) != KEYS:
        raise ValueError(f"keys must be exactly {list(KEYS)} in that order, got {list(line) if isinstance(line, dict) else line!r}")
    problems = [
        f"{key} is {line[key]!r}, expected {allowed}"
        for key, ok, allowed in (
            ("v", line["v"] == FORMAT_VERSION, FORMAT_VERSION),
            ("event", line["event"] == EVENT, EVENT),
            ("run", isinstance(line["run"], str) and line["run"] != "", "a non-empty run id"),
            ("script", line["script"] in SCRIPTS, "/".join(SCRIPTS)),
            ("version", isinstance(line["version"], str) and line["version"] != "", "the bundle version"),
            ("instances", isinstance(line["instances"], list) and all(isinstance(i, str) for i in line["instances"]),
             "a list of instance names"),
            ("verdict", line["verdict"] in VERDICTS, "one of " + ", ".join(VERDICTS)),
            ("reason", isinstance(line["reason"], str) and bool(REASON.match(line["reason"])), "ok or a kebab-case token"),
        )
        if not ok
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return line
