"""What each component declares, read from the inputs the mock engine recorded."""

from __future__ import annotations

import sys

from irisbackup.hooks.hook_bundle import load_bundle
from tests.program.harness import ROOT, of_type, only, run_with_settings

sys.path.insert(0, str(ROOT / "tools" / "arm-validate"))
import arm_validate  # noqa: E402

VAULT = "azure-native:recoveryservices:Vault"
POLICY = "azure-native:recoveryservices:ProtectionPolicy"
ITEM = "azure-native:recoveryservices:ProtectedItem"
EXTENSION = "azure-native:compute:VirtualMachineExtension"
RULE = "azure-native:network:SecurityRule"
COMMAND = "command:remote:Command"
COPY = "command:remote:CopyToRemote"


def test_vault_has_the_secure_defaults(dev_settings):
    dev_settings["vault"] = {"name": "rsv-defaults"}
    dev_settings["allowDestroy"] = False
    vault = only(run_with_settings(dev_settings), VAULT)
    assert vault.inputs["vaultName"] == "rsv-defaults"
    assert vault.inputs["resourceGroupName"] == "rg-iris-backup-dev"
    assert vault.inputs["sku"] == {"name": "RS0", "tier": "Standard"}
    properties = vault.inputs["properties"]
    assert properties["securitySettings"] == {
        "softDeleteSettings": {"softDeleteState": "AlwaysON", "softDeleteRetentionPeriodInDays": 14},
        "immutabilitySettings": {"state": "Unlocked"},
    }
    assert properties["redundancySettings"] == {"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "Enabled"}
    assert properties["restoreSettings"] == {"crossSubscriptionRestoreSettings": {"crossSubscriptionRestoreState": "Disabled"}}
    assert properties["publicNetworkAccess"] == "Disabled"
    assert properties["monitoringSettings"]["azureMonitorAlertSettings"] == {"alertsForAllJobFailures": "Enabled"}
    assert "encryption" not in properties
    assert vault.inputs["identity"] == {"type": "SystemAssigned"}


def test_vault_customer_managed_key_diagnostics_and_email_alerts(prod_settings):
    run = run_with_settings(prod_settings)
    vault = only(run, VAULT)
    identity = prod_settings["vault"]["customerManagedKey"]["identityId"]
    assert vault.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity]}
    assert vault.inputs["properties"]["encryption"] == {
        "keyVaultProperties": {"keyUri": "https://kv-iris-prod.vault.azure.net/keys/backup-cmk"},
        # Azure needs the explicit false with a user-assigned identity.
        "kekIdentity": {"userAssignedIdentity": identity, "useSystemAssignedIdentity": False},
        "infrastructureEncryption": "Disabled",
    }
    diagnostics = only(run, "azure-native:monitor:DiagnosticSetting")
    assert diagnostics.inputs["resourceUri"] == f"<id of {vault.name}>"
    assert diagnostics.inputs["workspaceId"] == prod_settings["vault"]["diagnostics"]["workspaceId"]
    categories = [log["category"] for log in diagnostics.inputs["logs"] if log["enabled"]]
    assert categories[0] == "CoreAzureBackup" and all(c.startswith("AddonAzureBackup") for c in categories[1:])
    assert len(categories) == 6
    action_group = only(run, "azure-native:monitor:ActionGroup")
    assert [r["emailAddress"] for r in action_group.inputs["emailReceivers"]] == ["dba-oncall@example.com"]
    routing = only(run, "azure-native:alertsmanagement:AlertProcessingRuleByName")
    assert routing.inputs["properties"]["scopes"] == [f"<id of {vault.name}>"]
    assert routing.inputs["properties"]["actions"] == [
        {"actionType": "AddActionGroups", "actionGroupIds": [f"<id of {action_group.name}>"]}
    ]


def test_without_optional_vault_features_nothing_extra_is_declared(dev_settings):
    run = run_with_settings(dev_settings)
    for absent in ("azure-native:monitor:DiagnosticSetting", "azure-native:monitor:ActionGroup",
                   "azure-native:alertsmanagement:AlertProcessingRuleByName"):
        assert of_type(run, absent) == []


def test_standard_daily_policy(dev_settings):
    policy = only(run_with_settings(dev_settings), POLICY)
    assert policy.inputs["policyName"] == "daily-dev"
    assert policy.inputs["vaultName"] == "rsv-iris-dev"
    properties = policy.inputs["properties"]
    assert properties["backupManagementType"] == "AzureIaasVM"
    assert properties["policyType"] == "V1"
    assert properties["timeZone"] == "UTC"
    assert properties["instantRpRetentionRangeInDays"] == 1
    assert properties["schedulePolicy"] == {
        "schedulePolicyType": "SimpleSchedulePolicy",
        "scheduleRunFrequency": "Daily",
        "scheduleRunTimes": ["2024-01-01T22:00:00Z"],
    }
    assert properties["retentionPolicy"] == {
        "retentionPolicyType": "LongTermRetentionPolicy",
        "dailySchedule": {"retentionTimes": ["2024-01-01T22:00:00Z"], "retentionDuration": {"count": 7, "durationType": "Days"}},
    }
    assert "snapshotConsistencyType" not in properties


def test_enhanced_hourly_policy_with_a_full_retention_ladder(prod_settings):
    properties = only(run_with_settings(prod_settings), POLICY).inputs["properties"]
    assert properties["policyType"] == "V2"
    assert properties["timeZone"] == "W. Europe Standard Time"
    assert properties["instantRpRetentionRangeInDays"] == 7
    assert properties["schedulePolicy"] == {
        "schedulePolicyType": "SimpleSchedulePolicyV2",
        "scheduleRunFrequency": "Hourly",
        "hourlySchedule": {"interval": 4, "scheduleWindowStartTime": "2024-01-01T00:00:00Z", "scheduleWindowDuration": 24},
    }
    retention = properties["retentionPolicy"]
    at = ["2024-01-01T00:00:00Z"]
    assert retention["dailySchedule"] == {"retentionTimes": at, "retentionDuration": {"count": 35, "durationType": "Days"}}
    assert retention["weeklySchedule"] == {"daysOfTheWeek": ["Sunday"], "retentionTimes": at,
                                           "retentionDuration": {"count": 12, "durationType": "Weeks"}}
    assert retention["monthlySchedule"] == {
        "retentionScheduleFormatType": "Weekly",
        "retentionScheduleWeekly": {"daysOfTheWeek": ["Sunday"], "weeksOfTheMonth": ["First"]},
        "retentionTimes": at, "retentionDuration": {"count": 24, "durationType": "Months"},
    }
    assert retention["yearlySchedule"]["monthsOfYear"] == ["January"]
    assert retention["yearlySchedule"]["retentionDuration"] == {"count": 10, "durationType": "Years"}


def test_weekly_v2_policy_schedule(prod_settings):
    prod_settings["policies"]["weekly"] = {
        "kind": "enhanced", "schedule": {"frequency": "Weekly", "time": "01:30", "days": ["Saturday", "Wednesday"]},
        "instantRestoreDays": 5, "retention": {"weekly": {"weeks": 52, "days": ["Saturday", "Wednesday"]}},
    }
    prod_settings["vms"][0]["policy"] = "weekly"
    run = run_with_settings(prod_settings)
    properties = only(run, POLICY, "weekly-policy").inputs["properties"]
    assert properties["schedulePolicy"] == {
        "schedulePolicyType": "SimpleSchedulePolicyV2",
        "scheduleRunFrequency": "Weekly",
        "weeklySchedule": {"scheduleRunDays": ["Saturday", "Wednesday"], "scheduleRunTimes": ["2024-01-01T01:30:00Z"]},
    }
    assert "dailySchedule" not in properties["retentionPolicy"]
    item = only(run, ITEM, "vm-iris-prod-1-protected-item")
    assert item.inputs["properties"]["policyId"] == "<id of weekly-policy>"


def test_egress_rule_is_outbound_https_to_regional_storage_only(dev_settings):
    rules = of_type(run_with_settings(dev_settings), RULE)
    # Storage of the vault's region: the global tag would open 443 to every storage account everywhere.
    # (spelt as Azure's service tag list spells it, so state and portal agree).
    assert [rule.inputs["destinationAddressPrefix"] for rule in rules] == ["Storage.WestEurope"]
    assert [rule.inputs["priority"] for rule in rules] == [300]
    for rule in rules:
        assert rule.inputs["networkSecurityGroupName"] == "nsg-iris-dev"
        assert rule.inputs["resourceGroupName"] == "rg-iris-dev"
        assert (rule.inputs["direction"], rule.inputs["access"], rule.inputs["protocol"]) == ("Outbound", "Allow", "Tcp")
        assert rule.inputs["destinationPortRange"] == "443"
        assert rule.inputs["sourceAddressPrefix"] == "VirtualNetwork"
        assert rule.inputs["securityRuleName"] == "Allow-AzureBackup-Storage-Https-Outbound"
        assert arm_validate.validate(RULE, rule.inputs) == []


def test_the_extension_is_left_to_azure_backup_by_default(dev_settings):
    assert "manageExtension" not in dev_settings["vms"][0]
    run = run_with_settings(dev_settings)
    assert of_type(run, EXTENSION) == []
    item = only(run, ITEM)
    assert item.inputs["vaultName"] == "rsv-iris-dev"
    assert item.inputs["resourceGroupName"] == "rg-iris-backup-dev"
    assert item.inputs["fabricName"] == "Azure"
    assert item.inputs["containerName"] == "iaasvmcontainer;iaasvmcontainerv2;rg-iris-dev;vm-iris-dev-1"
    assert item.inputs["protectedItemName"] == "vm;iaasvmcontainerv2;rg-iris-dev;vm-iris-dev-1"
    assert item.inputs["properties"] == {
        "protectedItemType": "Microsoft.Compute/virtualMachines",
        "sourceResourceId": dev_settings["vms"][0]["id"],
        "policyId": "<id of daily-dev-policy>",
    }


def test_a_declared_extension_can_never_fail_the_deployment_nor_fight_azure_backup(dev_settings):
    dev_settings["vms"][0]["manageExtension"] = True
    run = run_with_settings(dev_settings)
    extension = only(run, EXTENSION)
    assert extension.inputs == {
        "resourceGroupName": "rg-iris-dev", "vmName": "vm-iris-dev-1", "vmExtensionName": "VMSnapshotLinux",
        "location": "westeurope", "publisher": "Microsoft.Azure.RecoveryServices", "type": "VMSnapshotLinux",
        "typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": True,
        # Empty settings end the handler in error until Azure Backup's first backup (handle.py daemon()).
        "suppressFailures": True,
    }
    assert arm_validate.validate(EXTENSION, extension.inputs) == []
    # Azure Backup upgrades and reconfigures its own extension: Pulumi must neither revert nor uninstall it.
    assert {"typeHandlerVersion", "settings", "protectedSettings", "suppressFailures"} <= set(extension.ignore_changes)
    assert extension.retain_on_delete
    assert extension.urn in only(run, ITEM).dependencies


def test_hooks_deployment_copies_the_versioned_bundle_and_installs_it_with_settings_on_stdin(dev_settings):
    run = run_with_settings(dev_settings)
    bundle = load_bundle()
    staging = f"irisbackup-staging/{bundle.version}-{bundle.sha256[:12]}"
    copy = only(run, COPY)
    assert copy.inputs["remotePath"] == staging
    assert copy.inputs["triggers"] == [bundle.version, bundle.sha256]
    install = only(run, COMMAND, "hooks-vm-iris-dev-1-install")
    installer = f"sudo -n sh {staging}/hooks/install.sh --owner test:vm-iris-dev-1"
    assert install.inputs["create"] == f"{installer} --settings -"
    assert install.inputs["update"] == install.inputs["create"]
    assert install.inputs["delete"] == f"{installer} --uninstall"
    assert install.inputs["triggers"] == [bundle.version, bundle.sha256]
    assert "instances=IRIS:iris\n" in install.inputs["stdin"]
    assert "continue_backup_on_failure=true\n" in install.inputs["stdin"]
    staging_dir = only(run, COMMAND, "hooks-vm-iris-dev-1-staging")
    assert staging_dir.inputs["triggers"] == [bundle.version, bundle.sha256]
    assert f"mkdir {staging}" in staging_dir.inputs["create"]


def test_a_settings_change_updates_the_install_but_does_not_replace_the_bundle(dev_settings):
    before = run_with_settings(dev_settings)
    dev_settings["vms"][0]["hooks"]["callTimeoutSeconds"] = 10
    after = run_with_settings(dev_settings)
    for name in ("hooks-vm-iris-dev-1-staging", "hooks-vm-iris-dev-1-bundle", "hooks-vm-iris-dev-1-install"):
        old = next(r for r in before.resources if r.name == name)
        new = next(r for r in after.resources if r.name == name)
        assert old.inputs["triggers"] == new.inputs["triggers"], name
    old_install = only(before, COMMAND, "hooks-vm-iris-dev-1-install").inputs
    new_install = only(after, COMMAND, "hooks-vm-iris-dev-1-install").inputs
    assert "call_timeout_seconds=15" in old_install["stdin"] and "call_timeout_seconds=10" in new_install["stdin"]


def test_crash_consistent_vm_gets_no_hooks(dev_settings):
    vm = dev_settings["vms"][0]
    vm["consistency"] = "crash"
    del vm["ssh"]
    run = run_with_settings(dev_settings)
    assert of_type(run, COMMAND) == [] and of_type(run, COPY) == []
    assert len(of_type(run, ITEM)) == 1
    assert run.outputs["hooks"] == {}


def test_components_follow_the_pulumi_conventions(prod_settings):
    run = run_with_settings(prod_settings)
    components = [r for r in run.resources if not r.custom]
    assert {c.type for c in components} == {
        "irisbackup:vault:BackupVault", "irisbackup:policy:BackupPolicy", "irisbackup:network:BackupEgressRules",
        "irisbackup:hooks:FreezeThawHooks", "irisbackup:hooks:RunCommandHooks", "irisbackup:vm:ProtectedVm",
        "irisbackup:drill:DrillSandbox", "irisbackup:vault:VaultGuard",
        "irisbackup:health:HealthAlerts",
    }
    component_urns = {c.urn: c.name for c in components}
    for resource in run.resources:
        if resource.custom:
            assert resource.parent in component_urns, f"{resource.name} has no component parent"
            assert resource.name.startswith(component_urns[resource.parent] + "-"), resource.name
