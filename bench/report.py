"""The machine a benchmark ran on, tables as text, and the JSON report (pure stdlib)."""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from . import Part

PACKAGES = ("pulumi", "pulumi-azure-native", "pulumi-command")


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python, SDK versions, date, and the load average right now."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "load_average_windows_min": [1, 5, 15],
    }


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_text(machine: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version or 'not installed'}" for name, version in machine["packages"].items())
    load = " ".join(f"{x:.2f}" for x in machine["load_average_start"])
    lines = [
        f"Machine: {machine['cpu_model']}; {machine['cores']} cores ({machine['cores_usable']} usable); "
        f"{machine['memory_gib']} GiB memory; {machine['os']}",
        f"Software: Python {machine['python']}, {packages}",
        f"Date: {machine['date']}; load average at start (1/5/15 min): {load}",
    ]
    if "load_average_end" in machine:
        lines.append("Load average at end (1/5/15 min): " + " ".join(f"{x:.2f}" for x in machine["load_average_end"]))
    return "\n".join(lines)


def cell_text(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table_text(part: Part) -> str:
    """A plain-text table (Markdown-compatible pipes), the part's title above, its notes below."""
    header = [str(column) for column in part.columns]
    body = [[cell_text(value) for value in row] for row in part.rows]
    widths = [max([len(header[i])] + [len(row[i]) for row in body if i < len(row)]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)) + " |"

    out = [f"## {part.title}", "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in body]
    if part.notes:
        out.append("")
        out += [f"- {note}" for note in part.notes]
    return "\n".join(out)


def part_json(name: str, part: Part) -> dict[str, Any]:
    """Every printed cell (keyed by column) and note, and the part's raw figures."""
    return {
        "part": name,
        "title": part.title,
        "columns": list(part.columns),
        "rows": [dict(zip(part.columns, row)) for row in part.rows],
        "notes": list(part.notes),
        "data": part.data,
    }
