"""Outbound HTTPS rules on an existing NSG so the VM can reach Azure Backup, nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from .azure_ids import ResourceId
from .naming import egress_rule_name
from .settings import BACKUP_SERVICE_TAGS


@dataclass
class BackupEgressRulesArgs:
    nsg_id: ResourceId
    first_priority: int


class BackupEgressRules(pulumi.ComponentResource):
    rule_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: BackupEgressRulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:network:BackupEgressRules", name, None, opts)
        # Storage is what snapshot backup needs (status blobs); AzureBackup and AzureActiveDirectory
        # are Microsoft's documented set for the backup agents. Outbound only, one service tag each.
        rules = [
            network.SecurityRule(
                f"{name}-{tag.lower()}",
                resource_group_name=args.nsg_id.resource_group,
                network_security_group_name=args.nsg_id.name,
                security_rule_name=egress_rule_name(tag),
                description=f"Azure VM backup: HTTPS to the {tag} service tag (managed by irisbackup)",
                priority=args.first_priority + offset,
                direction="Outbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefix="VirtualNetwork",
                source_port_range="*",
                destination_address_prefix=tag,
                destination_port_range="443",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for offset, tag in enumerate(BACKUP_SERVICE_TAGS)
        ]
        self.rule_ids = pulumi.Output.all(*[rule.id for rule in rules])
        self.register_outputs({"rule_ids": self.rule_ids})
