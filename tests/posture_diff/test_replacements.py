"""What Pulumi deletes or replaces among vaults, policies and protected items, read from two plans."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from offline_plan.engine import run_program
from offline_plan.posture import POLICY, PROTECTED_ITEM, VAULT
from offline_plan.render import to_json
from offline_plan.stack_file import StackConfig
from offline_plan.urns import plan_urns
from posture_diff.resources import GUARDED, resource_changes
from tests.program.harness import example_settings, run_with_settings


def plan_of(settings: dict[str, Any]) -> dict[str, Any]:
    return json.loads(to_json(run_with_settings(settings, "prod")))


@pytest.fixture(scope="module")
def prod():
    settings = example_settings("prod")
    return settings, plan_of(settings)


def guarded(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [resource for resource in plan["resources"] if resource["type"] in GUARDED]


def classes(change) -> set[str]:
    return set(change.to_json()["classes"])


def set_input(resource: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = resource["inputs"]
    for key in parents:
        node = node[key]
    node[last] = value


def test_the_same_plan_deletes_and_replaces_nothing(prod):
    _, plan = prod
    assert {resource["type"] for resource in guarded(plan)} == {VAULT, POLICY, PROTECTED_ITEM}
    assert resource_changes(plan, copy.deepcopy(plan)) == []


def test_every_replace_on_change_input_of_every_guarded_resource_is_a_blocking_replace(prod):
    _, plan = prod
    for index, resource in enumerate(plan["resources"]):
        rule = GUARDED.get(resource["type"])
        for dotted in rule.replace_on_change if rule else ():
            head = copy.deepcopy(plan)
            old = json.dumps(head["resources"][index]["inputs"])
            set_input(head["resources"][index], dotted, "changed")
            assert json.dumps(head["resources"][index]["inputs"]) != old, (resource["name"], dotted)
            [change] = resource_changes(plan, head)
            assert change.path == resource["urn"] and change.after == {dotted: "changed"}, (resource["name"], dotted)
            assert classes(change) == {"regression", "data loss"} and change.blocking
            assert "REPLACED" in change.message and dotted in change.message


def test_every_guarded_resource_gone_or_renamed_without_an_alias_is_a_blocking_delete(prod):
    _, plan = prod
    for resource in guarded(plan):
        gone = copy.deepcopy(plan)
        gone["resources"] = [r for r in gone["resources"] if r["urn"] != resource["urn"]]
        [change] = resource_changes(plan, gone)
        assert (change.path, change.after, classes(change)) == (resource["urn"], None, {"regression", "data loss"})
        assert "no longer declares it" in change.message

        renamed = copy.deepcopy(plan)
        [twin] = [r for r in renamed["resources"] if r["urn"] == resource["urn"]]
        twin["urn"] = resource["urn"].replace(f"::{resource['name']}", f"::{resource['name']}-renamed")
        [change] = resource_changes(plan, renamed)
        assert change.blocking and f"declares it as {twin['urn']}" in change.message, resource["name"]

        twin["aliases"] = [resource["urn"]]
        assert resource_changes(plan, renamed) == [], f"an alias to the old URN keeps {resource['name']}"


def test_a_resource_retained_on_delete_loses_no_data(prod):
    _, plan = prod
    base = copy.deepcopy(plan)
    item = next(r for r in base["resources"] if r["type"] == PROTECTED_ITEM)
    item["options"]["retainOnDelete"] = True
    head = copy.deepcopy(plan)
    head["resources"] = [r for r in head["resources"] if r["urn"] != item["urn"]]
    [change] = resource_changes(base, head)
    assert classes(change) == {"regression"} and not change.blocking and "Azure keeps" in change.message


def test_a_vm_moving_to_another_resource_group_replaces_its_protected_item(prod):
    settings, plan = prod
    moved = copy.deepcopy(settings)
    moved["vms"][0]["id"] = moved["vms"][0]["id"].replace("/resourceGroups/rg-iris-prod/", "/resourceGroups/rg-iris-new/")
    [change] = resource_changes(plan, plan_of(moved))
    assert change.path.endswith("$azure-native:recoveryservices:ProtectedItem::vm-iris-prod-1-protected-item")
    assert set(change.after) == {"containerName", "protectedItemName", "properties.sourceResourceId"}
    assert all("rg-iris-new" in value for value in change.after.values()) and change.blocking


def test_a_new_vault_name_replaces_the_vault_and_everything_in_it(prod):
    settings, plan = prod
    renamed = copy.deepcopy(settings)
    renamed["vault"]["name"] = "rsv-iris-prod-2"
    changes = resource_changes(plan, plan_of(renamed))
    # the vault's name is in the URL path of its policies and items: they are replaced with it
    assert {change.path for change in changes} == {resource["urn"] for resource in guarded(plan)}
    assert all(change.blocking and "data loss" in classes(change) for change in changes)


def test_plans_written_without_urns_get_the_same_urns(prod):
    _, plan = prod
    stripped = [{key: value for key, value in r.items() if key not in ("urn", "aliases")} for r in plan["resources"]]
    assert [urn for urn, _ in plan_urns(stripped, "prod", "irisbackup")] == [r["urn"] for r in plan["resources"]]


ALIASED_PROGRAM = '''
import pulumi
from pulumi_azure_native import recoveryservices as rs


class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Box2", name, None, opts)
        rs.ProtectionPolicy("policy", resource_group_name="rg", vault_name="v", policy_name="p",
                            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


Box("box", pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="test:index:Box")]))
rs.Vault("vault-new", resource_group_name="rg", vault_name="v", location="westeurope",
         opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="vault-old")]))
'''


def test_aliases_the_program_declares_and_those_inherited_from_a_parent_claim_the_old_urns(tmp_path: Path):
    program = tmp_path / "__main__.py"
    program.write_text(ALIASED_PROGRAM)
    head = json.loads(to_json(run_program("t", StackConfig({}, []), program)))
    prefix = "urn:pulumi:t::irisbackup::"
    by_name = {r["name"]: r for r in head["resources"]}
    assert by_name["policy"]["urn"] == f"{prefix}test:index:Box2$azure-native:recoveryservices:ProtectionPolicy::policy"
    assert by_name["policy"]["aliases"] == [f"{prefix}test:index:Box$azure-native:recoveryservices:ProtectionPolicy::policy"]
    assert by_name["vault-new"]["aliases"] == [f"{prefix}azure-native:recoveryservices:Vault::vault-old"]
    # azure-native's aliases to older API versions of a type are not the program's: left out
    assert "aliases" not in by_name["vault-new"] or all("/v20" not in a for a in by_name["vault-new"]["aliases"])

    base = copy.deepcopy(head)
    by_base = {r["name"]: r for r in base["resources"]}
    for name in ("policy", "vault-new"):
        by_base[name]["urn"] = by_base[name].pop("aliases")[0]
    assert resource_changes(base, head) == []
    del by_name["policy"]["aliases"]
    [change] = resource_changes(base, head)
    assert change.path == by_base["policy"]["urn"] and change.blocking
