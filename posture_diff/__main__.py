"""`python -m posture_diff --base REF [--json FILE] [--stack S]`: what a change does to the backup posture.

Renders every stack (real, and examples/; each where its tree keeps it) offline at REF (its own code,
unpacked with `git archive`) and in the working tree, and prints per stack each posture change with its kind (regression, improvement,
neutral) and flags (irreversible, create-time only, data loss, protection removed, leaves production),
and each vault, policy or protected item that Pulumi would delete or replace (data loss), found by
comparing the two plans resource by resource (URNs, aliases, replace-on-change inputs).
Reading it: docs/reviewing.md.

Exit status: 0; 1 when a change carries a flag and the stack's policy/config/<stack>.json does not
acknowledge it; 2 when a stack cannot be rendered, REF is not a commit or an acknowledgement is
malformed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .compare import AcknowledgeError, Change, apply_acknowledgements, diff_postures, load_acknowledgements
from .resources import resource_changes
from .trees import TreeError, export_ref, render_tree, stack_names

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_BLOCKING, EXIT_ERROR = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make diff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF", help="git ref to compare with (e.g. origin/main)")
    source.add_argument("--base-dir", metavar="DIR", help="compare with this unpacked project tree instead of a git ref")
    parser.add_argument("--project", metavar="DIR", default=str(PROJECT_DIR), help="the working tree (default: this project)")
    parser.add_argument("--stack", action="append", metavar="S", help="only this stack (repeatable; default: every stack)")
    parser.add_argument("--json", metavar="FILE", help="also write the diff as JSON to FILE")
    args = parser.parse_args(argv)
    project = Path(args.project).resolve()
    try:
        with tempfile.TemporaryDirectory(prefix="posture-base-") as unpacked:
            base = Path(args.base_dir).resolve() if args.base_dir else Path(unpacked)
            if args.base:
                export_ref(project, args.base, base)
            report = diff_trees(base, project, args.stack)
    except (TreeError, AcknowledgeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print("\n".join(report_lines(report, args.base or args.base_dir)))
    if args.json:
        Path(args.json).write_text(json.dumps(report_json(report), indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    if any(stack.get("error") for stack in report):
        return EXIT_ERROR
    return EXIT_BLOCKING if any(change.blocking for stack in report for change in stack["changes"]) else EXIT_OK


def diff_trees(base: Path, head: Path, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Per stack (in either tree): its changes, acknowledgements that match nothing, or why it could not render."""
    stacks = sorted(set(stack_names(base)) | set(stack_names(head)))
    if only:
        stacks = [stack for stack in stacks if stack in only]
    # Malformed acknowledgements fail before minutes of rendering.
    acknowledgements = {stack: load_acknowledgements(head / "policy" / "config" / f"{stack}.json") for stack in stacks}
    with ThreadPoolExecutor(2) as pool:  # each tree in its own interpreter: both at once on two cores
        rendering = pool.submit(render_tree, base, stacks)
        after = render_tree(head, stacks)
        before = rendering.result()
    report = []
    for stack in stacks:
        old, new = before.get(stack), after.get(stack)
        error = next((f"{side}: {item.error}" for side, item in (("base", old), ("working tree", new)) if item and item.error), None)
        if error:
            report.append({"stack": stack, "changes": [], "unused": [], "error": error})
            continue
        changes = diff_postures(old.posture if old else None, new.posture if new else None)
        if old and new:  # a stack file gone is not a destroy: its resources stay until `pulumi destroy`
            changes += resource_changes(old.plan or {}, new.plan or {})
        unused = apply_acknowledgements(changes, acknowledgements[stack])
        report.append({"stack": stack, "changes": changes, "unused": unused, "error": None})
    return report


def report_json(report: list[dict[str, Any]]) -> dict[str, Any]:
    return {"stacks": [
        {"stack": stack["stack"], "changes": [change.to_json() for change in stack["changes"]],
         **({"error": stack["error"]} if stack["error"] else {}),
         **({"unusedAcknowledgements": stack["unused"]} if stack["unused"] else {})}
        for stack in report
    ]}


def report_lines(report: list[dict[str, Any]], base: str) -> list[str]:
    lines = [f"Backup posture: {base} -> working tree (offline renderings; reading it: docs/reviewing.md)"]
    for stack in report:
        lines += ["", f"=== stack {stack['stack']} ==="]
        if stack["error"]:
            lines.append(f"  ERROR, cannot compare: {stack['error']}")
            continue
        lines += [_line(change) for change in stack["changes"]] or ["  no posture change"]
        lines += [f"  unused acknowledgement (matches no change; remove it): {entry['path']}" for entry in stack["unused"]]
    blocking = [change for stack in report for change in stack["changes"] if change.blocking]
    if blocking:
        lines += ["", f"{len(blocking)} blocking change(s) (irreversible, create-time only, data loss, protection removed "
                      "or leaving production), not acknowledged. "
                      "If intended, add to policy/config/<stack>.json:",
                  json.dumps({"acknowledge": [change.acknowledgement() for change in blocking]}, indent=2, default=str)]
    return lines


def _line(change: Change) -> str:
    flags = "".join(f" [{flag.upper()}]" for flag in change.flags)
    acknowledged = " (acknowledged)" if change.acknowledged and change.flags else ""
    return f"  {change.kind:<11}{flags}{acknowledged} {change.message}"


if __name__ == "__main__":
    sys.exit(main())
