"""Plan test: a restored mirror member in the drill sandbox can reach no member's ISCAgent (2188) and
not the arbiter, in either direction, judged from the NSG rules the program declares (under the mock
engine). Rules are evaluated as Azure does (lowest priority number first, first match wins, Azure's
default rules after ours); an Allow rule naming a service tag counts as matching any address (the
worst case), a Deny rule only where it provably matches, so "denied" here means denied for sure.

The sandbox denies 2188 and every private range explicitly, above its one allow, and all else at 4096;
an opening above those denies is what the last test proves the evaluator would see."""

from __future__ import annotations

import ipaddress

import pytest

from irisbackup.settings import parse_settings
from tests.program.harness import example_settings, of_type, only, run_with_settings

NSG = "azure-native:network:NetworkSecurityGroup"
# Azure's default rules, after every custom rule (learn.microsoft.com/azure/virtual-network/network-security-groups-overview).
DEFAULTS = {
    "Outbound": [("Allow", "VirtualNetwork"), ("Allow", "Internet"), ("Deny", "*")],
    "Inbound": [("Allow", "VirtualNetwork"), ("Allow", "AzureLoadBalancer"), ("Deny", "*")],
}


def _ports(rule: dict) -> list[str]:
    return rule.get("destinationPortRanges") or [rule.get("destinationPortRange", "*")]


def _port_matches(spec: str, port: int) -> bool:
    if spec == "*":
        return True
    low, _, high = spec.partition("-")
    return int(low) <= port <= int(high or low)


def _address_matches(spec: str, address: str, access: str) -> bool:
    if spec == "*":
        return True
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(spec, strict=False)
    except ValueError:  # a service tag: whatever it holds, assume the worst for this rule's access
        return access == "Allow"


def verdict(rules: list[dict], direction: str, remote: str, port: int) -> str:
    """Allow or Deny for TCP between the sandbox and remote:port (outbound: to it; inbound: from it)."""
    key = "destinationAddressPrefix" if direction == "Outbound" else "sourceAddressPrefix"
    for rule in sorted((r for r in rules if r["direction"] == direction), key=lambda r: r["priority"]):
        addresses = rule.get(key + "es") or [rule.get(key, "*")]
        if (rule["protocol"] in ("*", "Tcp") and any(_port_matches(p, port) for p in _ports(rule))
                and any(_address_matches(a, remote, rule["access"]) for a in addresses)):
            return rule["access"]
    for access, prefix in DEFAULTS[direction]:
        if _address_matches(prefix, remote, access):
            return access
    raise AssertionError("the default rules end with deny-all")


def mirror_endpoints(settings: dict) -> list[tuple[str, int]]:
    """Every member address the stack file knows (the SSH host of a member's VM) on the ISCAgent port,
    the arbiter, and the private ranges any member could sit in (their first and last addresses)."""
    parsed = parse_settings(settings)
    hosts = {vm.name.lower(): vm.ssh.host for vm in parsed.vms if vm.ssh}
    found = []
    for mirror in parsed.mirrors:
        found += [(hosts[m.vm.lower()], 2188) for m in mirror.members if m.vm.lower() in hosts]
        if mirror.arbiter_address:
            found.append(mirror.arbiter_address)
    for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", parsed.drill.address_prefix):
        network = ipaddress.ip_network(block)
        found += [(str(network[1]), 2188), (str(network[-2]), 2188)]
    return found


@pytest.fixture(scope="module")
def prod():
    settings = example_settings("prod")
    return settings, run_with_settings(settings)


def sandbox_rules(run) -> list[dict]:
    nsg = only(run, NSG, "drill-nsg")
    subnet = only(run, "azure-native:network:Subnet")
    assert subnet.inputs["networkSecurityGroup"]["id"] == f"<id of {nsg.name}>"  # the rules apply to the subnet
    separate = [r.inputs for r in of_type(run, "azure-native:network:SecurityRule")
                if r.inputs.get("networkSecurityGroupName") == nsg.inputs["networkSecurityGroupName"]]
    return nsg.inputs.get("securityRules", []) + separate  # inline rules, and any declared on their own


def test_the_prod_stack_has_members_drilled_and_known_addresses(prod):
    settings, _ = prod
    endpoints = mirror_endpoints(settings)
    assert ("10.20.1.4", 2188) in endpoints and ("10.20.1.5", 2188) in endpoints and ("10.20.0.10", 2188) in endpoints
    drilled = {vm["name"] for vm in settings["drill"]["vms"]}
    assert {m["vm"] for m in settings["mirrors"][0]["members"]} <= drilled


@pytest.mark.parametrize("direction", ["Outbound", "Inbound"])
def test_no_iscagent_or_arbiter_is_reachable_from_the_sandbox(prod, direction):
    settings, run = prod
    rules = sandbox_rules(run)
    reachable = [(host, port) for host, port in mirror_endpoints(settings) if verdict(rules, direction, host, port) != "Deny"]
    assert reachable == []


def test_the_evaluator_would_see_an_opening(prod):
    settings, run = prod
    rules = sandbox_rules(run) + [{"name": "oops", "priority": 99, "direction": "Outbound", "access": "Allow",
                                   "protocol": "Tcp", "destinationAddressPrefix": "VirtualNetwork",
                                   "destinationPortRange": "2000-3000"}]
    assert verdict(rules, "Outbound", "10.20.1.4", 2188) == "Allow"
    assert verdict([r for r in sandbox_rules(run) if r["access"] == "Allow"], "Outbound", "10.20.1.4", 2188) == "Allow"

