"""Runs tools/kql-check (Microsoft's Kusto language service under node) on KQL files or strings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "kql-check"


def ensure_installed() -> None:
    """`npm ci` once when node_modules is missing (make test and .ci/run do it before pytest)."""
    if (TOOL / "node_modules" / "@kusto" / "language-service-next").is_dir():
        return
    npm = shutil.which("npm")
    assert npm, "the KQL check needs Node.js and npm (apt-get install nodejs npm), then `npm ci` in tools/kql-check"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TOOL, check=True, capture_output=True, timeout=300)


def diagnostics(paths: list[Path]) -> dict[str, list[dict]]:
    """File -> the language service's diagnostics (severity, code, message, line, column)."""
    ensure_installed()
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "the KQL check needs Node.js"
    result = subprocess.run([node, str(TOOL / "check.js"), *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {Path(file).name: found for file, found in json.loads(result.stdout).items()}


def errors(found: list[dict]) -> list[str]:
    return [f"{d['line']}:{d['column']} {d['code']} {d['message']}" for d in found if d["severity"] == "Error"]
