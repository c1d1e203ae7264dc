"""Outbound HTTPS rules on an existing NSG so the VM can reach Azure Backup, nothing more.

Needed only where an NSG denies outbound traffic: Azure VM backup needs no explicit outbound rule otherwise
(Microsoft Learn, backup-azure-arm-vms-prepare). The VMSnapshotLinux extension talks to the host at
168.63.129.16, which NSGs do not filter, and writes its status and log blobs to Azure Storage over HTTPS with
SAS URIs (Azure/azure-linux-extensions, VMBackup/main/blobwriter.py): HTTPS to Storage of the vault's (and
VMs') region is the whole need. The global `Storage` tag would open 443 to every storage account in every
region, so the rule names the regional tag. AzureBackup and AzureActiveDirectory are the set Microsoft
documents for the workload backup agents (SQL, SAP HANA), not for snapshot VM backup; AzureBackup has no
regional tag in the service tag table (virtual-network/service-tags-overview: "Can be regional? No").
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from .azure_ids import ResourceId
from .naming import egress_rule_name
from .settings import REGIONAL_SERVICE_TAGS


@dataclass
class BackupEgressRulesArgs:
    nsg_id: ResourceId
    first_priority: int
    # The vault's region (settings `location`): the regional service tag is <tag>.<location>.
    location: str


class BackupEgressRules(pulumi.ComponentResource):
    rule_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: BackupEgressRulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:network:BackupEgressRules", name, None, opts)
        # Service tags match case-insensitively; Azure itself writes regional tags with the ARM location
        # name ("Storage.westeurope"), so the stack's `location` is used as it stands.
        rules = [
            network.SecurityRule(
                f"{name}-{tag.lower()}",
                resource_group_name=args.nsg_id.resource_group,
                network_security_group_name=args.nsg_id.name,
                security_rule_name=egress_rule_name(tag),
                description=f"Azure VM backup: HTTPS to {tag}.{args.location} (managed by irisbackup)",
                priority=args.first_priority + offset,
                direction="Outbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefix="VirtualNetwork",
                source_port_range="*",
                destination_address_prefix=f"{tag}.{args.location}",
                destination_port_range="443",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for offset, tag in enumerate(REGIONAL_SERVICE_TAGS)
        ]
        self.rule_ids = pulumi.Output.all(*[rule.id for rule in rules])
        self.register_outputs({"rule_ids": self.rule_ids})
