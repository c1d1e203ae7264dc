"""The baseline: the same stack written flat, as a user would without our components.

Plain top-level declarations with azure-native and pulumi-command, no ComponentResources, no settings
model: it reads the same `irisbackup:settings` object (trusting it; ours validates it first) and
declares the same resources with the same logical names, inputs and options, so that
`bench.program_scale` compares like with like (tests/bench checks that the two plans match).
It covers the stack shapes the benchmark and the example stacks use; it is not a product.
"""

import hashlib
import re
import shlex
from pathlib import Path

import pulumi
from pulumi_azure_native import alertsmanagement, authorization, compute, monitor, network
from pulumi_azure_native import recoveryservices as rs
from pulumi_command import local, remote

from irisbackup.creation_stamp import STAMP_COMMAND
from irisbackup.hooks import run_command_script
from irisbackup.hooks.hook_bundle import HookBundle
from irisbackup.hooks.run_command_script import render_install_script, render_uninstall_script, run_command_owner_id
from irisbackup.network.egress_spec import SERVICE_TAG_REGIONS
from irisbackup.settings import parse_settings
from irisbackup.settings.credentials import hook_credential_lines
from irisbackup.settings.mirror import hook_mirror_members

HOOKS = Path(__file__).resolve().parent.parent / "hooks"

config = pulumi.Config()
s = config.require_object("settings")
rg = s["resourceGroupId"].rstrip("/").split("/")[4]
location = s["location"]
tags = s.get("tags", {})
protect = not s.get("allowDestroy", False)
v = s["vault"]
cmk = v.get("customerManagedKey")
sd = v.get("softDelete", {})

# --- vault, diagnostics, alert e-mails ---
vault = rs.Vault(
    f"{v['name']}-vault",
    resource_group_name=rg,
    vault_name=v["name"],
    location=location,
    tags=tags,
    sku=rs.SkuArgs(name="RS0", tier="Standard"),
    identity=rs.IdentityDataArgs(type="UserAssigned", user_assigned_identities=[cmk["identityId"]])
    if cmk else rs.IdentityDataArgs(type="SystemAssigned"),
    properties=rs.VaultPropertiesArgs(
        public_network_access=v.get("publicNetworkAccess", "Disabled"),
        security_settings=rs.SecuritySettingsArgs(
            soft_delete_settings=rs.SoftDeleteSettingsArgs(
                soft_delete_state=sd.get("state", "AlwaysON"),
                soft_delete_retention_period_in_days=sd.get("retentionDays", 14),
            ),
            immutability_settings=rs.ImmutabilitySettingsArgs(state=v.get("immutability", "Unlocked")),
        ),
        redundancy_settings=rs.VaultPropertiesRedundancySettingsArgs(
            standard_tier_storage_redundancy=v.get("storageRedundancy", "GeoRedundant"),
            cross_region_restore="Enabled" if v.get("crossRegionRestore", True) else "Disabled",
        ),
        restore_settings=rs.RestoreSettingsArgs(
            cross_subscription_restore_settings=rs.CrossSubscriptionRestoreSettingsArgs(
                cross_subscription_restore_state=v.get("crossSubscriptionRestore", "Disabled"),
            ),
        ),
        monitoring_settings=rs.MonitoringSettingsArgs(
            azure_monitor_alert_settings=rs.AzureMonitorAlertSettingsArgs(
                alerts_for_all_job_failures="Enabled" if v.get("jobFailureAlerts", True) else "Disabled",
            ),
            classic_alert_settings=rs.ClassicAlertSettingsArgs(alerts_for_critical_operations="Disabled"),
        ),
        encryption=rs.VaultPropertiesEncryptionArgs(
            key_vault_properties=rs.CmkKeyVaultPropertiesArgs(key_uri=cmk["keyUri"]),
            kek_identity=rs.CmkKekIdentityArgs(user_assigned_identity=cmk["identityId"], use_system_assigned_identity=False),
            infrastructure_encryption="Disabled",
        ) if cmk else None,
    ),
    opts=pulumi.ResourceOptions(protect=protect),
)
if v.get("diagnostics"):
    monitor.DiagnosticSetting(
        f"{v['name']}-diagnostics",
        name="irisbackup-to-log-analytics",
        resource_uri=vault.id,
        workspace_id=v["diagnostics"]["workspaceId"],
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in (
            "CoreAzureBackup", "AddonAzureBackupJobs", "AddonAzureBackupAlerts", "AddonAzureBackupPolicy",
            "AddonAzureBackupStorage", "AddonAzureBackupProtectedInstance")],
    )
if v.get("alertEmails"):
    action_group = monitor.ActionGroup(
        f"{v['name']}-alert-email",
        resource_group_name=rg,
        action_group_name=f"ag-{v['name']}",
        group_short_name="irisbackup",
        location="Global",
        enabled=True,
        email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=a, use_common_alert_schema=True)
                         for i, a in enumerate(v["alertEmails"])],
        tags=tags,
    )
    alertsmanagement.AlertProcessingRuleByName(
        f"{v['name']}-alert-routing",
        resource_group_name=rg,
        alert_processing_rule_name=f"apr-{v['name']}-to-email",
        location="Global",
        properties=alertsmanagement.AlertProcessingRulePropertiesArgs(
            scopes=[vault.id],
            actions=[alertsmanagement.AddActionGroupsArgs(action_type="AddActionGroups", action_group_ids=[action_group.id])],
            description="Send the vault's backup alerts (job failures) to the backup owners by e-mail",
            enabled=True,
        ),
        tags=tags,
    )


# --- resource guard link and delete lock ---
if v.get("resourceGuardId"):
    rs.ResourceGuardProxy(
        f"{v['name']}-guard-resource-guard",
        resource_group_name=rg,
        vault_name=vault.name,
        resource_guard_proxy_name="VaultProxy",
        properties=rs.ResourceGuardProxyBaseArgs(resource_guard_resource_id=v["resourceGuardId"]),
        opts=pulumi.ResourceOptions(protect=protect),
    )
if v.get("deleteLock", True) and protect:
    authorization.ManagementLockByScope(
        f"{v['name']}-guard-delete-lock",
        scope=vault.id,
        lock_name="irisbackup-vault-cannot-delete",
        level="CanNotDelete",
        notes="Backup data of IRIS VMs: set allowDestroy: true in the irisbackup stack (reviewed) to lift this lock; "
              "never delete it by hand",
    )


# --- backup policies ---
def at(hhmm):
    return f"2024-01-01T{hhmm}:00Z"


def duration(count, unit):
    return rs.RetentionDurationArgs(count=count, duration_type=unit)


policies = {}
for pname, p in s["policies"].items():
    sch, ret = p["schedule"], p["retention"]
    freq = sch["frequency"]
    t = at(sch["windowStart"] if freq == "Hourly" else sch["time"])
    enhanced = p["kind"] == "enhanced"
    days = sch.get("days", [])
    if enhanced:
        schedule = rs.SimpleSchedulePolicyV2Args(
            schedule_policy_type="SimpleSchedulePolicyV2",
            schedule_run_frequency=freq,
            hourly_schedule=rs.HourlyScheduleArgs(interval=sch["intervalHours"], schedule_window_start_time=t,
                                                  schedule_window_duration=sch["windowHours"]) if freq == "Hourly" else None,
            daily_schedule=rs.DailyScheduleArgs(schedule_run_times=[t]) if freq == "Daily" else None,
            weekly_schedule=rs.WeeklyScheduleArgs(schedule_run_days=days, schedule_run_times=[t]) if freq == "Weekly" else None,
        )
    else:
        schedule = rs.SimpleSchedulePolicyArgs(schedule_policy_type="SimpleSchedulePolicy", schedule_run_frequency=freq,
                                               schedule_run_times=[t], schedule_run_days=days or None)
    w, m, y = ret.get("weekly"), ret.get("monthly"), ret.get("yearly")
    archive, irg = p.get("archive"), p.get("instantRestoreResourceGroup")
    policies[pname] = rs.ProtectionPolicy(
        f"{pname}-policy",
        resource_group_name=rg,
        vault_name=vault.name,
        policy_name=pname,
        properties=rs.AzureIaaSVMProtectionPolicyArgs(
            backup_management_type="AzureIaasVM",
            policy_type="V2" if enhanced else "V1",
            time_zone=p.get("timeZone", "UTC"),
            instant_rp_retention_range_in_days=p.get("instantRestoreDays", 2),
            tiering_policy={"ArchivedRP": rs.TieringPolicyArgs(
                tiering_mode=archive["mode"], duration=archive.get("afterMonths"),
                duration_type="Months" if archive.get("afterMonths") else None)} if archive else None,
            instant_rp_details=rs.InstantRPAdditionalDetailsArgs(
                azure_backup_rg_name_prefix=irg["prefix"], azure_backup_rg_name_suffix=irg.get("suffix")) if irg else None,
            schedule_policy=schedule,
            retention_policy=rs.LongTermRetentionPolicyArgs(
                retention_policy_type="LongTermRetentionPolicy",
                daily_schedule=rs.DailyRetentionScheduleArgs(retention_times=[t], retention_duration=duration(ret["dailyDays"], "Days"))
                if ret.get("dailyDays") is not None else None,
                weekly_schedule=rs.WeeklyRetentionScheduleArgs(
                    days_of_the_week=w.get("days", ["Sunday"]), retention_times=[t], retention_duration=duration(w["weeks"], "Weeks"))
                if w else None,
                monthly_schedule=rs.MonthlyRetentionScheduleArgs(
                    retention_schedule_format_type="Weekly",
                    retention_schedule_weekly=rs.WeeklyRetentionFormatArgs(
                        days_of_the_week=[m.get("day", "Sunday")], weeks_of_the_month=[m.get("week", "First")]),
                    retention_times=[t], retention_duration=duration(m["months"], "Months"))
                if m else None,
                yearly_schedule=rs.YearlyRetentionScheduleArgs(
                    retention_schedule_format_type="Weekly",
                    months_of_year=[y.get("month", "January")],
                    retention_schedule_weekly=rs.WeeklyRetentionFormatArgs(
                        days_of_the_week=[y.get("day", "Sunday")], weeks_of_the_month=[y.get("week", "First")]),
                    retention_times=[t], retention_duration=duration(y["years"], "Years"))
                if y else None,
            ),
        ),
    )

# --- NSG egress rules: HTTPS to Storage of the region (backup), AzureCloud of the region (Run Command) ---
# (no health alerts here, so no Azure Monitor Agent rules)
run_command_nsgs = {n.lower() for vm in s["vms"] if vm.get("delivery") == "runCommand" for n in vm.get("networkSecurityGroups", [])}
rules_by_nsg = {}
for nsg in s.get("networkSecurityGroups", []):
    parts = nsg["id"].rstrip("/").split("/")
    nsg_rg, nsg_name = parts[4], parts[8]
    storage = f"Storage.{SERVICE_TAG_REGIONS[location]}"
    wanted = [("storage", "Allow-AzureBackup-Storage-Https-Outbound", 0, storage,
               f"Azure VM backup: HTTPS to {storage} (managed by irisbackup)")]
    if nsg["id"].lower() in run_command_nsgs:
        wanted.append(("azurecloud", "Allow-RunCommand-AzureCloud-Https-Outbound", 3, f"AzureCloud.{location}",
                       f"Run Command returns the hook installer's result: HTTPS to AzureCloud.{location} (managed by irisbackup)"))
    rules_by_nsg[nsg["id"].lower()] = [
        network.SecurityRule(
            f"egress-{nsg_rg}-{nsg_name}-{key}",
            resource_group_name=nsg_rg,
            network_security_group_name=nsg_name,
            security_rule_name=rule_name,
            description=description,
            priority=nsg["firstPriority"] + slot,
            direction="Outbound",
            access="Allow",
            protocol="Tcp",
            source_address_prefix="VirtualNetwork",
            source_port_range="*",
            destination_address_prefix=destination,
            destination_port_range="443",
        )
        for key, rule_name, slot, destination, description in wanted
    ]

# --- the hook bundle: version and sha256 over every file (as install.sh records it) ---
version = (HOOKS / "VERSION").read_text().strip()
files = sorted((f"./{f.relative_to(HOOKS).as_posix()}", f) for f in HOOKS.rglob("*") if f.is_file())
sha256 = hashlib.sha256("".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {n}\n" for n, f in files).encode()).hexdigest()
staging = f"irisbackup-staging/{version}-{sha256[:12]}"
bundle = HookBundle(HOOKS, version, sha256)

# --- per VM: hooks over SSH, snapshot extension, protected item ---
protected_items, hooks = {}, {}
# Mirror membership and the credentials' source are cross-VM or derived settings: the same pure
# functions render them (names and URLs only).
parsed = parse_settings(s)


def vm_extra_settings(vm_name):
    vm_settings = next(v for v in parsed.vms if v.name == vm_name)
    return {"mirror_members": hook_mirror_members(parsed, vm_name), **hook_credential_lines(vm_settings)}


for vm in s["vms"]:
    parts = vm["id"].rstrip("/").split("/")
    vm_rg, vm_name = parts[4], parts[8]
    policy_id = policies[vm["policy"]].id
    retired = vm.get("retired", False)
    egress = [rule for nsg in vm.get("networkSecurityGroups", []) for rule in rules_by_nsg[nsg.lower()]]
    depends = [] if retired else list(egress)
    extension_after = []
    h, delivery = vm.get("hooks", {}), vm.get("delivery", "ssh")
    application = not retired and vm.get("consistency", "application") == "application"
    if application:
        instances = " ".join(f"{i['name']}:{i.get('product', 'iris')}" for i in h.get("instances", []))
        settings_text = (
            "# irisbackup hook settings, rendered by Pulumi. An empty instances= means: every running instance.\n"
            f"instances={instances}\n"
            f"call_timeout_seconds={h.get('callTimeoutSeconds', 15)}\n"
            f"azure_timeout_seconds={h.get('azureTimeoutSeconds', 120)}\n"
            f"freeze_budget_seconds={h.get('freezeBudgetSeconds', 200)}\n"
            f"wd_suspend_limit_seconds={h.get('wdSuspendLimitSeconds', 300)}\n"
            f"external_freeze_timeout_seconds={h.get('externalFreezeTimeoutSeconds', 600)}\n"
            f"runner_poll_seconds={h.get('runnerPollSeconds', 1)}\n"
            f"continue_backup_on_failure={str(h.get('continueBackupOnFailure', True)).lower()}\n"
            f"credentials_file={h.get('credentialsFile') or ''}\n"
        ) + "".join(f"{key}={value}\n" for key, value in vm_extra_settings(vm_name).items() if value)
    if delivery == "runCommand":
        # The inline script is text; the flat program renders it with the same pure function.
        action = "install" if application else "uninstall"
        owner = run_command_owner_id(pulumi.get_stack(), vm_name)
        script = render_install_script(bundle, owner) if application else render_uninstall_script(owner)
        parameters = [compute.RunCommandInputParameterArgs(name="IRISBACKUP_ACTION", value=action)]
        if application:
            parameters += [compute.RunCommandInputParameterArgs(name="IRISBACKUP_BUNDLE_VERSION", value=version),
                           compute.RunCommandInputParameterArgs(name="IRISBACKUP_BUNDLE_SHA256", value=sha256)]
        created = local.Command(f"hooks-{vm_name}-created", create=STAMP_COMMAND)
        run_command = compute.VirtualMachineRunCommandByVirtualMachine(
            f"hooks-{vm_name}-runcommand",
            resource_group_name=vm_rg,
            vm_name=vm_name,
            run_command_name=created.stdout.apply(run_command_script.run_command_name),
            location=location,
            source=compute.VirtualMachineRunCommandScriptSourceArgs(script=script),
            parameters=parameters,
            protected_parameters=pulumi.Output.secret([compute.RunCommandInputParameterArgs(
                name="IRISBACKUP_SETTINGS", value=settings_text)]) if application else None,
            async_execution=False,
            treat_failure_as_deployment_failure=True,
            timeout_in_seconds=h.get("freezeBudgetSeconds", 200) + 30 + h.get("callTimeoutSeconds", 15) + 120,
            opts=pulumi.ResourceOptions(protect=protect and application, depends_on=egress,
                                        ignore_changes=["runCommandName"]),
        )
        extension_after = [run_command]
        if application:
            depends += [created, run_command]
            hooks[vm_name] = {"version": version, "sha256": sha256, "channel": "runCommand"}
    elif application:
        ssh = vm["ssh"]
        proxy = ssh.get("proxy")
        connection = remote.ConnectionArgs(
            host=ssh["host"], user=ssh["user"], port=ssh.get("port", 22),
            private_key=config.require_secret(ssh.get("privateKeyConfig", "sshPrivateKey")), host_key=ssh.get("hostKey"),
            proxy=remote.ProxyConnectionArgs(
                host=proxy["host"], user=proxy["user"], port=proxy.get("port", 22),
                private_key=config.require_secret(proxy.get("privateKeyConfig", "sshPrivateKey")),
            ) if proxy else None,
        )
        owner = re.sub(r"[^A-Za-z0-9._:-]", "-", f"{pulumi.get_stack()}:{vm_name}")[:128]
        installer = f"sudo -n sh {shlex.quote(staging)}/hooks/install.sh --owner {shlex.quote(owner)}"
        staging_dir = remote.Command(
            f"hooks-{vm_name}-staging",
            connection=connection,
            create=f"umask 077 && mkdir -p irisbackup-staging && rm -rf {shlex.quote(staging)} && mkdir {shlex.quote(staging)}",
            delete=f"rm -rf {shlex.quote(staging)}",
            triggers=[version, sha256],
        )
        copy = remote.CopyToRemote(
            f"hooks-{vm_name}-bundle",
            connection=connection,
            source=pulumi.FileArchive(str(HOOKS)),
            remote_path=staging,
            triggers=[version, sha256],
            opts=pulumi.ResourceOptions(depends_on=[staging_dir]),
        )
        install = remote.Command(
            f"hooks-{vm_name}-install",
            connection=connection,
            create=f"{installer} --settings -",
            update=f"{installer} --settings -",
            delete=f"{installer} --uninstall",
            stdin=settings_text,
            triggers=[version, sha256],
            opts=pulumi.ResourceOptions(depends_on=[copy]),
        )
        depends += [staging_dir, copy, install]
        hooks[vm_name] = {"version": version, "sha256": sha256, "channel": "ssh"}
    if not retired and vm.get("manageExtension", False):
        depends.append(compute.VirtualMachineExtension(
            f"{vm_name}-snapshot-extension",
            resource_group_name=vm_rg,
            vm_name=vm_name,
            vm_extension_name="VMSnapshotLinux",
            location=location,
            publisher="Microsoft.Azure.RecoveryServices",
            type="VMSnapshotLinux",
            type_handler_version="1.0",
            auto_upgrade_minor_version=True,
            suppress_failures=True,
            opts=pulumi.ResourceOptions(retain_on_delete=True, depends_on=extension_after, ignore_changes=[
                "typeHandlerVersion", "autoUpgradeMinorVersion", "enableAutomaticUpgrade", "settings",
                "protectedSettings", "forceUpdateTag", "suppressFailures", "tags"]),
        ))
    disks = vm.get("disks")
    if retired:
        state = "ProtectionStopped" if v.get("immutability", "Unlocked") == "Disabled" else "BackupsSuspended"
        properties = rs.AzureIaaSComputeVMProtectedItemArgs(
            protected_item_type="Microsoft.Compute/virtualMachines", source_resource_id=vm["id"],
            policy_id=policy_id if state == "BackupsSuspended" else None, protection_state=state)
    else:
        properties = rs.AzureIaaSComputeVMProtectedItemArgs(
            protected_item_type="Microsoft.Compute/virtualMachines", source_resource_id=vm["id"], policy_id=policy_id,
            extended_properties=rs.ExtendedPropertiesArgs(disk_exclusion_properties=rs.DiskExclusionPropertiesArgs(
                disk_lun_list=sorted(disks.get("include", disks.get("exclude", []))),
                is_inclusion_list="include" in disks)) if disks else None)
    item = rs.ProtectedItem(
        f"{vm_name}-protected-item",
        resource_group_name=rg,
        vault_name=vault.name,
        fabric_name="Azure",
        container_name=f"iaasvmcontainer;iaasvmcontainerv2;{vm_rg};{vm_name}",
        protected_item_name=f"vm;iaasvmcontainerv2;{vm_rg};{vm_name}",
        location=location,
        properties=properties,
        opts=pulumi.ResourceOptions(protect=protect, depends_on=depends),
    )
    protected_items[vm_name] = {"id": item.id, "policyId": policy_id}

# --- restore-drill sandbox (names, NSG rules and role grants from the pure modules ours uses) ---
d = s.get("drill", {})
if d.get("enabled"):
    from pulumi_azure_native import authorization, managedidentity, resources, storage

    from irisbackup.azure_ids import parse_resource_id
    from irisbackup.drill import drill_isolation as iso
    from irisbackup.drill import drill_naming as dn
    from irisbackup.drill import drill_roles as roles
    from irisbackup.settings import IDENTITY_TYPE

    stack, sub = pulumi.get_stack(), s["resourceGroupId"].split("/")[2].lower()
    drg = dn.drill_resource_group_name(stack, d.get("resourceGroupName"))
    dtags = dn.sandbox_tags(stack, tags)
    prefix = d.get("addressPrefix", "10.255.0.0/24")
    group = resources.ResourceGroup("drill-rg", resource_group_name=drg, location=location, tags=dtags)
    after_group = pulumi.ResourceOptions(depends_on=[group])
    nsg = network.NetworkSecurityGroup(
        "drill-nsg", resource_group_name=drg, network_security_group_name=dn.nsg_name(stack), location=location,
        tags=dtags, opts=after_group,
        security_rules=[network.SecurityRuleArgs(**r.security_rule_args()) for r in iso.sandbox_nsg_rules(location)])
    vnet = network.VirtualNetwork(
        "drill-vnet", resource_group_name=drg, virtual_network_name=dn.vnet_name(stack), location=location, tags=dtags,
        address_space=network.AddressSpaceArgs(address_prefixes=[prefix]), opts=after_group)
    subnet = network.Subnet(
        "drill-subnet", resource_group_name=drg, virtual_network_name=dn.vnet_name(stack), subnet_name=dn.SUBNET_NAME,
        address_prefix=prefix, network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
        default_outbound_access=True, opts=pulumi.ResourceOptions(depends_on=[vnet]))
    account_name = dn.staging_account_name(sub, drg, stack)
    account = storage.StorageAccount(
        "drill-staging", resource_group_name=drg, account_name=account_name, location=location, tags=dtags,
        sku=storage.SkuArgs(name="Standard_LRS"), kind="StorageV2", access_tier="Hot", allow_blob_public_access=False,
        minimum_tls_version="TLS1_2", enable_https_traffic_only=True, allow_cross_tenant_replication=False,
        network_rule_set=storage.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"), opts=after_group)
    identity = managedidentity.UserAssignedIdentity(
        "drill-identity", resource_group_name=drg, resource_name_=dn.identity_name(stack), location=location,
        tags=dtags, opts=after_group)
    stack_vms = [parse_resource_id(x["id"], "Microsoft.Compute/virtualMachines") for x in s["vms"]]
    grants = roles.drill_role_grants(
        iso.ResourceId(sub, rg, iso.VAULT_TYPE, v["name"]), iso.ResourceId(sub, drg),
        iso.ResourceId(sub, drg, iso.STORAGE_ACCOUNT_TYPE, account_name),
        roles.source_vm_ids([x["name"] for x in d["vms"]], stack_vms), stack_vms)
    definitions = {
        role.guid: authorization.RoleDefinition(
            f"drill-role-{role.key}", scope=role.scope, role_definition_id=role.guid, role_name=role.role_name,
            description=role.description, role_type="CustomRole", assignable_scopes=list(role.assignable_scopes),
            permissions=[authorization.PermissionArgs(actions=[a.name for a in role.actions])], opts=after_group)
        for role in roles.custom_roles(grants)
    }
    identity_id = iso.ResourceId(sub, drg, IDENTITY_TYPE, dn.identity_name(stack))
    for grant in grants:
        role_deps = [definitions[grant.role_definition_guid]] if grant.role_definition_guid in definitions else []
        authorization.RoleAssignment(
            f"drill-{grant.key}", scope=grant.scope, role_assignment_name=grant.assignment_name(identity_id),
            role_definition_id=grant.role_definition_id(sub),
            principal_id=identity.principal_id, principal_type="ServicePrincipal",
            description=f"irisbackup restore drill: {grant.why}"[:1024],
            opts=pulumi.ResourceOptions(delete_before_replace=True, depends_on=[group, account, vault, *role_deps]))
    pulumi.export("drill", {"resourceGroupName": drg, "subnetId": subnet.id, "storageAccountId": account.id,
                            "identityClientId": identity.client_id, "identityId": identity.id})

pulumi.export("vaultId", vault.id)
pulumi.export("vaultName", vault.name)
pulumi.export("policyIds", {name: policy.id for name, policy in policies.items()})
pulumi.export("protectedItems", protected_items)
pulumi.export("hooks", hooks)
