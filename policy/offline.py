"""The policy pack applied offline: the same validate functions, fed from an offline plan's registrations.

`make plan` and `make review` render a stack under Pulumi's mock engine (offline_plan). This module
builds, from the recorded registrations, the ResourceValidationArgs / StackValidationArgs the Pulumi
engine would hand the pack (as pulumi-policy's own tests build them), runs every rule of RULES and
collects verdicts. No Azure credentials, no network.

The policy config is the JSON of `pulumi preview --policy-pack-config`, assembled from, in order
(later wins, per rule and key):
1. what the stack settings say (allowDestroy, which VMs are crash-consistent, which VMs exist, and the NSG
   destinations the stack's features need, from irisbackup/network/egress_spec.py);
2. policy/config/<stack>.json, the stack's reviewed exceptions, when it exists;
3. an extra file given on the command line (`--policy-config FILE`, `make plan POLICY_CONFIG=FILE`).
The same assembled file is what CI passes to the real `pulumi preview` (offline_plan --write-policy-config).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from irisbackup.network.egress_spec import allowed_destinations
from irisbackup.settings import SettingsError, parse_settings

from .backup_rules import RULES, RULES_BY_ID

POLICY_DIR = Path(__file__).resolve().parent
STACK_CONFIG_DIR = POLICY_DIR / "config"
LEVELS = tuple(level.value for level in EnforcementLevel)
# Reviewed posture changes (posture_diff), kept next to the stack's exceptions but not pack config:
# load_config_file leaves it out, so it never reaches `pulumi preview --policy-pack-config`.
ACKNOWLEDGE_KEY = "acknowledge"
# Comes from the stack settings only: a policy config file cannot make a stack production or not.
PRODUCTION_KEY = "production"
_JSON_TYPES = {"integer": int, "boolean": bool, "array": list, "string": str, "null": type(None), "number": (int, float),
               "object": dict}


class PolicyConfigError(Exception):
    """A policy config file that the Pulumi CLI would also reject (unknown rule, key, type or level)."""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    resource: str
    message: str


@dataclass(frozen=True)
class Verdict:
    policy: str
    level: str
    description: str
    violations: tuple[Violation, ...] = ()

    @property
    def status(self) -> str:
        if self.level == "disabled":
            return "disabled"
        if not self.violations:
            return "passed"
        return f"{self.level} violation"


@dataclass
class PolicyCheck:
    verdicts: list[Verdict] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def violations(self) -> list[Violation]:
        return [violation for verdict in self.verdicts for violation in verdict.violations]

    @property
    def mandatory_violations(self) -> list[Violation]:
        return [violation for violation in self.violations if violation.level == "mandatory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory_violations


# --- the policy config ---------------------------------------------------------------------------


def settings_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Policy config that follows from the stack settings (irisbackup:settings), so the pack knows them."""
    vms = [vm for vm in settings.get("vms") or [] if isinstance(vm, Mapping)]
    names = [str(vm.get("id", "")).rstrip("/").rsplit("/", 1)[-1] for vm in vms]
    allow_destroy = bool(settings.get("allowDestroy", False))
    # The explicit production setting, to every rule that asks; unset stays unset (the pack decides then).
    production = {rule.name: {"production": settings["production"]} for rule in RULES
                  if settings.get("production") is not None and rule.config_schema
                  and PRODUCTION_KEY in rule.config_schema.properties}
    config = merge_configs(production, {
        "stack-production-explicit": {"allowDestroy": allow_destroy},
        "data-safety-protect": {"allowDestroy": allow_destroy},
        "coverage-hooks": {"crashConsistentVms": [name for name, vm in zip(names, vms) if vm.get("consistency") == "crash"]},
        "coverage-protected-items": {"requiredVms": [name for name in names if name]},
    })
    try:
        # Exactly what the program's own NSG rules name, by the very function that derives them.
        config["network-egress-only"] = {"allowedDestinations": allowed_destinations(parse_settings(settings))}
    except SettingsError:
        pass  # the program refuses these settings before declaring any rule
    return config


def stack_config_file(stack: str) -> Path:
    return STACK_CONFIG_DIR / f"{stack}.json"


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyConfigError(f"cannot read policy config {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise PolicyConfigError(f"policy config {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PolicyConfigError(f"policy config {path}: expected an object of rule id -> settings")
    document.pop(ACKNOWLEDGE_KEY, None)
    problems = config_problems(document)
    if problems:
        raise PolicyConfigError(f"policy config {path}:\n  " + "\n  ".join(problems))
    return document


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """What the CLI would refuse: unknown rules or keys, wrong types, unknown enforcement levels."""
    problems = []
    for rule_id, value in config.items():
        if rule_id == "all":
            if value not in LEVELS:
                problems.append(f"all: {value!r} is not an enforcement level ({', '.join(LEVELS)})")
            continue
        rule = RULES_BY_ID.get(rule_id)
        if rule is None:
            problems.append(f"{rule_id}: no such rule; rules: {', '.join(sorted(RULES_BY_ID))}")
            continue
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, Mapping):
            problems.append(f"{rule_id}: expected an enforcement level or an object")
            continue
        schema = rule.config_schema.properties if rule.config_schema else {}
        for key, item in value.items():
            if key == "enforcementLevel":
                if item not in LEVELS:
                    problems.append(f"{rule_id}.enforcementLevel: {item!r} is not one of {', '.join(LEVELS)}")
            elif key not in schema:
                problems.append(f"{rule_id}.{key}: unknown setting; {rule_id} takes {', '.join(sorted(schema)) or 'no settings'}")
            elif not _matches(item, schema[key]):
                problems.append(f"{rule_id}.{key}: {item!r} does not match {json.dumps({k: v for k, v in schema[key].items() if k != 'description'})}")
    return problems


def _matches(value: Any, spec: Mapping[str, Any]) -> bool:
    types = spec.get("type")
    types = types if isinstance(types, list) else [types]
    if not any(_is_type(value, name) for name in types if name):
        return False
    if "enum" in spec and value not in spec["enum"]:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < spec.get("minimum", value) or value > spec.get("maximum", value):
            return False
    if isinstance(value, list) and "items" in spec:
        return all(_matches(item, spec["items"]) for item in value)
    if isinstance(value, dict) and "additionalProperties" in spec:
        return all(_matches(item, spec["additionalProperties"]) for item in value.values())
    return True


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _JSON_TYPES.get(name, object))


def merge_configs(*configs: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay configs rule by rule and key by key; a bare level string means {"enforcementLevel": level}."""
    merged: dict[str, Any] = {}
    for config in configs:
        for rule_id, value in config.items():
            if rule_id == "all":
                merged["all"] = value
                continue
            if isinstance(value, str):
                value = {"enforcementLevel": value}
            merged[rule_id] = {**merged.get(rule_id, {}), **copy.deepcopy(dict(value))}
    return merged


def stack_policy_config(stack: str, settings: Mapping[str, Any], extra: Path | None = None) -> tuple[dict[str, Any], list[Path]]:
    """The assembled config for one stack, and the files it came from (for the report)."""
    files = [path for path in (stack_config_file(stack),) if path.is_file()] + ([Path(extra)] if extra else [])
    loaded = [load_config_file(path) for path in files]
    for path, document in zip(files, loaded):
        if overriding := sorted(rule for rule, value in document.items() if isinstance(value, Mapping) and PRODUCTION_KEY in value):
            raise PolicyConfigError(f"policy config {path}: {', '.join(f'{rule}.{PRODUCTION_KEY}' for rule in overriding)}: "
                                    "production comes from the stack settings only (irisbackup:settings.production)")
    config = merge_configs(settings_config(settings), *loaded)
    problems = config_problems(config)
    if problems:
        raise PolicyConfigError("policy config:\n  " + "\n  ".join(problems))
    return config, files


def enforcement_level(rule_id: str, config: Mapping[str, Any]) -> str:
    """As the Pulumi CLI decides it: the rule's own entry, else `all`, else the rule's default."""
    entry = config.get(rule_id)
    if isinstance(entry, Mapping) and entry.get("enforcementLevel"):
        return str(entry["enforcementLevel"])
    if isinstance(entry, str):
        return entry
    if config.get("all"):
        return str(config["all"])
    rule = RULES_BY_ID[rule_id]
    return (rule.enforcement_level or EnforcementLevel.MANDATORY).value


# --- running the rules ---------------------------------------------------------------------------


def unwrap_secrets(value: Any) -> Any:
    """Recorded inputs carry secrets wrapped; the engine hands rules the plain values."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unwrap_secrets(value.get("value"))
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(item) for item in value]
    return value


def policy_resources(registrations: Sequence[Any]) -> list[PolicyResource]:
    """PolicyResource objects (props behind the engine's read-only proxy) linked by parent and dependencies."""
    resources = []
    for registration in registrations:
        options = PolicyResourceOptions(
            protect=bool(registration.protect),
            ignore_changes=list(registration.ignore_changes),
            delete_before_replace=bool(registration.delete_before_replace),
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=[],
            parent=registration.parent or None,
        )
        props = unknown_checking_proxy(unwrap_secrets(copy.deepcopy(registration.inputs)))
        resources.append(PolicyResource(registration.type, props, registration.urn, registration.name, options,
                                        None, None, [], {}))
    by_urn = {resource.urn: resource for resource in resources}
    for registration, resource in zip(registrations, resources):
        resource.parent = by_urn.get(registration.parent)
        resource.dependencies = [by_urn[urn] for urn in registration.dependencies if urn in by_urn]
    return resources


def check(registrations: Sequence[Any], config: Mapping[str, Any] | None = None,
          stack_tags: Mapping[str, str] | None = None) -> PolicyCheck:
    """Every rule over one stack's registrations, each at its configured enforcement level."""
    config = dict(config or {})
    resources = policy_resources(registrations)
    names = {resource.urn: resource.name for resource in resources}
    result = PolicyCheck(config=config)
    for rule in RULES:
        level = enforcement_level(rule.name, config)
        if level == "disabled":
            result.verdicts.append(Verdict(rule.name, level, rule.description))
            continue
        reported_level = "mandatory" if level == "remediate" else level
        rule_settings = {k: v for k, v in (config.get(rule.name) or {}).items() if k != "enforcementLevel"} or None
        violations: list[Violation] = []
        if isinstance(rule, ResourceValidationPolicy):
            for resource in resources:
                def report(message: str, urn: str | None = None, _name: str = resource.name) -> None:
                    violations.append(Violation(rule.name, reported_level, _name, message))

                args = ResourceValidationArgs(resource.resource_type, resource.props, resource.urn, resource.name,
                                              resource.opts, None, rule_settings, stack_tags or {})
                rule.validate(args, report)
        else:
            def report_stack(message: str, urn: str | None = None) -> None:
                violations.append(Violation(rule.name, reported_level, names.get(urn or "", "stack"), message))

            rule.validate(StackValidationArgs(resources, rule_settings, stack_tags or {}), report_stack)
        result.verdicts.append(Verdict(rule.name, level, rule.description, tuple(violations)))
    return result
