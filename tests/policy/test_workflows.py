"""The CI workflows users of the program get: they parse, and call only commands that exist here."""

from __future__ import annotations

import re

import pytest
import yaml

from offline_plan.__main__ import main
from tests.program.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def commands(document: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(document))


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy.yml"])
def test_workflow_parses_and_calls_existing_make_targets_and_cli_options(name, capsys):
    document = load(name)
    assert document["jobs"]
    used_targets = set(re.findall(r"^\s*make\s+([a-z][\w-]*)", commands(document), re.M))
    assert used_targets and used_targets <= make_targets()
    with pytest.raises(SystemExit):
        main(["--help"])
    cli_help = capsys.readouterr().out
    for option in set(re.findall(r"-m offline_plan[^\n]*", commands(document))):
        for flag in re.findall(r"(--[a-z-]+)", option):
            assert flag in cli_help, flag


@pytest.mark.parametrize("name, command", [("pull-request.yml", "preview"), ("deploy.yml", "up")])
def test_pulumi_runs_with_the_policy_pack_and_azure_oidc(name, command):
    document = load(name)
    pulumi = [step for step in steps(document) if step.get("uses", "").startswith("pulumi/actions@")]
    assert [step["uses"] for step in pulumi] == ["pulumi/actions@v6"]
    options = pulumi[0]["with"]
    assert options["command"] == command and options["diff"] is True
    assert (ROOT / options["policyPacks"] / "PulumiPolicy.yaml").is_file()
    assert options["policyPackConfigs"].endswith("/policy-config.json")
    assert "--write-policy-config \"$RUNNER_TEMP/policy-config.json\"" in commands(document)
    assert "${{ matrix.stack }}" in options["stack-name"]
    job = next(job for job in document["jobs"].values() if pulumi[0] in job.get("steps", []))
    assert job["permissions"]["id-token"] == "write"
    login = next(step for step in job["steps"] if step.get("uses", "").startswith("azure/login@"))
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # OIDC: no client secret
    assert job["env"]["ARM_USE_OIDC"] == "true"
    assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"


def test_pull_requests_run_tests_and_review_before_a_preview_per_stack():
    document = load("pull-request.yml")
    assert "pull_request" in document["on"]
    assert "make test" in commands(document) and "make review" in commands(document)
    preview = document["jobs"]["preview"]
    assert preview["needs"] == "test-and-review"
    stacks = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in ROOT.glob("Pulumi.*.yaml"))
    assert sorted(preview["strategy"]["matrix"]["stack"]) == stacks


def test_main_deploys_only_changed_stacks_one_at_a_time():
    document = load("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    up = document["jobs"]["up"]
    assert up["strategy"]["max-parallel"] == 1
    assert "fromJSON(needs.changed-stacks.outputs.stacks)" in up["strategy"]["matrix"]["stack"]
    detect = commands(document)
    assert 'git diff --name-only "$BEFORE" "$GITHUB_SHA"' in detect
    assert "components/|hooks/|policy/" in detect
