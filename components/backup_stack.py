"""Wires the components together for one stack: what `__main__.py` declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from .backup_policy import BackupPolicy, BackupPolicyArgs
from .drill_sandbox import DrillSandbox, DrillSandboxArgs
from .egress_rules import BackupEgressRules, BackupEgressRulesArgs
from .freeze_thaw_hooks import FreezeThawHooks, FreezeThawHooksArgs
from .health_alerts import HealthAlerts, HealthAlertsArgs
from .health_rules import health_targets
from .hook_bundle import HookBundle, render_hook_settings
from .naming import hook_owner_id
from .protected_vm import ProtectedVm, ProtectedVmArgs
from .settings import Ssh, SshProxy, StackSettings, VmSettings
from .vault import BackupVault, BackupVaultArgs

SecretLookup = Callable[[str], pulumi.Output[str]]


@dataclass
class BackupStackOutputs:
    vault: BackupVault
    policies: dict[str, BackupPolicy]
    protected_vms: dict[str, ProtectedVm]
    hooks: dict[str, FreezeThawHooks]
    health: HealthAlerts | None = None
    drill: DrillSandbox | None = None

    def export(self) -> None:
        pulumi.export("vaultId", self.vault.vault_id)
        pulumi.export("vaultName", self.vault.vault_name)
        pulumi.export("policyIds", {name: policy.policy_id for name, policy in self.policies.items()})
        pulumi.export("protectedItems", {
            vm: {"id": item.protected_item_id, "policyId": item.policy_id} for vm, item in self.protected_vms.items()
        })
        pulumi.export("hooks", {vm: {"version": hooks.version, "sha256": hooks.sha256} for vm, hooks in self.hooks.items()})
        if self.drill:
            # What `python -m drill` and the restore-drill workflow need (AZURE_CLIENT_ID: identityClientId).
            pulumi.export("drill", {
                "resourceGroupName": self.drill.resource_group_name, "subnetId": self.drill.subnet_id,
                "storageAccountId": self.drill.storage_account_id, "identityClientId": self.drill.identity_client_id,
                "identityId": self.drill.identity_id,
            })


def required_secret_keys(settings: StackSettings) -> set[str]:
    """Config keys that must hold secrets (SSH keys) before anything can be declared."""
    keys = set()
    for vm in settings.vms:
        if vm.ssh:
            keys.add(vm.ssh.private_key_config)
            if vm.ssh.proxy:
                keys.add(vm.ssh.proxy.private_key_config)
    return keys


def declare_backup_stack(settings: StackSettings, bundle: HookBundle, secret: SecretLookup) -> BackupStackOutputs:
    resource_group = settings.resource_group_id.resource_group
    protect = not settings.allow_destroy
    vault = BackupVault(settings.vault.name, BackupVaultArgs(
        settings=settings.vault, resource_group_name=resource_group, location=settings.location,
        protect=protect, tags=settings.tags,
    ))
    policies = {
        name: BackupPolicy(name, BackupPolicyArgs(
            policy_name=name, settings=policy, resource_group_name=resource_group, vault_name=vault.vault_name,
        ), pulumi.ResourceOptions(parent=vault))
        for name, policy in settings.policies.items()
    }
    egress_by_nsg = {
        str(nsg.id).lower(): BackupEgressRules(
            f"egress-{nsg.id.resource_group}-{nsg.id.name}", BackupEgressRulesArgs(
                nsg_id=nsg.id, first_priority=nsg.first_priority, location=settings.location)
        )
        for nsg in settings.network_security_groups
    }
    protected_vms: dict[str, ProtectedVm] = {}
    hooks: dict[str, FreezeThawHooks] = {}
    for vm in settings.vms:
        prerequisites: list[pulumi.Resource] = [egress_by_nsg[str(nsg).lower()] for nsg in vm.network_security_groups]
        if vm.consistency == "application":
            hooks[vm.name] = FreezeThawHooks(f"hooks-{vm.name}", FreezeThawHooksArgs(
                connection=_connection(vm, secret), bundle=bundle, settings_text=render_hook_settings(vm.hooks),
                owner_id=hook_owner_id(pulumi.get_stack(), vm.name),
            ))
            # The first backup after `pulumi up` must already be application-consistent.
            prerequisites.append(hooks[vm.name])
        protected_vms[vm.name] = ProtectedVm(vm.name, ProtectedVmArgs(
            vm_id=vm.id, location=settings.location, policy_id=policies[vm.policy].policy_id,
            vault_name=vault.vault_name, vault_resource_group_name=resource_group,
            manage_extension=vm.manage_extension, protect=protect, prerequisites=prerequisites,
        ))
    drill = DrillSandbox("drill", DrillSandboxArgs(
        stack=pulumi.get_stack(), settings=settings.drill, vault_resource_group=settings.resource_group_id,
        vault_name=settings.vault.name, location=settings.location, tags=settings.tags, depends_on=[vault.vault],
    )) if settings.drill.enabled else None
    return BackupStackOutputs(vault, policies, protected_vms, hooks, drill=drill, health=_health(settings, vault))


def _health(settings: StackSettings, vault: BackupVault) -> HealthAlerts | None:
    if not settings.health.enabled:
        return None
    return HealthAlerts(f"health-{settings.vault.name}", HealthAlertsArgs(
        settings=settings, targets=health_targets(settings), action_group_id=vault.action_group_id, tags=settings.tags,
    ))


def _connection(vm: VmSettings, secret: SecretLookup) -> remote.ConnectionArgs:
    ssh: Ssh = vm.ssh  # type: ignore[assignment]  # settings guarantee ssh for application consistency
    return remote.ConnectionArgs(
        host=ssh.host, user=ssh.user, port=ssh.port, private_key=secret(ssh.private_key_config),
        host_key=ssh.host_key, proxy=_proxy(ssh.proxy, secret) if ssh.proxy else None,
    )


def _proxy(proxy: SshProxy, secret: SecretLookup) -> remote.ProxyConnectionArgs:
    return remote.ProxyConnectionArgs(
        host=proxy.host, user=proxy.user, port=proxy.port, private_key=secret(proxy.private_key_config),
    )
