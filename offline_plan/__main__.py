"""`python -m offline_plan --stack dev [--json FILE] [--policy-config FILE]`: the offline plan/review of one
stack file, with the verdict of every rule of the policy pack (policy/). `--all` checks every
Pulumi.*.yaml (verdicts only), as `make review` does: the real ones beside Pulumi.yaml and the examples in
examples/ (fake ids, labelled as examples) that no real stack of the same name shadows.

Exit status: 0 no mandatory violation, 1 a mandatory policy violation, 2 the stack or config is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pulumi

from policy.offline import PolicyCheck, PolicyConfigError, check, stack_policy_config

from .engine import PlanRun, run_program
from .render import policy_json, policy_lines, to_json, to_text
from .stack_file import (EXAMPLES_DIR, StackFileError, is_example, load_stack_config, raw_settings, stack_file_path,
                         stack_names)

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml beside Pulumi.yaml, else "
                        "examples/Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--stack-file", metavar="FILE", help="read this stack file instead (e.g. a proposed change)")
    parser.add_argument("--json", metavar="FILE", help="also write the plan, with its policy violations, as JSON to FILE")
    parser.add_argument("--policy-config", metavar="FILE",
                        help="policy pack config (the JSON of `pulumi preview --policy-pack-config`) laid over the "
                             "stack's settings and policy/config/<stack>.json")
    parser.add_argument("--write-policy-config", metavar="FILE",
                        help="write the assembled policy config to FILE, for `pulumi preview --policy-pack-config FILE`")
    parser.add_argument("--all", action="store_true",
                        help="check every Pulumi.*.yaml of the project and of examples/ and print the verdicts only (make review)")
    args = parser.parse_args(argv)
    extra = Path(args.policy_config) if args.policy_config else None
    if args.all:
        if args.stack_file or args.json or args.write_policy_config:
            parser.error("--all takes only --policy-config")
        return review_all(extra)
    stack_file = Path(args.stack_file) if args.stack_file else stack_file_path(PROJECT_DIR, args.stack)
    try:
        settings = raw_settings(load_stack_config(stack_file))
        run, result, files = plan_and_check(args.stack, stack_file, extra)
    except (StackFileError, pulumi.RunError, PolicyConfigError) as error:
        print(f"error: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(to_text(run, settings))
    print()
    print("\n".join(policy_lines(result, _shown(files))))
    if args.json:
        Path(args.json).write_text(to_json(run, policy_json(result), settings) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    if args.write_policy_config:
        Path(args.write_policy_config).write_text(json.dumps(result.config, indent=2) + "\n", encoding="utf-8")
        print(f"Policy config written to {args.write_policy_config} (for pulumi preview --policy-pack-config)")
    return EXIT_OK if result.passed else EXIT_VIOLATION


def plan_and_check(stack: str, stack_file: Path, extra: Path | None) -> tuple[PlanRun, PolicyCheck, list[Path]]:
    config = load_stack_config(stack_file)
    for note in config.notes:
        print(f"warning: {note}", file=sys.stderr)
    run = run_program(stack, config, PROJECT_DIR / "__main__.py")
    policy_config, files = stack_policy_config(stack, raw_settings(config), extra)
    return run, check(run.resources, policy_config), files


def review_all(extra: Path | None, stack_dir: Path = PROJECT_DIR) -> int:
    """Every stack file's verdicts; the worst outcome decides the exit status."""
    stacks = stack_names(stack_dir)
    outcomes: dict[str, str] = {}
    status = EXIT_OK
    for name in stacks:
        path = stack_file_path(stack_dir, name)
        example = is_example(path)
        print(f"=== stack {name} ({f'{EXAMPLES_DIR}/{path.name}, example: fake ids' if example else path.name}) ===")
        stack = f"{name} (example)" if example else name
        try:
            _, result, files = plan_and_check(name, path, extra)
        except (StackFileError, pulumi.RunError, PolicyConfigError) as error:
            print(f"error: stack {stack}: {error}", file=sys.stderr)
            outcomes[stack] = "ERROR (see above)"
            status = EXIT_ERROR
            continue
        print("\n".join(policy_lines(result, _shown(files))))
        print()
        advisory = len(result.violations) - len(result.mandatory_violations)
        if result.passed:
            outcomes[stack] = f"passed ({advisory} advisory violations)"
        else:
            outcomes[stack] = f"FAILED ({len(result.mandatory_violations)} mandatory, {advisory} advisory violations)"
            status = max(status, EXIT_VIOLATION)
    print("Review of every stack:")
    for stack, outcome in outcomes.items():
        print(f"  {stack}: {outcome}")
    if not stacks:
        print(f"  no Pulumi.*.yaml found (beside Pulumi.yaml or in {EXAMPLES_DIR}/)")
    return status


def _shown(paths: list[Path]) -> list[str]:
    """Config files as a reviewer finds them: relative to the project when inside it."""
    return [str(path.resolve().relative_to(PROJECT_DIR)) if path.resolve().is_relative_to(PROJECT_DIR) else str(path)
            for path in paths]


if __name__ == "__main__":
    sys.exit(main())
