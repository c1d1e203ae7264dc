"""Puts the freeze/thaw bundle on one VM with pulumi-command and installs it as root."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

import pulumi
from pulumi_command import remote

from irisbackup.hooks.hook_bundle import HookBundle


@dataclass
class FreezeThawHooksArgs:
    connection: remote.ConnectionArgs
    bundle: HookBundle
    settings_text: str
    # Identifies this deployment among others that may share a release on the VM (naming.hook_owner_id).
    owner_id: str
    # What the installer's self-check needs first (the Key Vault grant of the IRIS credentials).
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class FreezeThawHooks(pulumi.ComponentResource):
    version: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, args: FreezeThawHooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irisbackup:hooks:FreezeThawHooks", name, None, opts)
        bundle = args.bundle
        staging = shlex.quote(bundle.staging_dir)
        installer = f"sudo -n sh {staging}/hooks/install.sh --owner {shlex.quote(args.owner_id)}"
        # Only a new bundle (content or version) replaces these; settings changes run `update`.
        triggers = [bundle.version, bundle.sha256]
        # A fresh 0700 directory per version: the copy lands in it as hooks/, and nobody else can
        # swap files between the copy and the sudo run.
        staging_dir = remote.Command(
            f"{name}-staging",
            connection=args.connection,
            create=f"umask 077 && mkdir -p irisbackup-staging && rm -rf {staging} && mkdir {staging}",
            delete=f"rm -rf {staging}",
            triggers=triggers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on or None),
        )
        copy = remote.CopyToRemote(
            f"{name}-bundle",
            connection=args.connection,
            source=pulumi.FileArchive(str(bundle.directory)),
            remote_path=bundle.staging_dir,
            triggers=triggers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[staging_dir]),
        )
        # sudo -n fails at once instead of waiting at a password prompt. The settings travel on
        # stdin, never on a command line that `ps` would show. Uninstall removes only this version,
        # so the delete of a replaced version never undoes its successor.
        self.install = remote.Command(
            f"{name}-install",
            connection=args.connection,
            create=f"{installer} --settings -",
            update=f"{installer} --settings -",
            delete=f"{installer} --uninstall",
            stdin=args.settings_text,
            triggers=triggers,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[copy]),
        )
        self.version = pulumi.Output.from_input(bundle.version)
        self.sha256 = pulumi.Output.from_input(bundle.sha256)
        self.register_outputs({"version": self.version, "sha256": self.sha256})
