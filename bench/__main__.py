"""`python -m bench [--json FILE] [--quick] [--only scale|freeze|diff]`: benchmarks as tables, with the machine.

Progress goes to stderr; stdout is the report (machine, then one table per part). With --json, every
printed figure (cells and notes) and each part's raw data is also written to FILE.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import PARTS, Part
from .report import machine_info, machine_text, part_json, table_text


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def part_options(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Options a part takes from the command line, beyond `quick` and `log`."""
    if name == "scale" and args.vms:
        return {"sizes": tuple(args.vms)}
    return {}


def run_parts(names: list[str], quick: bool, args: argparse.Namespace) -> list[tuple[str, Part]]:
    results: list[tuple[str, Part]] = []
    for name in names:
        module = importlib.import_module(PARTS[name])
        log(f"part {name}: started{' (quick)' if quick else ''}")
        produced = module.run(quick, log=log, **part_options(name, args))
        results += [(name, part) for part in (produced if isinstance(produced, list) else [produced])]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write every printed figure (and raw data) to FILE")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run; figures are noisier)")
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part")
    parser.add_argument("--vms", type=lambda text: [int(n) for n in text.split(",")], metavar="N,N,...",
                        help="scale part: stack sizes in VMs (default 1,10,50,200)")
    args = parser.parse_args(argv)

    names = [args.only] if args.only else list(PARTS)
    if not args.only:  # a part not written yet is skipped, not an error
        names = [name for name in names if importlib.util.find_spec(PARTS[name]) is not None]
    machine = machine_info()
    started = time.perf_counter()
    parts = run_parts(names, args.quick, args)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    elapsed = round(time.perf_counter() - started)

    command = "python -m bench" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else "") + (
        f" --vms {','.join(map(str, args.vms))}" if args.vms else "")
    print(machine_text(machine))
    print(f"Command: {command}; took {elapsed} s")
    for _, part in parts:
        print()
        print(table_text(part))
    if args.json:
        report = {"machine": machine, "command": command, "elapsed_s": elapsed,
                  "parts": [part_json(name, part) for name, part in parts]}
        Path(args.json).write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
        log(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
