"""The NSG egress the stack's features need (irisbackup/network/egress_spec.py): per feature combination, the
invariants every combination keeps, and that the plan declares and the policy pack accepts exactly it."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from irisbackup.network.egress_spec import (
    EGRESS_PRIORITY_SLOTS,
    SERVICE_TAG_REGIONS,
    allowed_destinations,
    regional_tag,
    required_egress,
    rules_for,
)
from irisbackup.settings import parse_settings
from policy.offline import settings_config
from tests.policy.policyharness import checked
from tests.program.harness import ROOT, of_type, run_with_settings

RULE = "azure-native:network:SecurityRule"
WORKSPACE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
KEY_VAULT = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-iris"
DEV_NSG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-iris-dev/providers/microsoft.network/networksecuritygroups/nsg-iris-dev"
OTHER_NSG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-iris-dev/providers/Microsoft.Network/networkSecurityGroups/nsg-other"
STORAGE, MONITOR, ARM, CLOUD = "Storage.WestEurope", "AzureMonitor", "AzureResourceManager", "AzureCloud.westeurope"


def dev_vm(settings: dict[str, Any], *, health: bool = False, delivery: str = "ssh", consistency: str = "application",
           retired: bool = False, key_vault: bool = False) -> dict[str, Any]:
    """The dev stack with its one VM set up for the given features."""
    settings = copy.deepcopy(settings)
    vm = settings["vms"][0]
    if health:
        settings["vault"]["diagnostics"] = {"workspaceId": WORKSPACE}
        vm["identity"] = "systemAssigned"
    if key_vault:
        vm["identity"] = "systemAssigned"
        vm.setdefault("hooks", {})["keyVaultCredentials"] = {"vaultId": KEY_VAULT, "secretName": "iris-freeze"}
    if delivery == "runCommand":
        vm["delivery"] = "runCommand"
        del vm["ssh"]
    vm["consistency"] = consistency
    vm["retired"] = retired
    return settings


def destinations(settings: dict[str, Any], nsg: str = DEV_NSG) -> list[str]:
    return [rule.destination for rule in required_egress(parse_settings(settings))[nsg.lower()]]


@pytest.mark.parametrize("features, expected", [
    ({}, [STORAGE]),
    ({"health": True}, [STORAGE, MONITOR, ARM]),
    ({"delivery": "runCommand"}, [STORAGE, CLOUD]),
    ({"health": True, "delivery": "runCommand"}, [STORAGE, MONITOR, ARM, CLOUD]),
    # The agent collects only hook verdicts: a crash-consistent or retired VM sends none.
    ({"health": True, "consistency": "crash"}, [STORAGE]),
    ({"health": True, "retired": True}, [STORAGE]),
    # Their deliberate uninstall is a run command too, and it must report back.
    ({"delivery": "runCommand", "consistency": "crash"}, [STORAGE, CLOUD]),
    ({"delivery": "runCommand", "retired": True}, [STORAGE, CLOUD]),
    ({"key_vault": True}, [STORAGE, "AzureKeyVault"]),
])
def test_each_feature_adds_its_documented_destinations(dev_settings, features, expected):
    assert destinations(dev_vm(dev_settings, **features)) == expected


def test_a_feature_opens_only_the_nsgs_of_the_vms_that_need_it(dev_settings):
    settings = dev_vm(dev_settings, health=True, delivery="runCommand")
    settings["networkSecurityGroups"].append({"id": OTHER_NSG, "firstPriority": 500})
    # Backup egress on every declared NSG (as in every earlier release); the rest only where the VM is.
    assert destinations(settings, OTHER_NSG) == [STORAGE]
    assert destinations(settings) == [STORAGE, MONITOR, ARM, CLOUD]
    settings["vms"][0]["networkSecurityGroups"] = [OTHER_NSG]
    assert destinations(settings) == [STORAGE]
    assert destinations(settings, OTHER_NSG) == [STORAGE, MONITOR, ARM, CLOUD]


def test_the_restore_drill_adds_nothing_to_production_nsgs(prod_settings):
    # Its restored VMs sit behind the sandbox's own NSG (irisbackup/drill/drill_isolation.py).
    with_drill = required_egress(parse_settings(prod_settings))
    prod_settings["drill"] = {"enabled": False}
    assert required_egress(parse_settings(prod_settings)) == with_drill


COMBINATIONS = list(itertools.product([False, True], ["ssh", "runCommand"], ["application", "crash"], [False, True],
                                      [False, True]))


@pytest.mark.parametrize("health, delivery, consistency, retired, key_vault", COMBINATIONS)
def test_every_combination_keeps_slots_names_and_spelling(dev_settings, health, delivery, consistency, retired, key_vault):
    settings = parse_settings(dev_vm(dev_settings, health=health, delivery=delivery, consistency=consistency,
                                     retired=retired, key_vault=key_vault))
    full = {rule.key: rule for rule in required_egress(
        parse_settings(dev_vm(dev_settings, health=True, delivery="runCommand", key_vault=True)))[DEV_NSG]}
    # Key Vault egress exactly where hooks fetch credentials (an application-consistent VM still in service).
    assert any(rule.feature == "keyVault" for rule in required_egress(settings)[DEV_NSG]) == (
        key_vault and consistency == "application" and not retired)
    rules = required_egress(settings)[DEV_NSG]
    # A feature's rule is the same whichever others are on: switching one never renumbers or renames another.
    assert all(rule == full[rule.key] for rule in rules)
    slots = [rule.slot for rule in rules]
    assert slots == sorted(set(slots)) and all(0 <= slot < EGRESS_PRIORITY_SLOTS for slot in slots)
    assert len({rule.name for rule in rules}) == len(rules)
    # The backup rule keeps the name and slot of every earlier release (an in-place update).
    assert (rules[0].name, rules[0].slot, rules[0].key) == ("Allow-AzureBackup-Storage-Https-Outbound", 0, "storage")
    for rule in rules:
        assert rule.destination not in {"*", "Internet", "Storage", "AzureCloud"}  # never a global tag or anywhere
        assert rule.destination in allowed_destinations(settings)["rg-iris-dev/nsg-iris-dev"]
        assert rule.source.startswith("learn.microsoft.com/")


def test_service_tags_are_spelt_as_azures_list_spells_them():
    assert regional_tag("Storage", "westeurope") == "Storage.WestEurope"
    assert regional_tag("Storage", "eastus2") == "Storage.EastUS2"
    # AzureCloud's regional tags keep the location name (AzureCloud.westeurope in the service tag list).
    assert regional_tag("AzureCloud", "westeurope") == "AzureCloud.westeurope"
    for location, region in SERVICE_TAG_REGIONS.items():
        assert region.lower() == location and region[0].isupper()
    with pytest.raises(KeyError):
        regional_tag("Storage", "westeurope9")


def test_the_plan_declares_exactly_the_derived_rules_and_the_pack_accepts_exactly_their_destinations(prod_settings):
    settings = parse_settings(prod_settings)
    run = run_with_settings(prod_settings)
    declared = {(r.inputs["networkSecurityGroupName"], r.inputs["securityRuleName"], r.inputs["priority"],
                 r.inputs["destinationAddressPrefix"], r.inputs["destinationPortRange"]) for r in of_type(run, RULE)}
    priorities = {str(nsg.id).lower(): (nsg.id.name, nsg.first_priority) for nsg in settings.network_security_groups}
    derived = {(priorities[nsg][0], rule.name, priorities[nsg][1] + rule.slot, rule.destination, "443")
               for nsg, rules in required_egress(settings).items() for rule in rules}
    assert declared == derived
    assert settings_config(prod_settings)["network-egress-only"] == {
        "allowedDestinations": {"rg-iris-prod/nsg-iris-data": [CLOUD, MONITOR, ARM, STORAGE]}}
    assert checked("prod", prod_settings, registrations=run.resources).passed


def test_the_docs_table_lists_every_rule_with_its_slot_and_microsofts_source():
    text = (ROOT / "docs" / "network-and-rbac.md").read_text()
    section = text[text.index("## Network egress per feature"):]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for rule in rules_for({"backup", "health", "runCommand", "keyVault"}, "westeurope"):
        [row] = [line for line in rows if f"`{rule.name}`" in line]
        priority = "firstPriority" + (f" + {rule.slot}" if rule.slot else "")
        assert priority in row or f"+ {rule.slot}" in row, (rule.name, row)
        # The article the code cites is the one the table links.
        article = rule.source.split(",")[0].split(":")[0].removeprefix("learn.microsoft.com")
        assert article in row, (rule.name, article)
        tag = rule.destination.split(".")[0]
        assert f"`{tag}" in row, (rule.name, tag)


def test_readme_and_configuration_promise_what_the_derivation_does():
    checklist = " ".join((ROOT / "README.md").read_text().split())
    for destination in ("`Storage.<Region>`", "`AzureMonitor`", "`AzureResourceManager`", "`AzureCloud.<region>`"):
        assert destination in checklist, destination
    assert f"`firstPriority` to `firstPriority + {EGRESS_PRIORITY_SLOTS - 1}`" in checklist
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    assert f"`{{id, firstPriority: 100-{4096 - EGRESS_PRIORITY_SLOTS + 1}}}`" in configuration
    assert "| `vms[].identity` | none | `systemAssigned`, or a user-assigned identity ID |" in configuration
