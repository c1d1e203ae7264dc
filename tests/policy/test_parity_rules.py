"""The rules of the parity features: multi-user authorization (advisory, mandatory for production) and
the retired-VM exception of coverage-hooks."""

from __future__ import annotations

from tests.policy.policyharness import checked, edited, failing, mandatory_failing, with_inputs

UNGUARDED = ("vault rsv-iris-prod is not linked to a resource guard (multi-user authorization), so a compromised "
             "Contributor can disable soft delete or stop protection and delete backup data without a second person; "
             "set vault.resourceGuardId to the security team's resource guard")


def _without_guard(settings_of) -> dict:
    settings = settings_of("prod")
    settings["vault"].pop("resourceGuardId")
    return settings


def test_a_production_vault_without_a_resource_guard_is_a_mandatory_violation(settings_of):
    result = checked("prod", _without_guard(settings_of))
    assert not result.passed
    assert mandatory_failing(result) == {"vault-multi-user-authorization-production"}
    assert failing(result)["vault-multi-user-authorization-production"] == [UNGUARDED]
    assert "vault-multi-user-authorization" not in failing(result)  # the advisory twin leaves production alone


def test_outside_production_a_missing_resource_guard_is_advisory(settings_of):
    settings = _without_guard(settings_of)
    settings.update(production=False, tags={"environment": "staging"})
    result = checked("staging", settings)
    assert result.passed
    assert failing(result) == {"vault-multi-user-authorization": [UNGUARDED]}


def test_a_dev_stack_with_a_resource_guard_passes_both_rules(settings_of):
    settings = settings_of("dev")
    settings["vault"]["resourceGuardId"] = settings_of("prod")["vault"]["resourceGuardId"]
    found = failing(checked("dev", settings))
    assert "vault-multi-user-authorization" not in found and "vault-multi-user-authorization-production" not in found


def test_a_proxy_that_names_no_resource_guard_does_not_count(prod_run):
    run, settings = prod_run
    registrations = edited(run, "rsv-iris-prod-guard-resource-guard", with_inputs(
        ("properties", "resourceGuardResourceId"), "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"))
    assert failing(checked("prod", settings, registrations=registrations))["vault-multi-user-authorization-production"] == [
        UNGUARDED]


def test_a_retired_vm_needs_no_hooks_but_a_protected_one_still_does(prod_run):
    run, settings = prod_run
    assert "coverage-hooks" not in failing(checked("prod", settings, registrations=run.resources))
    revived = edited(run, "vm-iris-prod-old-protected-item", with_inputs(("properties", "protectionState"), None))
    assert failing(checked("prod", settings, registrations=revived))["coverage-hooks"] == [
        "protected item vm-iris-prod-old-protected-item: VM vm-iris-prod-old has no freeze/thaw hooks deployment "
        "(hooks-vm-iris-prod-old-install over SSH or hooks-vm-iris-prod-old-runcommand installing through Run Command) "
        "that its protection depends on, so its backups are only crash-consistent; "
        "give the VM ssh or delivery: runCommand, or mark it explicitly with consistency: crash"]
