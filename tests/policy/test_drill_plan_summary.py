"""`make plan` shows the restore-drill sandbox to the reviewer, from what the program declares."""

from __future__ import annotations

from offline_plan.render import summary
from tests.program.harness import example_settings, run_with_settings


def drill_lines(settings) -> list[str]:
    lines = summary(run_with_settings(settings), settings)
    start = next(i for i, line in enumerate(lines) if line.startswith("  Restore drill sandbox"))
    return lines[start:]


def test_prod_shows_isolation_staging_account_and_every_grant():
    prod_settings = example_settings("prod")
    prod_settings["drill"]["addressPrefix"] = "10.254.8.0/26"
    header, nsg, account, identity, *custom = drill_lines(prod_settings)
    assert header == "  Restore drill sandbox rg-irisbackup-drill-test (westeurope): VNet 10.254.8.0/26, no public IP, no peering"
    assert nsg.startswith(
        "    NSG nsg-irisbackup-drill-test: Inbound Deny */* to * (priority 4096), "
        "Outbound Deny Tcp/1972,2188 to * (priority 100), "
        "Outbound Deny */* to 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10 (priority 110), "
        "Outbound Deny */* to VirtualNetwork (priority 120), "
        "Outbound Allow Tcp/443 to AzureCloud.westeurope (priority 200), Outbound Deny */* to * (priority 4096)")
    assert account.startswith("    staging account irisdrill") and account.endswith(
        ": Standard_LRS StorageV2, public blob access off, TLS TLS1_2, network default Deny (bypass AzureServices)")
    staging = account.split()[2].rstrip(":")
    target = "irisbackup-drill restore-target (rg-irisbackup-drill-test, 11111111-1111-1111-1111-111111111111)"
    source = "irisbackup-drill source-vm-restore (rg-irisbackup-drill-test, 11111111-1111-1111-1111-111111111111)"
    assert identity == (
        f"    drill identity: {target} on resource group rg-irisbackup-drill-test; "
        "Virtual Machine Contributor on resource group rg-irisbackup-drill-test; "
        f"{source} on Microsoft.Compute/virtualMachines/vm-iris-prod-1; "
        f"{source} on Microsoft.Compute/virtualMachines/vm-iris-prod-2; "
        f"Storage Account Contributor on Microsoft.Storage/storageAccounts/{staging}; "
        "Backup Operator on Microsoft.RecoveryServices/vaults/rsv-iris-prod")
    assert custom == [
        f"    custom role {target}: Microsoft.Resources/subscriptions/resourceGroups/write",
        f"    custom role {source}: Microsoft.Compute/virtualMachines/read, Microsoft.Compute/virtualMachines/write"]


def test_a_stack_without_drills_says_so():
    assert drill_lines(example_settings("dev")) == ["  Restore drill sandbox: none (drill.enabled is false)"]
