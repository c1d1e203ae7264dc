"""Every rule passes on the example stacks and fails, with its id and a message saying what to change,
on weakened copies: stack settings changed before rendering, or rendered resources edited afterwards
(what settings cannot express, e.g. an inbound NSG rule)."""

from __future__ import annotations

import pytest

from policy.backup_rules import RULES
from tests.policy.policyharness import checked, edited, failing, mandatory_failing, rendered, with_inputs

MANDATORY_RULES = {rule.name for rule in RULES if rule.enforcement_level.value == "mandatory"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_pass_every_mandatory_rule(stack, dev_run, prod_run):
    run, settings = {"dev": dev_run, "prod": prod_run}[stack]
    result = checked(stack, settings, registrations=run.resources)
    assert result.passed, failing(result)
    assert {verdict.policy for verdict in result.verdicts} == {rule.name for rule in RULES}
    assert all(verdict.status == "passed" for verdict in result.verdicts if verdict.level == "mandatory")


def test_prod_passes_even_the_advisory_rules(prod_run):
    run, settings = prod_run
    assert failing(checked("prod", settings, registrations=run.resources)) == {}


def test_dev_shows_its_advisory_gaps_without_failing(dev_run):
    run, settings = dev_run
    result = checked("dev", settings, registrations=run.resources)
    # Soft delete and immutability are off so that `pulumi destroy` can finish: reviewed, advisory.
    assert set(failing(result)) == {"vault-customer-managed-key", "vault-diagnostic-settings", "vault-soft-delete",
                                    "vault-immutability", "vault-multi-user-authorization"}
    assert {v.level for v in result.violations} == {"advisory"}


def test_dev_meets_production_thresholds_only_through_its_reviewed_exceptions(dev_run):
    run, settings = dev_run
    result = checked("dev", settings, registrations=run.resources, with_stack_file_config=False)
    found = failing(result)
    assert mandatory_failing(result) == {"vault-storage-redundancy", "policy-daily-retention", "policy-instant-restore",
                                         "vault-soft-delete", "vault-immutability"}
    assert found["policy-daily-retention"] == [
        "backup policy daily-dev: the daily recovery point is kept 7 days in the vault; set retention.dailyDays to at least 30"]
    assert found["vault-storage-redundancy"] == [
        "vault rsv-iris-dev: storage redundancy is LocallyRedundant; set vault.storageRedundancy to one of GeoRedundant, ZoneRedundant"]
    assert found["policy-instant-restore"] == [
        "backup policy daily-dev: instant-restore snapshots are kept 1 days; set instantRestoreDays to at least 2"]


# --- weakened stack settings (rendered by the real program) -------------------------------------


def _prod(settings_of, edit) -> dict:
    settings = settings_of("prod")
    edit(settings)
    return settings


@pytest.mark.parametrize("edit, rule, message", [
    (lambda s: s["vault"].update(softDelete={"state": "Disabled", "retentionDays": 30}), "vault-soft-delete",
     "vault rsv-iris-prod: soft delete is Disabled; set vault.softDelete.state to AlwaysON or Enabled so deleted backup data stays recoverable"),
    (lambda s: s["vault"].update(softDelete={"state": "Enabled", "retentionDays": 14}, immutability="Disabled"), "vault-immutability",
     "vault rsv-iris-prod: immutability is Disabled; set vault.immutability to Unlocked or Locked so recovery points cannot be deleted before they expire"),
    (lambda s: s["vault"].update(publicNetworkAccess="Enabled"), "vault-public-network-access",
     "vault rsv-iris-prod: public network access is Enabled (Azure enables it when unset); set vault.publicNetworkAccess: Disabled"),
    (lambda s: s["vault"].update(crossSubscriptionRestore="Enabled"), "vault-cross-subscription-restore",
     "vault rsv-iris-prod: cross-subscription restore is Enabled (Azure enables it when unset); set vault.crossSubscriptionRestore: Disabled (or PermanentlyDisabled)"),
    (lambda s: s["vault"].update(storageRedundancy="LocallyRedundant", crossRegionRestore=False), "vault-storage-redundancy",
     "vault rsv-iris-prod: storage redundancy is LocallyRedundant; set vault.storageRedundancy to one of GeoRedundant, ZoneRedundant"),
    (lambda s: s["vault"].update(jobFailureAlerts=False), "vault-job-failure-alerts",
     "vault rsv-iris-prod: Azure Monitor alerts for failed backup jobs are Disabled; set vault.jobFailureAlerts: true so a failed (or non-consistent) backup is noticed"),
    (lambda s: s["policies"]["enhanced-4h"]["retention"].update(dailyDays=7), "policy-daily-retention",
     "backup policy enhanced-4h: the daily recovery point is kept 7 days in the vault; set retention.dailyDays to at least 30"),
    (lambda s: s["policies"]["enhanced-4h"].update(instantRestoreDays=1), "policy-instant-restore",
     "backup policy enhanced-4h: instant-restore snapshots are kept 1 days; set instantRestoreDays to at least 2"),
    (lambda s: s["vms"][1]["hooks"].update(freezeBudgetSeconds=400, wdSuspendLimitSeconds=500), "hooks-plugin-config",
     "hooks of VM vm-iris-prod-2: freezeBudgetSeconds is 400; IRIS may stay frozen at most 300 s; lower vms[].hooks.freezeBudgetSeconds"),
])
def test_a_weakened_prod_setting_fails_its_rule_with_what_to_change(settings_of, edit, rule, message):
    result = checked("prod", _prod(settings_of, edit))
    assert mandatory_failing(result) == {rule}
    assert failing(result)[rule] == [message]
    assert not result.passed


def test_the_program_default_continue_backup_on_failure_passes_unless_the_estate_requires_false(settings_of):
    settings = _prod(settings_of, lambda s: s["vms"][0]["hooks"].pop("continueBackupOnFailure"))
    assert checked("prod", settings).passed
    result = checked("prod", settings, extra={"hooks-plugin-config": {"continueBackupOnFailure": False}})
    assert failing(result)["hooks-plugin-config"] == [
        "hooks of VM vm-iris-prod-1: continueBackupOnFailure is true; this estate requires false "
        "(set vms[].hooks.continueBackupOnFailure: false)"]


def test_an_hourly_policy_is_judged_by_its_window_not_its_interval(settings_of):
    # Every 4 hours inside a 4-hour window is one recovery point a day.
    settings = _prod(settings_of, lambda s: s["policies"]["enhanced-4h"]["schedule"].update(windowHours=4))
    found = failing(checked("prod", settings, extra={"policy-rpo": {"maxHours": 12}}))
    assert found["policy-rpo"] == [
        "backup policy enhanced-4h: the longest gap between two scheduled recovery points is 24 hours, more than the "
        "RPO of 12 h; schedule it Daily, or Hourly with intervalHours and windowHours that leave no gap over 12 h"]


def test_a_weekly_schedule_breaks_the_24_hour_rpo(settings_of):
    def weekly(s):
        s["policies"]["enhanced-4h"].update(
            schedule={"frequency": "Weekly", "time": "22:00", "days": ["Sunday"]},
            retention={"weekly": {"weeks": 12, "days": ["Sunday"]}, "monthly": {"months": 24}, "yearly": {"years": 10}})
    found = failing(checked("prod", _prod(settings_of, weekly)))
    assert found["policy-rpo"] == ["backup policy enhanced-4h: the longest gap between two scheduled recovery points is "
                                   "168 hours, more than the RPO of 24 h; schedule it Daily, or Hourly with intervalHours "
                                   "and windowHours that leave no gap over 24 h"]
    assert "policy-daily-retention" not in found  # 12 weeks keep every point 84 days


def test_production_without_monthly_and_yearly_retention_is_an_advisory_violation(settings_of):
    def short(s):
        s["policies"]["enhanced-4h"]["retention"].pop("monthly")
        s["policies"]["enhanced-4h"]["retention"]["yearly"]["years"] = 0 + 1
    result = checked("prod", _prod(settings_of, short), extra={"policy-long-term-retention": {"minYears": 7}})
    assert result.passed
    assert failing(result)["policy-long-term-retention"] == [
        "backup policy enhanced-4h: this production stack keeps monthly recovery points not at all; set retention.monthly.months to at least 12",
        "backup policy enhanced-4h: this production stack keeps yearly recovery points 1 years; set retention.yearly.years to at least 7",
    ]
    assert {v.level for v in result.violations} == {"advisory"}


def test_a_vm_without_hooks_is_accepted_only_when_marked_crash_consistent(settings_of):
    settings = _prod(settings_of, lambda s: s["vms"][2].update(consistency="crash"))
    assert checked("prod", settings).passed
    # The same rendering judged without the settings' crash-consistent list, as a pack configured by hand:
    result = checked("prod", settings, extra={"coverage-hooks": {"crashConsistentVms": []}})
    assert failing(result)["coverage-hooks"] == [
        "protected item vm-cache-prod-1-protected-item: VM vm-cache-prod-1 has no freeze/thaw hooks deployment "
        "(hooks-vm-cache-prod-1-install over SSH or hooks-vm-cache-prod-1-runcommand installing through Run Command) "
        "that its protection depends on, so its backups are only crash-consistent; give the VM ssh or delivery: "
        "runCommand, or mark it explicitly with consistency: crash"]


def _destroyable(settings, **changes):
    settings.update(allowDestroy=True, **changes)
    settings["vault"].update(softDelete={"state": "Disabled"}, immutability="Disabled")


def test_allow_destroy_lifts_the_protection_rule_only_where_the_settings_say_so(settings_of):
    settings = _prod(settings_of, lambda s: _destroyable(s, tags={"environment": "staging"}, production=False))
    staging = {"vault-soft-delete": {"enforcementLevel": "advisory"}, "vault-immutability": {"enforcementLevel": "advisory"}}
    assert checked("staging", settings, extra=staging).passed
    result = checked("staging", settings, extra={**staging, "data-safety-protect": {"allowDestroy": False}})
    assert len(failing(result)["data-safety-protect"]) == 5  # the vault and four protected items (one retired)
    assert ("vault rsv-iris-prod is not protected from deletion, so `pulumi destroy` would delete backup data; keep "
            "protect=True (settings allowDestroy: false); only a throwaway stack may set allowDestroy: true"
            ) in failing(result)["data-safety-protect"]
    assert {v.resource for v in result.violations} == {
        "rsv-iris-prod-vault", "vm-iris-prod-1-protected-item", "vm-iris-prod-2-protected-item", "vm-cache-prod-1-protected-item",
        "vm-iris-prod-old-protected-item"}


# --- rendered resources edited where settings cannot go ------------------------------------------


def test_removing_protection_from_prod_fails_while_dev_allows_it(prod_run, dev_run):
    run, settings = prod_run
    unprotected = edited(run, "rsv-iris-prod-vault", lambda r: r.__class__(**{**r.__dict__, "protect": False}))
    assert mandatory_failing(checked("prod", settings, registrations=unprotected)) == {"data-safety-protect"}
    run, settings = dev_run
    assert not any(r.protect for r in run.resources)
    assert "data-safety-protect" not in failing(checked("dev", settings, registrations=run.resources))


STORAGE_RULE = "security rule Allow-AzureBackup-Storage-Https-Outbound"
# What prod's features need (irisbackup/network/egress_spec.py): backup, the monitor agent, Run Command.
PROD_DESTINATIONS = "AzureCloud.westeurope, AzureMonitor, AzureResourceManager, Storage.WestEurope"


@pytest.mark.parametrize("change, expected", [
    (with_inputs(("direction",), "Inbound"),
     [f"{STORAGE_RULE}: direction is Inbound; the backup needs no inbound access, remove the rule or make it Outbound"]),
    (with_inputs(("destinationAddressPrefix",), "*"), [f"{STORAGE_RULE}: wildcard destination *; use one of {PROD_DESTINATIONS}"]),
    (with_inputs(("destinationAddressPrefix",), "Internet"),
     [f"{STORAGE_RULE}: wildcard destination Internet; use one of {PROD_DESTINATIONS}"]),
    (with_inputs(("destinationPortRange",), "*"), [f"{STORAGE_RULE}: destination ports are *; allow only 443"]),
    (with_inputs(("protocol",), "*"), [f"{STORAGE_RULE}: protocol is *; use Tcp"]),
])
def test_nsg_rules_other_than_outbound_https_to_the_service_tags_fail(prod_run, change, expected):
    run, settings = prod_run
    registrations = edited(run, "egress-rg-iris-prod-nsg-iris-data-storage", change)
    result = checked("prod", settings, registrations=registrations)
    assert mandatory_failing(result) == {"network-egress-only"}
    assert failing(result)["network-egress-only"] == expected


NOT_NEEDED = "is not one the stack's features need on this NSG"


# Wider than the stack's set, or another set: every one fails, each with what is allowed instead.
@pytest.mark.parametrize("destination, why", [
    ("Storage", NOT_NEEDED),  # every storage account in every region
    ("Storage.NorthEurope", NOT_NEEDED),  # another region
    ("AzureCloud", NOT_NEEDED),  # every Azure public IP of every region
    ("AzureBackup", NOT_NEEDED),  # a tag of the workload backup agents only
    ("Sql", NOT_NEEDED),
    ("10.0.0.0/8", NOT_NEEDED),
    ("AzureMonitor.WestEurope", NOT_NEEDED),
    # Accepted by Azure, but stored as sent: state and the portal drift from the service tag list.
    ("Storage.westeurope", "is not spelt as Azure's service tag list spells it (Storage.WestEurope)"),
])
def test_the_pack_accepts_exactly_the_derived_destinations(prod_run, destination, why):
    run, settings = prod_run
    registrations = edited(run, "egress-rg-iris-prod-nsg-iris-data-storage",
                           with_inputs(("destinationAddressPrefix",), destination))
    assert failing(checked("prod", settings, registrations=registrations))["network-egress-only"] == [
        f"{STORAGE_RULE}: destination {destination} {why}; use one of {PROD_DESTINATIONS}"]


def test_each_nsg_accepts_only_what_its_own_vms_need(settings_of):
    settings = settings_of("prod")
    spare = settings["networkSecurityGroups"][0]["id"].replace("nsg-iris-data", "nsg-iris-spare")
    settings["networkSecurityGroups"].append({"id": spare, "firstPriority": 300})  # no VM lists it: backup only
    run, _ = rendered("prod", settings)
    # The Run Command rule of another NSG is more than this one needs.
    widened = edited(run, "egress-rg-iris-prod-nsg-iris-spare-storage",
                     with_inputs(("destinationAddressPrefix",), "AzureCloud.westeurope"))
    assert failing(checked("prod", settings, registrations=widened))["network-egress-only"] == [
        f"{STORAGE_RULE}: destination AzureCloud.westeurope is not one the stack's features need on this NSG; "
        "use one of Storage.WestEurope"]
    # A rule on an NSG the stack does not declare is none of its features' rules.
    foreign = edited(run, "egress-rg-iris-prod-nsg-iris-spare-storage",
                     with_inputs(("networkSecurityGroupName",), "nsg-someone-elses"))
    assert failing(checked("prod", settings, registrations=foreign))["network-egress-only"] == [
        f"{STORAGE_RULE}: destination Storage.WestEurope is not one the stack's features need on this NSG; "
        "the stack's features need no rule on this NSG"]


GENERIC = {"network-egress-only": {"allowedDestinations": {}}}
GENERIC_ALLOWED = ("Storage.<region>, AzureCloud.<region>, AzureBackup, AzureActiveDirectory, AzureMonitor, "
                   "AzureResourceManager, AzureKeyVault")


@pytest.mark.parametrize("destination, problem", [
    ("Storage", "destination Storage is the global Storage tag (every region), not the vault's region"),
    ("AzureCloud", "destination AzureCloud is the global AzureCloud tag (every region), not the vault's region"),
    ("Sql", "destination Sql is not a service tag the stack's features need"),
    ("*", "wildcard destination *"),
])
def test_without_the_stacks_set_the_pack_still_refuses_global_and_foreign_tags(prod_run, destination, problem):
    run, settings = prod_run
    assert "network-egress-only" not in failing(checked("prod", settings, GENERIC, registrations=run.resources))
    registrations = edited(run, "egress-rg-iris-prod-nsg-iris-data-storage",
                           with_inputs(("destinationAddressPrefix",), destination))
    assert failing(checked("prod", settings, GENERIC, registrations=registrations))["network-egress-only"] == [
        f"{STORAGE_RULE}: {problem}; use one of {GENERIC_ALLOWED}"]


def test_a_protected_item_that_no_longer_waits_for_its_hooks_fails_coverage(prod_run):
    run, settings = prod_run
    hook_urns = {r.urn for r in run.resources if r.name.startswith("hooks-vm-iris-prod-1")}

    def drop_hooks(registration):
        registration.dependencies = [urn for urn in registration.dependencies if urn not in hook_urns]
        return registration

    result = checked("prod", settings, registrations=edited(run, "vm-iris-prod-1-protected-item", drop_hooks))
    assert mandatory_failing(result) == {"coverage-hooks"}
    assert failing(result)["coverage-hooks"][0].startswith(
        "protected item vm-iris-prod-1-protected-item: VM vm-iris-prod-1 has no freeze/thaw hooks deployment")


def test_a_vm_with_hooks_but_no_protected_item_fails_coverage(prod_run):
    run, settings = prod_run
    result = checked("prod", settings, registrations=edited(run, "vm-iris-prod-2-protected-item", lambda r: None))
    assert mandatory_failing(result) == {"coverage-protected-items"}
    assert failing(result)["coverage-protected-items"] == [
        "VM vm-iris-prod-2 is part of this stack but has no protected item in its vault (Azure Backup is not enabled "
        "for it); list it under vms with a policy"]
    violation = next(v for v in result.violations if v.policy == "coverage-protected-items")
    # Reported on a resource the stack declares for that VM: its hooks or, with health alerts, its monitor agent.
    assert violation.resource in {"hooks-vm-iris-prod-2-install", "health-rsv-iris-prod-vm-iris-prod-2-monitor-agent"}


def test_a_protected_item_outside_the_stacks_vault_fails_coverage(prod_run):
    run, settings = prod_run
    vault_urn = next(r.urn for r in run.resources if r.name == "rsv-iris-prod-vault")

    def elsewhere(registration):
        registration.dependencies = [urn for urn in registration.dependencies if urn != vault_urn]
        registration.inputs["vaultName"] = "rsv-somebody-else"
        return registration

    result = checked("prod", settings, registrations=edited(run, "vm-cache-prod-1-protected-item", elsewhere))
    assert failing(result)["coverage-protected-items"] == [
        "protected item vm-cache-prod-1-protected-item (VM vm-cache-prod-1) is not in a vault of this stack; "
        "declare the vault in this stack and pass it to the protected item"]


def test_required_vms_from_the_config_must_be_protected(prod_run):
    run, settings = prod_run
    result = checked("prod", settings, registrations=run.resources,
                     extra={"coverage-protected-items": {"requiredVms": ["vm-iris-prod-1", "vm-iris-prod-9"]}})
    assert [v.resource for v in result.violations] == ["stack"]
    assert "VM vm-iris-prod-9 is part of this stack but has no protected item" in result.violations[0].message


def test_a_crash_consistent_only_policy_fails(prod_run):
    run, settings = prod_run
    registrations = edited(run, "enhanced-4h-policy", with_inputs(("properties", "snapshotConsistencyType"), "OnlyCrashConsistent"))
    assert mandatory_failing(checked("prod", settings, registrations=registrations)) == {"policy-not-crash-consistent-only"}


def _stdin_edit(old: str, new: str):
    def change(registration):
        assert old in registration.inputs["stdin"]
        registration.inputs["stdin"] = registration.inputs["stdin"].replace(old, new)
        return registration
    return change


@pytest.mark.parametrize("old, new, message", [
    ("azure_timeout_seconds=120", "azure_timeout_seconds=2400",
     "hooks of VM vm-iris-prod-1: timeoutInSeconds (azureTimeoutSeconds) is 2400; Azure caps a script at 1800 s and "
     "this estate at 1800 s; lower vms[].hooks.azureTimeoutSeconds"),
    ("wd_suspend_limit_seconds=300", "wd_suspend_limit_seconds=180",
     "hooks of VM vm-iris-prod-1: freezeBudgetSeconds (200) must stay below IRIS's own auto-thaw wdSuspendLimitSeconds (180)"),
    ("external_freeze_timeout_seconds=600", "external_freeze_timeout_seconds=1500",
     "hooks of VM vm-iris-prod-1: externalFreezeTimeoutSeconds is 1500; IRIS accepts at most 1200 s"),
    ("freeze_budget_seconds=200\n", "",
     "hooks of VM vm-iris-prod-1: the plugin settings lack freeze_budget_seconds; the hooks need every timeout"),
])
def test_hook_timeouts_outside_azure_and_iris_limits_fail(prod_run, old, new, message):
    run, settings = prod_run
    result = checked("prod", settings, registrations=edited(run, "hooks-vm-iris-prod-1-install", _stdin_edit(old, new)))
    assert mandatory_failing(result) == {"hooks-plugin-config"}
    assert message in failing(result)["hooks-plugin-config"]


def test_an_unpinned_hooks_install_fails(prod_run):
    run, settings = prod_run
    registrations = edited(run, "hooks-vm-iris-prod-2-install", with_inputs(("triggers",), ["latest"]))
    result = checked("prod", settings, registrations=registrations)
    assert mandatory_failing(result) == {"hooks-version-pinned"}
    assert failing(result)["hooks-version-pinned"][0].startswith(
        "hooks of VM vm-iris-prod-2: the install is not pinned to a bundle version and sha256 (triggers: latest)")


def test_vault_without_cmk_and_diagnostics_gets_advisories_only(settings_of):
    def plain(s):
        s["vault"].pop("customerManagedKey")
        s["vault"].pop("diagnostics")
    result = checked("prod", _prod(settings_of, plain))
    assert result.passed
    assert set(failing(result)) == {"vault-customer-managed-key", "vault-diagnostic-settings"}
