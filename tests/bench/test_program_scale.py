"""The scale benchmark's inputs are valid and its baseline is honest: no timing is asserted here."""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

import pytest
import yaml

from bench import program_scale as ps
from irisbackup.settings import parse_settings
from offline_plan.engine import PlanRun, mask_secrets, run_program
from offline_plan.stack_file import StackConfig


@pytest.mark.parametrize("vms", [1, 2, 5, 200])
def test_generated_settings_pass_the_real_settings_model(vms):
    settings = parse_settings(ps.generate_settings(vms))
    assert len(settings.vms) == vms
    assert len({vm.name for vm in settings.vms}) == vms
    assert len({vm.ssh.host for vm in settings.vms}) == vms
    assert len(settings.network_security_groups) == min(4, vms)
    used = {str(nsg) for vm in settings.vms for nsg in vm.network_security_groups}
    assert used == {str(nsg.id) for nsg in settings.network_security_groups}


def test_generated_vms_are_shaped_like_prod():
    settings = parse_settings(ps.generate_settings(6))
    assert [p.kind for p in settings.policies.values()] == ["enhanced"]
    assert settings.vault.customer_managed_key and settings.vault.diagnostics and settings.vault.alert_emails
    for vm in settings.vms:
        assert vm.consistency == "application" and vm.manage_extension
        assert vm.ssh.proxy is not None and vm.hooks.instances
    assert {i.product for vm in settings.vms for i in vm.hooks.instances} == {"iris", "cache"}
    assert max(len(vm.hooks.instances) for vm in settings.vms) == 2


def test_a_stack_needs_a_vm():
    with pytest.raises(ValueError):
        ps.generate_settings(0)


def _plan(program_key: str, settings: dict[str, Any]) -> PlanRun:
    values, secret_keys = ps.config_values(settings)
    return run_program("bench", StackConfig(values, secret_keys), ps.PROGRAMS[program_key])


def _signature(run: PlanRun) -> dict[tuple[str, str], dict[str, Any]]:
    """Every Azure/command resource by (type, logical name): inputs, options, and what it waits for."""
    by_urn = {r.urn: r for r in run.resources}
    return {
        (r.type, r.name): {
            "inputs": mask_secrets(r.inputs),
            "depends_on": sorted((by_urn[d].type, by_urn[d].name) for d in r.dependencies if by_urn[d].custom),
            "protect": r.protect,
            "retain_on_delete": r.retain_on_delete,
            "delete_before_replace": r.delete_before_replace,
            "ignore_changes": sorted(r.ignore_changes),
        }
        for r in run.resources if r.custom
    }


def _example(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ps.ROOT / f"examples/Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return copy.deepcopy(document["config"]["irisbackup:settings"])


@pytest.mark.parametrize("stack", ["generated-2", "prod", "dev"])
def test_flat_baseline_declares_exactly_what_ours_declares(stack):
    settings = ps.generate_settings(2) if stack == "generated-2" else _example(stack)
    settings["health"] = {"enabled": False}  # the flat baseline has no health alerts (bench/program_scale.py)
    ours, flat = _plan("ours", settings), _plan("flat", settings)
    ours_sig, flat_sig = _signature(ours), _signature(flat)
    assert sorted(ours_sig) == sorted(flat_sig)
    for key, expected in ours_sig.items():
        assert flat_sig[key] == expected, key
    # Only ours has component resources; the flat program has nothing but the Azure/command resources.
    assert all(r.custom for r in flat.resources)
    assert any(not r.custom for r in ours.resources)
    assert flat.outputs == ours.outputs


def test_program_imports_lists_submodules():
    modules = ps.program_imports(ps.PROGRAMS["flat"])
    assert "pulumi_azure_native.recoveryservices" in modules and "pulumi_command.remote" in modules
    assert "irisbackup.backup_stack" in ps.program_imports(ps.PROGRAMS["ours"])


def test_code_origin_separates_ours_from_the_sdks():
    site = "/x/venv/lib/python3.11/site-packages/"
    assert ps.code_origin(str(ps.ROOT / "irisbackup" / "vault" / "vault.py"), "f") == ps.ORIGINS[0]
    assert ps.code_origin(str(ps.ROOT / "__main__.py"), "<module>") == ps.ORIGINS[0]
    assert ps.code_origin(str(ps.ROOT / "offline_plan" / "engine.py"), "f") == ps.ORIGINS[1]
    assert ps.code_origin(site + "pulumi/output.py", "apply") == ps.ORIGINS[2]
    assert ps.code_origin("/usr/lib/python3.11/asyncio/base_events.py", "_run_once") == ps.ORIGINS[3]
    assert ps.code_origin(site + "pulumi_azure_native/recoveryservices/vault.py", "f") == ps.ORIGINS[4]
    assert ps.code_origin("~", "<method 'poll' of 'select.epoll' objects>") == ps.ORIGINS[9]


def test_linear_fit_and_summaries():
    fit = ps.linear_fit([1, 10, 50, 200], [2 + 0.14 * x for x in (1, 10, 50, 200)])
    assert fit["slope"] == pytest.approx(0.14) and fit["intercept"] == pytest.approx(2) and fit["r2"] == pytest.approx(1)
    s = ps.summary([3.0, 1.0, 2.0])
    assert (s["median"], s["min"], s["max"], s["n"]) == (2.0, 1.0, 3.0, 3)
    assert ps.spread(s) == "2.00 (1.00-3.00)"
    assert ps.spread(s, 0, 1000) == "2000 (1000-3000)"
