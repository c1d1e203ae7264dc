"""Rules about the freeze/thaw hooks: every VM of the stack is protected and, unless marked
crash-consistent, depends on its hooks deployment; the deployed hooks keep Azure's and IRIS's time
limits and are pinned to a bundle version and sha256.

SSH delivery: the FreezeThawHooks component's install command (pulumi-command); Run Command delivery:
the RunCommandHooks component's run command. See docs/hooks.md and docs/policy.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from irisbackup.schedule import field as _get
from irisbackup.schedule import number as _number
from pulumi_policy import PolicyResource

from .rule_kit import EXTENSION, PROTECTED_ITEM, VAULT, Subject, as_list, show, vm_name

# Facts shared with the program (irisbackup/settings/); tests/policy keeps them equal.
AZURE_SCRIPT_TIMEOUT_CAP = 1800  # VMSnapshotPluginHost.conf: no pre/post script may run longer
IRIS_FREEZE_TIMEOUT_CAP = 1200  # reported maximum of IRIS's ExternalFreezeTimeOut
RETIRED_STATES = ("ProtectionStopped", "BackupsSuspended")  # irisbackup/policy/parity_spec.py

COMMAND = "command:remote:Command"
HOOKS_COMPONENT = "irisbackup:hooks:FreezeThawHooks"
# The Run Command delivery channel (irisbackup/hooks/run_command_hooks.py); its script reads the bundle
# identity and the action from public parameters and the settings from a protected one.
RUN_COMMAND = "azure-native:compute:VirtualMachineRunCommandByVirtualMachine"
RUN_COMMAND_HOOKS_COMPONENT = "irisbackup:hooks:RunCommandHooks"
RUN_COMMAND_PARAMETERS = {"action": "IRISBACKUP_ACTION", "version": "IRISBACKUP_BUNDLE_VERSION",
                          "sha256": "IRISBACKUP_BUNDLE_SHA256", "settings": "IRISBACKUP_SETTINGS"}

_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- coverage ----------------------------------------------------------------------------------


def _item_vm(item: PolicyResource) -> str | None:
    """The VM a protected item backs up: its sourceResourceId, else its ProtectedVm parent's name."""
    name = vm_name(_get(item.props, "properties", "sourceResourceId"))
    if name:
        return name
    if item.parent is not None:
        return item.parent.name.lower()
    return item.name.removesuffix("-protected-item").lower()


def _hooks_vm(resource: PolicyResource) -> str | None:
    """The VM a freeze/thaw hooks deployment is for: component `hooks-<vm>`, SSH install
    `hooks-<vm>-install` or run command `hooks-<vm>-runcommand`."""
    if resource.resource_type in (HOOKS_COMPONENT, RUN_COMMAND_HOOKS_COMPONENT) and resource.name.startswith("hooks-"):
        return resource.name.removeprefix("hooks-").lower()
    if _is_hooks_install(resource.resource_type, resource.name, resource.urn) or _is_hooks_run_command(
            resource.resource_type, resource.name, resource.urn):
        return resource.name.removeprefix("hooks-").removesuffix("-install").removesuffix("-runcommand").lower()
    return None


def _is_hooks_install(resource_type: str, name: str, urn: str) -> bool:
    return (resource_type == COMMAND and name.startswith("hooks-") and name.endswith("-install")
            and f"{HOOKS_COMPONENT}$" in (urn or ""))


def _is_hooks_run_command(resource_type: str, name: str, urn: str) -> bool:
    return (resource_type == RUN_COMMAND and name.startswith("hooks-") and name.endswith("-runcommand")
            and f"{RUN_COMMAND_HOOKS_COMPONENT}$" in (urn or ""))


def _run_command_parameter(props: Any, key: str, protected: bool = False) -> Any:
    """A run command parameter's value by our name for it (RUN_COMMAND_PARAMETERS)."""
    found = [_get(p, "value") for p in as_list(_get(props, "protectedParameters" if protected else "parameters"))
             if _get(p, "name") == RUN_COMMAND_PARAMETERS[key]]
    return found[0] if found else None


def _installs_hooks(resource: PolicyResource) -> bool:
    """An SSH install command, or a run command whose action is install (not the uninstall step)."""
    if _is_hooks_install(resource.resource_type, resource.name, resource.urn):
        return True
    return (_is_hooks_run_command(resource.resource_type, resource.name, resource.urn)
            and _run_command_parameter(resource.props, "action") == "install")


def check_coverage_protected_items(resources: list[PolicyResource], config: Mapping[str, Any],
                                   stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    problems: list[tuple[str, str | None]] = []
    vault_urns = {r.urn for r in resources if r.resource_type == VAULT}
    vault_names = {_get(r.props, "vaultName") for r in resources if r.resource_type == VAULT} - {None}
    protected: set[str] = set()
    for item in (r for r in resources if r.resource_type == PROTECTED_ITEM):
        vm = _item_vm(item)
        if vm:
            protected.add(vm)
        in_stack_vault = any(d.urn in vault_urns for d in item.dependencies) or _get(item.props, "vaultName") in vault_names
        if not in_stack_vault:
            problems.append((f"protected item {item.name} (VM {vm}) is not in a vault of this stack; "
                             "declare the vault in this stack and pass it to the protected item", item.urn))
    # Every VM the stack knows of: extensions and hooks it deploys, and the VMs the config names.
    known: dict[str, str | None] = {str(vm).lower(): None for vm in config["requiredVms"]}
    for resource in resources:
        vm = _get(resource.props, "vmName") if resource.resource_type == EXTENSION else _hooks_vm(resource)
        if isinstance(vm, str) and vm:
            if known.get(vm.lower()) is None:
                known[vm.lower()] = resource.urn
    for vm in sorted(set(known) - protected):
        problems.append((f"VM {vm} is part of this stack but has no protected item in its vault (Azure Backup is "
                         "not enabled for it); list it under vms with a policy", known[vm]))
    return problems


def _is_retired(item: PolicyResource) -> bool:
    """A retired VM's item takes no more backups, so it needs no hooks (docs/vm-lifecycle.md)."""
    return _get(item.props, "properties", "protectionState") in RETIRED_STATES


def check_coverage_hooks(resources: list[PolicyResource], config: Mapping[str, Any],
                         stack_tags: Mapping[str, str]) -> list[tuple[str, str | None]]:
    crash_consistent = {str(vm).lower() for vm in config["crashConsistentVms"]}
    problems = []
    for item in (r for r in resources if r.resource_type == PROTECTED_ITEM):
        vm = _item_vm(item)
        if vm in crash_consistent or _is_retired(item):
            continue
        hooked = any(_hooks_vm(d) == vm and _installs_hooks(d) for d in item.dependencies)
        if not hooked:
            problems.append((f"protected item {item.name}: VM {vm} has no freeze/thaw hooks deployment (hooks-{vm}-install "
                             f"over SSH or hooks-{vm}-runcommand installing through Run Command) that its protection "
                             "depends on, so its backups are only crash-consistent; give the VM ssh or delivery: "
                             "runCommand, or mark it explicitly with consistency: crash", item.urn))
    return problems


# --- hooks -------------------------------------------------------------------------------------


def parse_hook_settings(text: Any) -> dict[str, str]:
    """The key=value settings install.sh reads on stdin (comments and blank lines ignored)."""
    values = {}
    for line in str(text or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _hooks(subject: Subject) -> str:
    return f"hooks of VM {subject.name.removeprefix('hooks-').removesuffix('-install').removesuffix('-runcommand')}"


def _installed_settings(subject: Subject) -> Any:
    """The settings text install.sh reads: stdin of the SSH install, the protected parameter of the
    run command; None when the subject installs no hooks (other resources, the uninstall step)."""
    if _is_hooks_install(subject.type, subject.name, subject.urn):
        return _get(subject.props, "stdin")
    if (_is_hooks_run_command(subject.type, subject.name, subject.urn)
            and _run_command_parameter(subject.props, "action") == "install"):
        return _run_command_parameter(subject.props, "settings", protected=True) or ""
    return None


def check_hooks_plugin_config(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    text = _installed_settings(subject)
    if text is None:
        return []
    settings = parse_hook_settings(text)
    where = _hooks(subject)
    problems = []
    required = config.get("continueBackupOnFailure")
    wanted = None if required is None else ("true" if required else "false")
    actual = settings.get("continue_backup_on_failure")
    if actual not in ("true", "false") or (wanted is not None and actual != wanted):
        problems.append(f"{where}: continueBackupOnFailure is {show(actual)}; this estate requires {wanted or 'true or false'} "
                        f"(set vms[].hooks.continueBackupOnFailure: {wanted or 'true or false'})")
    seconds = {key: _number(settings.get(key)) for key in (
        "azure_timeout_seconds", "freeze_budget_seconds", "wd_suspend_limit_seconds", "external_freeze_timeout_seconds")}
    if missing := [key for key, value in seconds.items() if value is None]:
        return problems + [f"{where}: the plugin settings lack {', '.join(missing)}; the hooks need every timeout"]
    azure, budget = seconds["azure_timeout_seconds"], seconds["freeze_budget_seconds"]
    wd_limit, freeze_timeout = seconds["wd_suspend_limit_seconds"], seconds["external_freeze_timeout_seconds"]
    azure_cap = min(config["maxAzureTimeoutSeconds"], AZURE_SCRIPT_TIMEOUT_CAP)
    if not 1 <= azure <= azure_cap:  # type: ignore[operator]
        problems.append(f"{where}: timeoutInSeconds (azureTimeoutSeconds) is {show(azure)}; Azure caps a script at "
                        f"{AZURE_SCRIPT_TIMEOUT_CAP} s and this estate at {azure_cap} s; lower vms[].hooks.azureTimeoutSeconds")
    if budget > config["maxFreezeBudgetSeconds"]:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds is {show(budget)}; IRIS may stay frozen at most "
                        f"{config['maxFreezeBudgetSeconds']} s; lower vms[].hooks.freezeBudgetSeconds")
    if not azure < budget:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds ({show(budget)}) must exceed azureTimeoutSeconds ({show(azure)}) "
                        "so the watchdog outlasts Azure's wait")
    if not budget < wd_limit:  # type: ignore[operator]
        problems.append(f"{where}: freezeBudgetSeconds ({show(budget)}) must stay below IRIS's own auto-thaw "
                        f"wdSuspendLimitSeconds ({show(wd_limit)})")
    if not wd_limit < freeze_timeout:  # type: ignore[operator]
        problems.append(f"{where}: wdSuspendLimitSeconds ({show(wd_limit)}) must stay below "
                        f"externalFreezeTimeoutSeconds ({show(freeze_timeout)})")
    if freeze_timeout > IRIS_FREEZE_TIMEOUT_CAP:  # type: ignore[operator]
        problems.append(f"{where}: externalFreezeTimeoutSeconds is {show(freeze_timeout)}; IRIS accepts at most "
                        f"{IRIS_FREEZE_TIMEOUT_CAP} s")
    return problems


def check_hooks_version_pinned(subject: Subject, config: Mapping[str, Any]) -> list[str]:
    if _is_hooks_install(subject.type, subject.name, subject.urn):
        triggers = [str(t) for t in as_list(_get(subject.props, "triggers"))]
        if any(_SEMVER.fullmatch(t) for t in triggers) and any(_SHA256.fullmatch(t) for t in triggers):
            return []
        return [f"{_hooks(subject)}: the install is not pinned to a bundle version and sha256 (triggers: "
                f"{', '.join(triggers) or 'none'}); deploy the hooks through FreezeThawHooks, whose triggers are "
                "[version, sha256]"]
    if _installed_settings(subject) is None:
        return []
    # The run command's script checks that these parameters name the bundle it carries.
    version, sha256 = (str(_run_command_parameter(subject.props, key) or "") for key in ("version", "sha256"))
    if _SEMVER.fullmatch(version) and _SHA256.fullmatch(sha256):
        return []
    return [f"{_hooks(subject)}: the run command is not pinned to a bundle version and sha256 (parameters "
            f"{RUN_COMMAND_PARAMETERS['version']}={show(version)}, {RUN_COMMAND_PARAMETERS['sha256']}={show(sha256)}); "
            "deploy the hooks through RunCommandHooks"]
