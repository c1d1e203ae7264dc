"""Reads Pulumi.<stack>.yaml into the flat config map the Pulumi runtime takes (pure logic)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SETTINGS_KEY = "irisbackup:settings"
# Stands in for a `secure:` value, which only the Pulumi CLI can decrypt.
SECRET_PLACEHOLDER = "offline-plan-placeholder-for-a-secret"


@dataclass(frozen=True)
class StackConfig:
    values: dict[str, str]
    secret_keys: list[str]


class StackFileError(Exception):
    pass


def stack_file_path(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def load_stack_config(path: Path) -> StackConfig:
    if not path.is_file():
        stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in path.parent.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack file {path.name}; stacks here: {', '.join(stacks) or 'none'}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: 'config' must be a mapping of key: value")
    values, secret_keys = {}, []
    for key, value in config.items():
        masked, had_secret = _mask_secure(value)
        values[key] = masked if isinstance(masked, str) else json.dumps(masked)
        if had_secret:
            secret_keys.append(key)
    return StackConfig(values, secret_keys)


def _mask_secure(value: Any) -> tuple[Any, bool]:
    """Replace every `{secure: ...}` with a placeholder and say whether there was one."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        pairs = {key: _mask_secure(item) for key, item in value.items()}
        return {key: masked for key, (masked, _) in pairs.items()}, any(secret for _, secret in pairs.values())
    if isinstance(value, list):
        items = [_mask_secure(item) for item in value]
        return [masked for masked, _ in items], any(secret for _, secret in items)
    return value, False


def raw_settings(config: StackConfig) -> dict[str, Any]:
    """The `irisbackup:settings` object as written (unvalidated); {} when absent or not an object."""
    try:
        settings = json.loads(config.values.get(SETTINGS_KEY, "{}"))
    except json.JSONDecodeError:
        return {}
    return settings if isinstance(settings, dict) else {}
