"""What a new user meets first: host keys as ssh-keyscan prints them, a bastion's host key, and messages."""

from __future__ import annotations

import json

import pulumi
import pytest

from irisbackup.backup_stack import required_secret_keys
from irisbackup.settings import SettingsError, missing_settings_message, parse_settings
from offline_plan.engine import run_program
from offline_plan.stack_file import StackConfig
from policy.offline import unwrap_secrets
from tests.program.harness import PROGRAM, TEST_PRIVATE_KEY, example_settings, only, run_with_settings

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7Yk5cQ0sIu0tq0ZBqv1V0b2m5m8f6a0QZs4cJx0Zp"
VM0_SSH = "irisbackup:settings.vms[0].ssh"


@pytest.mark.parametrize("pasted", [
    KEY,
    f"10.10.0.4 {KEY}",
    f"[10.10.0.4]:2222 {KEY}",
    f"# 10.10.0.4:22 SSH-2.0-OpenSSH_9.6\n10.10.0.4 {KEY}\n",
    f"{KEY} root@vm-iris-dev-1",
])
def test_host_key_takes_what_ssh_keyscan_prints_and_keeps_type_and_key(pasted):
    settings = example_settings("dev")
    settings["vms"][0]["ssh"]["hostKey"] = pasted
    assert parse_settings(settings).vms[0].ssh.host_key == KEY


@pytest.mark.parametrize("pasted, expected", [
    (f"10.10.0.4 {KEY}\n10.10.0.4 ecdsa-sha2-nistp256 AAAAE2VjZHNh", "expected one host key line, got 2"),
    ("10.10.0.4 ssh-dss AAAAB3NzaC1kc3M", "does not match"),
    ("", "expected one host key line, got 0"),
])
def test_a_host_key_that_is_not_one_supported_key_names_the_setting(pasted, expected):
    settings = example_settings("dev")
    settings["vms"][0]["ssh"]["hostKey"] = pasted
    with pytest.raises(SettingsError) as raised:
        parse_settings(settings)
    [problem] = raised.value.problems
    assert problem.startswith(f"{VM0_SSH}.hostKey:") and expected in problem


def test_a_bastion_host_key_is_pinned_on_the_proxy_connection():
    settings = example_settings("prod")
    settings["vms"][0]["ssh"]["proxy"]["hostKey"] = f"10.20.0.4 {KEY}"
    run = run_with_settings(settings, "prod")
    connection = unwrap_secrets(only(run, "command:remote:Command", "hooks-vm-iris-prod-1-install").inputs["connection"])
    assert connection["proxy"]["hostKey"] == KEY and connection["proxy"]["host"] == "10.20.0.4"
    other = unwrap_secrets(only(run, "command:remote:Command", "hooks-vm-iris-prod-2-install").inputs["connection"])
    assert "hostKey" not in other["proxy"]


def test_a_crash_consistent_vm_keeps_its_ssh_block_without_demanding_its_key():
    settings = example_settings("prod")
    settings.pop("mirrors")  # a mirror set needs an application-consistent member
    for vm in settings["vms"]:
        vm["consistency"] = "crash"
    assert required_secret_keys(parse_settings(settings)) == set()
    settings["vms"][0]["consistency"] = "application"
    assert required_secret_keys(parse_settings(settings)) == {"sshPrivateKey", "bastionPrivateKey"}


def program_error(values: dict[str, str]) -> str:
    with pytest.raises(Exception) as raised:
        run_program("first", StackConfig(values, []), PROGRAM)
    assert isinstance(raised.value, pulumi.RunError), raised.value
    return str(raised.value)


def test_one_problem_is_one_problem():
    settings = example_settings("dev")
    settings["policies"]["daily-dev"]["retention"]["dailyDays"] = 3
    message = program_error({"irisbackup:settings": json.dumps(settings), "irisbackup:sshPrivateKey": TEST_PRIVATE_KEY})
    assert "invalid stack settings (1 problem):" in message


def test_a_misspelt_settings_key_is_named():
    message = program_error({"irisbackup:setings": json.dumps(example_settings("dev"))})
    assert "irisbackup:settings is missing; the stack file has 'irisbackup:setings': did you mean irisbackup:settings?" in message


def test_settings_under_another_namespace_or_absent_are_explained():
    assert "'irisbakup:settings'" in missing_settings_message(["irisbakup:settings"])
    assert "is missing from the stack file" in missing_settings_message(["azure-native:location"])
