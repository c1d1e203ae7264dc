"""What every rule module of the pack builds on: reading properties, and turning a check into a rule.

A check is a small function over a resource's properties (Subject) or the stack's resources; the
constructors here wrap it in the pulumi_policy ResourceValidationPolicy / StackValidationPolicy whose
name is the rule id, with its config schema. Like every module of the pack it imports nothing of the
program (see backup_rules.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

VAULT = "azure-native:recoveryservices:Vault"
PROTECTION_POLICY = "azure-native:recoveryservices:ProtectionPolicy"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
EXTENSION = "azure-native:compute:VirtualMachineExtension"
SECURITY_RULE = "azure-native:network:SecurityRule"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
RESOURCE_GUARD_PROXY = "azure-native:recoveryservices:ResourceGuardProxy"

# Azure's built-in policy definitions (first 8 hex digits of the id) that a rule mirrors.
AZURE_BUILTIN_POLICIES = {
    "vault-soft-delete": "31b8092a",
    "vault-immutability": "d6f6f560",
    "vault-public-network-access": "9ebbbba3",
    "vault-cross-subscription-restore": "f19b0c83",
    "vault-storage-redundancy": "8f09fda1",
    "vault-customer-managed-key": "2e94d99a",
    "vault-diagnostic-settings": "c717fb0c",
    "coverage-protected-items": "013e242c",
}


# --- reading properties ------------------------------------------------------------------------
# The real engine hands rules read-only Mapping/Sequence proxies (and floats for every number), the
# offline check plain values; these helpers accept both.


def as_list(value: Any) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def show(value: Any) -> str:
    if value is None or value == "":
        return "not set"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def vm_name(resource_id: Any) -> str | None:
    if not isinstance(resource_id, str) or "/" not in resource_id:
        return None
    return resource_id.rstrip("/").rsplit("/", 1)[-1].lower() or None


# --- rule construction -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a resource rule decides on: the same fields from the real engine and the offline plan."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool


ResourceCheck = Callable[[Subject, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Mapping[str, Any], Mapping[str, str]], Iterable[tuple[str, str | None]]]


def rule_config(policy: Policy, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The schema defaults overlaid with the configured values (the CLI also applies the defaults)."""
    schema = policy.config_schema.properties if policy.config_schema else {}
    config = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
    config.update({key: value for key, value in (given or {}).items() if key != "enforcementLevel"})
    return config


def _describe(rule_id: str, text: str) -> str:
    builtin = AZURE_BUILTIN_POLICIES.get(rule_id)
    return f"{text} (mirrors Azure Policy {builtin})" if builtin else text


def resource_rule(rule_id: str, text: str, level: EnforcementLevel, types: tuple[str, ...], check: ResourceCheck,
                  remediation: str, properties: dict[str, dict[str, Any]] | None = None) -> ResourceValidationPolicy:
    policy: ResourceValidationPolicy

    def validate(args: ResourceValidationArgs, report_violation: Callable[..., None]) -> None:
        if args.resource_type not in types:
            return
        opts = getattr(args, "opts", None)
        subject = Subject(args.resource_type, args.name, args.urn, args.props, bool(getattr(opts, "protect", False)))
        for message in check(subject, rule_config(policy, args.get_config())):
            report_violation(message, None)

    policy = ResourceValidationPolicy(
        name=rule_id, description=_describe(rule_id, text), validate=validate, enforcement_level=level,
        config_schema=PolicyConfigSchema(properties or {}), remediation_steps=remediation,
    )
    return policy


def stack_rule(rule_id: str, text: str, level: EnforcementLevel, check: StackCheck, remediation: str,
               properties: dict[str, dict[str, Any]] | None = None) -> StackValidationPolicy:
    policy: StackValidationPolicy

    def validate(args: StackValidationArgs, report_violation: Callable[..., None]) -> None:
        config = rule_config(policy, args.get_config())
        for message, urn in check(list(args.resources), config, args.stack_tags or {}):
            report_violation(message, urn)

    policy = StackValidationPolicy(
        name=rule_id, description=_describe(rule_id, text), validate=validate, enforcement_level=level,
        config_schema=PolicyConfigSchema(properties or {}), remediation_steps=remediation,
    )
    return policy


MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


def integer_config(default: int, minimum: int, maximum: int | None = None, description: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "integer", "minimum": minimum, "default": default, "description": description}
    if maximum is not None:
        spec["maximum"] = maximum
    return spec


def boolean_config(default: bool, description: str) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "description": description}


def names_config(default: list[str], description: str, allowed: Sequence[str] | None = None) -> dict[str, Any]:
    items: dict[str, Any] = {"type": "string"}
    if allowed:
        items["enum"] = list(allowed)
    return {"type": "array", "items": items, "default": default, "description": description}
