"""The inline script of the Run Command delivery channel (pure logic, no Pulumi).

Azure's managed Run Command handler (Azure/run-command-handler-linux) saves `source.script` as
`script.sh` (mode 0500) in its download directory and runs it with `/bin/bash -c <file>` as root
(no `runAsUser`), so our `#!/bin/sh` line makes dash/sh run it; named `parameters` and
`protectedParameters` become environment variables of that process (internal/exec/exec.go
`SetEnvironmentVariables`). The script therefore carries the bundle as a gzip'ed tar in base64 and
reads the hook settings from the protected parameter IRISBACKUP_SETTINGS: never in script text.

Rendering is byte-for-byte deterministic (sorted archive members, zero mtimes): an unchanged bundle
and unchanged settings give unchanged inputs, so `pulumi up` does not re-run the run command.
"""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
import textwrap
from datetime import datetime
from pathlib import Path

from irisbackup.creation_stamp import STAMP_FORMAT
from irisbackup.hooks.hook_bundle import HookBundle
from irisbackup.naming import hook_owner_id
from irisbackup.settings.vm import HookSettings

# The run command's name on the VM: this prefix and the UTC second the resource is created. Never reused
# on a VM: Linux's handler does not run a run command deleted and created again under its old name
# (maintainer comment, MicrosoftDocs/azure-compute-docs PR #178), which removing a VM from the stack and
# adding it back would do. Stable after creation (RunCommandHooks ignores changes of the name), so a new
# bundle or new settings stays an in-place PUT, which the handler runs again; a per-version name would
# make Pulumi create the new run command before deleting the old one, and that delete runs nothing on
# the VM. Run commands created by earlier releases keep the bare prefix.
RUN_COMMAND_NAME = "irisbackup-hooks"
SETTINGS_PARAMETER = "IRISBACKUP_SETTINGS"
ACTION_PARAMETER = "IRISBACKUP_ACTION"
VERSION_PARAMETER = "IRISBACKUP_BUNDLE_VERSION"
SHA256_PARAMETER = "IRISBACKUP_BUNDLE_SHA256"
# The handler's cap for an inline script (run-command-handler-linux internal/cmds/cmds.go
# maxScriptSize = 256 * 1024, the limit the Custom Script Extension documents for its `script`:
# "If the script exceeds this size, it doesn't run").
INLINE_SCRIPT_LIMIT = 256 * 1024
# Where the script keeps each bundle it installed (per owner), so a later run can call that very
# bundle's `install.sh --uninstall`, as the SSH channel's delete does. Outside /var/lib/irisbackup,
# which the last uninstall removes.
BUNDLE_STORE = "/var/lib/irisbackup-runcommand"
# Extraction and copying; the installer's own waits are added per VM (run_command_timeout).
_MARGIN_SECONDS = 120


class ScriptTooLarge(ValueError):
    """The rendered script does not fit Azure's inline limit."""


def run_command_name(created: str | None) -> str:
    """The run command's name, from when it was first declared (creation_stamp): Linux's handler does
    not run a run command deleted and created again under its old name, so a VM that leaves the stack
    and comes back gets a new one. Unknown offline: the plan says so."""
    if not created:
        return f"{RUN_COMMAND_NAME}-<creation time>"
    return f"{RUN_COMMAND_NAME}-{datetime.strptime(created.strip(), STAMP_FORMAT):%Y%m%d-%H%M%S}"


def run_command_owner_id(stack: str, vm_name: str) -> str:
    """install.sh --owner of the Run Command channel. Distinct from the SSH channel's owner, so
    switching a VM from SSH to Run Command never lets the SSH delete remove the new release."""
    return hook_owner_id(stack, f"{vm_name}:runcommand")


def run_command_timeout(hooks: HookSettings) -> int:
    """timeoutInSeconds: uninstalling a replaced bundle waits for an active backup run
    (freeze budget + 30 s, install.sh), then the self-check's parallel calls, plus a margin."""
    return hooks.freeze_budget_seconds + 30 + hooks.call_timeout_seconds + _MARGIN_SECONDS


def bundle_archive(directory: Path) -> bytes:
    """hooks/ as a reproducible tar.gz: members sorted, owned by root, mtime 0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(f"hooks/{path.relative_to(directory).as_posix()}")
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o600, 0
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def render_install_script(bundle: HookBundle, owner_id: str) -> str:
    encoded = "\n".join(textwrap.wrap(base64.b64encode(bundle_archive(bundle.directory)).decode(), 76))
    release = f"{bundle.version}-{bundle.sha256[:12]}"
    script = _prelude("install", owner_id) + _INSTALL.format(
        version=bundle.version, sha256=bundle.sha256, release=release, settings=SETTINGS_PARAMETER,
        version_parameter=VERSION_PARAMETER, sha256_parameter=SHA256_PARAMETER, archive=encoded,
    )
    size = len(script.encode())
    if size > INLINE_SCRIPT_LIMIT:
        raise ScriptTooLarge(
            f"the Run Command script for bundle {release} is {size} bytes; Azure's Run Command handler accepts "
            f"an inline script of at most {INLINE_SCRIPT_LIMIT} bytes (256 KiB). Shrink hooks/ or deliver this VM "
            "with delivery: ssh")
    return script


def render_uninstall_script(owner_id: str) -> str:
    return _prelude("uninstall", owner_id) + _UNINSTALL


def _prelude(action: str, owner_id: str) -> str:
    return _PRELUDE.format(action=action, owner=owner_id, store=BUNDLE_STORE, action_parameter=ACTION_PARAMETER)


# Shared head: strict, private files, the owner's bundle store, and the installer's exit codes
# (2 usage/settings, 3 self-check, 4 anything else) for our own failures too.
# IRISBACKUP_ROOT / IRISBACKUP_IRIS_PATH are install.sh's --root / --iris-path; the program never
# sets them (the contract tests do, to install into a temporary root).
_PRELUDE = """#!/bin/sh
# irisbackup freeze/thaw hooks: {action} through Azure managed Run Command.
# Rendered by components/run_command_script.py; runs as root from the run command handler.
# shellcheck disable=SC2015 # 'a && b || fail' is meant: fail when either fails
set -u
umask 077
OWNER='{owner}'
ROOT=${{IRISBACKUP_ROOT:-}}
STORE="$ROOT{store}/$OWNER"
fail() {{
	printf 'irisbackup run command: ERROR: %s\\n' "$2" >&2
	exit "$1"
}}
[ "${{{action_parameter}:-}}" = {action} ] || fail 2 "parameter {action_parameter} is '${{{action_parameter}:-}}'; this script does {action}"
installer() {{ # bundle-dir args...
	_dir=$1
	shift
	sh "$_dir/hooks/install.sh" ${{ROOT:+--root "$ROOT"}} "$@"
}}
uninstall_other_bundles() {{ # keep-release: every other bundle this owner installed
	for _b in "$STORE"/*; do
		[ -d "$_b" ] || continue
		[ "${{_b##*/}}" = "$1" ] && continue
		installer "$_b" --uninstall --owner "$OWNER" || fail 4 "uninstall of ${{_b##*/}} (owner $OWNER) failed"
		rm -rf "$_b" || fail 4 "cannot remove $_b"
	done
}}
"""

_INSTALL = """RELEASE='{release}'
[ "${{{version_parameter}:-}}" = '{version}' ] && [ "${{{sha256_parameter}:-}}" = '{sha256}' ] ||
	fail 2 "parameters {version_parameter}/{sha256_parameter} do not name the bundle this script carries ({version}, {sha256})"
[ -n "${{{settings}:-}}" ] || fail 2 "protected parameter {settings} (the hook settings) is missing"
mkdir -p "$STORE" && chmod 0700 "${{STORE%/*}}" "$STORE" || fail 4 "cannot create $STORE"
NEW="$STORE/.new.$$"
rm -rf "$NEW" && mkdir "$NEW" || fail 4 "cannot create $NEW"
base64 -d <<'IRISBACKUP_BUNDLE' | gzip -dc | (cd "$NEW" && tar -xf -) || fail 4 "cannot unpack the bundle"
{archive}
IRISBACKUP_BUNDLE
SHA=$( (cd "$NEW/hooks" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum) || fail 4 "cannot hash the bundle"
[ "${{SHA%% *}}" = '{sha256}' ] || fail 4 "the unpacked bundle's sha256 is ${{SHA%% *}}, expected {sha256}"
KNOWN=0
if [ -d "$STORE/$RELEASE" ]; then KNOWN=1; fi
rm -rf "${{STORE:?}}/$RELEASE" && mv "$NEW" "$STORE/$RELEASE" || fail 4 "cannot move the bundle to $STORE/$RELEASE"
printf '%s\\n' "${settings}" | installer "$STORE/$RELEASE" ${{IRISBACKUP_IRIS_PATH:+--iris-path "$IRISBACKUP_IRIS_PATH"}} --owner "$OWNER" --settings -
RC=$?
if [ "$RC" != 0 ]; then
	[ "$KNOWN" = 1 ] || rm -rf "${{STORE:?}}/$RELEASE"
	exit "$RC"
fi
uninstall_other_bundles "$RELEASE"
printf 'irisbackup run command: bundle %s installed for owner %s\\n' "$RELEASE" "$OWNER"
"""

_UNINSTALL = """uninstall_other_bundles ''
rmdir "$STORE" "${STORE%/*}" 2>/dev/null
printf 'irisbackup run command: every bundle of owner %s uninstalled\\n' "$OWNER"
"""
