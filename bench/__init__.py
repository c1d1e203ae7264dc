"""`python -m bench`: benchmarks of the product, printed as tables (and JSON) with the machine they ran on.

A part is a module with `run(quick: bool, *, log=None) -> Part | list[Part]`, registered in PARTS.
Cells are printed as given (str() of each value, None as n/a), so a part rounds numbers to what it
wants shown, and the JSON report carries exactly the printed cells plus each part's raw `data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# name -> module; `--only NAME` runs one. Modules are imported only when their part runs.
PARTS = {
    "scale": "bench.program_scale",
    "freeze": "bench.freeze_window",
    "diff": "bench.diff_cost",
}


@dataclass
class Part:
    """One printed table: its title, column headers, rows of cells, notes below it, and raw figures."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)
    # Raw figures behind the cells (every sample, fits, verdicts): written to JSON, not printed.
    data: dict[str, Any] = field(default_factory=dict)
