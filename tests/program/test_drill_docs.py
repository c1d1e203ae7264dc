"""docs/restore-drill.md "What the stack declares" says what the code declares (rules, roles, tags, outputs)."""

from __future__ import annotations

import re

from irisbackup.drill import drill_naming as naming
from irisbackup.drill.drill_isolation import sandbox_nsg_rules, sandbox_resource_group_id, staging_account_id, vault_id
from irisbackup.drill.drill_roles import drill_role_grants, source_vm_ids
from irisbackup.settings import parse_settings
from tests.program.harness import ROOT, example_settings, run_with_settings

DOC = (ROOT / "docs" / "restore-drill.md").read_text()
SECTION = DOC[DOC.index("## What the stack declares"):]


def test_every_nsg_rule_is_documented_with_its_priority():
    documented = set(re.findall(r"^\| `([\w-]+)` \| (\d+) \|", SECTION, re.M))
    assert documented == {(rule.name, str(rule.priority)) for rule in sandbox_nsg_rules("westeurope")}


def test_every_role_grant_is_documented_with_its_scope_and_custom_actions():
    settings = parse_settings(example_settings("prod"))
    sandbox = sandbox_resource_group_id(settings.resource_group_id.subscription_id, "rg")
    sources = source_vm_ids([vm.name for vm in settings.drill.vms], [vm.id for vm in settings.vms])
    grants = drill_role_grants(vault_id(settings.resource_group_id, "v"), sandbox, staging_account_id(sandbox, "st"), sources,
                              [vm.id for vm in settings.vms])
    table = set(re.findall(r"^\| ([^|`]+?|`[\w-]+` \(custom\)) \| ([^|]+) \|", SECTION.split("### The drill identity's roles")[1], re.M))
    documented = {(role.strip(), scope.strip()) for role, scope in table if role != "role"}

    def shown(grant) -> tuple[str, str]:
        role = f"`{grant.custom.key}` (custom)" if grant.custom else grant.role
        if grant.scope.endswith("/rg"):
            return role, "the sandbox resource group"
        if "/storageAccounts/" in grant.scope:
            return role, "the staging account"
        if "/vaults/" in grant.scope:
            return role, "the vault"
        return role, "each VM in `drill.vms`"
    assert documented == {shown(grant) for grant in grants}
    for grant in grants:
        for action in (grant.custom.actions if grant.custom else ()):
            assert f"`{action.name}`" in SECTION, action.name


def test_tags_outputs_and_names_match_the_code():
    for tag in (naming.SANDBOX_TAG, naming.RUN_TAG, naming.RUN_ID_TAG, naming.STARTED_TAG):
        assert f"`{tag}:" in SECTION, tag
    outputs = run_with_settings(example_settings("prod")).outputs["drill"]
    assert set(re.findall(r"`(\w+)`", SECTION.split("Stack outputs")[1].split("\n\n")[0])) >= set(outputs)
    for name in (naming.drill_resource_group_name("prod"), naming.vnet_name("prod"), naming.nsg_name("prod"),
                 naming.identity_name("prod")):
        assert f"`{name.replace('prod', '<stack>')}`" in SECTION, name
    assert f"`{naming.SUBNET_NAME}`" in SECTION
    name = naming.staging_account_name("s", "g", "prod")
    assert name.startswith("irisdrill") and len(name) - len("irisdrill") == 15 and "`irisdrill` + 15 hex digits" in SECTION


def test_the_workflow_variables_named_here_are_the_ones_it_uses():
    workflow = (ROOT / ".github" / "workflows" / "restore-drill.yml").read_text()
    for variable in re.findall(r"variables `(\w+)`|, `(AZURE_\w+)`", SECTION):
        for name in filter(None, variable):
            assert f"vars.{name}" in workflow, name
