"""The isolated sandbox restore drills run in, and the identity that runs them (issue 13).

Long-lived and declared here; each drill run (`python -m drill`) adds a VM, NIC and disks inside it
and deletes them again. Names and tags: drill_naming.py; NSG rules: drill_isolation.py; roles: drill_roles.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, managedidentity, network, resources, storage

from irisbackup.azure_ids import ResourceId
from irisbackup.drill import drill_naming as naming
from irisbackup.drill.drill_isolation import sandbox_nsg_rules, sandbox_resource_group_id, staging_account_id, vault_id
from irisbackup.drill.drill_roles import custom_roles, drill_role_grants
from irisbackup.role_grants import RoleGrant
from irisbackup.settings.drill import DrillSettings
from irisbackup.settings.identity import IDENTITY_TYPE


@dataclass
class DrillSandboxArgs:
    stack: str
    settings: DrillSettings
    # The vault's resource group (its subscription is the sandbox's) and the vault's region:
    # RestoreDisks needs the staging account in the vault's region.
    vault_resource_group: ResourceId
    vault_name: str
    location: str
    # The stack VMs drills restore (drill.vms): RestoreDisks needs a grant on each.
    source_vms: list[ResourceId] = field(default_factory=list)
    # Every VM of the stack: where the source-VM role is assignable (drill_roles.drill_role_grants).
    stack_vms: list[ResourceId] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    # Resources the role assignments wait for (the vault).
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class DrillSandbox(pulumi.ComponentResource):
    resource_group_name: str
    resource_group_id: str
    subnet_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]

    def __init__(self, name: str, args: DrillSandboxArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:drill:DrillSandbox", name, None, opts)
        subscription = args.vault_resource_group.subscription_id
        self.resource_group_name = naming.drill_resource_group_name(args.stack, args.settings.resource_group_name)
        sandbox = sandbox_resource_group_id(subscription, self.resource_group_name)
        self.resource_group_id = str(sandbox)
        tags = naming.sandbox_tags(args.stack, args.tags)
        child = pulumi.ResourceOptions(parent=self)
        group = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=self.resource_group_name, location=args.location, tags=tags, opts=child)
        in_group = pulumi.ResourceOptions(parent=self, depends_on=[group])
        nsg = self._nsg(name, args, tags, in_group)
        subnet = self._network(name, args, tags, nsg, in_group)
        account = self._staging_account(name, args, tags, in_group)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity", resource_group_name=self.resource_group_name,
            resource_name_=naming.identity_name(args.stack), location=args.location, tags=tags, opts=in_group)
        staging = staging_account_id(sandbox, naming.staging_account_name(subscription, self.resource_group_name, args.stack))
        grants = drill_role_grants(vault_id(args.vault_resource_group, args.vault_name), sandbox, staging,
                                   args.source_vms, args.stack_vms)
        definitions = self._custom_roles(name, grants, in_group)
        identity_id = ResourceId(subscription, self.resource_group_name, IDENTITY_TYPE, naming.identity_name(args.stack))
        for grant in grants:
            authorization.RoleAssignment(
                f"{name}-{grant.key}",
                scope=grant.scope,
                role_assignment_name=grant.assignment_name(identity_id),
                role_definition_id=grant.role_definition_id(subscription),
                principal_id=identity.principal_id,
                # Avoids the "principal not found" race right after the identity is created.
                principal_type="ServicePrincipal",
                description=f"irisbackup restore drill: {grant.why}"[:1024],
                # Azure allows one assignment per principal, role and scope: a replacement must delete first.
                opts=pulumi.ResourceOptions(
                    parent=self, delete_before_replace=True,
                    depends_on=[group, account, *args.depends_on, *definitions.get(grant.role_definition_guid, ())]),
            )
        self.subnet_id = subnet.id
        self.storage_account_id = account.id
        self.identity_client_id = identity.client_id
        self.identity_id = identity.id
        self.register_outputs({
            "resource_group_name": self.resource_group_name, "subnet_id": self.subnet_id,
            "storage_account_id": self.storage_account_id, "identity_client_id": self.identity_client_id,
        })

    def _nsg(self, name: str, args: DrillSandboxArgs, tags: dict[str, str], opts: pulumi.ResourceOptions) -> network.NetworkSecurityGroup:
        # Rules inline: the NSG never exists, even for a moment, without its deny rules.
        return network.NetworkSecurityGroup(
            f"{name}-nsg", resource_group_name=self.resource_group_name,
            network_security_group_name=naming.nsg_name(args.stack), location=args.location, tags=tags,
            security_rules=[network.SecurityRuleArgs(**rule.security_rule_args()) for rule in sandbox_nsg_rules(args.location)],
            opts=opts,
        )

    def _custom_roles(self, name: str, grants: tuple[RoleGrant, ...],
                      opts: pulumi.ResourceOptions) -> dict[str, tuple[pulumi.Resource]]:
        """The custom role definitions the grants use, by role GUID."""
        return {
            role.guid: (authorization.RoleDefinition(
                f"{name}-role-{role.key}", scope=role.scope, role_definition_id=role.guid, role_name=role.role_name,
                description=role.description, role_type="CustomRole", assignable_scopes=list(role.assignable_scopes),
                permissions=[authorization.PermissionArgs(actions=[action.name for action in role.actions])],
                opts=opts,
            ),)
            for role in custom_roles(grants)
        }

    def _network(self, name: str, args: DrillSandboxArgs, tags: dict[str, str], nsg: network.NetworkSecurityGroup,
                 opts: pulumi.ResourceOptions) -> network.Subnet:
        # No peering, no gateway, no DNS servers: an island. Nothing here declares a peering and the
        # drill identity cannot add one (Virtual Machine Contributor has no virtualNetworks/write).
        vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=self.resource_group_name, virtual_network_name=naming.vnet_name(args.stack),
            location=args.location, tags=tags,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.settings.address_prefix]),
            opts=opts,
        )
        return network.Subnet(
            f"{name}-subnet", resource_group_name=self.resource_group_name, virtual_network_name=naming.vnet_name(args.stack),
            subnet_name=naming.SUBNET_NAME, address_prefix=args.settings.address_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            # Run Command needs a path to Azure's public IPs on 443 (the NSG allows only that); with no
            # public IP and no NAT gateway, that path is default outbound access, so it is set explicitly
            # (new subnets are moving to private-by-default).
            default_outbound_access=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[vnet]),
        )

    def _staging_account(self, name: str, args: DrillSandboxArgs, tags: dict[str, str],
                         opts: pulumi.ResourceOptions) -> storage.StorageAccount:
        subscription = args.vault_resource_group.subscription_id
        # What RestoreDisks accepts as a staging location (learn.microsoft.com/azure/backup/
        # backup-azure-arm-restore-vms, "Storage accounts"): the vault's region, not ZRS, not a
        # BlobStorage account, not premium. Standard_LRS StorageV2 meets all four.
        return storage.StorageAccount(
            f"{name}-staging", resource_group_name=self.resource_group_name,
            account_name=naming.staging_account_name(subscription, self.resource_group_name, args.stack),
            location=args.location, tags=tags,
            sku=storage.SkuArgs(name="Standard_LRS"), kind="StorageV2", access_tier="Hot",
            allow_blob_public_access=False, minimum_tls_version="TLS1_2", enable_https_traffic_only=True,
            allow_cross_tenant_replication=False,
            # No data-plane access from any network; Azure Backup reaches the account as a trusted
            # Microsoft service, and the drill only manages containers through the management plane.
            network_rule_set=storage.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
            opts=opts,
        )
