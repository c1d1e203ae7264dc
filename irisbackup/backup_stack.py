"""Wires the components together for one stack: what `__main__.py` declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_command import remote

from irisbackup.drill.drill_roles import source_vm_ids
from irisbackup.drill.drill_sandbox import DrillSandbox, DrillSandboxArgs
from irisbackup.health.health_alerts import HealthAlerts, HealthAlertsArgs
from irisbackup.health.health_rules import health_targets
from irisbackup.hooks import run_command_script
from irisbackup.hooks.freeze_thaw_hooks import FreezeThawHooks, FreezeThawHooksArgs
from irisbackup.hooks.hook_bundle import HookBundle, render_vm_hook_settings
from irisbackup.hooks.key_vault_credentials import KeyVaultCredentialsArgs, KeyVaultCredentialsGrants
from irisbackup.hooks.run_command_hooks import RunCommandHooks, RunCommandHooksArgs
from irisbackup.naming import hook_owner_id, vault_guard_name
from irisbackup.network.egress_rules import EgressRules, EgressRulesArgs
from irisbackup.network.egress_spec import required_egress
from irisbackup.policy.backup_policy import BackupPolicy, BackupPolicyArgs
from irisbackup.policy.parity_spec import retired_protection_state
from irisbackup.settings.stack import StackSettings
from irisbackup.settings.vm import Ssh, SshProxy, VmSettings
from irisbackup.vault.vault import BackupVault, BackupVaultArgs
from irisbackup.vault.vault_guard import VaultGuard, VaultGuardArgs
from irisbackup.vm.protected_vm import ProtectedVm, ProtectedVmArgs

SecretLookup = Callable[[str], pulumi.Output[str]]


@dataclass
class BackupStackOutputs:
    vault: BackupVault
    policies: dict[str, BackupPolicy]
    protected_vms: dict[str, ProtectedVm]
    hooks: dict[str, FreezeThawHooks | RunCommandHooks]
    health: HealthAlerts | None = None
    drill: DrillSandbox | None = None

    def export(self) -> None:
        pulumi.export("vaultId", self.vault.vault_id)
        pulumi.export("vaultName", self.vault.vault_name)
        pulumi.export("policyIds", {name: policy.policy_id for name, policy in self.policies.items()})
        pulumi.export("protectedItems", {
            vm: {"id": item.protected_item_id, "policyId": item.policy_id} for vm, item in self.protected_vms.items()
        })
        pulumi.export("hooks", {
            vm: {"version": hooks.version, "sha256": hooks.sha256, "channel": _channel(hooks)} for vm, hooks in self.hooks.items()
        })
        if self.drill:
            # What `python -m drill` and the restore-drill workflow need (AZURE_CLIENT_ID: identityClientId).
            pulumi.export("drill", {
                "resourceGroupName": self.drill.resource_group_name, "subnetId": self.drill.subnet_id,
                "storageAccountId": self.drill.storage_account_id, "identityClientId": self.drill.identity_client_id,
                "identityId": self.drill.identity_id,
            })


def required_secret_keys(settings: StackSettings) -> set[str]:
    """Config keys that must hold secrets (SSH keys, IRIS credentials for Key Vault) before anything can be declared."""
    keys = set()
    for vm in settings.vms:
        # A crash-consistent VM installs nothing, so its ssh block (kept for later) needs no key.
        if vm.ssh and vm.consistency == "application":
            keys.add(vm.ssh.private_key_config)
            if vm.ssh.proxy:
                keys.add(vm.ssh.proxy.private_key_config)
        credentials = vm.hooks.key_vault_credentials
        if credentials and credentials.from_config and vm.consistency == "application" and not vm.retired:
            keys.add(credentials.from_config)  # written into Key Vault: a Pulumi secret, never plain config
    return keys


def declare_backup_stack(settings: StackSettings, bundle: HookBundle, secret: SecretLookup) -> BackupStackOutputs:
    resource_group = settings.resource_group_id.resource_group
    protect = not settings.allow_destroy
    vault = BackupVault(settings.vault.name, BackupVaultArgs(
        settings=settings.vault, resource_group_name=resource_group, location=settings.location,
        protect=protect, tags=settings.tags,
    ))
    VaultGuard(vault_guard_name(settings.vault.name), VaultGuardArgs(
        vault_id=vault.vault_id, vault_name=vault.vault_name, resource_group_name=resource_group,
        resource_guard_id=settings.vault.resource_guard_id,
        # On by default, lifted only while the stack allows destroy (settings reject deleteLock + allowDestroy).
        delete_lock=settings.vault.delete_lock and not settings.allow_destroy, protect=protect,
    ), pulumi.ResourceOptions(parent=vault))
    policies = {
        name: BackupPolicy(name, BackupPolicyArgs(
            policy_name=name, settings=policy, resource_group_name=resource_group, vault_name=vault.vault_name,
        ), pulumi.ResourceOptions(parent=vault))
        for name, policy in settings.policies.items()
    }
    egress = required_egress(settings)
    egress_by_nsg = {
        str(nsg.id).lower(): EgressRules(
            f"egress-{nsg.id.resource_group}-{nsg.id.name}", EgressRulesArgs(
                nsg_id=nsg.id, first_priority=nsg.first_priority, rules=egress[str(nsg.id).lower()])
        )
        for nsg in settings.network_security_groups
    }
    protected_vms: dict[str, ProtectedVm] = {}
    hooks: dict[str, FreezeThawHooks | RunCommandHooks] = {}
    # VM name (lower case) -> its last extension write so far. One VM's extension writes (Run Command,
    # VMSnapshotLinux, Azure Monitor Agent) run one after the other: Azure answers a parallel one with 409.
    extension_writes: dict[str, list[pulumi.Resource]] = {}
    credentials = KeyVaultCredentialsGrants("hook-credentials", KeyVaultCredentialsArgs(settings, secret)) if any(
        vm.hooks.key_vault_credentials for vm in settings.vms) else None
    for vm in settings.vms:
        vm_egress: list[pulumi.Resource] = [egress_by_nsg[str(nsg).lower()] for nsg in vm.network_security_groups]
        run_command: RunCommandHooks | None = None
        if vm.delivery == "runCommand" and (vm.retired or vm.consistency == "crash"):
            # A run command's delete runs nothing, so retiring or switching to crash consistency takes a
            # deliberate uninstall step (an SSH install's delete uninstalls it by itself).
            run_command = _run_command_hooks(vm, settings, bundle, "uninstall", vm_egress)
        elif vm.consistency == "application" and not vm.retired:
            grant = [credentials.grants[vm.name]] if credentials and vm.name in credentials.grants else []
            hooks[vm.name] = _declare_hooks(vm, settings, bundle, secret, vm_egress, grant)
            run_command = hooks[vm.name] if isinstance(hooks[vm.name], RunCommandHooks) else None
        writes = [run_command.run_command] if run_command else []
        if vm.retired:
            # No more backups: no hooks, extension or egress to wait for (docs/vm-lifecycle.md).
            protected_vms[vm.name] = ProtectedVm(vm.name, ProtectedVmArgs(
                vm_id=vm.id, location=settings.location, policy_id=policies[vm.policy].policy_id,
                vault_name=vault.vault_name, vault_resource_group_name=resource_group, manage_extension=False,
                protect=protect, retired_state=retired_protection_state(settings.vault.immutability),
            ))
            continue
        # The first backup after `pulumi up` must already be application-consistent.
        prerequisites = vm_egress + ([hooks[vm.name]] if vm.name in hooks else [])
        protected_vms[vm.name] = ProtectedVm(vm.name, ProtectedVmArgs(
            vm_id=vm.id, location=settings.location, policy_id=policies[vm.policy].policy_id,
            vault_name=vault.vault_name, vault_resource_group_name=resource_group,
            manage_extension=vm.manage_extension, protect=protect, prerequisites=prerequisites, disks=vm.disks,
            extension_after=writes,
        ))
        extension = protected_vms[vm.name].extension
        extension_writes[vm.name.lower()] = [extension] if extension else writes
    drill = DrillSandbox("drill", DrillSandboxArgs(
        stack=pulumi.get_stack(), settings=settings.drill, vault_resource_group=settings.resource_group_id,
        vault_name=settings.vault.name, location=settings.location, tags=settings.tags, depends_on=[vault.vault],
        source_vms=source_vm_ids([vm.name for vm in settings.drill.vms], [vm.id for vm in settings.vms]),
        stack_vms=[vm.id for vm in settings.vms],
    )) if settings.drill.enabled else None
    health = _health(settings, vault, extension_writes, protected_vms)
    return BackupStackOutputs(vault, policies, protected_vms, hooks, drill=drill, health=health)


def _health(settings: StackSettings, vault: BackupVault, extension_writes: dict[str, list[pulumi.Resource]],
            protected_vms: dict[str, ProtectedVm]) -> HealthAlerts | None:
    if not settings.health.enabled:
        return None
    return HealthAlerts(f"health-{settings.vault.name}", HealthAlertsArgs(
        settings=settings, targets=health_targets(settings), action_group_id=vault.action_group_id, tags=settings.tags,
        agent_after=extension_writes,
        watch_after=dict(protected_vms),
    ))


def _declare_hooks(vm: VmSettings, settings: StackSettings, bundle: HookBundle, secret: SecretLookup,
                   egress: list[pulumi.Resource], grant: list[pulumi.Resource]) -> FreezeThawHooks | RunCommandHooks:
    """grant: the Key Vault grant of the IRIS credentials, which the installer's self-check reads."""
    if vm.delivery == "runCommand":
        return _run_command_hooks(vm, settings, bundle, "install", egress + grant)
    return FreezeThawHooks(f"hooks-{vm.name}", FreezeThawHooksArgs(
        connection=_connection(vm, secret), bundle=bundle, settings_text=render_vm_hook_settings(settings, vm),
        owner_id=hook_owner_id(pulumi.get_stack(), vm.name), depends_on=grant,
    ))


def _run_command_hooks(vm: VmSettings, settings: StackSettings, bundle: HookBundle,
                       action: Literal["install", "uninstall"], after: list[pulumi.Resource]) -> RunCommandHooks:
    return RunCommandHooks(f"hooks-{vm.name}", RunCommandHooksArgs(
        vm=vm, location=settings.location, bundle=bundle, settings_text=render_vm_hook_settings(settings, vm),
        owner_id=run_command_script.run_command_owner_id(pulumi.get_stack(), vm.name), action=action,
        protect=not settings.allow_destroy, depends_on=after,
    ))


def _channel(hooks: FreezeThawHooks | RunCommandHooks) -> str:
    return "runCommand" if isinstance(hooks, RunCommandHooks) else "ssh"


def _connection(vm: VmSettings, secret: SecretLookup) -> remote.ConnectionArgs:
    ssh: Ssh = vm.ssh  # type: ignore[assignment]  # settings guarantee ssh for application consistency
    return remote.ConnectionArgs(
        host=ssh.host, user=ssh.user, port=ssh.port, private_key=secret(ssh.private_key_config),
        host_key=ssh.host_key, proxy=_proxy(ssh.proxy, secret) if ssh.proxy else None,
    )


def _proxy(proxy: SshProxy, secret: SecretLookup) -> remote.ProxyConnectionArgs:
    return remote.ProxyConnectionArgs(
        host=proxy.host, user=proxy.user, port=proxy.port, private_key=secret(proxy.private_key_config),
        host_key=proxy.host_key,
    )
