"""The CI workflows users of the program get: they parse, and call only commands that exist here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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


def _login_client_ids(job: dict) -> set[str]:
    return {step["with"]["client-id"] for step in job["steps"] if step.get("uses", "").startswith("azure/login@")}


def test_pull_request_code_never_runs_with_the_deploy_identity():
    preview = load("pull-request.yml")["jobs"]["preview"]
    up = load("deploy.yml")["jobs"]["up"]
    assert _login_client_ids(preview) == {"${{ vars.PREVIEW_CLIENT_ID }}"} == {preview["env"]["ARM_CLIENT_ID"]}
    assert _login_client_ids(up) == {"${{ vars.AZURE_CLIENT_ID }}"} == {up["env"]["ARM_CLIENT_ID"]}
    # Different environments, so the identities' federated credentials (subject environment:<name>) differ.
    assert preview["environment"] == "preview-${{ matrix.stack }}" and up["environment"] == "${{ matrix.stack }}"
    # The deploy identity appears in the preview job only where the guard compares it.
    [guard] = [step for step in preview["steps"] if "DEPLOY_CLIENT_ID" in step.get("env", {})]
    assert json.dumps(preview).count("vars.AZURE_CLIENT_ID") == 1
    # The guard runs before any pull-request code is checked out.
    assert preview["steps"].index(guard) < next(i for i, step in enumerate(preview["steps"])
                                                if step.get("uses", "").startswith("actions/checkout@"))


@pytest.mark.parametrize("preview, deploy, passes", [("", "d-1", False), ("d-1", "d-1", False), ("p-1", "d-1", True),
                                                     ("p-1", "", True)])
def test_the_preview_guard_stops_a_missing_or_deploy_identity(tmp_path, preview, deploy, passes):
    [guard] = [step for step in load("pull-request.yml")["jobs"]["preview"]["steps"] if "DEPLOY_CLIENT_ID" in step.get("env", {})]
    result = subprocess.run(["bash", "-e", "-c", guard["run"]], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], "PREVIEW_CLIENT_ID": preview, "DEPLOY_CLIENT_ID": deploy, "STACK": "prod"})
    assert (result.returncode == 0) is passes
    if not passes:
        assert "::error::" in result.stdout and "docs/ci-identities.md" in result.stdout


def run_step(step: dict, cwd: Path, **env: str) -> dict[str, str]:
    """Run a workflow step's script with bash (as GitHub does) in `cwd`; return what it wrote to GITHUB_OUTPUT."""
    output = cwd / "github-output"
    output.write_text("")
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, check=True, capture_output=True, text=True,
                   env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **env})
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_pull_requests_preview_every_real_stack_file_so_a_new_stack_needs_nothing_else_and_never_an_example(tmp_path):
    document = load("pull-request.yml")
    assert "pull_request" in document["on"]
    assert "make test" in commands(document) and "make review" in commands(document)
    preview = document["jobs"]["preview"]
    assert set(preview["needs"]) == {"stacks", "test-and-review"}
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert preview["environment"] == "preview-${{ matrix.stack }}"
    for name in ("Pulumi.yaml", "requirements.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    [step] = document["jobs"]["stacks"]["steps"][1:]
    assert json.loads(run_step(step, tmp_path)["stacks"]) == [], "examples (fake ids) are never previewed"
    (tmp_path / "Pulumi.staging.yaml").write_text((ROOT / "examples/Pulumi.dev.yaml").read_text())
    assert json.loads(run_step(step, tmp_path)["stacks"]) == ["staging"]


@pytest.mark.parametrize("name, job, outputs_job", [("pull-request.yml", "preview", "stacks"), ("deploy.yml", "up", "changed-stacks")])
def test_the_pulumi_cli_is_pinned_to_the_sdk_version_of_requirements(tmp_path, name, job, outputs_job):
    document = load(name)
    [action] = [step for step in document["jobs"][job]["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    assert action["with"]["pulumi-version"] == f"${{{{ needs.{outputs_job}.outputs.pulumi-version }}}}"
    assert document["jobs"][outputs_job]["outputs"]["pulumi-version"].endswith(".outputs.pulumi-version }}")
    step = next(step for step in document["jobs"][outputs_job]["steps"] if "pulumi-version=" in step.get("run", ""))
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)[1]
    shutil.copy(ROOT / "requirements.txt", tmp_path)
    shutil.copy(ROOT / "examples/Pulumi.dev.yaml", tmp_path)  # a real stack here
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text("#!/bin/sh\necho\n")  # no earlier deployment
    (tmp_path / "bin" / "gh").chmod(0o755)
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    outputs = run_step(step, tmp_path, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert outputs["pulumi-version"] == pin


def test_the_posture_diff_against_the_base_branch_is_posted_next_to_the_preview():
    document = load("pull-request.yml")
    job = document["jobs"]["posture-diff"]
    assert job["permissions"]["pull-requests"] == "write"
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    diff = next(step for step in job["steps"] if "make diff" in step.get("run", ""))
    assert diff["env"]["BASE"] == "origin/${{ github.base_ref }}" and 'make diff BASE="$BASE" JSON=' in diff["run"]
    comment = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/github-script@"))
    assert "createComment" in comment["with"]["script"] and "updateComment" in comment["with"]["script"]
    fail = job["steps"][-1]
    assert fail["if"] == "steps.diff.outputs.status != '0'"


STACKS_TO_DEPLOY = ROOT / ".github" / "scripts" / "stacks-to-deploy.sh"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def stacks_to_deploy(repo: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(STACKS_TO_DEPLOY)], cwd=repo, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **env})


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    for stack in ("dev", "prod", "test"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    (tmp_path / "irisbackup" / "vault").mkdir(parents=True)
    (tmp_path / "irisbackup" / "vault" / "vault.py").write_text("")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "deployed")
    return tmp_path


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def test_deploy_takes_every_change_since_the_last_successful_deployment_even_of_a_cancelled_run(repo):
    deployed = git(repo, "rev-parse", "HEAD")
    (repo / "Pulumi.dev.yaml").write_text("config: {a: 1}\n")
    commit(repo, "cancelled while pending: never deployed")
    (repo / "Pulumi.prod.yaml").write_text("config: {a: 1}\n")
    commit(repo, "this run")
    result = stacks_to_deploy(repo, LAST=deployed)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["dev", "prod"]


def test_deploy_skips_a_deleted_stack_file_without_failing(repo):
    deployed = git(repo, "rev-parse", "HEAD")
    (repo / "Pulumi.test.yaml").unlink()
    (repo / "Pulumi.dev.yaml").write_text("config: {a: 1}\n")
    commit(repo, "drop the test stack")
    result = stacks_to_deploy(repo, LAST=deployed)
    assert result.returncode == 0 and json.loads(result.stdout) == ["dev"]
    assert "Pulumi.test.yaml does not exist" in result.stderr


@pytest.mark.parametrize("env, expected", [
    ({"LAST": ""}, ["dev", "prod", "test"]),
    ({"LAST": "0" * 40}, ["dev", "prod", "test"]),
    ({"REQUESTED": "prod"}, ["prod"]),
])
def test_deploy_takes_every_stack_without_a_known_last_deployment_or_the_requested_one(repo, env, expected):
    assert json.loads(stacks_to_deploy(repo, **env).stdout) == expected


def test_deploy_takes_every_stack_when_the_program_changed_and_refuses_a_bad_name(repo):
    deployed = git(repo, "rev-parse", "HEAD")
    (repo / "irisbackup" / "vault" / "vault.py").write_text("# changed\n")
    commit(repo, "program")
    assert json.loads(stacks_to_deploy(repo, LAST=deployed).stdout) == ["dev", "prod", "test"]
    assert stacks_to_deploy(repo, REQUESTED='x","y').returncode == 2


def test_an_example_stack_is_never_deployed_and_without_a_real_stack_nothing_is(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "examples").mkdir()
    for path in ("Pulumi.yaml", "examples/Pulumi.dev.yaml", "examples/Pulumi.prod.yaml", "__main__.py"):
        (tmp_path / path).write_text("config: {}\n")
    commit(tmp_path, "deployed")
    deployed = git(tmp_path, "rev-parse", "HEAD")
    for path in ("examples/Pulumi.dev.yaml", "__main__.py"):
        (tmp_path / path).write_text("config: {changed: true}\n")
    commit(tmp_path, "an example and the program changed")
    for env in ({"LAST": ""}, {"LAST": deployed}, {"REQUESTED": "dev"}):
        result = stacks_to_deploy(tmp_path, **env)
        assert result.returncode == 0 and json.loads(result.stdout) == [], (env, result.stderr)
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")  # a real stack beside the example of that name
    commit(tmp_path, "a real prod")
    assert json.loads(stacks_to_deploy(tmp_path, LAST=deployed).stdout) == ["prod"]


def test_main_deploys_one_stack_at_a_time_with_the_script_and_the_last_successful_push_run():
    document = load("deploy.yml")
    assert document["on"]["push"]["branches"] == ["main"]
    assert document["concurrency"]["cancel-in-progress"] is False
    up = document["jobs"]["up"]
    assert up["strategy"]["max-parallel"] == 1
    assert "fromJSON(needs.changed-stacks.outputs.stacks)" in up["strategy"]["matrix"]["stack"]
    detect = commands(document)
    assert "gh run list --workflow deploy.yml --branch main --event push --status success" in detect
    assert "sh .github/scripts/stacks-to-deploy.sh" in detect
    assert document["jobs"]["changed-stacks"]["permissions"]["actions"] == "read"


def test_paths_named_in_workflows_and_docs_exist():
    texts = {path: path.read_text() for path in [*WORKFLOWS.glob("*.yml"), ROOT / "README.md", *(ROOT / "docs").glob("*.md")]}
    for path, text in texts.items():
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (path.parent / target).exists(), f"{path.name}: link to {target}"
        for target in re.findall(r"(?<![\w/.])((?:docs|\.github/scripts)/[\w.-]+\.(?:md|sh))", text):
            assert (ROOT / target).exists(), f"{path.name}: {target}"


# --- what a deployment reads: every input of a stack triggers its deployment -----------------------

# Opens every repository file `make plan` and `--write-policy-config` read for one stack (the program
# under the mock engine, the policy pack, the hook bundle, the KQL), through Python's audit hook.
_RECORD_OPENED = """
import json, os, runpy, sys
root, stack, config, out = sys.argv[1:5]
opened = set()
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.add(os.path.realpath(os.fsdecode(args[0])))
sys.addaudithook(hook)
sys.argv = ["offline_plan", "--stack", stack, "--write-policy-config", config]
try:
    runpy.run_module("offline_plan", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
with open(out, "w") as file:
    json.dump(sorted(os.path.relpath(p, root) for p in opened if p.startswith(root + os.sep)), file)
"""
# Read outside Python, by the Pulumi CLI and the deploy job: the project file, the SDK/CLI pin, the
# pack's entry point and manifest, `make plan` itself and the workflow that runs `pulumi up`.
READ_BY_THE_CLI_AND_THE_JOB = {"Pulumi.yaml", "requirements.txt", "requirements.lock", "policy/PulumiPolicy.yaml",
                               "policy/__main__.py", "policy/requirements.txt",
                               "Makefile", ".github/workflows/deploy.yml"}


def _source_of(path: str) -> str:
    """irisbackup/__pycache__/vault.cpython-311.pyc -> irisbackup/vault/vault.py (imports open the cached bytecode)."""
    match = re.fullmatch(r"(.*/)?__pycache__/([^/.]+)\.[^/]+\.pyc", path)
    return f"{match[1] or ''}{match[2]}.py" if match else path


@pytest.fixture(scope="module")
def deployment_inputs(tmp_path_factory) -> set[str]:
    scratch = tmp_path_factory.mktemp("opened")
    found = set(READ_BY_THE_CLI_AND_THE_JOB)
    for stack in ("dev", "prod"):
        out = scratch / f"{stack}.json"
        subprocess.run([sys.executable, "-c", _RECORD_OPENED, str(ROOT), stack, str(scratch / "config.json"), str(out)],
                       cwd=ROOT, check=True, capture_output=True, text=True)
        # The example stands in for the real Pulumi.<stack>.yaml a deployment reads (examples/ itself never deploys).
        found |= {_source_of(path).removeprefix("examples/") for path in json.loads(out.read_text())}
    return found


def _top(path: str) -> str:
    """The unit the script classifies: a top-level folder, or the file itself (root files, CI files)."""
    if path.startswith(".github/"):
        return path
    return path.split("/", 1)[0] + "/" if "/" in path else path


def _deploys_after_changing(tmp_path: Path, paths: list[str]) -> dict[str, subprocess.CompletedProcess]:
    """stacks-to-deploy.sh after a commit that changes only `path`, for each path (one repository, reset between)."""
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    for path in ["Pulumi.dev.yaml", "Pulumi.prod.yaml", *paths]:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("config: {}\n")
    commit(repo, "deployed")
    deployed = git(repo, "rev-parse", "HEAD")
    results = {}
    for path in paths:
        (repo / path).write_text("config: {changed: true}\n")
        commit(repo, f"change {path}")
        results[path] = stacks_to_deploy(repo, LAST=deployed)
        git(repo, "reset", "-q", "--hard", deployed)
    return results


def test_a_change_to_anything_a_deployment_reads_deploys_it(deployment_inputs, tmp_path):
    # Sanity: the recording sees the program, the hooks, the KQL, the pack and the offline plan.
    assert {"irisbackup/", "hooks/", "queries/", "policy/", "offline_plan/", "__main__.py"} <= {_top(p) for p in deployment_inputs}
    stack_files = {path for path in deployment_inputs if re.fullmatch(r"Pulumi\.[^/]+\.yaml", path) and path != "Pulumi.yaml"}
    assert stack_files == {"Pulumi.dev.yaml", "Pulumi.prod.yaml"}
    # One file per top-level folder (the script classifies folders), every file at the root or under .github/.
    representatives = sorted({_top(path): path for path in sorted(deployment_inputs - stack_files)}.values())
    for path, result in _deploys_after_changing(tmp_path, representatives + sorted(stack_files)).items():
        assert result.returncode == 0, result.stderr
        expected = [path.removeprefix("Pulumi.").removesuffix(".yaml")] if path in stack_files else ["dev", "prod"]
        assert json.loads(result.stdout) == expected, f"a change to {path} must deploy {expected}"


def test_every_tracked_path_is_classified_so_a_new_folder_cannot_be_forgotten(deployment_inputs, tmp_path):
    tracked = git(ROOT, "ls-files").splitlines()
    inputs = {_top(path) for path in deployment_inputs}
    representatives = sorted({_top(path): path for path in tracked if not re.fullmatch(r"Pulumi\.[^/]+\.yaml", path)
                              or path == "Pulumi.yaml"}.values())
    for path, result in _deploys_after_changing(tmp_path, representatives).items():
        assert "::warning::" not in result.stderr, f"{path}: classify it in stacks-to-deploy.sh ({result.stderr.strip()})"
        deploys = json.loads(result.stdout)
        # What no deployment reads deploys nothing; what one reads deploys every stack.
        assert deploys == (["dev", "prod"] if _top(path) in inputs else []), path
    # A folder nobody classified yet deploys every stack, and says so.
    [result] = _deploys_after_changing(tmp_path / "new", ["newfeature/rules.py"]).values()
    assert json.loads(result.stdout) == ["dev", "prod"]
    assert "::warning::newfeature/rules.py is neither a deployment input nor listed as not one" in result.stderr


def test_a_moved_input_still_deploys(tmp_path):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    for path in ("Pulumi.dev.yaml", "queries/rpo_breach.kql"):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("x\n" * 20)
    commit(repo, "deployed")
    deployed = git(repo, "rev-parse", "HEAD")
    (repo / "docs").mkdir()
    git(repo, "mv", "queries/rpo_breach.kql", "docs/rpo_breach.kql")
    commit(repo, "move a query out of the program")
    assert json.loads(stacks_to_deploy(repo, LAST=deployed).stdout) == ["dev"]


def test_docs_name_each_jobs_identity_and_environment_as_the_workflows_do():
    rows = [line for line in (ROOT / "docs" / "ci-identities.md").read_text().splitlines() if line.startswith("| ")]
    for workflow, job in (("pull-request.yml", "preview"), ("deploy.yml", "up"), ("restore-drill.yml", "drill")):
        definition = load(workflow)["jobs"][job]
        [variable] = {re.fullmatch(r"\$\{\{ vars\.(\w+) \}\}", client)[1] for client in _login_client_ids(definition)}
        environment = definition["environment"].replace("${{ matrix.stack }}", "<stack>")
        [row] = [row for row in rows if f"(`{variable}`)" in row]
        assert f"`{workflow}` `{job}`" in row and f"environment:{environment}`" in row, row
