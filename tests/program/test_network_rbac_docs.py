"""docs/network-and-rbac.md "Roles per feature" lists exactly the drill identity's grants the code makes."""

from __future__ import annotations

import re

from irisbackup.drill.drill_isolation import sandbox_resource_group_id, staging_account_id, vault_id
from irisbackup.drill.drill_roles import RBAC_TABLE, drill_role_grants, source_vm_ids
from irisbackup.settings import parse_settings
from tests.program.harness import ROOT, example_settings

DOC = (ROOT / "docs" / "network-and-rbac.md").read_text()
SECTION = DOC[DOC.index("## Roles per feature"):]


def _rows() -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in SECTION.splitlines() if line.startswith("| restore drill |")]


def _grants():
    settings = parse_settings(example_settings("prod"))
    sandbox = sandbox_resource_group_id(settings.resource_group_id.subscription_id, "rg-drill")
    sources = source_vm_ids([vm.name for vm in settings.drill.vms], [vm.id for vm in settings.vms])
    return drill_role_grants(vault_id(settings.resource_group_id, "v"), sandbox, staging_account_id(sandbox, "st"), sources,
                              [vm.id for vm in settings.vms])


def _shown_scope(grant) -> str:
    if "/vaults/" in grant.scope:
        return "the vault"
    if "/storageAccounts/" in grant.scope:
        return "the staging storage account"
    if "/virtualMachines/" in grant.scope:
        return "each VM in `drill.vms` (the VM resource, not its group)"
    return "the sandbox resource group"


def _shown_role(grant) -> str:
    if not grant.custom:
        return grant.role
    return f"custom `{grant.custom.key}`: " + ", ".join(f"`{a.name}`" for a in grant.custom.actions)


def test_every_grant_is_a_row_with_its_scope_and_a_microsoft_source():
    rows = {(row[1], row[2]): row for row in _rows()}
    expected = {(_shown_role(grant), _shown_scope(grant)) for grant in _grants()}
    assert expected <= set(rows), sorted(expected - set(rows))
    for key in expected:
        assert re.search(r"\]\(https://learn\.microsoft\.com/azure/", rows[key][4]), key
        if "custom" in key[0]:
            assert RBAC_TABLE in rows[key][4], key  # custom actions come from Microsoft's table


def test_no_row_names_a_grant_the_code_does_not_make():
    known = {_shown_role(grant) for grant in _grants()}
    for row in _rows():
        assert row[1] in known, row[1]


def test_the_key_vault_credentials_row_names_the_role_and_scope_the_code_grants():
    from irisbackup.hooks.key_vault_credentials import secrets_user_grant
    from irisbackup.settings.credentials import KeyVaultCredentials
    [row] = [[cell.strip() for cell in line.strip("|").split("|")] for line in SECTION.splitlines()
             if line.startswith("| Key Vault credentials")]
    grant = secrets_user_grant(KeyVaultCredentials.model_validate({
        "vaultId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", "secretName": "iris"}))
    assert row[1] == grant.role and grant.scope.endswith("/secrets/iris") and "the one secret" in row[2]
    assert "learn.microsoft.com/azure/key-vault/general/rbac-guide" in row[4]
