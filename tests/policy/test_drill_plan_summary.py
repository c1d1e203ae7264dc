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
    header, nsg, account, identity = drill_lines(prod_settings)
    assert header == "  Restore drill sandbox rg-irisbackup-drill-test (westeurope): VNet 10.254.8.0/26, no public IP, no peering"
    assert nsg.startswith("    NSG nsg-irisbackup-drill-test: Inbound Deny */* to * (priority 4096), "
                          "Outbound Allow Tcp/443 to AzureCloud (priority 100), Outbound Deny */* to * (priority 4096)")
    assert account.startswith("    staging account irisdrill") and account.endswith(
        ": Standard_LRS StorageV2, public blob access off, TLS TLS1_2, network default Deny (bypass AzureServices)")
    assert identity == (
        "    drill identity: Virtual Machine Contributor on resource group rg-irisbackup-drill-test; "
        f"Storage Account Contributor on Microsoft.Storage/storageAccounts/{account.split()[2].rstrip(':')}; "
        "Backup Operator on Microsoft.RecoveryServices/vaults/rsv-iris-prod")


def test_a_stack_without_drills_says_so():
    assert drill_lines(example_settings("dev")) == ["  Restore drill sandbox: none (drill.enabled is false)"]
