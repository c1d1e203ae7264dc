"""Runs drill/vm/check.sh under dash against tests/doubles/iris_drill_double.sh."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "drill" / "vm" / "check.sh"
DOUBLE = ROOT / "tests" / "doubles" / "iris_drill_double.sh"


@dataclass
class CheckRun:
    returncode: int
    stdout: str
    result: dict | None
    events: list[str]


class DrillVm:
    """A fake restored VM: a bin directory with the double under the real command names."""

    def __init__(self, base: Path):
        self.base = base
        (base / "bin").mkdir()
        (base / "instances").mkdir()
        for name in ("iris", "ccontrol", "csession"):
            (base / "bin" / name).symlink_to(DOUBLE)

    def add_instance(self, name: str, product: str = "iris", *, status: str = "down", cpf: str = "",
                     databases: tuple[str, ...] = ("0 1 /data/app/",), start: str = "ok",
                     integrity: str = "ok", unmirror: str = "ok", mount: str = "ok") -> Path:
        inst = self.base / "instances" / name
        inst.mkdir()
        root = self.base / "install" / name
        (root / "mgr").mkdir(parents=True)
        (root / "iris.cpf").write_text(cpf or "[Startup]\nSystemStart=1\n[config]\nglobals=0,0,256\n")
        for key, value in {"product": product, "status": status, "root": str(root), "start": start,
                           "integrity": integrity, "unmirror": unmirror, "mount": mount, "databases": "\n".join(databases)}.items():
            (inst / key).write_text(value + "\n")
        return root

    def run(self, preamble: str = "") -> CheckRun:
        env = {"PATH": f"{self.base / 'bin'}:/usr/bin:/bin", "IRIS_DOUBLE_DIR": str(self.base),
               "TMPDIR": str(self.base)}
        script = preamble + "\n" + CHECK.read_text()
        proc = subprocess.run(["dash", "-s"], input=script, capture_output=True, text=True, env=env, timeout=60)
        lines = proc.stdout.strip().splitlines()
        result = None
        if lines and lines[-1].startswith("DRILL-RESULT "):
            result = json.loads(lines[-1].removeprefix("DRILL-RESULT "))
        events_file = self.base / "events"
        events = events_file.read_text().splitlines() if events_file.exists() else []
        return CheckRun(proc.returncode, proc.stdout, result, events)
