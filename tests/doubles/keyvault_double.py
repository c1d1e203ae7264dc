"""Python handle on the IMDS + Key Vault double (curl_double.sh, installed as `curl` next to the iris
double, so it is first on the hooks' PATH). State under <iris double dir>/kv; see the script's header."""

from __future__ import annotations

import os
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("curl_double.sh")


class KeyVaultDouble:
    def __init__(self, iris_double_dir: Path, bin_dir: Path):
        self.dir = Path(iris_double_dir) / "kv"
        (self.dir / "secrets").mkdir(parents=True, exist_ok=True)
        os.chmod(SCRIPT, 0o755)
        link = Path(bin_dir) / "curl"
        if not link.exists():
            link.symlink_to(SCRIPT)
        (self.dir / "requests").touch()

    def set_identity(self, identity: str | None) -> None:
        """'system', a user-assigned identity's resource ID, or None (the VM has no identity)."""
        path = self.dir / "identity"
        if identity is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(identity + "\n")

    def add_secret(self, vault: str, name: str, value: str, granted: bool = True) -> None:
        (self.dir / "secrets" / vault).mkdir(parents=True, exist_ok=True)
        (self.dir / "secrets" / vault / name).write_text(value)
        if granted:
            (self.dir / "grant" / vault).mkdir(parents=True, exist_ok=True)
            (self.dir / "grant" / vault / name).touch()

    def set_behaviour(self, service: str, behaviour: str | None) -> None:
        """service imds | kv; behaviour fail | down | hang | deny, or None."""
        path = self.dir / f"op.{service}"
        if behaviour is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(behaviour + "\n")

    def requests(self) -> list[str]:
        return (self.dir / "requests").read_text().splitlines()

    def leaks(self) -> list[str]:
        path = self.dir / "leaks"
        return path.read_text().splitlines() if path.exists() else []
