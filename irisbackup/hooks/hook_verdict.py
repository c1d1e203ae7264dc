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
# Version 2 (bundle 2.2.0 on, VMs holding mirror members): the same keys plus "mirror", one entry per
# member instance: its set, kind, the role it reported, whether the mirror was failover-ready, whether
# its snapshot had to be application-consistent, whether the run raises a mirror alert, and why.
MIRROR_FORMAT_VERSION = 2
EVENT = "verdict"
# Keys of the JSON message, in the order the hooks write them.
KEYS = ("v", "event", "run", "script", "version", "instances", "verdict", "reason")
MIRROR_KEYS = KEYS + ("mirror",)
MIRROR_ENTRY_KEYS = ("instance", "set", "kind", "role", "ready", "consistency", "alert", "reason")
MIRROR_ROLES = ("primary", "backup", "async", "not-ready", "not-member", "unreadable")
SCRIPTS = ("pre", "post", "watchdog")
VERDICTS = (
    "application-consistent",
    "not-consistent",
    "no-instances",  # nothing was running: the snapshot is consistent on disk
    "thaw-not-confirmed",
    "watchdog-fired",
    "rejected",  # another run was active; this one touched nothing
    "state-write-failed",  # thawed first, but the run record could not be written: not known consistent
    # Every instance is a mirror member its set's preference spares: nothing frozen, on purpose.
    "crash-consistent-allowed",
)
# Verdicts after which the recovery point is what the settings ask for; every other one alerts.
HEALTHY_VERDICTS = ("application-consistent", "no-instances", "crash-consistent-allowed")
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
    keys = MIRROR_KEYS if isinstance(line, dict) and line.get("v") == MIRROR_FORMAT_VERSION else KEYS
    if not isinstance(line, dict) or tuple(line) != keys:
        raise ValueError(f"keys must be exactly {list(keys)} in that order, got {list(line) if isinstance(line, dict) else line!r}")
    problems = _mirror_problems(line["mirror"]) if keys is MIRROR_KEYS else []
    problems += [
        f"{key} is {line[key]!r}, expected {allowed}"
        for key, ok, allowed in (
            ("v", line["v"] in (FORMAT_VERSION, MIRROR_FORMAT_VERSION), f"{FORMAT_VERSION} or {MIRROR_FORMAT_VERSION}"),
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


def _mirror_problems(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return [f"mirror is {entries!r}, expected a list"]
    problems = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or tuple(entry) != MIRROR_ENTRY_KEYS:
            problems.append(f"mirror[{index}] keys must be exactly {list(MIRROR_ENTRY_KEYS)}, got {entry!r}")
            continue
        checks = (
            ("instance", isinstance(entry["instance"], str) and bool(INSTANCE.match(entry["instance"]))),
            ("role", entry["role"] in MIRROR_ROLES),
            ("ready", isinstance(entry["ready"], bool)),
            ("consistency", entry["consistency"] in ("required", "allowed")),
            ("alert", isinstance(entry["alert"], bool)),
            ("reason", isinstance(entry["reason"], str) and bool(REASON.match(entry["reason"]))),
        )
        problems += [f"mirror[{index}].{key} is {entry[key]!r}" for key, ok in checks if not ok]
    return problems


def mirror_alerts(line: dict[str, Any]) -> list[dict[str, Any]]:
    """The mirror entries of a parsed verdict line that raise an alert."""
    return [entry for entry in line.get("mirror", []) if entry["alert"]]
