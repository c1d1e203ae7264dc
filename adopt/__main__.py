"""`python -m adopt --stack prod [--stack-file FILE] [--out FILE] [--new NAME ...]`: the `pulumi import --file` JSON that
brings the stack's existing vault, policies and protected items (and declared VMSnapshotLinux
extensions) under the program without creating or re-protecting anything (docs/adoption.md).

Exit status: 0 written, 2 the stack file or its settings are invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pulumi

from irisbackup.settings import SettingsError, parse_settings
from offline_plan.engine import run_program
from offline_plan.stack_file import StackFileError, load_stack_config, raw_settings, stack_file_path

from .imports import AdoptionError, import_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_ERROR = 0, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make adopt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml beside Pulumi.yaml, else examples/ (default: dev)")
    parser.add_argument("--stack-file", metavar="FILE", help="read this stack file instead")
    parser.add_argument("--out", metavar="FILE", help="write the import file to FILE instead of standard output")
    parser.add_argument("--new", metavar="NAME", action="append", default=[],
                        help="a policy or VM of the stack that does not exist in Azure yet: left out, `pulumi up` "
                             "creates it (repeatable)")
    args = parser.parse_args(argv)
    stack_file = Path(args.stack_file) if args.stack_file else stack_file_path(PROJECT_DIR, args.stack)
    try:
        config = load_stack_config(stack_file)
        settings = parse_settings(raw_settings(config))
        # The program as `pulumi up` runs it: the URNs the imported state must have.
        document = import_file(run_program(args.stack, config, PROJECT_DIR / "__main__.py"), settings, frozenset(args.new))
    except SettingsError as error:
        print(f"error: stack {args.stack}: invalid stack settings:\n{error}", file=sys.stderr)
        return EXIT_ERROR
    except (StackFileError, pulumi.RunError, AdoptionError) as error:
        print(f"error: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_ERROR
    text = json.dumps(document, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        adopted = sum("id" in entry for entry in document["resources"])
        print(f"{args.out}: {adopted} existing resources of stack {args.stack} to import "
              f"(pulumi import --file {args.out} --generate-code=false; docs/adoption.md)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
