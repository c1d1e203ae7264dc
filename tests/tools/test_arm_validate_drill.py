"""arm-validate for the restore-drill sandbox's types: renamed and lean-extracted properties, and the
prod stack's sandbox as the program declares it."""

from tests.program.harness import example_settings, run_with_settings
from tests.tools import drill_declarations as drill
from tests.tools.test_arm_validate import arm_validate, messages, record  # puts tools/arm-validate on sys.path

DRILL_TYPES = set(drill.DRILL_KNOWN_GOOD)


def test_every_sandbox_resource_of_the_prod_stack_is_checked_and_valid():
    run = run_with_settings(example_settings("prod"))
    sandbox = [r for r in run.resources if r.custom and r.name.startswith("drill-")]
    assert {r.type for r in sandbox} == DRILL_TYPES
    for resource in sandbox:
        assert arm_validate.validate(resource.type, resource.inputs) == [], resource.name


def test_client_renamed_storage_properties_map_to_their_arm_names():
    token, inputs = record(drill.storage_account)
    _, body = arm_validate.to_arm_request(token, inputs)
    assert body["properties"]["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert body["properties"]["supportsHttpsTrafficOnly"] is True
    assert "networkRuleSet" not in body and "enableHttpsTrafficOnly" not in body


def test_storage_sku_and_role_principal_type_enums_are_checked():
    token, inputs = record(lambda: drill.storage_account(sku="Standard_Fast"))
    assert any(m.startswith("sku.name: 'Standard_Fast' not in") for m in messages(token, inputs, "warning") + messages(token, inputs))
    token, inputs = record(lambda: drill.role_assignment(principal_type="Robot"))
    assert any(m.startswith("properties.principalType: 'Robot' not in") for m in messages(token, inputs, "warning") + messages(token, inputs))


def test_read_only_subnet_properties_are_reported_without_their_lean_extract():
    token, inputs = record(drill.subnet)
    assert messages(token, {**inputs, "ipConfigurations": [{"id": "x"}]}) == [
        "properties.ipConfigurations: read-only property is set"]


def test_opaque_network_objects_are_free_form():
    token, inputs = record(drill.subnet)
    assert messages(token, {**inputs, "applicationGatewayIPConfigurations": [{"anything": 1}]}) == []
    assert messages(token, {**inputs, "applicationGatewayIpConfigurations": []}) != []


def test_role_definition_maps_to_its_arm_shape_and_rejects_unknown_permission_fields():
    token, inputs = record(drill.role_definition)
    path, body = arm_validate.to_arm_request(token, inputs)
    assert path["roleDefinitionId"] == "0b6f0f7e-2c3d-5e4f-8a9b-1c2d3e4f5a6b" and path["scope"] == drill.SANDBOX_ID
    assert body["properties"]["type"] == "CustomRole"  # azure-native's roleType is ARM's properties.type
    assert body["properties"]["assignableScopes"] == [drill.SANDBOX_ID]
    assert body["properties"]["permissions"] == [{"actions": ["Microsoft.Resources/subscriptions/resourceGroups/write"]}]
    assert messages(token, inputs) == []
    bad = {**inputs, "permissions": [{"actions": ["x"], "allowedActions": ["y"]}]}
    assert any("allowedActions" in m for m in messages(token, bad)), messages(token, bad)
