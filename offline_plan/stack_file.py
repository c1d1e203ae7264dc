"""Reads Pulumi.<stack>.yaml into the flat config map the Pulumi runtime takes (pure logic)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .stack_yaml import StackYamlError, load_stack_yaml

SETTINGS_KEY = "irisbackup:settings"
# Stands in for a `secure:` value, which only the Pulumi CLI can decrypt.
SECRET_PLACEHOLDER = "offline-plan-placeholder-for-a-secret"


@dataclass(frozen=True)
class StackConfig:
    values: dict[str, str]
    secret_keys: list[str]
    # Values other YAML 1.1 readers would read differently (stack_yaml.py): worth a warning, not an error.
    notes: tuple[str, ...] = ()


class StackFileError(Exception):
    pass


# Example stacks (fake ids, never deployed) live here, under the project; real stacks beside Pulumi.yaml.
EXAMPLES_DIR = "examples"


def stack_file_path(project_dir: Path, stack: str) -> Path:
    """Lookup order: a real Pulumi.<stack>.yaml beside Pulumi.yaml wins, else examples/Pulumi.<stack>.yaml;
    neither: the real path (so the error names where a real stack belongs)."""
    real = project_dir / f"Pulumi.{stack}.yaml"
    example = project_dir / EXAMPLES_DIR / real.name
    return example if not real.is_file() and example.is_file() else real


def _stacks_in(directory: Path) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in directory.glob("Pulumi.*.yaml"))


def real_stacks(project_dir: Path) -> list[str]:
    """Stacks CI previews and deploys: the Pulumi.<stack>.yaml files beside Pulumi.yaml."""
    return _stacks_in(project_dir)


def stack_names(project_dir: Path) -> list[str]:
    """Every stack the offline tools know: the real ones and the examples a real one does not shadow."""
    return sorted(set(real_stacks(project_dir)) | set(_stacks_in(project_dir / EXAMPLES_DIR)))


def is_example(path: Path) -> bool:
    return path.parent.name == EXAMPLES_DIR


def load_stack_config(path: Path) -> StackConfig:
    """The stack file through the one stack-file reader (stack_yaml.py: limits, YAML 1.2, the CLI's reading)."""
    if not path.is_file():
        stacks = stack_names(path.parent)
        raise StackFileError(f"no stack file {path.name}; stacks here: {', '.join(stacks) or 'none'}")
    try:
        loaded = load_stack_yaml(path)
    except StackYamlError as error:
        raise StackFileError(str(error)) from None
    document = loaded.document or {}
    config = document.get("config") or {} if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: 'config' must be a mapping of key: value")
    values, secret_keys = {}, []
    for key, value in config.items():
        masked, had_secret = _mask_secure(value)
        values[key] = masked if isinstance(masked, str) else json.dumps(masked)
        if had_secret:
            secret_keys.append(key)
    return StackConfig(values, secret_keys, loaded.notes)


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
