"""Tests for tools/arm-validate.

Known-good inputs are not hand-written: each resource is declared with pulumi_azure_native
under a Pulumi mock, and the inputs the mock records (what the SDK really sends) are validated.
Known-bad inputs are either declared the same way or are a recorded good input with one edit.
"""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_azure_native as azure_native
import pytest

TOOL_DIR = Path(__file__).resolve().parents[2] / "tools" / "arm-validate"
sys.path.insert(0, str(TOOL_DIR))
import arm_validate  # noqa: E402
from tests.tools.drill_declarations import DRILL_KNOWN_GOOD  # noqa: E402

rs = azure_native.recoveryservices
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
RG_ID = f"{SUB}/resourceGroups/rg-backup"
VAULT_ID = f"{RG_ID}/providers/Microsoft.RecoveryServices/vaults/rsv-prod"
VM_ID = f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/vm-app"
WORKSPACE_ID = f"{RG_ID}/providers/Microsoft.OperationalInsights/workspaces/law-ops"
IDENTITY_ID = f"{RG_ID}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-backup"


class Recorder(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args):
        self.resources.append((args.typ, args.inputs))
        return f"{args.name}-id", {}

    def call(self, args):
        return {}


def record(declare):
    """Run `declare` under a Pulumi mock; return (type token, inputs) of the one resource."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        recorder = Recorder()
        pulumi.runtime.set_mocks(recorder, preview=True)  # no output round-trip needed
        pulumi.runtime.test(declare)()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    [(type_token, inputs)] = recorder.resources
    return type_token, inputs


def messages(type_token, inputs, severity="error"):
    """`path: message` of every problem of the given severity."""
    return [str(p) for p in arm_validate.validate(type_token, inputs) if p.severity == severity]


# --- resources as the program declares them -----------------------------------------------


def vault(soft_delete_state="AlwaysON", resource_group_name="rg-backup"):
    rs.Vault(
        "vault",
        resource_group_name=resource_group_name,
        vault_name="rsv-prod",
        location="westeurope",
        sku=rs.SkuArgs(name="RS0", tier="Standard"),
        identity=rs.IdentityDataArgs(type="UserAssigned", user_assigned_identities=[IDENTITY_ID]),
        properties=rs.VaultPropertiesArgs(
            public_network_access="Disabled",
            encryption=rs.VaultPropertiesEncryptionArgs(
                key_vault_properties=rs.CmkKeyVaultPropertiesArgs(
                    key_uri="https://kv-backup.vault.azure.net/keys/rsv-cmk"),
                kek_identity=rs.CmkKekIdentityArgs(user_assigned_identity=IDENTITY_ID),
                infrastructure_encryption="Disabled"),
            restore_settings=rs.RestoreSettingsArgs(
                cross_subscription_restore_settings=rs.CrossSubscriptionRestoreSettingsArgs(
                    cross_subscription_restore_state="Disabled")),
            redundancy_settings=rs.VaultPropertiesRedundancySettingsArgs(
                standard_tier_storage_redundancy="GeoRedundant", cross_region_restore="Enabled"),
            security_settings=rs.SecuritySettingsArgs(
                immutability_settings=rs.ImmutabilitySettingsArgs(state="Unlocked"),
                soft_delete_settings=rs.SoftDeleteSettingsArgs(
                    soft_delete_state=soft_delete_state,
                    soft_delete_retention_period_in_days=14,
                    enhanced_security_state="Enabled"),
            ),
            monitoring_settings=rs.MonitoringSettingsArgs(
                azure_monitor_alert_settings=rs.AzureMonitorAlertSettingsArgs(
                    alerts_for_all_job_failures="Enabled"),
                classic_alert_settings=rs.ClassicAlertSettingsArgs(
                    alerts_for_critical_operations="Disabled")),
        ),
    )


def retention(count, duration_type):
    return rs.RetentionDurationArgs(count=count, duration_type=duration_type)


def protection_policy():
    rs.ProtectionPolicy(
        "policy",
        resource_group_name="rg-backup",
        vault_name="rsv-prod",
        policy_name="vm-daily",
        properties=rs.AzureIaaSVMProtectionPolicyArgs(
            backup_management_type="AzureIaasVM",
            policy_type="V2",
            time_zone="W. Europe Standard Time",
            instant_rp_retention_range_in_days=5,
            instant_rp_details=rs.InstantRPAdditionalDetailsArgs(
                azure_backup_rg_name_prefix="rg-backup-rp-"),
            schedule_policy=rs.SimpleSchedulePolicyV2Args(
                schedule_policy_type="SimpleSchedulePolicyV2",
                schedule_run_frequency="Daily",
                daily_schedule=rs.DailyScheduleArgs(schedule_run_times=["2024-01-01T02:00:00Z"]),
            ),
            retention_policy=rs.LongTermRetentionPolicyArgs(
                retention_policy_type="LongTermRetentionPolicy",
                daily_schedule=rs.DailyRetentionScheduleArgs(
                    retention_times=["2024-01-01T02:00:00Z"], retention_duration=retention(30, "Days")),
                weekly_schedule=rs.WeeklyRetentionScheduleArgs(
                    days_of_the_week=["Sunday"], retention_times=["2024-01-01T02:00:00Z"],
                    retention_duration=retention(12, "Weeks")),
            ),
        ),
    )


def protected_item():
    rs.ProtectedItem(
        "item",
        resource_group_name="rg-backup",
        vault_name="rsv-prod",
        fabric_name="Azure",
        container_name="iaasvmcontainer;iaasvmcontainerv2;rg-app;vm-app",
        protected_item_name="vm;iaasvmcontainerv2;rg-app;vm-app",
        properties=rs.AzureIaaSComputeVMProtectedItemArgs(
            protected_item_type="Microsoft.Compute/virtualMachines",
            policy_id=f"{VAULT_ID}/backupPolicies/vm-daily",
            source_resource_id=VM_ID,
        ),
    )


def vm_extension():
    azure_native.compute.VirtualMachineExtension(
        "ama",
        resource_group_name="rg-app",
        vm_name="vm-app",
        vm_extension_name="AzureMonitorLinuxAgent",
        location="westeurope",
        publisher="Microsoft.Azure.Monitor",
        type="AzureMonitorLinuxAgent",
        type_handler_version="1.29",
        auto_upgrade_minor_version=True,
        enable_automatic_upgrade=True,
        settings={"authentication": {"managedIdentity": {"identifier-name": "mi_res_id"}}},
        protected_settings=pulumi.Output.secret({"workspaceKey": "not-a-real-key"}),
    )


def security_rule(priority=200):
    azure_native.network.SecurityRule(
        "allow-backup",
        resource_group_name="rg-app",
        network_security_group_name="nsg-app",
        security_rule_name="allow-azure-backup-out",
        description="Azure Backup service tag",
        direction="Outbound",
        access="Allow",
        protocol="Tcp",
        priority=priority,
        source_address_prefix="VirtualNetwork",
        source_port_range="*",
        destination_address_prefix="AzureBackup",
        destination_port_ranges=["443"],
    )


def diagnostic_setting():
    azure_native.monitor.DiagnosticSetting(
        "vault-diag",
        resource_uri=VAULT_ID,
        name="to-law",
        workspace_id=WORKSPACE_ID,
        log_analytics_destination_type="Dedicated",
        logs=[azure_native.monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
        metrics=[azure_native.monitor.DiagnosticsMetricSettingsArgs(category="Health", enabled=True)],
    )


def action_group(group_short_name="bkp-ops", email_receivers=None):
    azure_native.monitor.ActionGroup(
        "backup-ops",
        resource_group_name="rg-backup",
        action_group_name="ag-backup-ops",
        location="global",
        group_short_name=group_short_name,
        enabled=True,
        email_receivers=email_receivers or [azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
            name="ops", email_address="ops@example.com", use_common_alert_schema=True)],
    )


def alert_processing_rule():
    aps = azure_native.alertsmanagement
    aps.AlertProcessingRuleByName(
        "route-backup-alerts",
        resource_group_name="rg-backup",
        alert_processing_rule_name="apr-backup",
        location="global",
        properties=aps.AlertProcessingRulePropertiesArgs(
            scopes=[VAULT_ID],
            conditions=[aps.ConditionArgs(field="MonitorService", operator="Equals",
                                          values=["Azure Backup"])],
            schedule=aps.ScheduleArgs(
                effective_from="2024-01-01T00:00:00", time_zone="UTC",
                recurrences=[aps.WeeklyRecurrenceArgs(recurrence_type="Weekly",
                                                      days_of_week=["Monday", "Friday"])]),
            actions=[aps.AddActionGroupsArgs(
                action_type="AddActionGroups",
                action_group_ids=[f"{RG_ID}/providers/Microsoft.Insights/actionGroups/ag-backup-ops"])],
            enabled=True,
        ),
    )


def scheduled_query_rule(severity=2, window_size="PT1H"):
    mon = azure_native.monitor
    mon.ScheduledQueryRule(
        "rpo-alert",
        resource_group_name="rg-backup",
        rule_name="ar-rsv-prod-rpo-breach",
        location="westeurope",
        kind="LogAlert",
        display_name="Backup RPO breach",
        severity=severity,
        enabled=True,
        scopes=[WORKSPACE_ID],
        evaluation_frequency="PT15M",
        window_size=window_size,
        mute_actions_duration="PT1H",
        criteria=mon.ScheduledQueryRuleCriteriaArgs(all_of=[mon.ConditionArgs(
            query="Syslog | where ProcessName == 'irisbackup'",
            time_aggregation="Count", operator="GreaterThan", threshold=0,
            dimensions=[mon.DimensionArgs(name="Computer", operator="Include", values=["*"])],
            failing_periods=mon.ConditionFailingPeriodsArgs(number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
        )]),
        actions=mon.ActionsArgs(action_groups=[f"{RG_ID}/providers/Microsoft.Insights/actionGroups/ag-backup-ops"]),
    )


def data_collection_rule(facility="user"):
    mon = azure_native.monitor
    mon.DataCollectionRule(
        "verdicts",
        resource_group_name="rg-backup",
        data_collection_rule_name="dcr-verdicts",
        location="westeurope",
        kind="Linux",
        data_sources=mon.DataCollectionRuleDataSourcesArgs(syslog=[mon.SyslogDataSourceArgs(
            name="verdicts", streams=["Microsoft-Syslog"], facility_names=[facility], log_levels=["Notice", "Error"])]),
        destinations=mon.DataCollectionRuleDestinationsArgs(log_analytics=[
            mon.LogAnalyticsDestinationArgs(name="workspace", workspace_resource_id=WORKSPACE_ID)]),
        data_flows=[mon.DataFlowArgs(streams=["Microsoft-Syslog"], destinations=["workspace"],
                                     transform_kql="source | where ProcessName == 'irisbackup'",
                                     output_stream="Microsoft-Syslog")],
    )


def data_collection_rule_association():
    azure_native.monitor.DataCollectionRuleAssociation(
        "vm-verdicts",
        resource_uri=VM_ID,
        association_name="irisbackup-hook-verdicts",
        data_collection_rule_id=f"{RG_ID}/providers/Microsoft.Insights/dataCollectionRules/dcr-verdicts",
    )


def query_pack():
    azure_native.operationalinsights.QueryPack(
        "oncall", resource_group_name="rg-backup", query_pack_name="qp-oncall", location="westeurope")


def query_pack_query():
    oi = azure_native.operationalinsights
    oi.Query(
        "last-consistent",
        resource_group_name="rg-backup",
        query_pack_name="qp-oncall",
        id="3a622b83-f70a-5f5e-ab8a-f76c2df2c259",
        display_name="Last consistent recovery point per VM",
        body="Syslog | take 1",
        related=oi.LogAnalyticsQueryPackQueryPropertiesRelatedArgs(resource_types=["microsoft.compute/virtualmachines"]),
        tags={"irisbackup": ["on-call"]},
    )


def vm_run_command():
    compute = azure_native.compute
    compute.VirtualMachineRunCommandByVirtualMachine(
        "hooks",
        resource_group_name="rg-app",
        vm_name="vm-app",
        run_command_name="irisbackup-hooks",
        location="westeurope",
        source=compute.VirtualMachineRunCommandScriptSourceArgs(script="#!/bin/sh\necho ok\n"),
        parameters=[compute.RunCommandInputParameterArgs(name="IRISBACKUP_ACTION", value="install")],
        protected_parameters=pulumi.Output.secret([compute.RunCommandInputParameterArgs(name="S", value="x=1")]),
        async_execution=False,
        treat_failure_as_deployment_failure=True,
        timeout_in_seconds=390,
    )


GUARD_ID = ("/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-guards"
            "/providers/Microsoft.DataProtection/resourceGuards/guard-backup")


def resource_guard_proxy():
    rs.ResourceGuardProxy(
        "guard",
        resource_group_name="rg-backup",
        vault_name="rsv-prod",
        resource_guard_proxy_name="VaultProxy",
        properties=rs.ResourceGuardProxyBaseArgs(resource_guard_resource_id=GUARD_ID),
    )


def management_lock(level="CanNotDelete"):
    azure_native.authorization.ManagementLockByScope(
        "vault-lock",
        scope=VAULT_ID,
        lock_name="irisbackup-vault-cannot-delete",
        level=level,
        notes="lifted only by allowDestroy",
    )


KNOWN_GOOD = {
    "azure-native:recoveryservices:Vault": vault,
    "azure-native:recoveryservices:ProtectionPolicy": protection_policy,
    "azure-native:recoveryservices:ProtectedItem": protected_item,
    "azure-native:compute:VirtualMachineExtension": vm_extension,
    "azure-native:compute:VirtualMachineRunCommandByVirtualMachine": vm_run_command,
    "azure-native:network:SecurityRule": security_rule,
    "azure-native:monitor:DiagnosticSetting": diagnostic_setting,
    "azure-native:monitor:ActionGroup": action_group,
    "azure-native:alertsmanagement:AlertProcessingRuleByName": alert_processing_rule,
    "azure-native:monitor:ScheduledQueryRule": scheduled_query_rule,
    "azure-native:monitor:DataCollectionRule": data_collection_rule,
    "azure-native:monitor:DataCollectionRuleAssociation": data_collection_rule_association,
    "azure-native:operationalinsights:QueryPack": query_pack,
    "azure-native:operationalinsights:Query": query_pack_query,
    "azure-native:recoveryservices:ResourceGuardProxy": resource_guard_proxy,
    "azure-native:authorization:ManagementLockByScope": management_lock,
    **DRILL_KNOWN_GOOD,
}


# --- tool-level checks ----------------------------------------------------------------------


def test_every_resource_type_has_a_known_good_case():
    assert set(KNOWN_GOOD) == set(arm_validate.RESOURCES)


@pytest.mark.parametrize("type_token", sorted(arm_validate.RESOURCES))
def test_every_reachable_ref_resolves(type_token):
    assert arm_validate.unresolved_refs(type_token) == []


def test_dangling_refs_are_found_including_in_subtypes(tmp_path, monkeypatch):
    spec = {
        "paths": {"/things/{name}": {"put": {"parameters": [
            {"name": "name", "in": "path", "required": True, "type": "string"},
            {"name": "body", "in": "body", "schema": {"$ref": "#/definitions/Thing"}}]}}},
        "definitions": {
            "Thing": {"discriminator": "kind",
                      "properties": {"kind": {"type": "string"},
                                     "part": {"$ref": "missing.json#/definitions/Part"}}},
            "RoundThing": {"allOf": [{"$ref": "#/definitions/Thing"}],
                           "properties": {"radius": {"$ref": "#/definitions/Radius"}}},
        },
    }
    (tmp_path / "dangling.json").write_text(json.dumps(spec))
    monkeypatch.setattr(arm_validate, "SPEC_ROOT", tmp_path)
    monkeypatch.setitem(arm_validate.RESOURCES, "test:x:Thing",
                        arm_validate.Resource("dangling.json", "/things/{name}", "1"))
    assert arm_validate.unresolved_refs("test:x:Thing") == [
        "dangling.json: missing.json#/definitions/Part",
        "dangling.json: #/definitions/Radius"]


def test_selftest_script_passes():
    result = subprocess.run([sys.executable, str(TOOL_DIR / "selftest.py")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("type_token", sorted(KNOWN_GOOD))
def test_known_good_inputs_have_no_problems(type_token):
    recorded_type, inputs = record(KNOWN_GOOD[type_token])
    assert recorded_type == type_token
    assert [str(p) for p in arm_validate.validate(recorded_type, inputs)] == []


def test_insights_aliases_are_supported_and_others_are_not():
    _, inputs = record(diagnostic_setting)
    assert arm_validate.validate("azure-native:insights:DiagnosticSetting", inputs) == []
    assert arm_validate.is_supported("azure-native:insights:ActionGroup")
    assert not arm_validate.is_supported("azure-native:compute:VirtualMachine")
    with pytest.raises(ValueError):
        arm_validate.validate("azure-native:compute:VirtualMachine", {})


# --- mapping of azure-native inputs to the ARM request --------------------------------------


def test_flattened_inputs_go_under_properties_and_path_params_leave_the_body():
    type_token, inputs = record(vm_extension)
    path, body = arm_validate.to_arm_request(type_token, inputs)
    assert path == {"resourceGroupName": "rg-app", "vmName": "vm-app",
                    "vmExtensionName": "AzureMonitorLinuxAgent"}
    # azure-native's top-level `type` is the extension type, ARM's properties.type
    assert body["properties"]["type"] == "AzureMonitorLinuxAgent"
    assert "type" not in body
    assert body["location"] == "westeurope"


def test_secrets_are_unwrapped():
    type_token, inputs = record(vm_extension)
    assert arm_validate.SECRET_SIG in inputs["protectedSettings"]
    _, body = arm_validate.to_arm_request(type_token, inputs)
    assert body["properties"]["protectedSettings"] == {"workspaceKey": "not-a-real-key"}


def test_a_required_empty_flattened_container_is_sent_as_azure_native_does():
    # QueryPack has no writable properties, yet ARM requires `properties`; azure-native adds `{}`
    # (pulumi/pulumi-azure-native#2856). Without that rule the check would report it missing.
    type_token, inputs = record(query_pack)
    assert "properties" not in inputs
    _, body = arm_validate.to_arm_request(type_token, inputs)
    assert body["properties"] == {}


def test_query_pack_query_id_is_the_path_parameter():
    type_token, inputs = record(query_pack_query)
    path, body = arm_validate.to_arm_request(type_token, inputs)
    assert path["id"] == "3a622b83-f70a-5f5e-ab8a-f76c2df2c259"
    assert body["properties"]["displayName"] == "Last consistent recovery point per VM"


def test_scheduled_query_rule_severity_outside_the_spec_enum_is_reported():
    type_token, inputs = record(lambda: scheduled_query_rule(severity=7))
    assert messages(type_token, inputs, "warning") == [
        "properties.severity: 7.0 not in [0, 1, 2, 3, 4] (modelAsString: ARM may accept it)"]


def test_data_collection_rule_unknown_facility_is_reported():
    type_token, inputs = record(lambda: data_collection_rule(facility="usr"))
    found = messages(type_token, inputs) + messages(type_token, inputs, "warning")
    assert len(found) == 1 and found[0].startswith("properties.dataSources.syslog[0].facilityNames[0]: 'usr' not in [")


def test_user_assigned_identity_list_becomes_arm_map():
    type_token, inputs = record(vault)
    _, body = arm_validate.to_arm_request(type_token, inputs)
    assert body["identity"]["userAssignedIdentities"] == {IDENTITY_ID: {}}


# --- known-bad inputs ------------------------------------------------------------------------


def test_model_as_string_enum_value_is_a_warning():
    type_token, inputs = record(lambda: vault(soft_delete_state="Sometimes"))
    assert messages(type_token, inputs) == []
    assert messages(type_token, inputs, "warning") == [
        "properties.securitySettings.softDeleteSettings.softDeleteState: 'Sometimes' not in "
        "[Invalid, Enabled, Disabled, AlwaysON] (modelAsString: ARM may accept it)"]


def test_strict_enum_value_is_an_error():
    type_token, inputs = record(vm_extension)
    inputs["instanceView"] = {"statuses": [{"level": "Fatal"}]}  # StatusLevelTypes: not modelAsString
    assert messages(type_token, inputs) == [
        "properties.instanceView.statuses[0].level: 'Fatal' not in [Info, Warning, Error]"]


def test_unknown_property_is_reported_with_a_suggestion():
    type_token, inputs = record(security_rule)
    inputs["destinationPortRnage"] = "443"
    assert messages(type_token, inputs) == [
        "destinationPortRnage: unknown property (did you mean 'destinationPortRange'?)"]


def test_wrong_type_is_reported():
    type_token, inputs = record(lambda: security_rule(priority="200"))
    assert messages(type_token, inputs) == ["properties.priority: expected integer, got str '200'"]


def test_security_rule_priority_range_is_not_in_the_spec():
    # 100..4096 is only stated in the description, so the tool cannot (and does not) check it.
    type_token, inputs = record(lambda: security_rule(priority=5000))
    assert arm_validate.validate(type_token, inputs) == []


def test_read_only_property_is_reported():
    type_token, inputs = record(vault)
    inputs["properties"]["provisioningState"] = "Succeeded"
    inputs["properties"]["securitySettings"]["multiUserAuthorization"] = "Enabled"
    assert messages(type_token, inputs) == [
        "properties.securitySettings.multiUserAuthorization: read-only property is set",
        "properties.provisioningState: read-only property is set"]


def test_missing_required_properties_are_reported():
    type_token, inputs = record(lambda: action_group(
        email_receivers=[{"email_address": "ops@example.com"}]))
    del inputs["enabled"]
    assert messages(type_token, inputs) == [
        "properties.emailReceivers[0].name: required property is missing",
        "properties.enabled: required property is missing"]


def test_missing_path_parameter_is_reported():
    type_token, inputs = record(protection_policy)
    del inputs["vaultName"]
    assert messages(type_token, inputs) == ["vaultName: required path parameter is missing"]


def test_missing_resource_name_is_left_to_azure_native_autonaming():
    type_token, inputs = record(protection_policy)
    del inputs["policyName"]
    assert arm_validate.validate(type_token, inputs) == []


def test_length_pattern_and_minimum_limits_are_checked():
    type_token, inputs = record(lambda: action_group(group_short_name="backup-operations"))
    assert messages(type_token, inputs) == [
        "properties.groupShortName: 'backup-operations' is longer than maxLength 12"]

    type_token, inputs = record(lambda: vault(resource_group_name="rg backup"))
    assert messages(type_token, inputs) == [
        r"resourceGroupName: 'rg backup' does not match pattern ^[-\w\._\(\)]+$"]

    type_token, inputs = record(diagnostic_setting)
    inputs["logs"][0]["retentionPolicy"] = {"enabled": True, "days": -1}
    assert messages(type_token, inputs) == [
        "properties.logs[0].retentionPolicy.days: -1 is below minimum 0"]


def test_discriminator_selects_the_subtype():
    type_token, inputs = record(protection_policy)
    # scheduleRunDays exists on SimpleSchedulePolicy only, not on the SimpleSchedulePolicyV2 used
    inputs["properties"]["schedulePolicy"]["scheduleRunDays"] = ["Sunday"]
    assert messages(type_token, inputs) == [
        "properties.schedulePolicy.scheduleRunDays: unknown property"]

    inputs["properties"]["schedulePolicy"]["schedulePolicyType"] = "SimpleSchedulePolicy"
    inputs["properties"]["schedulePolicy"]["scheduleRunDays"] = ["Funday"]
    assert messages(type_token, inputs) == [
        "properties.schedulePolicy.dailySchedule: unknown property",
        "properties.schedulePolicy.scheduleRunDays[0]: 'Funday' not in "
        "[Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday]"]


def test_unknown_discriminator_value_is_reported():
    type_token, inputs = record(protected_item)
    inputs["properties"]["protectedItemType"] = "Microsoft.Compute/vms"
    [problem] = messages(type_token, inputs)
    assert problem.startswith("properties.protectedItemType: 'Microsoft.Compute/vms' selects no "
                              "subtype of ProtectedItem; expected one of [")
    assert "Microsoft.Compute/virtualMachines" in problem


# --- the parity features (issue 10) ----------------------------------------------------------


def test_lock_properties_are_flattened_by_azure_native_and_scope_is_a_path_parameter():
    path, body = arm_validate.to_arm_request(*record(management_lock))
    assert path == {"scope": VAULT_ID, "lockName": "irisbackup-vault-cannot-delete"}
    assert body == {"properties": {"level": "CanNotDelete", "notes": "lifted only by allowDestroy"}}


def test_lock_level_outside_the_spec_is_flagged_and_a_missing_level_is_an_error():
    assert messages(*record(lambda: management_lock("Forever")), severity="warning") == [
        "properties.level: 'Forever' not in [NotSpecified, CanNotDelete, ReadOnly] (modelAsString: ARM may accept it)"]
    type_token, inputs = record(management_lock)
    del inputs["level"]
    assert messages(type_token, inputs) == ["properties.level: required property is missing"]


def test_resource_guard_proxy_needs_the_guard_id():
    type_token, inputs = record(resource_guard_proxy)
    inputs["properties"] = {}
    assert messages(type_token, inputs) == ["properties.resourceGuardResourceId: required property is missing"]


def test_tiering_and_disk_exclusion_values_are_checked_against_the_spec():
    type_token, inputs = record(protection_policy)
    inputs["properties"]["tieringPolicy"] = {"ArchivedRP": {"tieringMode": "TierAfter", "duration": "three",
                                                           "durationType": "Months"}}
    assert messages(type_token, inputs) == [
        "properties.tieringPolicy.ArchivedRP.duration: expected integer, got str 'three'"]
    type_token, inputs = record(protected_item)
    inputs["properties"]["extendedProperties"] = {"diskExclusionProperties": {"diskLunList": [0.0], "isInclusion": True}}
    assert messages(type_token, inputs) == ["properties.extendedProperties.diskExclusionProperties.isInclusion: "
                                            "unknown property (did you mean 'isInclusionList'?)"]
