"""`python -m offline_plan --stack dev [--json FILE]`: the offline plan/review of one stack file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pulumi

from .engine import run_program
from .render import to_json, to_text
from .stack_file import StackFileError, load_stack_config, stack_file_path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--stack-file", metavar="FILE", help="read this stack file instead (e.g. a proposed change)")
    parser.add_argument("--json", metavar="FILE", help="also write the plan as JSON to FILE")
    args = parser.parse_args(argv)
    try:
        config = load_stack_config(Path(args.stack_file) if args.stack_file else stack_file_path(PROJECT_DIR, args.stack))
        run = run_program(args.stack, config, PROJECT_DIR / "__main__.py")
    except (StackFileError, pulumi.RunError) as error:
        print(f"error: stack {args.stack}: {error}", file=sys.stderr)
        return 2
    print(to_text(run))
    if args.json:
        Path(args.json).write_text(to_json(run) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
