"""Real SDK clients against tests/doubles/fake_azure.py, a fake clock, and the safety invariants."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import RequestsTransport

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "doubles"))

from fake_azure import FakeAzure, Scenario  # noqa: E402

from drill import config as drill_config  # noqa: E402
from drill.azure_ops import Azure  # noqa: E402
from drill.runner import Drill  # noqa: E402

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
SANDBOX_RG = "rg-irisbackup-drill-prod"


class FakeCredential:
    def get_token(self, *_scopes, **_kwargs):
        return AccessToken("fake-token", 4102444800)

    def get_token_info(self, *_scopes, **_kwargs):
        return AccessTokenInfo("fake-token", 4102444800)


class FakeClock:
    def __init__(self):
        self.elapsed = 0.0
        self.on_sleep = None

    def now(self):
        return NOW + timedelta(seconds=self.elapsed)

    def monotonic(self):
        return self.elapsed

    def sleep(self, seconds):
        self.elapsed += seconds
        if self.on_sleep:
            self.on_sleep(self.elapsed)


def points(*specs):
    """(hours ago, type) pairs -> recovery point dicts for the scenario."""
    return [{"name": f"rp{i}", "time": (NOW - timedelta(hours=h)).isoformat().replace("+00:00", "Z"), "type": t}
            for i, (h, t) in enumerate(specs)]


def client_kwargs(fake: FakeAzure) -> dict:
    session = requests.Session()
    session.mount("https://", fake)
    return {"transport": RequestsTransport(session=session), "polling_interval": 0, "retry_total": 0}


def make_drill(scenario: Scenario, stack: str = "prod", vms: int | None = 1):
    fake = FakeAzure(scenario)
    config = drill_config.load(stack)
    if vms is not None:
        config = drill_config.DrillConfig(**{**config.__dict__, "vms": config.vms[:vms]})
    clock = FakeClock()
    drill = Drill(config, Azure(config, FakeCredential(), **client_kwargs(fake)), clock, log=lambda _m: None)
    return drill, fake, clock


def assert_safe(fake: FakeAzure, restored_expected: bool = True) -> None:
    """The invariants every drill run must keep, whatever happened."""
    assert fake.violations == []  # every request against the ARM spec extracts (path, api-version, body)
    prefix = f"/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/{SANDBOX_RG}/".lower()
    for r in fake.requests:
        text = str(r.body)
        assert "OriginalLocation" not in text and "AlternateLocation" not in text
        assert "publicIPAddress" not in text
        if r.route == "restore":
            props = r.body["properties"]
            assert props["recoveryType"] == "RestoreDisks"
            assert props["targetResourceGroupId"].lower() == prefix.rstrip("/")
            assert props["storageAccountId"].lower().startswith(prefix)
        elif r.method in ("PUT", "PATCH", "DELETE", "POST"):
            assert r.path.lower().startswith(prefix), f"write outside the sandbox: {r.method} {r.path}"
    # teardown was attempted for everything the run created, and for the restored disks
    created = {(r.route.split("_")[0], r.path.rsplit("/", 1)[-1]) for r in fake.requests if r.route in ("vm_put", "nic_put")}
    created |= {("disk", r.path.rsplit("/", 1)[-1]) for r in fake.requests if r.route == "disk_update"}
    deleted = {(r.route.split("_")[0], r.path.rsplit("/", 1)[-1]) for r in fake.requests if r.route and r.route.endswith("_delete")}
    assert created <= deleted, f"teardown skipped: {created - deleted}"
    if restored_expected:
        assert any(r.route == "restore" for r in fake.requests)
    # teardown ran after the last create
    last_create = max((i for i, r in enumerate(fake.requests) if r.method == "PUT"), default=-1)
    assert any(r.method == "DELETE" for r in fake.requests[last_create + 1:]) or last_create == -1
