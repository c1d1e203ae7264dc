"""The drill's safety rules, enforced on every request any Azure client sends (no Azure calls here).

A drill restores production's data; it must never change production. Two layers:
- the code that builds requests checks its own inputs (restore_request, nic_request);
- SandboxPolicy sits in every SDK client's pipeline and refuses, before anything is sent, any write
  (PUT, PATCH, DELETE, POST) outside the sandbox resource group, except the one restore POST on the
  vault, and only when that POST is RestoreDisks into the sandbox. So a bug in the drill cannot
  reach production: the request never leaves the process.
"""

from __future__ import annotations

import json
import re
from typing import Any

from azure.core.pipeline.policies import SansIOHTTPPolicy

from .config import Sandbox

WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
RESTORE_DISKS = "RestoreDisks"


class SafetyError(Exception):
    """A request would touch something outside the sandbox, or restore other than RestoreDisks."""


def check_restore(properties: dict[str, Any], sandbox: Sandbox) -> None:
    """The restore request body's `properties` (ARM camelCase)."""
    kind = properties.get("recoveryType")
    if kind != RESTORE_DISKS:
        raise SafetyError(f"refusing restore with recoveryType {kind!r}: a drill only uses {RESTORE_DISKS} "
                          "(OriginalLocation would overwrite production's disks)")
    targets = {
        "targetResourceGroupId": sandbox.resource_group_id,
        "storageAccountId": sandbox.staging_account_id,
    }
    for key, expected in targets.items():
        if str(properties.get(key, "")).lower() != expected.lower():
            raise SafetyError(f"refusing restore: {key} {properties.get(key)!r} is not the sandbox's {expected!r}")
    for key in ("targetVirtualMachineId", "virtualNetworkId", "subnetId"):
        if properties.get(key) and not _in_sandbox(str(properties[key]), sandbox):
            raise SafetyError(f"refusing restore: {key} {properties[key]!r} is outside the sandbox")


def check_no_public_ip(body: Any) -> None:
    """No public IP anywhere in a request body (NIC ipConfigurations, VM network profiles)."""
    if _has_key(body, "publicIPAddress") or _has_key(body, "publicIPAddressConfiguration"):
        raise SafetyError("refusing a public IP address: the drill VM is reachable only inside the sandbox")


def _has_key(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return any(k == key or _has_key(v, key) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_key(item, key) for item in node)
    return False


def _in_sandbox(path: str, sandbox: Sandbox) -> bool:
    prefix = sandbox.resource_group_id.lower() + "/"
    return path.lower().startswith(prefix) or path.lower() == prefix[:-1]


def _restore_path(vault_rg: str, vault: str, sandbox: Sandbox) -> re.Pattern[str]:
    return re.compile(
        rf"/subscriptions/{re.escape(sandbox.subscription_id)}/resourceGroups/{re.escape(vault_rg)}"
        rf"/providers/Microsoft\.RecoveryServices/vaults/{re.escape(vault)}/backupFabrics/Azure"
        r"/protectionContainers/[^/]+/protectedItems/[^/]+/recoveryPoints/[^/]+/restore", re.I)


def check_request(method: str, path: str, body: Any, sandbox: Sandbox, vault_rg: str, vault: str) -> None:
    """Raise SafetyError for a request the drill must never send (path without query string)."""
    if method.upper() not in WRITES:
        return
    check_no_public_ip(body)
    if method.upper() == "POST" and _restore_path(vault_rg, vault, sandbox).fullmatch(path):
        check_restore((body or {}).get("properties") or {}, sandbox)
        return
    if not _in_sandbox(path, sandbox):
        raise SafetyError(f"refusing {method} {path}: outside the sandbox resource group {sandbox.resource_group}")


class SandboxPolicy(SansIOHTTPPolicy):
    """Runs check_request on every request of the client it is installed in (per_call_policies)."""

    def __init__(self, sandbox: Sandbox, vault_rg: str, vault: str):
        super().__init__()
        self._sandbox, self._vault_rg, self._vault = sandbox, vault_rg, vault

    def on_request(self, request) -> None:
        http = request.http_request
        path = re.sub(r"^https?://[^/]+", "", http.url).split("?", 1)[0]
        check_request(http.method, path, _json_body(http), self._sandbox, self._vault_rg, self._vault)


def _json_body(http) -> Any:
    raw = getattr(http, "content", None) or getattr(http, "body", None)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        raise SafetyError("refusing a write whose body is not JSON: it cannot be checked") from None
