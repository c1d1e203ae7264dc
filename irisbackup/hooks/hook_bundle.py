"""The freeze/thaw bundle in hooks/: its identity and the settings text sent to install.sh (pure logic).

The bundle is identified by its semantic version (hooks/VERSION) and a sha256 over every file, the
same digest install.sh records on the VM:
    cd hooks && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum
so a reviewer can compare the stack output with what a VM runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from irisbackup.settings.credentials import hook_credential_lines
from irisbackup.settings.mirror import hook_mirror_members
from irisbackup.settings.stack import StackSettings
from irisbackup.settings.vm import HookSettings, VmSettings

HOOKS_DIR = Path(__file__).resolve().parents[2] / "hooks"
_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")


@dataclass(frozen=True)
class HookBundle:
    directory: Path
    version: str
    sha256: str

    @property
    def staging_dir(self) -> str:
        """Per-version directory under the SSH user's home, so two versions never share files."""
        return f"irisbackup-staging/{self.version}-{self.sha256[:12]}"


def load_bundle(directory: Path = HOOKS_DIR) -> HookBundle:
    version_file = directory / "VERSION"
    version = version_file.read_text(encoding="utf-8").strip() if version_file.is_file() else ""
    if not _SEMVER.fullmatch(version):
        raise ValueError(f"{version_file}: {version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return HookBundle(directory, version, bundle_sha256(directory))


def bundle_sha256(directory: Path) -> str:
    files = sorted((f"./{path.relative_to(directory).as_posix()}", path) for path in directory.rglob("*") if path.is_file())
    listing = "".join(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {name}\n" for name, path in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def render_hook_settings(hooks: HookSettings, extra: dict[str, str] | None = None) -> str:
    """key=value lines for `install.sh --settings -`; install.sh validates them again on the VM. `extra`:
    keys that come from outside the VM's hooks block (render_vm_hook_settings), written when not empty."""
    values = {
        "instances": " ".join(f"{instance.name}:{instance.product}" for instance in hooks.instances),
        "call_timeout_seconds": hooks.call_timeout_seconds,
        "azure_timeout_seconds": hooks.azure_timeout_seconds,
        "freeze_budget_seconds": hooks.freeze_budget_seconds,
        "wd_suspend_limit_seconds": hooks.wd_suspend_limit_seconds,
        "external_freeze_timeout_seconds": hooks.external_freeze_timeout_seconds,
        "runner_poll_seconds": hooks.runner_poll_seconds,
        "continue_backup_on_failure": str(hooks.continue_backup_on_failure).lower(),
        "credentials_file": hooks.credentials_file or "",
        **{key: value for key, value in (extra or {}).items() if value},
    }
    header = "# irisbackup hook settings, rendered by Pulumi. An empty instances= means: every running instance.\n"
    return header + "".join(f"{key}={value}\n" for key, value in values.items())


def render_vm_hook_settings(settings: StackSettings, vm: VmSettings) -> str:
    """The settings text of one VM: its hooks block, its instances' mirror membership (the role-aware
    hooks apply mirror_spec's rule table on the VM) and where its IRIS credentials come from. Only
    names and URLs: never a secret."""
    return render_hook_settings(vm.hooks, {"mirror_members": hook_mirror_members(settings, vm.name),
                                           **hook_credential_lines(vm)})
