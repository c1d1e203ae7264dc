"""The outbound rules each NSG needs for the features the stack turns on (pure logic, no Pulumi).

One function, `required_egress`, derives them; irisbackup/network/egress_rules.py declares them, the policy
pack's `network-egress-only` accepts on each NSG exactly their destinations (policy/offline.py), and
docs/network-and-rbac.md lists each with Microsoft's source. Only NSGs that deny outbound traffic need
any of this: the rules are declared on the NSGs the stack names in `networkSecurityGroups`.

| feature | on an NSG when | destination (TCP 443) |
|---|---|---|
| backup | always (every declared NSG) | `Storage.<Region>` |
| health | health is on and a VM with hooks lists the NSG | `AzureMonitor`, `AzureResourceManager` |
| runCommand | a VM with `delivery: runCommand` lists the NSG | `AzureCloud.<region>` |
| keyVault | a VM whose hooks read IRIS credentials from Key Vault lists the NSG | `AzureKeyVault` |
| drill | never: the restore drill runs in its own sandbox NSG (drill_isolation.py) | - |

Each rule has a fixed priority slot (firstPriority + 0..4), so turning a feature on or off never
renumbers the others, and the backup rule keeps its name and priority of earlier releases (an in-place
update, not a replacement).

Service tags are written as Azure's service tag list spells them ("Storage.WestEurope",
"AzureCloud.westeurope"): Azure matches tags case-insensitively but stores what it is sent, and other
tools read a non-canonical spelling as no tag at all (azure-cli#15462).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings.py imports this module's tables; the types are only needed for checking
    from irisbackup.settings.stack import StackSettings
    from irisbackup.settings.vm import VmSettings

# ARM location name -> the region as Azure's service tag list spells it in service tags
# (Storage.WestEurope; Service Tag Discovery API, "ServiceTags_Public" download). AzureCloud's regional
# tags use the location name itself (AzureCloud.westeurope). Add a region after checking its spelling there.
SERVICE_TAG_REGIONS = {
    "australiaeast": "AustraliaEast",
    "australiasoutheast": "AustraliaSoutheast",
    "brazilsouth": "BrazilSouth",
    "canadacentral": "CanadaCentral",
    "canadaeast": "CanadaEast",
    "centralindia": "CentralIndia",
    "centralus": "CentralUS",
    "eastasia": "EastAsia",
    "eastus": "EastUS",
    "eastus2": "EastUS2",
    "francecentral": "FranceCentral",
    "germanywestcentral": "GermanyWestCentral",
    "italynorth": "ItalyNorth",
    "japaneast": "JapanEast",
    "japanwest": "JapanWest",
    "koreacentral": "KoreaCentral",
    "northcentralus": "NorthCentralUS",
    "northeurope": "NorthEurope",
    "norwayeast": "NorwayEast",
    "polandcentral": "PolandCentral",
    "southafricanorth": "SouthAfricaNorth",
    "southcentralus": "SouthCentralUS",
    "southeastasia": "SoutheastAsia",
    "swedencentral": "SwedenCentral",
    "switzerlandnorth": "SwitzerlandNorth",
    "uaenorth": "UAENorth",
    "uksouth": "UKSouth",
    "ukwest": "UKWest",
    "westcentralus": "WestCentralUS",
    "westeurope": "WestEurope",
    "westus": "WestUS",
    "westus2": "WestUS2",
    "westus3": "WestUS3",
}
# Priorities firstPriority + 0 .. + EGRESS_PRIORITY_SLOTS - 1 are this program's, whichever rules are on.
EGRESS_PRIORITY_SLOTS = 5
# The only port any of the features needs.
HTTPS = "443"

_BACKUP_SOURCE = ("learn.microsoft.com/azure/backup/backup-azure-arm-vms-prepare, \"Establish network "
                  "connectivity\"; the extension's status blobs: Azure/azure-linux-extensions VMBackup/main/blobwriter.py")
_AGENT_SOURCE = ("learn.microsoft.com/azure/azure-monitor/agents/azure-monitor-agent-overview, \"Networking\": "
                 "\"Both AzureMonitor and AzureResourceManager tags are required\"")
_KEY_VAULT_SOURCE = ("learn.microsoft.com/azure/key-vault/general/network-security, \"Key Vault firewall "
                     "enabled (Trusted services only)\" and the service tags list: outbound to Key Vault is "
                     "the `AzureKeyVault` service tag")
_RUN_COMMAND_SOURCE = ("learn.microsoft.com/azure/virtual-machines/linux/run-command, \"Restrictions\": outbound "
                       "443 to Azure public IP addresses, \"use the AzureCloud tag\"")


@dataclass(frozen=True)
class EgressRule:
    """One outbound Allow rule, TCP 443 from the VNet to a service tag."""

    feature: str  # backup | health | runCommand | keyVault
    key: str  # suffix of the rule's Pulumi name (unique per NSG)
    name: str  # the security rule's name in Azure
    slot: int  # priority = the NSG's firstPriority + slot
    destination: str  # service tag, canonical spelling
    description: str
    source: str  # where Microsoft documents the need


def regional_tag(tag: str, location: str) -> str:
    """`<tag>.<region>` as Azure's service tag list spells it; KeyError for a location not in the table."""
    return f"{tag}.{location}" if tag == "AzureCloud" else f"{tag}.{SERVICE_TAG_REGIONS[location]}"


def backup_rule(location: str) -> EgressRule:
    # Name and slot as in every earlier release: the existing rule is updated in place.
    tag = regional_tag("Storage", location)
    return EgressRule("backup", "storage", "Allow-AzureBackup-Storage-Https-Outbound", 0, tag,
                      f"Azure VM backup: HTTPS to {tag} (managed by irisbackup)", _BACKUP_SOURCE)


def health_rules() -> tuple[EgressRule, ...]:
    # Global tags, as Microsoft documents them: the agent's control endpoints are global, and the
    # workspace it sends to may be in another region than the VM.
    return tuple(
        EgressRule("health", tag.lower(), f"Allow-MonitorAgent-{tag}-Https-Outbound", slot, tag,
                   f"Azure Monitor Agent (hook verdicts to the vault's workspace): HTTPS to {tag} (managed by irisbackup)",
                   _AGENT_SOURCE)
        for slot, tag in ((1, "AzureMonitor"), (2, "AzureResourceManager"))
    )


def run_command_rule(location: str) -> EgressRule:
    # Microsoft names AzureCloud; its regional form is the narrowest tag that holds the VM's region's
    # Azure endpoints (the VMs are in the vault's region: Azure Backup protects only those).
    tag = regional_tag("AzureCloud", location)
    return EgressRule("runCommand", "azurecloud", "Allow-RunCommand-AzureCloud-Https-Outbound", 3, tag,
                      f"Run Command returns the hook installer's result: HTTPS to {tag} (managed by irisbackup)",
                      _RUN_COMMAND_SOURCE)


def key_vault_rule() -> EgressRule:
    # Global: the settings name the Key Vault by ID, not its region (AzureKeyVault.<Region> would be narrower).
    return EgressRule("keyVault", "azurekeyvault", "Allow-Hooks-AzureKeyVault-Https-Outbound", 4, "AzureKeyVault",
                      "The hooks read the IRIS credentials from Key Vault: HTTPS to AzureKeyVault (managed by irisbackup)",
                      _KEY_VAULT_SOURCE)


def vm_features(vm: VmSettings, health_on: bool) -> set[str]:
    """Which egress features a VM needs on each NSG it lists."""
    features = set()
    if vm.delivery == "runCommand":
        # Install, and also the deliberate uninstall of a crash-consistent or retired VM: both run a command.
        features.add("runCommand")
    hooked = vm.consistency == "application" and not vm.retired
    if health_on and hooked:
        features.add("health")  # its hooks' verdicts travel through Azure Monitor Agent
    if hooked and vm.hooks.key_vault_credentials is not None:
        features.add("keyVault")  # the hooks fetch the IRIS credentials just before each freeze (IMDS is not filtered)
    return features


def required_egress(settings: StackSettings) -> dict[str, tuple[EgressRule, ...]]:
    """NSG ID (lower case) -> the rules it needs, in priority order, for every NSG the stack declares."""
    needs: dict[str, set[str]] = {str(nsg.id).lower(): {"backup"} for nsg in settings.network_security_groups}
    for vm in settings.vms:
        for nsg in vm.network_security_groups:
            needs[str(nsg).lower()] |= vm_features(vm, bool(settings.health.enabled))
    return {nsg: rules_for(features, settings.location) for nsg, features in needs.items()}


def rules_for(features: set[str], location: str) -> tuple[EgressRule, ...]:
    rules = [backup_rule(location)] if "backup" in features else []
    if "health" in features:
        rules += health_rules()
    if "runCommand" in features:
        rules.append(run_command_rule(location))
    if "keyVault" in features:
        rules.append(key_vault_rule())
    return tuple(sorted(rules, key=lambda rule: rule.slot))


def allowed_destinations(settings: StackSettings) -> dict[str, list[str]]:
    """Per NSG (`<resource group>/<NSG name>`, lower case), the destinations its rules name: what the policy
    pack accepts there, and nothing wider."""
    egress = required_egress(settings)
    return {f"{nsg.id.resource_group}/{nsg.id.name}".lower(): sorted(rule.destination for rule in egress[str(nsg.id).lower()])
            for nsg in settings.network_security_groups}
