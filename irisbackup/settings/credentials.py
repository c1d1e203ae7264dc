"""IRIS credentials from Azure Key Vault for the freeze/thaw hooks (`vms[].hooks.keyVaultCredentials`).

Pure logic (no Pulumi). Where OS authentication is not used, the hooks feed IRIS a username and a
password on the stdin of `iris session`. Instead of a hand-placed root-only file (`credentialsFile`,
still the fallback), the secret lives in Key Vault: the program writes it there from a Pulumi secret
(`fromConfig`) or the stack names a secret that already exists; the VM's managed identity
(`vms[].identity`) gets **Key Vault Secrets User on that one secret** (irisbackup/hooks/key_vault_credentials.py)
and the hooks read it through IMDS just before the freeze (hooks/creds.sh). What travels to the VM is
only the secret's URL and the identity's ID: never the secret. Design and sources: docs/hooks.md,
"Credentials from Key Vault".

Fetching is one more bounded step (callTimeoutSeconds + 1) in the pre-script, before its check, and in
the watchdog, before its thaw; so with Key Vault credentials the nesting rules count seven pre-script
steps and five watchdog steps (hooks/creds.sh ib_creds_relations checks the same on the VM).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field

from irisbackup.azure_ids import ResourceId
from irisbackup.settings.base import _resource_id, _Settings

KEY_VAULT_TYPE = "Microsoft.KeyVault/vaults"
# The hooks' worst cases with the fetch: irisbackup/settings/vm.py PRE_SCRIPT_STEPS / WATCHDOG_STEPS + 1.
FETCH_STEPS = 1
KeyVaultId = Annotated[ResourceId, _resource_id(KEY_VAULT_TYPE)]


class KeyVaultCredentials(_Settings):
    # The vault (Azure RBAC authorization: the grant is a role assignment, not an access policy).
    vault_id: KeyVaultId
    # The secret's name (Key Vault: 1-127 letters, digits and hyphens).
    secret_name: str = Field(pattern=r"^[A-Za-z0-9-]{1,127}$")
    # A Pulumi secret config key whose value the program writes into the secret (username line,
    # password line); absent: the secret already exists and the program only grants read access.
    from_config: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")

    @property
    def secret_url(self) -> str:
        """What the hooks GET (without a version: always the current one)."""
        return f"https://{self.vault_id.name.lower()}.vault.azure.net/secrets/{self.secret_name}"

    @property
    def secret_scope(self) -> str:
        """The role assignment's scope: this secret only (least privilege)."""
        return f"{self.vault_id}/secrets/{self.secret_name}"


def vault_name_problem(credentials: KeyVaultCredentials) -> str | None:
    name = credentials.vault_id.name
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]", name):
        return (f"keyVaultCredentials.vaultId: vault name {name!r} is not a Key Vault name "
                "(3-24 letters, digits and hyphens, starting with a letter)")
    return None


def fetch_step_problems(hooks: Any, step: int, pre_steps: int, watchdog_steps: int) -> list[str]:
    """The nesting rules with the credential fetch added (empty without Key Vault credentials)."""
    if hooks.key_vault_credentials is None:
        return []
    problems = []
    pre, watchdog = pre_steps + FETCH_STEPS, watchdog_steps + FETCH_STEPS
    if hooks.azure_timeout_seconds <= pre * step:
        problems.append(f"azureTimeoutSeconds ({hooks.azure_timeout_seconds}) must exceed {pre} x (callTimeoutSeconds + 1) = "
                        f"{pre * step} with keyVaultCredentials (the credential fetch is one more step of the pre-script)")
    if hooks.wd_suspend_limit_seconds <= hooks.freeze_budget_seconds + watchdog * step:
        problems.append(f"wdSuspendLimitSeconds ({hooks.wd_suspend_limit_seconds}) must exceed freezeBudgetSeconds + {watchdog} x "
                        f"(callTimeoutSeconds + 1) = {hooks.freeze_budget_seconds + watchdog * step} with keyVaultCredentials "
                        "(the credential fetch is one more step of the watchdog)")
    return problems


def identity_problem(vm: Any) -> str | None:
    """Key Vault credentials are read with the VM's managed identity: the stack must say which one."""
    if vm.hooks.key_vault_credentials is not None and vm.identity is None:
        return ("hooks.keyVaultCredentials needs identity (systemAssigned, or the ID of a user-assigned identity the VM "
                "has): the hooks read the secret with the VM's managed identity")
    return None


def hook_credential_lines(vm: Any) -> dict[str, str]:
    """The hook settings keys for the credentials: the secret's URL and the identity (empty: system-assigned)."""
    credentials = vm.hooks.key_vault_credentials
    if credentials is None:
        return {"key_vault_secret_url": "", "managed_identity": ""}
    identity = vm.identity
    return {"key_vault_secret_url": credentials.secret_url,
            "managed_identity": str(identity) if isinstance(identity, ResourceId) else ""}
