"""irisbackup: application-consistent Azure VM backups of IRIS/Cache, declared from one stack config."""

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from irisbackup.backup_stack import declare_backup_stack, required_secret_keys
from irisbackup.hooks.hook_bundle import load_bundle
from irisbackup.settings import CONFIG_KEY, SettingsError, missing_settings_message, parse_settings
from irisbackup.settings.mirror import mirror_warnings

config = pulumi.Config()
raw_settings = config.get_object(CONFIG_KEY)
if raw_settings is None:
    # Pulumi's own hint for a missing object says nothing about a misspelt key.
    raise pulumi.RunError(missing_settings_message(sorted({*CONFIG.get(), *get_config_env()})))
try:
    settings = parse_settings(raw_settings)
except SettingsError as error:
    # RunError: Pulumi prints the message without a traceback, and nothing is declared.
    count = len(error.problems)
    raise pulumi.RunError(f"invalid stack settings ({count} problem{'' if count == 1 else 's'}):\n{error}") from None
for warning in mirror_warnings(settings):  # worth knowing, not refused (docs/mirror.md)
    pulumi.log.warn(warning)

missing = sorted(key for key in required_secret_keys(settings) if config.get_secret(key) is None)
if missing:
    raise pulumi.RunError("missing secrets (SSH private keys, IRIS credentials): " + ", ".join(
        f"{key} (set it with: pulumi config set --secret {key} < FILE)" for key in missing))

try:
    bundle = load_bundle()
except ValueError as error:
    raise pulumi.RunError(f"freeze/thaw bundle: {error}") from None

declare_backup_stack(settings, bundle, config.require_secret).export()
