"""The `vms` and `networkSecurityGroups` sections: each VM, how its hooks are delivered and timed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from irisbackup.azure_ids import ResourceId
from irisbackup.network.egress_spec import EGRESS_PRIORITY_SLOTS
from irisbackup.settings.base import _Settings, _managed_identity, _resource_id
from irisbackup.settings.credentials import (
    KeyVaultCredentials,
    fetch_step_problems,
    identity_problem,
    vault_name_problem,
)
from irisbackup.settings.identity import IDENTITY_TYPE
from irisbackup.settings.parity import DiskSelection


VM_TYPE = "Microsoft.Compute/virtualMachines"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
INSTANCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
CONFIG_KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
# Azure's limit for one pre- or post-script (VMSnapshotPluginHost.conf).
AZURE_SCRIPT_TIMEOUT_CAP = 1800
# Reported maximum of IRIS's ExternalFreezeTimeOut.
IRIS_FREEZE_TIMEOUT_CAP = 1200
VmId = Annotated[ResourceId, _resource_id(VM_TYPE)]
NsgId = Annotated[ResourceId, _resource_id(NSG_TYPE)]
Seconds = Annotated[int, Field(ge=1, strict=True)]


class NsgSettings(_Settings):
    id: NsgId
    # Our rules take fixed slots firstPriority + 0..3 (irisbackup/network/egress_spec.py), whichever features are on,
    # so they never collide with each other and all stay within Azure's 100-4096.
    first_priority: int = Field(ge=100, le=4096 - EGRESS_PRIORITY_SLOTS + 1, strict=True)


HOST_KEY_TYPE = re.compile(r"ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa")
HOST_KEY = re.compile(rf"(?:{HOST_KEY_TYPE.pattern}) [A-Za-z0-9+/]+={{0,2}}")


def _host_key(value: Any) -> str:
    """`TYPE BASE64`, as pulumi-command compares it; also takes the line `ssh-keyscan` prints
    (`HOST TYPE BASE64`, comment lines starting with #) and a trailing comment, and keeps TYPE BASE64."""
    if not isinstance(value, str):
        raise ValueError("expected a host key string (the output of ssh-keyscan -t ed25519 HOST)")
    lines = [line.split() for line in value.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"expected one host key line, got {len(lines)}; pick one key type: ssh-keyscan -t ed25519 HOST")
    fields = lines[0]
    if len(fields) > 2 and not HOST_KEY_TYPE.fullmatch(fields[0]):
        fields = fields[1:]  # the host name ssh-keyscan puts first
    key = " ".join(fields[:2])
    if not HOST_KEY.fullmatch(key):
        raise ValueError(f"does not match {HOST_KEY.pattern} (optionally after the host name, as ssh-keyscan prints it)")
    return key


HostKey = Annotated[str, BeforeValidator(_host_key)]
# The managed identity the VM has (the program does not change VMs): what Azure Monitor Agent signs in with.
VmIdentity = Annotated[str | ResourceId, _managed_identity(IDENTITY_TYPE)]


class SshProxy(_Settings):
    host: str = Field(min_length=1, pattern=r"^[A-Za-z0-9.:-]+$")
    user: str = Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    port: int = Field(22, ge=1, le=65535, strict=True)
    private_key_config: str = Field("sshPrivateKey", pattern=CONFIG_KEY_NAME.pattern)
    # Without it pulumi-command does not check which host it reached (the plan warns).
    host_key: HostKey | None = None


class Ssh(SshProxy):
    proxy: SshProxy | None = None


class Instance(_Settings):
    name: str = Field(pattern=f"^{INSTANCE_NAME.pattern}$")
    product: Literal["iris", "cache"] = "iris"


# Seconds between TERM and KILL of an iris call past its limit (IB_KILL_GRACE in hooks/common.sh):
# one call lasts at most callTimeoutSeconds + this, a "step".
HOOK_KILL_GRACE = 1
# Worst cases in steps, every call hanging (docs/hooks.md "Worst cases"): the pre-script makes six
# calls in sequence (qlist, IsWDSuspendedExt, ExternalFreeze, rollback ExternalThaw, stat -W,
# verification); the watchdog, once it fires, four (IsWDSuspendedExt, ExternalThaw, stat -W, verification).
PRE_SCRIPT_STEPS = 6
WATCHDOG_STEPS = 4


class HookSettings(_Settings):
    instances: list[Instance] = []
    call_timeout_seconds: Seconds = 15
    azure_timeout_seconds: Annotated[int, Field(ge=1, le=AZURE_SCRIPT_TIMEOUT_CAP, strict=True)] = 120
    freeze_budget_seconds: Seconds = 200
    wd_suspend_limit_seconds: Seconds = 300
    external_freeze_timeout_seconds: Annotated[int, Field(ge=1, le=IRIS_FREEZE_TIMEOUT_CAP, strict=True)] = 600
    # ScriptsExecutionPollTimeSeconds of the plugin config: how often Azure's runner checks whether a
    # script ended (1-5, Azure's default 3). Every phase lasts one or two polls, so the freeze window is
    # about snapshot + 2 polls; 1 keeps it shortest.
    runner_poll_seconds: Annotated[int, Field(ge=1, le=5, strict=True)] = 1
    credentials_file: str | None = Field(None, pattern=r"^/[A-Za-z0-9_./-]+$")
    continue_backup_on_failure: bool = True
    # IRIS credentials read from Key Vault just before the freeze (irisbackup/settings/credentials.py).
    key_vault_credentials: KeyVaultCredentials | None = None

    @model_validator(mode="after")
    def _timeouts_nest(self) -> HookSettings:
        # install.sh checks the same rules on the VM (tests/program/test_hooks_contract.py keeps them in
        # agreement). Azure must wait for the pre-script's worst case; Azure starts the post-script up
        # to two polls after that; the watchdog must outlast both, and IRIS's own limits the watchdog.
        step = self.call_timeout_seconds + HOOK_KILL_GRACE
        rules = [
            (self.azure_timeout_seconds > PRE_SCRIPT_STEPS * step,
             f"azureTimeoutSeconds ({self.azure_timeout_seconds}) must exceed {PRE_SCRIPT_STEPS} x (callTimeoutSeconds + "
             f"{HOOK_KILL_GRACE}) = {PRE_SCRIPT_STEPS * step}, the pre-script's worst case"),
            (self.freeze_budget_seconds > self.azure_timeout_seconds + 2 * self.runner_poll_seconds,
             f"freezeBudgetSeconds ({self.freeze_budget_seconds}) must exceed azureTimeoutSeconds + 2 x runnerPollSeconds "
             f"({self.azure_timeout_seconds + 2 * self.runner_poll_seconds})"),
            (self.wd_suspend_limit_seconds > self.freeze_budget_seconds + WATCHDOG_STEPS * step,
             f"wdSuspendLimitSeconds ({self.wd_suspend_limit_seconds}) must exceed freezeBudgetSeconds + {WATCHDOG_STEPS} x "
             f"(callTimeoutSeconds + {HOOK_KILL_GRACE}) = {self.freeze_budget_seconds + WATCHDOG_STEPS * step}, the watchdog's worst case"),
            (self.external_freeze_timeout_seconds > self.wd_suspend_limit_seconds,
             f"externalFreezeTimeoutSeconds ({self.external_freeze_timeout_seconds}) must exceed wdSuspendLimitSeconds ({self.wd_suspend_limit_seconds})"),
        ]
        problems = [message for ok, message in rules if not ok]
        problems += fetch_step_problems(self, step, PRE_SCRIPT_STEPS, WATCHDOG_STEPS)
        if self.key_vault_credentials and (problem := vault_name_problem(self.key_vault_credentials)):
            problems.append(problem)
        # An instance is its product and its name: PROD:iris and PROD:cache are two (hooks/settings.sh agrees).
        names = [f"{instance.name}:{instance.product}" for instance in self.instances]
        if len(set(names)) != len(names):
            problems.append(f"instances has duplicate names: {names}; list each NAME:product once")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class VmSettings(_Settings):
    id: VmId
    policy: str
    network_security_groups: list[NsgId] = []
    # False (default): Azure Backup installs VMSnapshotLinux on the first backup, as Microsoft recommends;
    # true declares it too (see irisbackup/vm/protected_vm.py for why that is safe, and when it is not needed).
    manage_extension: bool = False
    # "crash" is an explicit, reviewable opt-out of freeze/thaw hooks.
    consistency: Literal["application", "crash"] = "application"
    ssh: Ssh | None = None
    # How the hooks reach the VM: pulumi-command over SSH, or Azure managed Run Command (no SSH).
    delivery: Literal["ssh", "runCommand"] = "ssh"
    hooks: HookSettings = HookSettings()
    # Stop protection, keep the recovery points (docs/vm-lifecycle.md); no hooks, no extension.
    retired: bool = Field(False, strict=True)
    disks: DiskSelection | None = None
    identity: VmIdentity | None = None

    @property
    def name(self) -> str:
        return self.id.name

    @model_validator(mode="after")
    def _credentials_have_an_identity(self) -> VmSettings:
        if problem := identity_problem(self):
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _delivery_matches_ssh(self) -> VmSettings:
        if self.delivery == "runCommand" and self.ssh is not None:
            raise ValueError("delivery 'runCommand' takes no ssh (Azure's VM agent runs the installer; nothing connects "
                             "to the VM); remove ssh, or set delivery: ssh")
        if (self.delivery == "ssh" and self.consistency == "application" and self.ssh is None
                and not self.retired):
            raise ValueError("consistency 'application' needs ssh (how pulumi-command reaches the VM to install the hooks); "
                             "add ssh, set delivery: runCommand, or set consistency: crash to back up without freezing IRIS")
        return self
