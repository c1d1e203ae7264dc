"""One named backup policy (standard V1 or enhanced V2) in the vault."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import recoveryservices as rs

from irisbackup.policy.policy_spec import protection_policy_properties
from irisbackup.settings.policy import PolicySettings


@dataclass
class BackupPolicyArgs:
    policy_name: str
    settings: PolicySettings
    resource_group_name: str
    vault_name: pulumi.Input[str]


class BackupPolicy(pulumi.ComponentResource):
    policy_id: pulumi.Output[str]

    def __init__(self, name: str, args: BackupPolicyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:policy:BackupPolicy", name, None, opts)
        policy = rs.ProtectionPolicy(
            f"{name}-policy",
            resource_group_name=args.resource_group_name,
            vault_name=args.vault_name,
            policy_name=args.policy_name,
            properties=protection_policy_properties(args.settings),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy_id = policy.id
        self.register_outputs({"policy_id": self.policy_id})
