#!/usr/bin/env python3
"""Self-test of arm_validate; exits non-zero on failure. Needs only the standard library.

Checks that every $ref reachable from each RESOURCES entry resolves, and that a few inputs
(written the way a Pulumi mock records them: camelCase, numbers as floats) give known results.

    python3 tools/arm-validate/selftest.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import arm_requests  # noqa: E402
import arm_validate  # noqa: E402

SECURITY_RULE = {
    "resourceGroupName": "rg-app", "networkSecurityGroupName": "nsg-app",
    "securityRuleName": "allow-azure-backup-out", "direction": "Outbound", "access": "Allow",
    "protocol": "Tcp", "priority": 200.0, "sourceAddressPrefix": "VirtualNetwork",
    "sourcePortRange": "*", "destinationAddressPrefix": "AzureBackup",
    "destinationPortRange": "443",
}
VAULT = {
    "resourceGroupName": "rg-backup", "vaultName": "rsv-prod", "location": "westeurope",
    "sku": {"name": "RS0", "tier": "Standard"}, "identity": {"type": "SystemAssigned"},
    "properties": {"publicNetworkAccess": "Disabled", "securitySettings": {
        "softDeleteSettings": {"softDeleteState": "AlwaysON",
                               "softDeleteRetentionPeriodInDays": 14.0}}},
}
VAULT_BAD_SOFT_DELETE = {**VAULT, "properties": {"securitySettings": {
    "softDeleteSettings": {"softDeleteState": "Sometimes"}}}}
VM_EXTENSION = {
    "resourceGroupName": "rg-app", "vmName": "vm-app", "publisher": "Microsoft.Azure.Monitor",
    "type": "AzureMonitorLinuxAgent", "typeHandlerVersion": "1.29",
    "protectedSettings": {arm_validate.SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270",
                          "value": {"workspaceKey": "x"}},
}
POLICY_UNKNOWN_KIND = {
    "resourceGroupName": "rg-backup", "vaultName": "rsv-prod",
    "properties": {"backupManagementType": "AzureIaasVm"},
}

CASES = [  # (type token, inputs, expected str(problem) list)
    ("azure-native:network:SecurityRule", SECURITY_RULE, []),
    ("azure-native:network:SecurityRule", {**SECURITY_RULE, "priority": "high"},
     ["properties.priority: expected integer, got str 'high'"]),
    ("azure-native:network:SecurityRule", {**SECURITY_RULE, "provisioningState": "Succeeded"},
     ["properties.provisioningState: read-only property is set"]),
    ("azure-native:recoveryservices:Vault", VAULT, []),
    ("azure-native:recoveryservices:Vault", VAULT_BAD_SOFT_DELETE,
     ["properties.securitySettings.softDeleteSettings.softDeleteState: 'Sometimes' not in "
      "[Invalid, Enabled, Disabled, AlwaysON] (modelAsString: ARM may accept it)"]),
    ("azure-native:compute:VirtualMachineExtension", VM_EXTENSION, []),
    ("azure-native:recoveryservices:ProtectionPolicy", POLICY_UNKNOWN_KIND,
     ["properties.backupManagementType: 'AzureIaasVm' selects no subtype of ProtectionPolicy; "
      "expected one of [AzureWorkload, AzureStorage, AzureIaasVM, AzureSql, "
      "GenericProtectionPolicy, MAB, ProtectionPolicy]"]),
]


_RG = "/subscriptions/s/resourceGroups/rg/providers"
RESTORE_PATH = (f"{_RG}/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/c"
                "/protectedItems/i/recoveryPoints/rp0/restore")
RESTORE = {"properties": {"objectType": "IaasVMRestoreRequest", "recoveryType": "RestoreDisks",
                          "recoveryPointId": "rp0", "restoreWithManagedDisks": True}}
NIC_PATH = f"{_RG}/Microsoft.Network/networkInterfaces/nic1"
NIC = {"location": "westeurope", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {
    "privateIPAllocationMethod": "Dynamic", "subnet": {"id": "/subscriptions/s/x"}}}]}}
V1, V5 = {"api-version": "2024-10-01"}, {"api-version": "2024-05-01"}

REQUEST_CASES = [  # (method, path, query, body, expected str(problem) list of errors)
    ("POST", RESTORE_PATH, V1, RESTORE, []),
    ("POST", RESTORE_PATH, V1, {"properties": {**RESTORE["properties"], "restoreWithManagedDisks": "yes"}},
     ["properties.restoreWithManagedDisks: expected boolean, got str 'yes'"]),
    ("POST", RESTORE_PATH, {"api-version": "2023-01-01"}, RESTORE,
     ["api-version: '2023-01-01', the spec is 2024-10-01 (Restores_Trigger)"]),
    ("PUT", NIC_PATH, V5, NIC, []),
    ("PUT", NIC_PATH, V5, {**NIC, "etag": "x"}, ["etag: read-only property is set"]),
    ("GET", f"{_RG}/Microsoft.Network/networkInterfaces", V5, None, []),
    ("DELETE", f"{_RG}/Microsoft.Compute/disks/d1", {"api-version": "2024-03-02"}, None, []),
]


def request_failures() -> list[str]:
    failures = []
    for operation in arm_requests.operations():  # partial extracts: only the listed gaps may dangle
        gaps = {ref.rpartition("/")[2] for ref in arm_requests.unresolved(operation)} - arm_requests.NOT_EXTRACTED
        failures += [f"{operation.node.get('operationId')}: unresolved {gap}" for gap in sorted(gaps)]
    for method, path, query, body, expected in REQUEST_CASES:
        got = [str(p) for p in arm_requests.check_request(method, path, query, body) if p.severity == "error"]
        if got != expected:
            failures.append(f"{method} {path}: expected {expected}, got {got}")
    return failures


def ref_failures() -> list[str]:
    failures = []
    for token in arm_validate.RESOURCES:
        try:
            missing = arm_validate.unresolved_refs(token)
        except (KeyError, OSError) as error:  # spec file or PUT path not found
            missing = [f"cannot read PUT operation: {error!r}"]
        failures += [f"{token}: unresolved {ref}" for ref in missing]
    return failures


def case_failures() -> list[str]:
    failures = []
    for token, inputs, expected in CASES:
        got = [str(problem) for problem in arm_validate.validate(token, inputs)]
        if got != expected:
            failures.append(f"{token}: expected {expected}, got {got}")
    return failures


def main() -> int:
    failures = ref_failures() + case_failures() + request_failures()
    for failure in failures:
        print("FAIL", failure)
    status = "FAILED" if failures else "ok"
    print(f"selftest: {len(arm_validate.RESOURCES)} resource types, {len(CASES)} cases, "
          f"{len(arm_requests.operations())} request operations, {len(REQUEST_CASES)} request cases: {status}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
