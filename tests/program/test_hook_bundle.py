"""The bundle identity (same digest as on the VM) and the settings text sent to install.sh."""

from __future__ import annotations

import subprocess

import pytest

from irisbackup.hooks.hook_bundle import HOOKS_DIR, bundle_sha256, load_bundle, render_hook_settings
from irisbackup.settings import HookSettings


def shell_digest(directory) -> str:
    pipeline = "find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum"
    return subprocess.run(["sh", "-c", pipeline], cwd=directory, capture_output=True, text=True, check=True).stdout.split()[0]


def test_bundle_digest_is_the_one_the_vm_computes():
    assert bundle_sha256(HOOKS_DIR) == shell_digest(HOOKS_DIR)


def test_any_change_in_a_bundle_file_changes_the_digest(tmp_path):
    (tmp_path / "VERSION").write_text("1.2.3\n")
    (tmp_path / "b.sh").write_text("echo b\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.sh").write_text("echo a\n")
    before = bundle_sha256(tmp_path)
    assert before == shell_digest(tmp_path)
    (tmp_path / "sub" / "a.sh").write_text("echo A\n")
    assert bundle_sha256(tmp_path) not in (before,)
    assert bundle_sha256(tmp_path) == shell_digest(tmp_path)


def test_bundle_version_is_semantic(tmp_path):
    assert load_bundle().version.count(".") == 2
    (tmp_path / "VERSION").write_text("1.0\n")
    with pytest.raises(ValueError, match="is not a semantic version"):
        load_bundle(tmp_path)
    (tmp_path / "VERSION").write_text("2.10.0-rc.1\n")
    bundle = load_bundle(tmp_path)
    assert bundle.version == "2.10.0-rc.1"
    assert bundle.staging_dir == f"irisbackup-staging/2.10.0-rc.1-{bundle.sha256[:12]}"


def test_settings_text_lists_every_key_once():
    text = render_hook_settings(HookSettings.model_validate({
        "instances": [{"name": "IRIS"}, {"name": "CACHE", "product": "cache"}],
        "credentialsFile": "/etc/irisbackup/credentials",
        "continueBackupOnFailure": False,
    }))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "instances=IRIS:iris CACHE:cache",
        "call_timeout_seconds=15",
        "azure_timeout_seconds=120",
        "freeze_budget_seconds=200",
        "wd_suspend_limit_seconds=300",
        "external_freeze_timeout_seconds=600",
        "runner_poll_seconds=1",
        "continue_backup_on_failure=false",
        "credentials_file=/etc/irisbackup/credentials",
    ]


def test_no_instances_means_discovery():
    assert "instances=\n" in render_hook_settings(HookSettings())


def test_owner_id_is_what_install_sh_accepts():
    from irisbackup.naming import hook_owner_id
    assert hook_owner_id("prod", "vm-iris-1") == "prod:vm-iris-1"
    assert hook_owner_id("team/prod", "vm 1;x") == "team-prod:vm-1-x"
    assert len(hook_owner_id("s" * 100, "v" * 100)) == 128
