"""python -m drill [run] --stack S [--dry-run] [--report-dir D] | python -m drill sweep --stack S [--dry-run]

Exit status: 0 all passed, 1 a verdict failed, 2 the drill could not complete (also for bad settings).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from .config import PROJECT_DIR, DrillConfigError, load
from .plan import dry_run
from .report import EXIT_INCOMPLETE, to_junit, to_markdown


def main(argv: list[str] | None = None, *, credential=None, client_kwargs=None, clock=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drill", description="Restore drill (docs/restore-drill.md)")
    parser.add_argument("command", nargs="?", choices=("run", "sweep"), default="run")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--dry-run", action="store_true", help="print every step and resource; no credentials needed")
    parser.add_argument("--report-dir", type=Path, default=Path("drill-report"))
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        config = load(args.stack, args.project_dir)
    except DrillConfigError as error:
        print(f"drill: {error}", file=sys.stderr)
        return EXIT_INCOMPLETE
    run_id = uuid.uuid4().hex[:12]
    if args.command == "run" and args.dry_run:
        print("\n".join(dry_run(config, run_id)))
        return 0
    from .azure_ops import Azure  # the SDK only for real runs: a dry run needs nothing installed but settings
    from .runner import Clock, Drill

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    drill = Drill(config, Azure(config, credential, **(client_kwargs or {})), clock or Clock())
    if args.command == "sweep":
        return _sweep(drill, args.dry_run)
    report = drill.run(run_id)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "report.json").write_text(report.to_json() + "\n", encoding="utf-8")
    (args.report_dir / "summary.md").write_text(to_markdown(report), encoding="utf-8")
    (args.report_dir / "junit.xml").write_text(to_junit(report), encoding="utf-8")
    print(to_markdown(report))
    return report.exit_code


def _sweep(drill, dry: bool) -> int:
    from .sweep import leftovers

    found = leftovers(drill.azure.run_resources(), drill.config.stack, drill.clock.now(), drill.config.max_age_hours)
    for r in found:
        print(f"leftover: {r.kind} {r.name} (run {r.tags.get('irisbackup-drill-run', '?')})")
    if dry or not found:
        print(f"{len(found)} leftover(s)" + (" (dry run: nothing deleted)" if dry else ""))
        return 0
    orphans = drill.delete_all(found)
    print(f"deleted {len(found) - len(orphans)}, could not delete {len(orphans)}")
    return EXIT_INCOMPLETE if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
