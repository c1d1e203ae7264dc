"""The README's first-run promises: prerequisites, make help, visible pip progress, config examples, CI checklist."""

from __future__ import annotations

import re
import subprocess

import yaml

from irisbackup.settings import parse_settings
from tests.program.harness import ROOT, example_settings
from tests.program.test_settings import set_path

README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_prerequisites_name_every_tool_the_hooks_call_beyond_posix():
    used = {tool for tool in ("timeout", "setsid")
            if any(re.search(rf"\b{tool}\b", path.read_text()) for path in (ROOT / "hooks").glob("*.sh"))}
    assert used, "the hooks no longer call timeout/setsid: update the README prerequisites"
    prerequisites = README.split("## Try it", 1)[1].split("```", 1)[0]
    for tool in (*used, "dash", "make", "Python 3.11"):
        assert tool in prerequisites, tool


def test_make_help_lists_every_documented_target():
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    listed = set(re.findall(r"^([a-z]+):", result.stdout, re.M))
    documented = set(re.findall(r"^## ([a-z]+):", MAKEFILE, re.M))
    assert {"plan", "test", "review", "diff", "help"} <= listed == documented
    assert ".DEFAULT_GOAL := help" in MAKEFILE


def test_the_first_build_shows_pip_progress():
    recipe = re.search(r"^\$\(STAMP\): requirements.lock\n((?:\t.*\n)+)", MAKEFILE, re.M)[1]
    install = next(line for line in recipe.splitlines() if "pip install" in line)
    assert "--quiet" not in install and not re.search(r"\s-q\b", install)
    assert "@echo" in recipe


def test_the_readme_config_set_examples_are_valid_settings():
    examples = re.findall(r"""pulumi config set --path '(settings\.[^']+)' ([^\s`"]+|"[^"]+")""", README)
    assert len(examples) >= 3, examples
    settings = example_settings("prod")
    for path, value in examples:
        if value.startswith('"$(ssh-keyscan'):
            value = "10.20.1.4 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq7Yk5cQ0sIu0tq0ZBqv1V0b2m5m8f6a0QZs4cJx0Zp"
        set_path(settings, path.removeprefix("settings."), yaml.safe_load(value))
    parsed = parse_settings(settings)
    assert parsed.vault.immutability == "Locked" and parsed.vms[0].ssh.host_key.startswith("ssh-ed25519 ")


def test_the_new_environment_checklist_names_the_environments_the_workflows_use():
    checklist = README.split("### A new environment", 1)[1].split("\n#", 1)[0]
    pull_request = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    drill = yaml.safe_load((ROOT / ".github/workflows/restore-drill.yml").read_text())
    for environment in (pull_request["jobs"]["preview"]["environment"], deploy["jobs"]["up"]["environment"],
                        drill["jobs"]["drill"]["environment"]):
        name = environment.split("#")[0].strip().replace("${{ matrix.stack }}", "<stack>")
        assert f"`{name}`" in checklist and f"environment:{name}`" in checklist
    assert "pulumi stack init" in checklist and "federated credentials" in checklist
