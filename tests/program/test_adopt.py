"""`make adopt`: the import file names exactly the resources the program declares, each by the ID Azure
gives it (the REST path of its PUT, filled from what the program sends), with the URNs of the plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from adopt.imports import ADOPTED, EXTENSION, GUARD_PROXY, POLICY, PROTECTED_ITEM, VAULT, AdoptionError, import_file
from irisbackup.settings import parse_settings
from offline_plan.engine import PlanRun, Registration
from tests.program.harness import ROOT, example_settings, run_with_settings

sys.path.insert(0, str(ROOT / "tools" / "arm-validate"))
import arm_validate  # noqa: E402


def _variants() -> list[tuple[str, dict]]:
    prod_with_extension = example_settings("prod")
    prod_with_extension["vms"][0]["manageExtension"] = True  # Azure Backup's extension exists on a protected VM
    return [("dev", example_settings("dev")), ("prod", example_settings("prod")), ("prod", prod_with_extension)]


@pytest.fixture(scope="module", params=_variants(), ids=["dev", "prod", "prod-managed-extension"])
def adoption(request) -> tuple[PlanRun, dict, dict]:
    stack, settings = request.param
    run = run_with_settings(settings, stack=stack)
    return run, settings, import_file(run, parse_settings(settings))


def _chain(resource: Registration, by_urn: dict[str, Registration]) -> tuple[tuple[str, str], ...]:
    """(type, name) of a resource and each parent up to the stack: what its real URN is made of (the mock
    engine's URNs keep only one parent type, Pulumi's keep the whole chain)."""
    parent = by_urn.get(resource.parent)
    return ((resource.type, resource.name), *(_chain(parent, by_urn) if parent else ()))


def _entries_by_urn(run: PlanRun, document: dict) -> dict[str, dict]:
    """The plan resource each entry becomes: the one whose type/name chain the entry's parents repeat."""
    by_name = {entry["name"]: entry for entry in document["resources"]}
    by_urn = {resource.urn: resource for resource in run.resources}
    by_chain = {_chain(resource, by_urn): urn for urn, resource in by_urn.items()}

    def chain(entry: dict) -> tuple[tuple[str, str], ...]:
        return ((entry["type"], entry["logicalName"]), *(chain(by_name[entry["parent"]]) if "parent" in entry else ()))

    found = {}
    for entry in document["resources"]:
        assert chain(entry) in by_chain, f"{entry['name']}: the program declares nothing at {chain(entry)}"
        found[by_chain[chain(entry)]] = entry
    return found


def _arm_id(type_token: str, inputs: dict, subscription: str) -> str:
    """The resource's ID: its PUT path in Azure's REST spec, with the path parameters the program sends."""
    values = {**inputs, "subscriptionId": subscription}
    return re.sub(r"{(\w+)}", lambda match: values[match[1]], arm_validate.RESOURCES[type_token].put_path)


def test_every_id_is_the_id_of_what_the_program_declares_under_that_urn(adoption):
    run, settings, document = adoption
    by_urn = {resource.urn: resource for resource in run.resources}
    subscription = settings["resourceGroupId"].split("/")[2]
    for urn, entry in _entries_by_urn(run, document).items():
        declared = by_urn[urn]
        assert entry["type"] == declared.type and entry["logicalName"] == declared.name
        if declared.custom:
            assert entry["id"] == _arm_id(declared.type, declared.inputs, subscription), urn
            assert "component" not in entry
        else:
            assert entry == {**entry, "component": True} and "id" not in entry


def test_the_file_adopts_every_vault_policy_protected_item_and_snapshot_extension_and_nothing_new(adoption):
    run, settings, document = adoption
    by_urn = {resource.urn: resource for resource in run.resources}
    expected = {resource.urn for resource in run.resources
                if resource.custom and ADOPTED.get(resource.type) == getattr(by_urn.get(resource.parent), "type", None)}
    adopted = {urn for urn, entry in _entries_by_urn(run, document).items() if "id" in entry}
    assert adopted == expected
    counts = {kind: sum(by_urn[urn].type == kind for urn in adopted) for kind in ADOPTED}
    managed = sum(bool(vm.get("manageExtension")) and not vm.get("retired") for vm in settings["vms"])
    guarded = int(bool(settings["vault"].get("resourceGuardId")))
    assert counts == {VAULT: 1, POLICY: len(settings["policies"]), PROTECTED_ITEM: len(settings["vms"]), EXTENSION: managed,
                      GUARD_PROXY: guarded}
    # New resources stay new: the monitor agent's extension, NSG rules, hooks, locks are not imported.
    assert all(by_urn[urn].type in ADOPTED for urn in adopted)


def test_protected_item_ids_have_the_iaas_vm_container_form(adoption):
    _, settings, document = adoption
    vault = f"{settings['resourceGroupId']}/providers/Microsoft.RecoveryServices/vaults/{settings['vault']['name']}"
    items = sorted(entry["id"] for entry in document["resources"] if entry["type"] == PROTECTED_ITEM)
    expected = []
    for vm in settings["vms"]:
        _, _, _, _, group, _, _, _, name = vm["id"].split("/")
        expected.append(f"{vault}/backupFabrics/Azure/protectionContainers/iaasvmcontainer;iaasvmcontainerv2;{group};{name}"
                        f"/protectedItems/vm;iaasvmcontainerv2;{group};{name}")
    assert items == sorted(expected)


def test_the_file_is_what_pulumi_import_reads(adoption):
    _, _, document = adoption
    names = [entry["name"] for entry in document["resources"]]
    assert len(set(names)) == len(names)  # parents are referred to by name
    for entry in document["resources"]:
        assert set(entry) <= {"type", "name", "logicalName", "parent", "id", "component"}
        assert entry.get("parent", names[0]) in names
        assert ("id" in entry) != entry.get("component", False)
    json.dumps(document)


def _adopt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adopt", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_writes_the_file_for_a_stack_and_refuses_bad_input_clearly(tmp_path):
    out = tmp_path / "adopt.json"
    result = _adopt("--stack", "prod", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert sum("id" in entry for entry in document["resources"]) == 7 and "pulumi import --file" in result.stderr
    missing = _adopt("--stack", "nosuchstack")
    assert missing.returncode == 2 and "no stack file Pulumi.nosuchstack.yaml" in missing.stderr and not missing.stdout
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text((ROOT / "examples/Pulumi.dev.yaml").read_text().replace("resourceGroupId: /subscriptions/", "resourceGroupId: /subscription/", 1))
    invalid = _adopt("--stack", "bad", "--stack-file", str(bad))
    assert invalid.returncode == 2 and "resourceGroupId" in invalid.stderr and "Traceback" not in invalid.stderr


def test_readme_and_docs_describe_the_adoption_path():
    readme = (ROOT / "README.md").read_text()
    assert "docs/adoption.md" in readme
    doc = (ROOT / "docs/adoption.md").read_text()
    for needed in ("make adopt STACK=", "pulumi import --file", "--generate-code=false", "pulumi preview"):
        assert needed in doc, needed
    for kind in ADOPTED:
        assert f"`{kind}`" in doc, kind


def test_policies_and_vms_that_do_not_exist_yet_are_left_for_pulumi_up_to_create():
    settings = example_settings("prod")
    run = run_with_settings(settings, stack="prod")
    parsed = parse_settings(settings)
    everything = import_file(run, parsed)
    vm, policy = parsed.vms[0].name, next(iter(settings["policies"]))
    fewer = import_file(run, parsed, frozenset({vm, policy}))
    left_out = [entry for entry in everything["resources"] if entry not in fewer["resources"]]
    assert sorted((entry["type"], entry["logicalName"]) for entry in left_out) == sorted([
        ("irisbackup:vm:ProtectedVm", vm), (PROTECTED_ITEM, f"{vm}-protected-item"),
        ("irisbackup:policy:BackupPolicy", policy), (POLICY, f"{policy}-policy")])
    with pytest.raises(AdoptionError, match=r"--new vm-typo: not a policy, VM or resource guard link of this stack; these are: .*rsv-iris-prod-guard.*vm-iris-prod-1"):
        import_file(run, parsed, frozenset({"vm-typo"}))
