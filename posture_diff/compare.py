"""Posture of one stack before and after, change by change, and the stack's acknowledgements (pure logic)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy.offline import ACKNOWLEDGE_KEY

from .rules import BLOCKING, PROTECTION, STACK_FILE, Context, classify, compared_whole

_ENTRY_KEYS = ("path", "before", "after", "reason")


@dataclass
class Change:
    path: str
    before: Any
    after: Any
    kind: str
    flags: tuple[str, ...]
    message: str
    acknowledged: bool = False

    @property
    def blocking(self) -> bool:
        """Irreversible, create-time only or data loss, and not acknowledged by the stack."""
        return bool(BLOCKING.intersection(self.flags)) and not self.acknowledged

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "kind": self.kind,
                "classes": [self.kind, *self.flags], "message": self.message, "acknowledged": self.acknowledged}

    def acknowledgement(self) -> dict[str, Any]:
        """What the stack's policy config needs to accept this change (the reason is for the author)."""
        return {"path": self.path, "before": self.before, "after": self.after, "reason": "..."}


def diff_postures(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """Every changed path; a key present on one side only is one change (a whole VM, not each of its fields)."""
    if before is None or after is None:
        return [_change((STACK_FILE,), "present" if before is not None else None, "present" if after is not None else None,
                        Context(before or {}, after or {}))]
    before = _egress_spelt_as_after(before, after)
    context = Context(before, after)
    changes: list[Change] = []

    def walk(path: tuple[str, ...], old: Any, new: Any) -> None:
        if isinstance(old, Mapping) and isinstance(new, Mapping) and not compared_whole(path):
            for key in [*old, *(key for key in new if key not in old)]:
                if key not in new:
                    changes.append(_change((*path, str(key)), old[key], None, context))
                elif key not in old:
                    changes.append(_change((*path, str(key)), None, new[key], context))
                else:
                    walk((*path, str(key)), old[key], new[key])
        elif old != new:
            changes.append(_change(path, old, new, context))

    walk((), before, after)
    for vm, old_policy, new_policy in _policy_moves(before, after):
        walk(("vms", vm, PROTECTION), old_policy, new_policy)
    return changes


def _egress_spelt_as_after(before: Mapping[str, Any], after: Mapping[str, Any]) -> Mapping[str, Any]:
    """Azure matches service tags case-insensitively: a destination only spelt differently now
    (Storage.westeurope -> Storage.WestEurope) is the same rule, not one removed and one added."""
    old, new = before.get("egress"), after.get("egress")
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return before
    egress = {}
    for nsg, rules in old.items():
        spelling = {str(key).lower(): key for key in new.get(nsg, {})} if isinstance(new.get(nsg), Mapping) else {}
        egress[nsg] = {spelling.get(str(key).lower(), key): rule for key, rule in rules.items()} \
            if isinstance(rules, Mapping) else rules
    return {**before, "egress": egress}


# What protects a VM, compared when it moves to another policy (a rename included): a cut hidden by
# the new name shows as vms.<vm>.protection.<field>.
_PROTECTION_KEYS = ("kind", "rpoHours", "instantRestoreDays", "retention", "retentionKeeps", "archive")


def _policy_moves(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, dict, dict]]:
    moves = []
    for vm, old_vm in (before.get("vms") or {}).items():
        new_vm = (after.get("vms") or {}).get(vm)
        if not (isinstance(old_vm, Mapping) and isinstance(new_vm, Mapping)) or old_vm.get("policy") == new_vm.get("policy"):
            continue
        old = (before.get("policies") or {}).get(str(old_vm.get("policy")))
        new = (after.get("policies") or {}).get(str(new_vm.get("policy")))
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            moves.append((vm, {k: old.get(k) for k in _PROTECTION_KEYS}, {k: new.get(k) for k in _PROTECTION_KEYS}))
    return moves


def _change(path: tuple[str, ...], before: Any, after: Any, context: Context) -> Change:
    verdict = classify(path, before, after, context)
    shown = ".".join(path)
    if before is None:
        text = f"{shown}: added" + ("" if _composite(after) else f" ({_short(after)})")
    elif after is None:
        text = f"{shown}: removed" + ("" if _composite(before) else f" (was {_short(before)})")
    else:
        text = f"{shown}: {_short(before)} -> {_short(after)}"
    return Change(shown, before, after, verdict.kind, verdict.flags, text + (f"; {verdict.note}" if verdict.note else ""))


def _composite(value: Any) -> bool:
    return isinstance(value, (Mapping, list))


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# --- acknowledgements ----------------------------------------------------------------------------


class AcknowledgeError(Exception):
    """A malformed `acknowledge` list in a stack's policy config."""


def load_acknowledgements(config_file: Path) -> list[dict[str, Any]]:
    """The `acknowledge` entries of policy/config/<stack>.json: [{"path", "before", "after", "reason"}]."""
    if not config_file.is_file():
        return []
    try:
        document = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AcknowledgeError(f"{config_file}: not valid JSON: {error}") from None
    entries = document.get(ACKNOWLEDGE_KEY, []) if isinstance(document, dict) else []
    if not isinstance(entries, list):
        raise AcknowledgeError(f"{config_file}: {ACKNOWLEDGE_KEY} must be a list of {{path, before, after, reason}}")
    problems = [problem for index, entry in enumerate(entries) for problem in _entry_problems(index, entry)]
    if problems:
        raise AcknowledgeError(f"{config_file}:\n  " + "\n  ".join(problems))
    return entries


def _entry_problems(index: int, entry: Any) -> list[str]:
    where = f"{ACKNOWLEDGE_KEY}[{index}]"
    if not isinstance(entry, dict):
        return [f"{where}: expected an object with {', '.join(_ENTRY_KEYS)}"]
    problems = [f"{where}.{key}: unknown key; allowed: {', '.join(_ENTRY_KEYS)}" for key in entry if key not in _ENTRY_KEYS]
    problems += [f"{where}.{key}: required" for key in _ENTRY_KEYS if key not in entry]
    for key in ("path", "reason"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            problems.append(f"{where}.{key}: {entry[key]!r} must be a non-empty string")
    return problems


def apply_acknowledgements(changes: list[Change], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the changes an entry matches exactly (path, before and after); return entries matching nothing."""
    unused = []
    for entry in entries:
        matched = [c for c in changes if (c.path, c.before, c.after) == (entry["path"], entry["before"], entry["after"])]
        for change in matched:
            change.acknowledged = True
        if not matched:
            unused.append(entry)
    return unused
