"""What isolates the restore-drill sandbox: its NSG rules, and the IDs the roles are scoped to
(the roles themselves: drill_roles.py).

Pure logic (no Pulumi): irisbackup/drill/drill_sandbox.py declares these, the tests check their invariants,
and docs/restore-drill.md ("What the stack declares") explains each one with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from irisbackup.azure_ids import ResourceId

STORAGE_ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
VAULT_TYPE = "Microsoft.RecoveryServices/vaults"


@dataclass(frozen=True)
class NsgRule:
    name: str
    priority: int
    direction: str  # Inbound | Outbound
    access: str  # Allow | Deny
    protocol: str
    destinations: tuple[str, ...]  # CIDRs or one service tag
    ports: tuple[str, ...]
    description: str

    def security_rule_args(self) -> dict[str, object]:
        """Keyword arguments of azure-native's SecurityRuleArgs: one value in the singular field,
        several in the plural one (NSG rules accept either, not both)."""
        destination = ({"destination_address_prefix": self.destinations[0]} if len(self.destinations) == 1
                       else {"destination_address_prefixes": list(self.destinations)})
        port = ({"destination_port_range": self.ports[0]} if len(self.ports) == 1
                else {"destination_port_ranges": list(self.ports)})
        return {"name": self.name, "priority": self.priority, "direction": self.direction, "access": self.access,
                "protocol": self.protocol, "source_address_prefix": "*", "source_port_range": "*",
                **destination, **port, "description": self.description}


# ISCAgent listens on TCP 2188, and so does the arbiter by default (an ISCAgent on a third host);
# 1972 is the superserver: the mirror data channel, ECP and client connections. A restored failover
# member that reached its partner's agent or the arbiter could take part in the mirror
# (reference: packages-mirror-auth-peers.md, "mirror private address validation").
IRIS_MIRROR_PORTS = ("1972", "2188")
# Production's VNets are private address space (RFC 1918, and RFC 6598 shared space, which Azure
# VNets also accept); the sandbox has no route to them today (no peering, no gateway), and these
# rules keep it that way even if someone adds one.
PRIVATE_ADDRESS_SPACE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
# Deny rules sit above (a lower number than) the one allow, so nothing the allow matches can reach them.
DENY_FIRST_PRIORITY = 100
ALLOW_PRIORITY = 200
LAST_PRIORITY = 4096  # the highest number a rule may have; above Azure's defaults at 65000+


def sandbox_nsg_rules(location: str) -> tuple[NsgRule, ...]:
    """The sandbox NSG's rules. The one allow: Run Command returns its results over 443 to Azure
    public IP addresses, which Microsoft says to allow with the AzureCloud service tag
    (learn.microsoft.com/azure/virtual-machines/linux/run-command, "Restrictions"); the regional tag
    of the sandbox's region (canonical form `AzureCloud.westeurope`, as the service tag file names it)
    is all the VM agent and Run Command of a VM in that region talk to. Not filtered by any NSG, so
    the VM agent still works: the wireserver 168.63.129.16 (ports 80 and 32526) and DNS through it
    (learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16). The deny rules at
    4096 override Azure's default AllowVnetInBound, AllowAzureLoadBalancerInBound, AllowVnetOutBound
    and AllowInternetOutBound (65000+)."""
    return (
        NsgRule("Deny-IRIS-Mirror-Ports-Outbound", DENY_FIRST_PRIORITY, "Outbound", "Deny", "Tcp", ("*",),
                IRIS_MIRROR_PORTS, "Restore drill: no ISCAgent/arbiter (2188) or superserver (1972), anywhere (managed by irisbackup)"),
        NsgRule("Deny-Private-Address-Space-Outbound", DENY_FIRST_PRIORITY + 10, "Outbound", "Deny", "*",
                PRIVATE_ADDRESS_SPACE, ("*",), "Restore drill: no private address space, where production's VNets are (managed by irisbackup)"),
        NsgRule("Deny-VirtualNetwork-Outbound", DENY_FIRST_PRIORITY + 20, "Outbound", "Deny", "*", ("VirtualNetwork",),
                ("*",), "Restore drill: nothing in the VNet or anything peered or routed to it (managed by irisbackup)"),
        NsgRule("Allow-AzureCloud-Https-Outbound", ALLOW_PRIORITY, "Outbound", "Allow", "Tcp", (f"AzureCloud.{location}",),
                ("443",), "Run Command and the VM agent return results over HTTPS to Azure in the region (managed by irisbackup)"),
        NsgRule("Deny-All-Outbound", LAST_PRIORITY, "Outbound", "Deny", "*", ("*",), ("*",),
                "Restore drill sandbox: nothing else leaves, not even to the VNet (managed by irisbackup)"),
        NsgRule("Deny-All-Inbound", LAST_PRIORITY, "Inbound", "Deny", "*", ("*",), ("*",),
                "Restore drill sandbox: nothing comes in, not even from the VNet (managed by irisbackup)"),
    )


def sandbox_resource_group_id(subscription_id: str, resource_group: str) -> ResourceId:
    return ResourceId(subscription_id, resource_group)


def staging_account_id(sandbox: ResourceId, account_name: str) -> ResourceId:
    return ResourceId(sandbox.subscription_id, sandbox.resource_group, STORAGE_ACCOUNT_TYPE, account_name)


def vault_id(vault_resource_group: ResourceId, vault_name: str) -> ResourceId:
    return ResourceId(vault_resource_group.subscription_id, vault_resource_group.resource_group, VAULT_TYPE, vault_name)
