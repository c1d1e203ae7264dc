"""The Recovery Services vault, with its optional diagnostics and e-mail routing of backup alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import alertsmanagement, monitor
from pulumi_azure_native import recoveryservices as rs

from irisbackup.settings.vault import VaultSettings

# Everything Azure Backup writes for VM backups: CoreAzureBackup plus the Addon* tables.
DIAGNOSTIC_CATEGORIES = (
    "CoreAzureBackup",
    "AddonAzureBackupJobs",
    "AddonAzureBackupAlerts",
    "AddonAzureBackupPolicy",
    "AddonAzureBackupStorage",
    "AddonAzureBackupProtectedInstance",
)


@dataclass
class BackupVaultArgs:
    settings: VaultSettings
    resource_group_name: str
    location: str
    # False only in throwaway stacks: a protected vault cannot be deleted by `pulumi destroy`.
    protect: bool = True
    tags: dict[str, str] = field(default_factory=dict)


class BackupVault(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    # Where the stack's alerts go: the action group e-mailing vault.alertEmails (None without addresses).
    action_group_id: pulumi.Output[str] | None = None

    def __init__(self, name: str, args: BackupVaultArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:vault:BackupVault", name, None, opts)
        settings = args.settings
        cmk = settings.customer_managed_key
        self.vault = rs.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            vault_name=settings.name,
            location=args.location,
            tags=args.tags,
            sku=rs.SkuArgs(name="RS0", tier="Standard"),
            # Create-time choices Azure never lets go back (docs/configuration.md, "One-way settings"): a CMK
            # only on a vault with no registered item, and its identity must never be disabled or switched.
            identity=rs.IdentityDataArgs(type="UserAssigned", user_assigned_identities=[str(cmk.identity_id)])
            if cmk else rs.IdentityDataArgs(type="SystemAssigned"),
            properties=rs.VaultPropertiesArgs(
                public_network_access=settings.public_network_access,
                security_settings=rs.SecuritySettingsArgs(
                    soft_delete_settings=rs.SoftDeleteSettingsArgs(
                        soft_delete_state=settings.soft_delete.state,
                        soft_delete_retention_period_in_days=settings.soft_delete.retention_days,
                    ),
                    immutability_settings=rs.ImmutabilitySettingsArgs(state=settings.immutability),
                ),
                # Always explicit: left out, Azure silently picks geo-redundant storage.
                redundancy_settings=rs.VaultPropertiesRedundancySettingsArgs(
                    standard_tier_storage_redundancy=settings.storage_redundancy,
                    cross_region_restore="Enabled" if settings.cross_region_restore else "Disabled",
                ),
                restore_settings=rs.RestoreSettingsArgs(
                    cross_subscription_restore_settings=rs.CrossSubscriptionRestoreSettingsArgs(
                        cross_subscription_restore_state=settings.cross_subscription_restore,
                    ),
                ),
                monitoring_settings=rs.MonitoringSettingsArgs(
                    azure_monitor_alert_settings=rs.AzureMonitorAlertSettingsArgs(
                        alerts_for_all_job_failures="Enabled" if settings.job_failure_alerts else "Disabled",
                    ),
                    # Classic alerts are retired; Azure Monitor alerts replace them.
                    classic_alert_settings=rs.ClassicAlertSettingsArgs(alerts_for_critical_operations="Disabled"),
                ),
                encryption=rs.VaultPropertiesEncryptionArgs(
                    key_vault_properties=rs.CmkKeyVaultPropertiesArgs(key_uri=cmk.key_uri),
                    # Explicit false: with a user-assigned identity Azure needs useSystemAssignedIdentity false.
                    kek_identity=rs.CmkKekIdentityArgs(
                        user_assigned_identity=str(cmk.identity_id), use_system_assigned_identity=False),
                    infrastructure_encryption="Disabled",
                ) if cmk else None,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        if settings.diagnostics:
            monitor.DiagnosticSetting(
                f"{name}-diagnostics",
                name="irisbackup-to-log-analytics",
                resource_uri=self.vault.id,
                workspace_id=str(settings.diagnostics.workspace_id),
                # Resource-specific tables (AddonAzureBackup*), which the Backup reports query.
                log_analytics_destination_type="Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in DIAGNOSTIC_CATEGORIES],
                opts=pulumi.ResourceOptions(parent=self),
            )
        if settings.alert_emails:
            self._route_alerts_by_email(name, args)
        self.vault_id = self.vault.id
        self.vault_name = self.vault.name
        self.register_outputs({"vault_id": self.vault_id, "vault_name": self.vault_name})

    def _route_alerts_by_email(self, name: str, args: BackupVaultArgs) -> None:
        action_group = monitor.ActionGroup(
            f"{name}-alert-email",
            resource_group_name=args.resource_group_name,
            action_group_name=f"ag-{args.settings.name}",
            group_short_name="irisbackup",
            location="Global",
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{index}", email_address=address, use_common_alert_schema=True)
                for index, address in enumerate(args.settings.alert_emails)
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.action_group_id = action_group.id
        alertsmanagement.AlertProcessingRuleByName(
            f"{name}-alert-routing",
            resource_group_name=args.resource_group_name,
            alert_processing_rule_name=f"apr-{args.settings.name}-to-email",
            location="Global",
            properties=alertsmanagement.AlertProcessingRulePropertiesArgs(
                scopes=[self.vault.id],
                actions=[alertsmanagement.AddActionGroupsArgs(action_type="AddActionGroups", action_group_ids=[action_group.id])],
                description="Send the vault's backup alerts (job failures) to the backup owners by e-mail",
                enabled=True,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
