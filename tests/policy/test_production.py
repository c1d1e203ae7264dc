"""Production is explicit: the settings' `production` decides (policy/backup_rules.py is_production), a name
or tag never lowers it, and a stack that looks like production without saying so fails the pack."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from pathlib import Path

import pytest
import yaml
from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs

from irisbackup.settings import SettingsError, parse_settings
from offline_plan.__main__ import main as plan_main
from offline_plan.stack_file import stack_file_path, stack_names
from policy.backup_rules import RULES, RULES_BY_ID, VAULT, is_production
from policy.offline import PRODUCTION_KEY, PolicyConfigError, settings_config, stack_policy_config
from tests.policy.policyharness import checked, failing, mandatory_failing

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_RULES = sorted(rule.name for rule in RULES if rule.config_schema and PRODUCTION_KEY in rule.config_schema.properties)


def _vault(stack: str, environment: str) -> PolicyResource:
    options = PolicyResourceOptions(False, [], False, [], None, [], None)
    return PolicyResource(VAULT, {"vaultName": "rsv-x", "tags": {"environment": environment}},
                          f"urn:pulumi:{stack}::irisbackup::{VAULT}::rsv-x-vault", "rsv-x-vault", options, None, None, [], {})


def _explicit_rule_messages(resources, config) -> list[str]:
    found: list[str] = []
    RULES_BY_ID["stack-production-explicit"].validate(
        StackValidationArgs(resources, config, {}), lambda message, urn=None: found.append(message))
    return found


@pytest.mark.parametrize(("explicit", "named_prod", "tagged_prod"), list(itertools.product((True, False, None), (True, False), (True, False))))
def test_the_explicit_setting_decides_and_a_production_look_never_passes_silently(explicit, named_prod, tagged_prod):
    resources = [_vault("prod" if named_prod else "staging", "Production" if tagged_prod else "test")]
    config = {} if explicit is None else {"production": explicit}
    looks = named_prod or tagged_prod
    # Explicit wins; unset falls back to the stricter reading (every production rule applies).
    assert is_production(resources, config, {}) is (explicit if explicit is not None else looks)
    messages = _explicit_rule_messages(resources, config)
    # Mandatory failure exactly when the stack looks like production but does not say production: true.
    assert bool(messages) is (looks and explicit is not True)
    for message in messages:
        assert ("named prod" in message) is named_prod and ("environment=Production" in message) is tagged_prod


def test_a_stack_tag_counts_as_a_production_look_too():
    resources = [_vault("staging", "test")]
    assert is_production(resources, {}, {"environment": "prod"})
    assert _explicit_rule_messages(resources, {"production": False}) == []  # no stack tags given: nothing looks prod
    found: list[str] = []
    RULES_BY_ID["stack-production-explicit"].validate(
        StackValidationArgs(resources, {"production": False}, {"environment": "prod"}), lambda m, urn=None: found.append(m))
    assert found and "the stack tag environment is prod" in found[0]


def test_settings_production_reaches_every_production_rule_and_unset_stays_unset():
    assert PRODUCTION_RULES  # the multi-user authorization pair, long-term retention, stack-production-explicit
    for value in (True, False):
        config = settings_config({"production": value, "vms": []})
        assert {rule for rule, entry in config.items() if PRODUCTION_KEY in entry} == set(PRODUCTION_RULES)
        assert {config[rule][PRODUCTION_KEY] for rule in PRODUCTION_RULES} == {value}
    assert not any(PRODUCTION_KEY in entry for entry in settings_config({"vms": []}).values())


def test_a_policy_config_file_cannot_decide_production(tmp_path):
    for rule in PRODUCTION_RULES:
        extra = tmp_path / f"{rule}.json"
        extra.write_text(json.dumps({rule: {"production": False}}))
        with pytest.raises(PolicyConfigError, match=rf"{rule}\.production: production comes from the stack settings only"):
            stack_policy_config("prod", {"production": True, "vms": []}, extra)


def test_the_settings_take_only_a_boolean_and_refuse_a_destroyable_production_stack(settings_of):
    settings = settings_of("dev")
    settings["production"] = "yes"
    with pytest.raises(SettingsError, match=r"irisbackup:settings\.production: 'yes' Input should be a valid boolean"):
        parse_settings(settings)
    settings["production"] = True  # dev is allowDestroy: true
    with pytest.raises(SettingsError, match="allowDestroy: true on a stack with production: true"):
        parse_settings(settings)


def test_the_pack_still_refuses_a_destroyable_production_stack_when_configured_by_hand(dev_run):
    run, settings = dev_run
    result = checked("dev", settings, registrations=run.resources, extra={"stack-production-explicit": {"production": True}})
    assert "stack-production-explicit" in mandatory_failing(result)
    assert failing(result)["stack-production-explicit"] == [
        "this production stack sets allowDestroy: true, so `pulumi destroy` could delete production backup data; "
        "set allowDestroy: false"]


def test_production_rules_follow_the_setting_not_the_tag(settings_of):
    """The prod example re-tagged and renamed still gets the production rules while it says production: true."""
    settings = settings_of("prod")
    settings["vault"].pop("resourceGuardId")
    settings["tags"] = {"environment": "staging"}
    assert "vault-multi-user-authorization-production" in mandatory_failing(checked("staging", settings))
    settings["production"] = False
    assert "vault-multi-user-authorization-production" not in failing(checked("staging", settings))


def test_every_stack_file_that_looks_like_production_says_production_true():
    assert stack_names(ROOT)
    for stack in stack_names(ROOT):
        path = stack_file_path(ROOT, stack)
        settings = yaml.safe_load(path.read_text())["config"]["irisbackup:settings"]
        assert isinstance(settings.get("production"), bool), f"{path.name}: production must be explicit"
        if stack in ("prod", "production") or settings.get("tags", {}).get("environment") in ("prod", "production"):
            assert settings["production"] is True, path.name


def test_the_plan_shows_the_production_setting(tmp_path):
    for value, shown in (("true", "true"), ("false", "false"), (None, "NOT SET")):
        text = (ROOT / "examples/Pulumi.prod.yaml").read_text()
        text = text.replace("    production: true\n", f"    production: {value}\n" if value else "")
        path = tmp_path / "Pulumi.prod.yaml"
        path.write_text(text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            status = plan_main(["--stack", "prod", "--stack-file", str(path)])
        assert f"Stack: prod (production: {shown};" in out.getvalue()
        assert status == (0 if value == "true" else 1)  # false or unset on a stack named prod: mandatory violation
