"""Resource ID parsing: the shapes the stack refers to existing resources by."""

import pytest

from irisbackup.azure_ids import parse_resource_group_id, parse_resource_id

SUB = "0a1b2c3d-0000-4000-8000-00000000abcd"
VM = f"/subscriptions/{SUB}/resourceGroups/rg-app.prod(1)/providers/Microsoft.Compute/virtualMachines/vm-1"


def test_vm_id_parts_and_round_trip():
    parsed = parse_resource_id(VM, "Microsoft.Compute/virtualMachines")
    assert (parsed.subscription_id, parsed.resource_group, parsed.name) == (SUB, "rg-app.prod(1)", "vm-1")
    assert str(parsed) == VM


def test_provider_and_type_match_case_insensitively_and_are_canonicalised():
    parsed = parse_resource_id(VM.replace("Microsoft.Compute/virtualMachines", "microsoft.compute/VIRTUALMACHINES"),
                               "Microsoft.Compute/virtualMachines")
    assert str(parsed) == VM


@pytest.mark.parametrize("bad", [
    "", "vm-1", f"/subscriptions/{SUB}/resourceGroups/rg", VM + "/extensions/x",
    VM.replace(SUB, "not-a-guid"), VM.replace("rg-app.prod(1)", "rg."), VM.replace("vm-1", "vm 1"),
])
def test_malformed_ids_are_rejected(bad):
    with pytest.raises(ValueError, match="expected a Microsoft.Compute/virtualMachines ID"):
        parse_resource_id(bad, "Microsoft.Compute/virtualMachines")


def test_wrong_type_says_what_it_is():
    with pytest.raises(ValueError, match=r"this ID is a Microsoft.Compute/virtualMachines"):
        parse_resource_id(VM, "Microsoft.Network/networkSecurityGroups")


def test_resource_group_id():
    assert parse_resource_group_id(f"/subscriptions/{SUB}/resourceGroups/rg-1/").resource_group == "rg-1"
    with pytest.raises(ValueError, match="expected a resource group ID"):
        parse_resource_group_id(VM)
