"""Installs (or uninstalls) the freeze/thaw bundle on one VM through Azure managed Run Command: no SSH."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import compute

from irisbackup.creation_stamp import creation_stamp
from irisbackup.hooks.hook_bundle import HookBundle
from irisbackup.hooks.run_command_script import (
    ACTION_PARAMETER,
    SETTINGS_PARAMETER,
    SHA256_PARAMETER,
    VERSION_PARAMETER,
    ScriptTooLarge,
    render_install_script,
    render_uninstall_script,
    run_command_name,
    run_command_timeout,
)
from irisbackup.settings.vm import VmSettings


@dataclass
class RunCommandHooksArgs:
    vm: VmSettings
    location: str
    bundle: HookBundle
    settings_text: str
    # install.sh --owner of this channel (run_command_script.run_command_owner_id).
    owner_id: str
    # "uninstall" is the deliberate removal step: a run command resource has no delete hook.
    action: Literal["install", "uninstall"] = "install"
    # Pulumi `protect` on the install: removing the VM from the stack cannot silently leave its
    # release behind; the uninstall step lifts the flag.
    protect: bool = True
    # What must be in place first: the VM's NSG egress rules (the result travels over them) and the
    # Key Vault grant of the IRIS credentials (the installer's self-check reads them).
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class RunCommandHooks(pulumi.ComponentResource):
    version: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, args: RunCommandHooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:hooks:RunCommandHooks", name, None, opts)
        installing = args.action == "install"
        bundle = args.bundle
        parameters = [_parameter(ACTION_PARAMETER, args.action)]
        protected: list[compute.RunCommandInputParameterArgs] = []
        if installing:
            try:
                script = render_install_script(bundle, args.owner_id)
            except ScriptTooLarge as error:
                # Stops the program (and `make plan`) with this message instead of a traceback.
                raise pulumi.RunError(f"hooks of VM {args.vm.name} (delivery: runCommand): {error}") from None
            parameters += [_parameter(VERSION_PARAMETER, bundle.version), _parameter(SHA256_PARAMETER, bundle.sha256)]
            protected = [_parameter(SETTINGS_PARAMETER, args.settings_text)]
        else:
            script = render_uninstall_script(args.owner_id)
        # One logical name for both actions: the uninstall is an in-place update of the install, so
        # Azure runs it, and the protect flag can be lifted in the same `pulumi up`.
        # Deleted with this component: a VM back in the stack gets a new stamp, so a new name.
        created = creation_stamp(f"{name}-created", pulumi.ResourceOptions(parent=self))
        self.run_command = compute.VirtualMachineRunCommandByVirtualMachine(
            f"{name}-runcommand",
            resource_group_name=args.vm.id.resource_group,
            vm_name=args.vm.name,
            run_command_name=created.apply(run_command_name),
            location=args.location,
            source=compute.VirtualMachineRunCommandScriptSourceArgs(script=script),
            parameters=parameters,
            # The settings text is a Pulumi secret too, so state and previews never show it.
            protected_parameters=pulumi.Output.secret(protected) if protected else None,
            # Wait for the script; a non-zero exit fails the PUT (and `pulumi up`) with the
            # installer's exit code; its output and error (last 4 KB) are in the instance view.
            async_execution=False,
            treat_failure_as_deployment_failure=True,
            timeout_in_seconds=run_command_timeout(args.vm.hooks),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect and installing, depends_on=args.depends_on,
                # The name is fixed when the run command is created; later runs keep it (see run_command_name).
                ignore_changes=["runCommandName"],
            ),
        )
        self.version = pulumi.Output.from_input(bundle.version)
        self.sha256 = pulumi.Output.from_input(bundle.sha256)
        self.register_outputs({"version": self.version, "sha256": self.sha256, "action": args.action})


def _parameter(name: str, value: str) -> compute.RunCommandInputParameterArgs:
    return compute.RunCommandInputParameterArgs(name=name, value=value)

