"""Outbound HTTPS rules on an existing NSG: what the stack's features need there, nothing more.

Which rules, why, and Microsoft's source for each: irisbackup/network/egress_spec.py (pure) and
docs/network-and-rbac.md. Needed only where an NSG denies outbound traffic; 168.63.129.16 (the VM agent's
channel to the host) is never filtered by NSGs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from irisbackup.azure_ids import ResourceId
from irisbackup.network.egress_spec import HTTPS, EgressRule


@dataclass
class EgressRulesArgs:
    nsg_id: ResourceId
    first_priority: int
    rules: tuple[EgressRule, ...]


class EgressRules(pulumi.ComponentResource):
    rule_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: EgressRulesArgs, opts: pulumi.ResourceOptions | None = None):
        # The type token of earlier releases: a new token would change every rule's URN (a replacement).
        super().__init__("irisbackup:network:BackupEgressRules", name, None, opts)
        rules = [
            network.SecurityRule(
                f"{name}-{rule.key}",
                resource_group_name=args.nsg_id.resource_group,
                network_security_group_name=args.nsg_id.name,
                security_rule_name=rule.name,
                description=rule.description,
                priority=args.first_priority + rule.slot,
                direction="Outbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefix="VirtualNetwork",
                source_port_range="*",
                destination_address_prefix=rule.destination,
                destination_port_range=HTTPS,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for rule in args.rules
        ]
        self.rule_ids = pulumi.Output.all(*[rule.id for rule in rules])
        self.register_outputs({"rule_ids": self.rule_ids})
