"""What README "Before the first `pulumi up`" promises a platform engineer, held against what the program declares."""

from __future__ import annotations

from tests.program.harness import ROOT, run_with_settings

# The built-in role that lets the deploying identity write each resource type the program can declare.
ROLE_FOR_PROVIDER = {
    "azure-native:recoveryservices": "Backup Contributor",
    "azure-native:compute": "Virtual Machine Contributor",
    "azure-native:network": "Network Contributor",
    "azure-native:monitor": "Monitoring Contributor",
    "azure-native:alertsmanagement": "Monitoring Contributor",
    # Health alerts (on in prod through vault.diagnostics): the on-call query pack.
    "azure-native:operationalinsights": "Log Analytics Contributor",
    # The restore-drill sandbox (drill.enabled, on in prod).
    "azure-native:resources": "Contributor",
    "azure-native:storage": "Storage Account Contributor",
    "azure-native:managedidentity": "Managed Identity Contributor",
    "azure-native:authorization": "Role Based Access Control Administrator",
}


def _checklist() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Before the first `pulumi up`")
    return readme[start:readme.index("\n## ", start + 1)]


def test_the_checklist_names_a_role_for_every_kind_of_resource_the_program_declares(prod_settings):
    prod_settings["vms"][0]["manageExtension"] = True  # every resource type the program can declare
    run = run_with_settings(prod_settings)
    providers = {r.type.rsplit(":", 1)[0] for r in run.resources if r.type.startswith("azure-native:")}
    assert providers == set(ROLE_FOR_PROVIDER)
    checklist = " ".join(_checklist().split())
    for provider in providers:
        assert f"*{ROLE_FOR_PROVIDER[provider]}*" in checklist, provider
    # Assigning the CMK's user-assigned identity to the vault is the identity's own permission.
    assert prod_settings["vault"]["customerManagedKey"]["identityId"]
    assert "*Managed Identity Operator* on the customer-managed-key identity" in checklist
    # The vault's delete lock needs Microsoft.Authorization/locks/*, which the role-assignment role lacks.
    assert any(r.type == "azure-native:authorization:ManagementLockByScope" for r in run.resources)
    assert "*User Access Administrator* (or Owner) on the vault's resource group for the vault's delete lock" in checklist
    # The drill's custom roles: defining a role is roleDefinitions/write, which the RBAC administrator role lacks.
    assert any(r.type == "azure-native:authorization:RoleDefinition" for r in run.resources)
    assert ("the two custom role definitions need `Microsoft.Authorization/roleDefinitions/write` on the sandbox group "
            "and the VMs' groups") in checklist


def test_the_checklist_says_what_the_scripts_and_policies_cannot_promise():
    checklist = " ".join(_checklist().split())
    for truth in ("`dash` on Debian and Ubuntu, `bash` on RHEL and SLES",
                  "A single-disk VM whose freeze fails is still backed up crash-consistent on a retry",
                  "**Trusted Launch VMs** need `kind: enhanced`",
                  "Azure refuses to *create* a vault as `Locked`",
                  "pulumi-azure-native issues 3359, 1087"):
        assert truth in checklist, truth
