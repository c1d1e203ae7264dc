"""Posture-diff cost: `make diff` over every stack against `make review`, side by side in one run.

Both commands as the Makefile runs them, each a fresh interpreter timed from outside (wall clock),
alternating within each repetition so that both see the same background load:
- review: `python -m offline_plan --all` (the verdicts of every stack file);
- diff: `python -m posture_diff --base-dir BASE` (every stack rendered in BASE and in the tree, each by
  its own code, then postures and plans compared), BASE being an identical copy of the tree: what is
  measured is the rendering and the comparison, which a real change only adds lines to.
Two estates: the project's own stack files, and the same with one generated stack of N VMs added
(bench/program_scale.py's generator), where rendering dominates.

This module imports only the standard library (and bench.program_scale) at the top.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline_plan.stack_file import stack_names

from .program_scale import generate_settings

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0  # from issue 19: the diff over every stack stays under 2x `make review`
REPETITIONS, QUICK_REPETITIONS = 3, 1
GENERATED_VMS = 50
COMMANDS = {"review": ["-m", "offline_plan", "--all"], "diff": ["-m", "posture_diff", "--base-dir", "{base}"]}
_NOT_PROGRAM = shutil.ignore_patterns("venv", ".git", "tests", "bench", "docs", "tools", "__pycache__", ".pytest_cache")

# (wall-clock seconds, CPU seconds of the command and every process it waited for)
Measure = Callable[[str, Path, Path], tuple[float, float]]


def estate(destination: Path, generated_vms: int = 0) -> Path:
    """A copy of the program and its stack files, with a generated stack `bench<N>` when asked."""
    shutil.copytree(ROOT, destination, ignore=_NOT_PROGRAM)
    if generated_vms:
        settings = generate_settings(generated_vms)
        config = {"irisbackup:settings": settings,
                  **{key: {"secure": "v1:bench"} for key in ("irisbackup:sshPrivateKey", "irisbackup:bastionPrivateKey")}}
        # JSON is YAML: the stack file loader reads it as Pulumi's does.
        (destination / f"Pulumi.bench{generated_vms}.yaml").write_text(json.dumps({"config": config}, indent=1))
    return destination


def timed_command(name: str, tree: Path, base: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one command in `tree`; an exit status meaning "could not render" fails the run."""
    arguments = [part.format(base=base) for part in COMMANDS[name]]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, *arguments], cwd=tree, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{name} in {tree} exited {run.returncode}: {run.stderr.strip()[-2000:]}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return seconds, cpu


def run(quick: bool = False, *, vms: int = GENERATED_VMS, repetitions: int | None = None,
        measure: Measure = timed_command, log: Any = None) -> Any:
    from . import Part

    say = log or (lambda message: None)
    repetitions = repetitions or (QUICK_REPETITIONS if quick else REPETITIONS)
    load_start = [round(x, 2) for x in os.getloadavg()]
    samples: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, dict[str, list[float]]] = {}
    stacks: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-diff-") as scratch:
        for label, generated in (("project stacks", 0), (f"project stacks + {vms} VMs", vms)):
            tree = estate(Path(scratch) / f"tree-{generated}", generated)
            base = estate(Path(scratch) / f"base-{generated}", generated)
            stacks[label] = len(stack_names(tree))
            samples[label], cpu[label] = {"review": [], "diff": []}, {"review": [], "diff": []}
            for rep in range(repetitions):
                order = ("review", "diff") if rep % 2 == 0 else ("diff", "review")
                for name in order:
                    wall, used = measure(name, tree, base)
                    samples[label][name].append(wall)
                    cpu[label][name].append(used)
                say(f"diff: {label}, repetition {rep + 1}/{repetitions}: review {samples[label]['review'][-1]:.2f} s, "
                    f"diff {samples[label]['diff'][-1]:.2f} s")
    load_end = [round(x, 2) for x in os.getloadavg()]
    rows, ratios = [], {}
    for label, pair in samples.items():
        ratios[label] = statistics.median(pair["diff"]) / statistics.median(pair["review"])
        cpu_ratio = statistics.median(cpu[label]["diff"]) / statistics.median(cpu[label]["review"])
        rows.append([label, stacks[label], _spread(pair["review"]), _spread(pair["diff"]), f"{ratios[label]:.2f}",
                     "met" if ratios[label] < TARGET_RATIO else "NOT MET",
                     f"{statistics.median(cpu[label]['review']):.2f} / {statistics.median(cpu[label]['diff']):.2f}",
                     f"{cpu_ratio:.2f}"])
    worst = max(ratios, key=ratios.get)  # type: ignore[arg-type]
    notes = [
        f"{repetitions} repetition(s), review and diff alternating; wall clock of each whole command (fresh interpreter); "
        f"median (min-max). Load average {load_start} at the start, {load_end} at the end.",
        f"Diff within {TARGET_RATIO:g}x of review: {'met' if ratios[worst] < TARGET_RATIO else 'NOT MET'} "
        f"(worst median ratio {ratios[worst]:.2f}, {worst}).",
        "CPU: user + system seconds of the command and its subprocesses. The diff renders both trees at once (one "
        "interpreter per tree), so with no core to spare its wall-clock ratio tends to its CPU ratio.",
    ]
    columns = ["estate", "stacks", "review (s)", "diff (s)", "diff/review", "under 2x", "CPU s review / diff", "CPU diff/review"]
    return Part("Posture diff against make review", columns, rows, notes,
                {"samples": samples, "cpu": cpu, "ratios": ratios, "load_average": [load_start, load_end]})


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

