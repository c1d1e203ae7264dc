"""The fake Azure checks every request against the ARM spec extracts (tools/arm-validate/arm_requests.py).

A drill run that sends something the spec rejects fails its test (assert_safe: fake.violations == []);
these cases show that each kind of spec violation is caught, through the real SDK clients where the
drill sends it. Schema validity is not drill safety: OriginalLocation is schema-valid and refused by
drill/safety.py (test_safety_and_cli.py)."""

import json

import pytest
from azure_harness import SANDBOX_RG, make_drill
from fake_azure import SUB, Scenario
from arm_requests import check_request

from drill.safety import SafetyError, check_restore

VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-iris-backup-prod/providers/Microsoft.RecoveryServices/vaults/rsv-iris-prod"
ITEM = (f"{VAULT}/backupFabrics/Azure/protectionContainers/iaasvmcontainer%3Biaasvmcontainerv2%3Brg%3Bvm"
        "/protectedItems/vm%3Biaasvmcontainerv2%3Brg%3Bvm")
RESTORE = f"{ITEM}/recoveryPoints/rp0/restore"
SANDBOX = f"/subscriptions/{SUB}/resourceGroups/{SANDBOX_RG}"
VM = f"{SANDBOX}/providers/Microsoft.Compute/virtualMachines/drill-vm"
BACKUP, COMPUTE = {"api-version": "2024-10-01"}, {"api-version": "2024-11-01"}


def restore_body(**changes):
    props = {"objectType": "IaasVMRestoreRequest", "recoveryPointId": "rp0", "recoveryType": "RestoreDisks",
             "sourceResourceId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
             "storageAccountId": f"{SANDBOX}/providers/Microsoft.Storage/storageAccounts/st",
             "targetResourceGroupId": SANDBOX, "region": "westeurope", "restoreWithManagedDisks": True}
    return {"properties": {**props, **changes}}


def vm_body(**properties):
    disk = {"createOption": "Attach", "managedDisk": {"id": f"{SANDBOX}/providers/Microsoft.Compute/disks/os"}}
    return {"location": "westeurope", "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v3"},
                                                      "storageProfile": {"osDisk": disk}, **properties}}


def errors(method, path, query, body):
    return [str(p) for p in check_request(method, path, query, body) if p.severity == "error"]


def test_a_body_the_spec_rejects_fails_the_drill_through_the_real_sdk_client():
    drill, fake, _ = make_drill(Scenario())
    sandbox = drill.config.sandbox
    raw = json.dumps(restore_body(storageAccountId=sandbox.staging_account_id,
                                  targetResourceGroupId=sandbox.resource_group_id,
                                  createNewCloudService="no", targetVmName="x"))
    drill.azure.backup.restores.begin_trigger(
        "rsv-iris-prod", "rg-iris-backup-prod", "Azure", "c", "i", "rp0", raw.encode(), polling=False).result()
    assert [v.split(": ", 1)[1] for v in fake.violations] == [
        "properties.createNewCloudService: expected boolean, got str 'no'",
        "properties.targetVmName: unknown property"]


def test_the_drill_restore_body_is_valid_and_original_location_is_schema_valid_but_refused():
    assert errors("POST", RESTORE, BACKUP, restore_body()) == []
    assert errors("POST", RESTORE, BACKUP, restore_body(recoveryType="OriginalLocation")) == []
    with pytest.raises(SafetyError, match="RestoreDisks"):
        check_restore(restore_body(recoveryType="OriginalLocation")["properties"], drill_sandbox())


def drill_sandbox():
    return make_drill(Scenario())[0].config.sandbox


@pytest.mark.parametrize("changes, expected", [
    ({"objectType": "IaasVmRestoreRequest"}, "properties.objectType: 'IaasVmRestoreRequest' selects no subtype"),
    ({"objectType": "IaasVMRestoreWithRehydrationRequest"},
     "properties.objectType: subtype IaasVMRestoreWithRehydrationRequest is not in the extract"),
    ({"restoreDiskLunList": ["0"]}, "properties.restoreDiskLunList[0]: expected integer"),
    ({"targetDiskNetworkAccessSettings": {"targetDiskNetworkAccessOption": "Private"}},
     "'Private' not in [SameAsOnSourceDisks, EnablePrivateAccessForAllDisks, EnablePublicAccessForAllDisks]"),
])
def test_restore_request_schema_errors(changes, expected):
    problems = errors("POST", RESTORE, BACKUP, restore_body(**changes))
    assert expected in problems[0]


def test_restore_enum_outside_a_model_as_string_list_is_a_warning_not_an_error():
    problems = check_request("POST", RESTORE, BACKUP, restore_body(recoveryType="Sideways"))
    assert [(p.path, p.severity) for p in problems] == [("properties.recoveryType", "warning")]


@pytest.mark.parametrize("body, expected", [
    (vm_body(), []),
    (vm_body(provisioningState="Succeeded"), ["properties.provisioningState: read-only property is set"]),
    (vm_body(diagnosticsProfile={"bootDiagnostics": {"enabled": "yes"}}),
     ["properties.diagnosticsProfile.bootDiagnostics.enabled: expected boolean, got str 'yes'"]),
    (vm_body(storageProfile={"dataDisks": [{"lun": 0}]}),
     ["properties.storageProfile.dataDisks[0].createOption: required property is missing"]),
    (vm_body(osProfile={"computerName": "x"}),
     ["body: schema not in the extract: 'OSProfile'"]),
])
def test_vm_create_body(body, expected):
    got = errors("PUT", VM, COMPUTE, body)
    assert len(got) == len(expected) and all(e in g for e, g in zip(expected, got))


def test_path_api_version_and_query_are_checked():
    assert errors("GET", f"{VM}/instanceView", COMPUTE, None) == []
    assert errors("GET", f"{VM}/instanceView", {"api-version": "2024-07-01"}, None) == [
        "api-version: '2024-07-01', the spec is 2024-11-01 (VirtualMachines_InstanceView)"]
    assert errors("GET", f"{VM}/runCommands/rc", {**COMPUTE, "$expand": "instanceView"}, None) == []
    assert errors("GET", f"{VM}/instanceView", {**COMPUTE, "$expand": "all"}, None) == [
        "$expand: query parameter not declared by the operation"]
    assert errors("GET", f"{VM}/instanceview/extra", COMPUTE, None)[0].startswith("path: no operation GET")
    assert errors("DELETE", VM, COMPUTE, {"force": True}) == ["body: the operation takes no body"]
    assert errors("PATCH", f"{SANDBOX}/providers/Microsoft.Compute/disks/d", {"api-version": "2024-03-02"},
                  {"tags": {"a": "b"}, "location": "westeurope"}) == ["location: unknown property"]
