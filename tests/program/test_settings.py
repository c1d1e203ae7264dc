"""Every validation rule of the stack settings, with a value that passes and one that fails."""

from __future__ import annotations

from typing import Any

import pytest

from irisbackup.settings import SettingsError, parse_settings

VM0 = "vms[0]"


def set_path(settings: dict[str, Any], path: str, value: Any) -> None:
    """set_path(s, 'vault.softDelete.retentionDays', 7); list items as name[0]; value DELETE removes."""
    node: Any = settings
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


DELETE = object()


def problems_for(settings: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        parse_settings(settings)
    return raised.value.problems


def test_both_example_stacks_are_valid(dev_settings, prod_settings):
    assert parse_settings(dev_settings).vault.name == "rsv-iris-dev"
    assert len(parse_settings(prod_settings).vms) == 4  # one of them retired


def test_secure_defaults_apply_when_a_stack_says_nothing(dev_settings):
    vault = parse_settings({**dev_settings, "allowDestroy": False, "vault": {"name": "rsv-minimal"}}).vault
    assert (vault.soft_delete.state, vault.soft_delete.retention_days) == ("AlwaysON", 14)
    assert vault.immutability == "Unlocked"
    assert (vault.storage_redundancy, vault.cross_region_restore) == ("GeoRedundant", True)
    assert vault.cross_subscription_restore == "Disabled"
    assert vault.public_network_access == "Disabled"
    assert vault.job_failure_alerts is True
    assert parse_settings(dev_settings).allow_destroy is True
    assert parse_settings({**dev_settings, "allowDestroy": False}).allow_destroy is False
    without = dict(dev_settings)
    del without["allowDestroy"]
    assert parse_settings(without).allow_destroy is False


# (path, good value, bad value, words the error must contain)
RULES = [
    ("vault.softDelete.retentionDays", 14, 13, "greater than or equal to 14"),
    ("vault.softDelete.retentionDays", 180, 181, "less than or equal to 180"),
    ("vault.softDelete.state", "Disabled", "Sometimes", "'AlwaysON', 'Enabled' or 'Disabled'"),
    ("vault.immutability", "Disabled", "On", "'Unlocked', 'Locked' or 'Disabled'"),
    ("vault.name", "rsv-a1", "1rsv", "does not match"),
    ("vault.name", "ab", "a", "does not match"),
    ("vault.name", "a" * 50, "a" * 51, "does not match"),
    ("vault.name", "rsv-ok", "rsv_underscore", "does not match"),
    ("vault.storageRedundancy", "LocallyRedundant", "Geo", "'GeoRedundant', 'ZoneRedundant' or 'LocallyRedundant'"),
    ("vault.publicNetworkAccess", "Enabled", "Open", "'Disabled' or 'Enabled'"),
    ("vault.crossSubscriptionRestore", "PermanentlyDisabled", "Off", "'Disabled', 'Enabled' or 'PermanentlyDisabled'"),
    ("vault.alertEmails", ["ops@example.com"], ["not-an-address"], "does not match"),
    ("vault.diagnostics.workspaceId",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/law",
     "this ID is a Microsoft.Storage/storageAccounts"),
    ("location", "westeurope", "West Europe", "does not match"),
    ("resourceGroupId", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg.x",
     "/subscriptions/not-a-guid/resourceGroups/rg", "expected a resource group ID"),
    ("resourceGroupId", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg.", "expected a resource group ID"),
    ("policies.daily-dev.retention.dailyDays", 7, 6, "greater than or equal to 7"),
    ("policies.daily-dev.retention.dailyDays", 9999, 10000, "less than or equal to 9999"),
    ("policies.daily-dev.instantRestoreDays", 5, 6, "standard policies allow 1-5"),
    ("policies.daily-dev.instantRestoreDays", 1, 0, "greater than or equal to 1"),
    ("policies.daily-dev.schedule.time", "22:30", "22:15", "on the hour or half hour"),
    ("policies.daily-dev.schedule.time", "00:00", "24:00", "on the hour or half hour"),
    ("policies.daily-dev.timeZone", "W. Europe Standard Time", "Europe/Berlin", "Windows time zone"),
    ("policies.daily-dev.kind", "standard", "premium", "'standard' or 'enhanced'"),
    ("networkSecurityGroups[0].firstPriority", 100, 99, "greater than or equal to 100"),
    # Four priority slots from firstPriority (irisbackup/network/egress_spec.py), all within Azure's 4096.
    ("networkSecurityGroups[0].firstPriority", 4092, 4093, "less than or equal to 4092"),
    ("location", "northeurope", "westeurope9", "is not in the service tag region table"),
    (f"{VM0}.identity", "systemAssigned", "SystemAssigned",
     "expected 'systemAssigned' or a Microsoft.ManagedIdentity/userAssignedIdentities ID"),
    (f"{VM0}.identity",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-vm",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/id-vm",
     "this ID is a Microsoft.Compute/virtualMachines"),
    (f"{VM0}.hooks.instances[0].name", "IRIS_2-b", "IRIS;reboot", "does not match"),
    (f"{VM0}.hooks.instances[0].name", "I", "$(id)", "does not match"),
    (f"{VM0}.hooks.instances[0].name", "IRIS", "-IRIS", "does not match"),
    (f"{VM0}.hooks.instances[0].name", "IRIS", "IRIS PROD", "does not match"),
    (f"{VM0}.hooks.instances[0].name", "IRIS", "`reboot`", "does not match"),
    (f"{VM0}.hooks.instances[0].product", "cache", "ensemble", "'iris' or 'cache'"),
    (f"{VM0}.hooks.azureTimeoutSeconds", 190, 1801, "less than or equal to 1800"),
    (f"{VM0}.hooks.callTimeoutSeconds", 18, 19, "azureTimeoutSeconds (120) must exceed 6 x (callTimeoutSeconds + 1) = 120"),
    (f"{VM0}.hooks.freezeBudgetSeconds", 123, 122, "freezeBudgetSeconds (122) must exceed azureTimeoutSeconds + 2 x runnerPollSeconds (122)"),
    (f"{VM0}.hooks.runnerPollSeconds", 5, 6, "less than or equal to 5"),
    (f"{VM0}.hooks.runnerPollSeconds", 1, 0, "greater than or equal to 1"),
    (f"{VM0}.hooks.wdSuspendLimitSeconds", 265, 264, "wdSuspendLimitSeconds (264) must exceed freezeBudgetSeconds + 4 x (callTimeoutSeconds + 1) = 264"),
    (f"{VM0}.hooks.externalFreezeTimeoutSeconds", 301, 300, "externalFreezeTimeoutSeconds (300) must exceed wdSuspendLimitSeconds (300)"),
    (f"{VM0}.hooks.externalFreezeTimeoutSeconds", 1200, 1201, "less than or equal to 1200"),
    (f"{VM0}.hooks.credentialsFile", "/etc/irisbackup/credentials", "relative/file", "does not match"),
    (f"{VM0}.hooks.credentialsFile", "/etc/irisbackup/credentials", "/etc/x;rm", "does not match"),
    (f"{VM0}.ssh.user", "azureuser", "root;id", "does not match"),
    (f"{VM0}.ssh.host", "vm1.internal.example", "host name", "does not match"),
    (f"{VM0}.ssh.port", 2222, 70000, "less than or equal to 65535"),
    (f"{VM0}.ssh.hostKey", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL", "ssh-dss AAAA", "does not match"),
    (f"{VM0}.ssh.privateKeyConfig", "vm1Key", "vm 1 key", "does not match"),
    (f"{VM0}.consistency", "crash", "best-effort", "'application' or 'crash'"),
    (f"{VM0}.id",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-iris-dev/providers/Microsoft.Compute/virtualMachines/vm-2",
     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-iris-dev/providers/Microsoft.Compute/disks/vm-2",
     "this ID is a Microsoft.Compute/disks"),
]


# What a row's setting needs besides: a workspace turns health on, and Azure Monitor Agent then needs the
# hooked VM's managed identity (a rule of its own: test_health_needs_a_managed_identity_on_every_hooked_vm).
GIVEN = {"vault.diagnostics.workspaceId": {f"{VM0}.identity": "systemAssigned"}}


@pytest.mark.parametrize("path, good, bad, expected", RULES, ids=[f"{rule[0]}={rule[2]!r}" for rule in RULES])
def test_rule_accepts_the_good_value_and_names_path_value_and_allowed_for_the_bad(dev_settings, path, good, bad, expected):
    for given_path, value in GIVEN.get(path, {}).items():
        set_path(dev_settings, given_path, value)
    set_path(dev_settings, path, good)
    parse_settings(dev_settings)
    set_path(dev_settings, path, bad)
    problems = problems_for(dev_settings)
    assert len(problems) == 1, problems
    key_path = f"irisbackup:settings.{path}"
    message = problems[0]
    # Model-level rules are reported on the object holding the related keys.
    assert message.startswith(key_path) or message.startswith(key_path.rsplit(".", 1)[0] + ":"), message
    assert expected in message, message
    if not isinstance(bad, (list, dict)) and "must exceed" not in expected:
        assert repr(bad) in message, message


def test_enhanced_policy_allows_30_days_of_instant_restore_and_no_more(prod_settings):
    set_path(prod_settings, "policies.enhanced-4h.instantRestoreDays", 30)
    parse_settings(prod_settings)
    set_path(prod_settings, "policies.enhanced-4h.instantRestoreDays", 31)
    assert "less than or equal to 30" in problems_for(prod_settings)[0]


@pytest.mark.parametrize("interval, accepted", [(4, True), (6, True), (8, True), (12, True), (1, False), (5, False), (24, False)])
def test_hourly_interval_is_4_6_8_or_12(prod_settings, interval, accepted):
    set_path(prod_settings, "policies.enhanced-4h.schedule.intervalHours", interval)
    if accepted:
        parse_settings(prod_settings)
    else:
        assert "4, 6, 8 or 12" in problems_for(prod_settings)[0]


@pytest.mark.parametrize("hours, accepted", [(4, True), (24, True), (3, False), (25, False)])
def test_hourly_window_is_4_to_24_hours(prod_settings, hours, accepted):
    set_path(prod_settings, "policies.enhanced-4h.schedule.windowHours", hours)
    if accepted:
        parse_settings(prod_settings)
    else:
        assert "windowHours" in problems_for(prod_settings)[0]


def test_hourly_schedule_needs_an_enhanced_policy(prod_settings):
    set_path(prod_settings, "policies.enhanced-4h.kind", "standard")
    set_path(prod_settings, "policies.enhanced-4h.instantRestoreDays", 2)
    assert "Hourly needs kind: enhanced" in problems_for(prod_settings)[0]


def test_schedule_fields_must_match_the_frequency(dev_settings):
    set_path(dev_settings, "policies.daily-dev.schedule.intervalHours", 4)
    assert "a Daily schedule takes only time, not intervalHours" in problems_for(dev_settings)[0]
    set_path(dev_settings, "policies.daily-dev.schedule", {"frequency": "Weekly", "time": "22:00"})
    assert "a Weekly schedule needs days" in problems_for(dev_settings)[0]


def test_weekly_standard_policy_rules(dev_settings):
    weekly = {
        "kind": "standard", "schedule": {"frequency": "Weekly", "time": "22:00", "days": ["Saturday"]},
        "instantRestoreDays": 5, "retention": {"weekly": {"weeks": 12, "days": ["Saturday"]}},
    }
    dev_settings["policies"]["weekly"] = weekly
    parse_settings(dev_settings)
    weekly["instantRestoreDays"] = 2
    assert "exactly 5 days" in problems_for(dev_settings)[0]
    weekly["instantRestoreDays"] = 5
    weekly["retention"]["dailyDays"] = 7
    assert "dailyDays is not allowed with a Weekly schedule" in problems_for(dev_settings)[0]
    del weekly["retention"]["dailyDays"]
    weekly["retention"]["weekly"]["days"] = ["Sunday"]
    assert "must be the schedule's days" in problems_for(dev_settings)[0]


def test_daily_schedule_needs_daily_retention(dev_settings):
    set_path(dev_settings, "policies.daily-dev.retention.dailyDays", DELETE)
    assert "needs retention.dailyDays" in problems_for(dev_settings)[0]


def test_cross_region_restore_needs_geo_redundant_storage(dev_settings):
    set_path(dev_settings, "vault.crossRegionRestore", True)
    assert "needs storageRedundancy GeoRedundant (got LocallyRedundant)" in problems_for(dev_settings)[0]


@pytest.mark.parametrize("vault, named", [
    ({"immutability": "Unlocked"}, ["vault.immutability: Disabled (got Unlocked)"]),
    ({"immutability": "Locked"}, ["vault.immutability: Disabled (got Locked)"]),
    ({"softDelete": {"state": "AlwaysON"}}, ["vault.softDelete.state: Disabled (got AlwaysON)", "can never be turned off"]),
    ({"softDelete": {"state": "Enabled"}}, ["vault.softDelete.state: Disabled (got Enabled)", "soft-deleted items"]),
])
def test_a_destroyable_stack_must_be_destroyable(dev_settings, vault, named):
    dev_settings["vault"].update(vault)
    problems = problems_for(dev_settings)
    assert len(problems) == 1, problems
    assert problems[0].startswith("irisbackup:settings: allowDestroy: true needs ")
    assert all(words in problems[0] for words in named), problems[0]
    dev_settings["allowDestroy"] = False
    parse_settings(dev_settings)


def test_the_secure_defaults_and_allow_destroy_are_refused_together(dev_settings):
    dev_settings["vault"] = {"name": "rsv-defaults"}
    problem, = problems_for(dev_settings)
    assert "vault.immutability: Disabled (got Unlocked)" in problem and "vault.softDelete.state: Disabled (got AlwaysON)" in problem


def test_customer_managed_key_needs_a_user_assigned_identity(prod_settings):
    set_path(prod_settings, "vault.customerManagedKey.identityId", DELETE)
    assert problems_for(prod_settings) == ["irisbackup:settings.vault.customerManagedKey.identityId: required setting is missing"]


def test_unknown_keys_are_reported_as_typos(dev_settings):
    set_path(dev_settings, "vault.softDelet", {"state": "Disabled"})
    assert problems_for(dev_settings) == [
        "irisbackup:settings.vault.softDelet: unknown setting (check the spelling against the config reference in docs/configuration.md)"
    ]


def test_vm_must_name_a_policy_of_the_stack(dev_settings):
    set_path(dev_settings, f"{VM0}.policy", "gold")
    assert problems_for(dev_settings) == [
        "irisbackup:settings.vms[0].policy: 'gold' is not a policy of this stack; allowed: daily-dev"
    ]


def test_vm_nsg_must_be_declared_with_a_priority(dev_settings):
    other = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/other"
    set_path(dev_settings, f"{VM0}.networkSecurityGroups", [other])
    assert "is not listed in networkSecurityGroups" in problems_for(dev_settings)[0]


def test_same_nsg_twice_is_rejected(dev_settings):
    dev_settings["networkSecurityGroups"].append(dict(dev_settings["networkSecurityGroups"][0], firstPriority=400))
    assert "the same NSG is listed twice" in problems_for(dev_settings)[0]


def test_vm_listed_twice_is_rejected(dev_settings):
    dev_settings["vms"].append(dict(dev_settings["vms"][0]))
    assert "a VM named 'vm-iris-dev-1' is already in vms" in problems_for(dev_settings)[0]


def test_vm_in_another_subscription_is_rejected(dev_settings):
    vm_id = dev_settings["vms"][0]["id"].replace("00000000-0000-0000-0000-000000000000", "22222222-2222-2222-2222-222222222222")
    set_path(dev_settings, f"{VM0}.id", vm_id)
    assert "Azure Backup protects VMs of the vault's own subscription only" in problems_for(dev_settings)[0]


def test_duplicate_instance_names_on_a_vm_are_rejected(dev_settings):
    set_path(dev_settings, f"{VM0}.hooks.instances", [{"name": "IRIS"}, {"name": "IRIS"}])
    assert "duplicate names" in problems_for(dev_settings)[0]


def test_application_consistency_needs_ssh_and_crash_does_not(dev_settings):
    set_path(dev_settings, f"{VM0}.ssh", DELETE)
    assert "consistency 'application' needs ssh" in problems_for(dev_settings)[0]
    set_path(dev_settings, f"{VM0}.consistency", "crash")
    parse_settings(dev_settings)


def test_all_problems_of_a_file_are_reported_at_once(prod_settings):
    set_path(prod_settings, "vault.softDelete.retentionDays", 7)
    set_path(prod_settings, "policies.enhanced-4h.schedule.intervalHours", 5)
    set_path(prod_settings, "vms[0].hooks.instances[0].name", "x;rm -rf /")
    set_path(prod_settings, "vms[1].policy", "nope")
    set_path(prod_settings, "vms[2].id", "/subscriptions/x")
    problems = problems_for(prod_settings)
    assert [problem.split(":")[1].split(" ")[0] for problem in problems] == [
        "settings.vault.softDelete.retentionDays",
        "settings.policies.enhanced-4h.schedule.intervalHours",
        "settings.vms[0].hooks.instances[0].name",
        "settings.vms[2].id",
        "settings.vms[1].policy",
    ]


@pytest.mark.parametrize("raw", ["just a string", ["a", "list"], None, {}])
def test_a_config_that_is_not_an_object_fails_cleanly(raw):
    with pytest.raises(SettingsError) as raised:
        parse_settings(raw)
    assert raised.value.problems and all(p.startswith("irisbackup:settings") for p in raised.value.problems)


WORKSPACE = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
AGENT_IDENTITY = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                  "Microsoft.ManagedIdentity/userAssignedIdentities/id-agent")


def test_health_needs_a_managed_identity_on_every_hooked_vm(prod_settings):
    for vm in prod_settings["vms"]:
        vm.pop("identity", None)
    [problem] = problems_for(prod_settings)
    assert problem.startswith("irisbackup:settings: vms[0] (vm-iris-prod-1), vms[1] (vm-iris-prod-2), "
                              "vms[2] (vm-cache-prod-1): identity is not set"), problem
    assert "identity: systemAssigned" in problem and "health.agentIdentityId" in problem and "health.enabled: false" in problem
    assert "vm-iris-prod-old" not in problem  # retired: no hooks, no agent
    prod_settings["health"]["agentIdentityId"] = AGENT_IDENTITY
    parse_settings(prod_settings)
    del prod_settings["health"]["agentIdentityId"]
    prod_settings["health"]["enabled"] = False
    parse_settings(prod_settings)


def test_only_vms_whose_verdicts_the_agent_collects_need_an_identity(dev_settings):
    set_path(dev_settings, "vault.diagnostics.workspaceId", WORKSPACE)
    assert "vms[0] (vm-iris-dev-1): identity is not set" in problems_for(dev_settings)[0]
    set_path(dev_settings, f"{VM0}.consistency", "crash")
    parse_settings(dev_settings)
    set_path(dev_settings, f"{VM0}.consistency", "application")
    set_path(dev_settings, f"{VM0}.identity", AGENT_IDENTITY)
    assert str(parse_settings(dev_settings).vms[0].identity) == AGENT_IDENTITY


def test_an_unknown_region_is_refused_only_where_nsg_rules_need_its_tag(dev_settings):
    dev_settings["location"] = "westeurope9"
    [problem] = problems_for(dev_settings)
    assert problem.startswith("irisbackup:settings.location: 'westeurope9' is not in the service tag region table")
    assert "westeurope" in problem.split("known: ")[1]
    dev_settings["networkSecurityGroups"] = []
    dev_settings["vms"][0].pop("networkSecurityGroups")
    assert parse_settings(dev_settings).location == "westeurope9"
