"""The pack as the Pulumi CLI sees it: metadata, config schemas, and the real analyzer servicer of
pulumi-policy answering Analyze/AnalyzeStack requests built from rendered resources (protobuf
numbers arrive as floats, secrets wrapped, props behind read-only proxies)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer

from irisbackup import settings as program_settings
from irisbackup.network.egress_spec import SERVICE_TAG_REGIONS, rules_for
from offline_plan.stack_file import stack_file_path
from policy import backup_rules, rule_kit
from policy.backup_rules import PACK_NAME, RULES
from policy.offline import PolicyConfigError, config_problems, enforcement_level, load_config_file
from tests.program.harness import ROOT

PACK_DIR = ROOT / "policy"


def test_every_rule_has_an_id_description_level_and_what_to_change():
    ids = [rule.name for rule in RULES]
    assert len(ids) == len(set(ids)) >= 19
    for rule in RULES:
        assert rule.name.split("-")[0] in {"vault", "policy", "coverage", "network", "hooks", "data", "stack"}, rule.name
        assert rule.description and "\n" not in rule.description
        assert rule.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
        assert rule.remediation_steps
        assert isinstance(rule, (ResourceValidationPolicy, StackValidationPolicy))
    advisory = {rule.name for rule in RULES if rule.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"vault-customer-managed-key", "vault-diagnostic-settings", "policy-long-term-retention",
                        "vault-multi-user-authorization"}


def test_rules_mirror_azure_builtin_policies_in_their_descriptions():
    by_id = {rule.name: rule for rule in RULES}
    for rule_id, builtin in rule_kit.AZURE_BUILTIN_POLICIES.items():
        assert f"Azure Policy {builtin}" in by_id[rule_id].description


def test_the_pack_shares_azure_and_iris_limits_with_the_program():
    assert backup_rules.AZURE_SCRIPT_TIMEOUT_CAP == program_settings.AZURE_SCRIPT_TIMEOUT_CAP
    assert backup_rules.IRIS_FREEZE_TIMEOUT_CAP == program_settings.IRIS_FREEZE_TIMEOUT_CAP
    # Without a stack's exact set, the pack's generic tag lists still accept every rule the program can derive.
    for location in SERVICE_TAG_REGIONS:
        for rule in rules_for({"backup", "health", "runCommand"}, location):
            base, _, region = rule.destination.partition(".")
            assert (base in backup_rules.REGIONAL_SERVICE_TAGS and region) or (
                rule.destination in backup_rules.GLOBAL_SERVICE_TAGS), rule


def test_pack_project_file_and_entry_point_are_what_the_cli_runs():
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    # Its own virtualenv, never the program's: the pack installs on its own (make policy-venv).
    assert (PACK_DIR / project["runtime"]["options"]["virtualenv"]).resolve() == (PACK_DIR / "venv").resolve()
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    calls = [node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert calls.count("PolicyPack") == 1
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "backup_rules"
                for alias in node.names}
    assert imported == {"PACK_NAME", "RULES"}
    # Nearly self-contained: of the program, only the one RPO/retention calculation (stdlib-only).
    rules_tree = ast.parse((PACK_DIR / "backup_rules.py").read_text())
    modules = {node.module for node in ast.walk(rules_tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(rules_tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in modules if m and m.split(".")[0] in {"irisbackup", "offline_plan", "policy", "tests"}} == {
        "irisbackup.schedule"}


def test_the_pack_imports_as_the_cli_runs_it_with_no_program_dependency():
    # As `pulumi preview --policy-pack policy` does: the pack directory run as a script, from elsewhere.
    script = ("import runpy, sys; import pulumi_policy; pulumi_policy.PolicyPack = lambda **kw: print(len(kw['policies']));"
              f"runpy.run_path({str(PACK_DIR / '__main__.py')!r}, run_name='__main__');"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('irisbackup', 'pydantic', 'pulumi_azure_native')))")
    result = subprocess.run([sys.executable, "-I", "-c", script], cwd="/", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [str(len(RULES)), "['irisbackup', 'irisbackup.schedule']"]


def _servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "1.0.0", RULES, EnforcementLevel.MANDATORY)


def test_the_analyzer_describes_every_rule_with_its_config_schema():
    info = _servicer().GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME and info.supportsConfig
    described = {policy.name: policy for policy in info.policies}
    assert set(described) == {rule.name for rule in RULES}
    schema = json_format.MessageToDict(described["policy-daily-retention"].configSchema)
    assert schema["properties"]["minDays"]["default"] == 30
    assert json_format.MessageToDict(described["vault-storage-redundancy"].configSchema)["properties"]["allowed"]["default"] == [
        "GeoRedundant", "ZoneRedundant"]


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(serialize_properties(value))  # assets and archives as the engine sends them
    return message


def _configure(servicer, config: dict) -> None:
    request = proto.ConfigureAnalyzerRequest()
    for rule_id, settings in config.items():
        level = settings.pop("enforcementLevel", "mandatory")
        request.policyConfig[rule_id].CopyFrom(proto.PolicyConfig(
            enforcementLevel=getattr(proto, level.upper()), properties=_struct(settings)))
    servicer.Configure(request, None)


def _analyze(servicer, registration) -> list[tuple[str, str]]:
    request = proto.AnalyzeRequest(
        type=registration.type, properties=_struct(registration.inputs), urn=registration.urn, name=registration.name,
        options=proto.AnalyzerResourceOptions(protect=registration.protect, parent=registration.parent))
    response = servicer.Analyze(request, None)
    return [(d.policyName, d.message) for d in response.diagnostics]


def _named(run, name):
    return next(r for r in run.resources if r.name == name)


def test_the_real_analyzer_passes_the_prod_vault_and_fails_a_weakened_dev_policy(prod_run, dev_run):
    servicer = _servicer()
    _configure(servicer, {"data-safety-protect": {"allowDestroy": False}})
    assert _analyze(servicer, _named(prod_run[0], "rsv-iris-prod-vault")) == []
    assert _analyze(servicer, _named(prod_run[0], "hooks-vm-iris-prod-1-install")) == []  # secret connection inside
    found = _analyze(servicer, _named(dev_run[0], "daily-dev-policy"))
    assert ("policy-daily-retention", "Backup policies keep the daily (vault) recovery point at least minDays days\n"
            "backup policy daily-dev: the daily recovery point is kept 7 days in the vault; set retention.dailyDays to "
            "at least 30") in found
    _configure(servicer, {"policy-daily-retention": {"minDays": 7}, "policy-instant-restore": {"minDays": 1}})
    assert _analyze(servicer, _named(dev_run[0], "daily-dev-policy")) == []


def test_the_real_analyzer_runs_the_stack_rules_over_dependencies(prod_run):
    run, _ = prod_run
    resources = [
        proto.AnalyzerResource(type=r.type, properties=_struct(r.inputs), urn=r.urn, name=r.name,
                               options=proto.AnalyzerResourceOptions(protect=r.protect), parent=r.parent,
                               dependencies=[urn for urn in r.dependencies
                                             if not urn.endswith("hooks:FreezeThawHooks$command:remote:Command::hooks-vm-iris-prod-1-install")
                                             or r.name != "vm-iris-prod-1-protected-item"])
        for r in run.resources
    ]
    response = _servicer().AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    found = [(d.policyName, d.urn.rsplit("::", 1)[-1]) for d in response.diagnostics]
    # No --policy-pack-config here: production is unset on a stack named prod, which the pack refuses too.
    assert sorted(found) == [("coverage-hooks", "vm-iris-prod-1-protected-item"), ("stack-production-explicit", "")]


def test_config_files_are_checked_like_the_cli_checks_them(tmp_path):
    assert config_problems({"all": "advisory", "policy-rpo": {"maxHours": 12, "enforcementLevel": "disabled"}}) == []
    problems = config_problems({"policy-rpo": {"maxHour": 12}, "vault-softdelete": "mandatory",
                                "policy-daily-retention": {"minDays": "30"}, "all": "loud"})
    assert problems == [
        "policy-rpo.maxHour: unknown setting; policy-rpo takes maxHours",
        "vault-softdelete: no such rule; rules: " + ", ".join(sorted(rule.name for rule in RULES)),
        'policy-daily-retention.minDays: \'30\' does not match {"type": "integer", "minimum": 1, "default": 30}',
        "all: 'loud' is not an enforcement level (advisory, mandatory, remediate, disabled)",
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PolicyConfigError, match="is not valid JSON"):
        load_config_file(bad)


def test_enforcement_levels_resolve_as_the_cli_resolves_them():
    assert enforcement_level("policy-rpo", {}) == "mandatory"
    assert enforcement_level("vault-customer-managed-key", {}) == "advisory"
    assert enforcement_level("vault-customer-managed-key", {"all": "mandatory"}) == "mandatory"
    assert enforcement_level("policy-rpo", {"all": "advisory", "policy-rpo": {"enforcementLevel": "disabled"}}) == "disabled"


def test_checked_in_stack_configs_are_valid_and_only_for_existing_stacks():
    for path in sorted((PACK_DIR / "config").glob("*.json")):
        assert stack_file_path(ROOT, path.stem).is_file(), f"{path.name} configures no stack"
        load_config_file(path)
    assert not (PACK_DIR / "config" / "prod.json").exists(), "prod must meet the pack's defaults, without exceptions"
