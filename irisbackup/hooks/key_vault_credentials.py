"""IRIS credentials in Key Vault for the hooks: the secret (from a Pulumi secret) and the VM identity's read grant.

Per secret the stack names (`vms[].hooks.keyVaultCredentials`): with `fromConfig`, a Key Vault secret
whose value is that Pulumi secret config value (a Pulumi secret all the way: state and previews show it
encrypted or masked); without, the secret already exists and nothing writes it. Per VM: a role
assignment of **Key Vault Secrets User** ("Read secret contents") scoped to that one secret, for the VM's
managed identity. Microsoft recommends exactly this for a workload that reads one secret: the data-plane
roles of the Azure RBAC model can be assigned on an individual secret
(learn.microsoft.com/azure/key-vault/general/rbac-guide, "Best Practices for individual keys, secrets,
and certificates role assignments"). The vault must use the Azure RBAC permission model
(`enableRbacAuthorization`); with access policies a role assignment grants nothing.

The hooks then read the secret through IMDS just before the freeze (hooks/creds.sh): that needs outbound
443 to the vault (service tag `AzureKeyVault`, irisbackup/network/egress_spec.py) where an NSG denies outbound.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, compute, keyvault, managedidentity

from irisbackup.role_grants import RoleGrant
from irisbackup.settings.base import SYSTEM_ASSIGNED
from irisbackup.settings.credentials import KeyVaultCredentials
from irisbackup.settings.stack import StackSettings
from irisbackup.settings.vm import VmSettings

# Built-in role (learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def secrets_user_grant(credentials: KeyVaultCredentials) -> RoleGrant:
    return RoleGrant("kv-secrets-user", "Key Vault Secrets User", KEY_VAULT_SECRETS_USER, credentials.secret_scope,
                     "the freeze/thaw hooks read the IRIS credentials (this one secret) just before each freeze")


@dataclass
class KeyVaultCredentialsArgs:
    settings: StackSettings
    # config key -> its secret value (pulumi.Config.require_secret)
    secret: object


class KeyVaultCredentialsGrants(pulumi.ComponentResource):
    """Every Key Vault secret and read grant the stack's hooks need."""

    def __init__(self, name: str, args: KeyVaultCredentialsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:hooks:KeyVaultCredentials", name, None, opts)
        self.grants: dict[str, authorization.RoleAssignment] = {}
        written: dict[str, keyvault.Secret] = {}
        for vm in args.settings.vms:
            credentials = vm.hooks.key_vault_credentials
            if credentials is None or vm.retired or vm.consistency != "application":
                continue
            key = credentials.secret_scope.lower()
            if credentials.from_config and key not in written:
                written[key] = keyvault.Secret(
                    f"{name}-{credentials.vault_id.name}-{credentials.secret_name}",
                    resource_group_name=credentials.vault_id.resource_group,
                    vault_name=credentials.vault_id.name,
                    secret_name=credentials.secret_name,
                    # A Pulumi secret: encrypted in the state, masked in previews and in the offline plan.
                    properties=keyvault.SecretPropertiesArgs(
                        value=args.secret(credentials.from_config),  # type: ignore[operator]
                        content_type="irisbackup IRIS credentials: username line, password line"),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            grant = secrets_user_grant(credentials)
            self.grants[vm.name] = authorization.RoleAssignment(
                f"{name}-{vm.name}-{grant.key}",
                scope=grant.scope,
                role_definition_id=grant.role_definition_id(credentials.vault_id.subscription_id),
                principal_id=_principal_id(vm),
                principal_type="ServicePrincipal",
                description=f"irisbackup {vm.name}: {grant.why}"[:1024],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[written[key]] if key in written else None),
            )
        self.register_outputs({})


def _principal_id(vm: VmSettings) -> pulumi.Output[str]:
    """The object ID of the VM's identity, read from Azure (the program does not change VMs)."""
    if vm.identity == SYSTEM_ASSIGNED:
        found = compute.get_virtual_machine_output(resource_group_name=vm.id.resource_group, vm_name=vm.name)
        return found.identity.apply(lambda identity: identity.principal_id if identity else None)
    identity = vm.identity
    return managedidentity.get_user_assigned_identity_output(
        resource_group_name=identity.resource_group, resource_name=identity.name).principal_id  # type: ignore[union-attr]
