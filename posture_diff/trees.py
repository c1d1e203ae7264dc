"""Renders every stack of a source tree offline and extracts its posture.

Each tree (the base ref, unpacked with `git archive`, and the working tree) is rendered by its OWN
code: `offline_plan --stack S --json F` of each stack, run in one subprocess per tree with the tree as
working directory, under this interpreter (the same venv); the two trees render at once. The posture
is then read from that JSON with the current offline_plan.posture, so both sides are compared with one
extraction, and the plans themselves go to posture_diff/resources.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline_plan.engine import PROJECT, Registration
from offline_plan.posture import build_posture
from offline_plan.stack_file import StackFileError, load_stack_config, raw_settings, stack_file_path
from offline_plan.stack_file import stack_names as all_stack_names
from offline_plan.urns import plan_urns
from policy.backup_rules import RULES_BY_ID, is_production
from policy.offline import merge_configs, policy_resources, settings_config
from policy.rule_kit import rule_config

# exit status of offline_plan: 0 passed, 1 mandatory policy violation (still a rendering), 2 error
_RENDERED = (0, 1)


class TreeError(Exception):
    """The base ref cannot be unpacked (unknown ref, not a git repository)."""


@dataclass
class Rendered:
    stack: str
    posture: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    error: str | None = None


def stack_names(tree: Path) -> list[str]:
    """Real stacks and examples alike, each found where that tree keeps it (before examples/ existed: beside
    Pulumi.yaml), so a stack that moved into examples/ is the same stack on both sides."""
    return all_stack_names(tree)


def export_ref(project: Path, ref: str, destination: Path) -> None:
    """The tree of `ref` (committed files only) into `destination`."""
    resolved = subprocess.run(["git", "-C", str(project), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                              capture_output=True, text=True)
    if resolved.returncode != 0:
        raise TreeError(f"BASE={ref!r} is not a commit of the repository at {project} (fetch it first, e.g. "
                        "`git fetch origin main` and BASE=origin/main)")
    archive = subprocess.Popen(["git", "-C", str(project), "archive", "--format=tar", resolved.stdout.strip()],
                               stdout=subprocess.PIPE)
    unpack = subprocess.run(["tar", "-x", "-C", str(destination)], stdin=archive.stdout, capture_output=True, text=True)
    archive.stdout.close()  # type: ignore[union-attr]
    if archive.wait() != 0 or unpack.returncode != 0:
        raise TreeError(f"cannot unpack {ref}: {unpack.stderr.strip() or 'git archive failed'}")


# Run in the tree's own directory (so its own offline_plan is imported): `python -m offline_plan --stack S
# --json F` for each stack in turn, in one interpreter as `make review` does, so the imports are paid once.
# azure-native's aliases to older API versions of a resource's own type are dropped before the SDK
# resolves them: they are most of a plan's CPU (docs/performance.md), match no state this program
# wrote, and the diff ignores them (offline_plan/urns.py); the program's own aliases are kept.
_RENDER_STACKS = """
import contextlib, io, json, re, sys, traceback
import pulumi.resource
from offline_plan.__main__ import main

_VERSIONED = re.compile(r"^([^:]+):([^:/]+)/[^:]+:([^:]+)$")
_init = pulumi.resource.Resource.__init__


def _api_version_alias(alias, type_):
    match = isinstance(alias, pulumi.resource.Alias) and isinstance(alias.type_, str) and _VERSIONED.match(alias.type_)
    unset = all(value is ... for value in (alias.name, alias.parent, alias.stack, alias.project)) if match else False
    return unset and type_ == f"{match[1]}:{match[2]}:{match[3]}"


def _without_api_version_aliases(self, t, name, custom=False, props=None, opts=None, *args, **kwargs):
    if opts is not None and opts.aliases:
        opts = opts._copy()
        opts.aliases = [alias for alias in opts.aliases if not _api_version_alias(alias, t)]
    _init(self, t, name, custom, props, opts, *args, **kwargs)


pulumi.resource.Resource.__init__ = _without_api_version_aliases
outcome = {}
for stack, json_file in zip(sys.argv[1::2], sys.argv[2::2]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--stack", stack, "--json", json_file])
        except SystemExit as exit:
            code = exit.code
        except Exception:
            traceback.print_exc()
            code = -1
    outcome[stack] = {"code": code, "output": (err.getvalue().strip() or out.getvalue().strip())[-4000:]}
print(json.dumps(outcome))
"""


def render_tree(tree: Path, stacks: list[str]) -> dict[str, Rendered]:
    """Posture and plan of each stack of `tree` that has a stack file (stacks without one are left out)."""
    present = [stack for stack in stacks if stack_file_path(tree, stack).is_file()]
    rendered: dict[str, Rendered] = {}
    configs = {}
    for stack in present:
        try:
            configs[stack] = load_stack_config(stack_file_path(tree, stack))
        except StackFileError as error:
            rendered[stack] = Rendered(stack, error=str(error))
    with tempfile.TemporaryDirectory(prefix="posture-") as scratch:
        files = {stack: Path(scratch) / f"{stack}.json" for stack in configs}
        outcome = render_plans(tree, files)
        for stack, config in configs.items():
            code, output = outcome.get(stack, {}).get("code"), str(outcome.get(stack, {}).get("output") or "")
            if code not in _RENDERED or not files[stack].is_file():
                rendered[stack] = Rendered(stack, error="\n".join(output.splitlines()[-15:]) or f"offline plan exited {code}")
                continue
            rendered[stack] = _rendered(tree, stack, json.loads(files[stack].read_text(encoding="utf-8")), config)
    return rendered


def render_plans(tree: Path, files: dict[str, Path]) -> dict[str, Any]:
    """Write each stack's plan JSON to its file with the tree's own code; per stack its exit code and output."""
    if not files:
        return {}
    arguments = [str(item) for stack, path in files.items() for item in (stack, path)]
    run = subprocess.run([sys.executable, "-c", _RENDER_STACKS, *arguments], cwd=tree, capture_output=True, text=True)
    try:
        return json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        detail = "\n".join((run.stderr.strip() or run.stdout.strip()).splitlines()[-15:])
        return {stack: {"code": run.returncode, "output": detail} for stack in files}


def _rendered(tree: Path, stack: str, plan: dict[str, Any], config: Any) -> Rendered:
    settings = raw_settings(config)
    posture = build_posture(plan, settings)
    posture["stack"]["production"] = production(tree, stack, plan, settings)
    return Rendered(stack, posture=posture, plan=plan)


# The mandatory rule that applies to production stacks only: its config says what production is.
_PRODUCTION_RULE = "vault-multi-user-authorization-production"


def production(tree: Path, stack: str, plan: dict[str, Any], settings: dict[str, Any]) -> bool:
    """Whether the policy pack treats the stack as production, with that tree's policy config (pack's own test)."""
    config_file = tree / "policy" / "config" / f"{stack}.json"
    try:
        document = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        document = {}  # the working tree's own file is checked (and refused) by the acknowledgement loader
    given = document.get(_PRODUCTION_RULE) if isinstance(document, dict) else None
    own = {_PRODUCTION_RULE: given} if isinstance(given, (dict, str)) else {}
    entry = merge_configs(settings_config(settings), own).get(_PRODUCTION_RULE)
    resources = [r for r in plan.get("resources", []) if isinstance(r, dict)]
    # URNs as the engine names them (the pack reads the stack name from them), also for plans that predate them.
    urns = plan_urns(resources, str(plan.get("stack")), PROJECT)
    registrations = [Registration(urn, str(r.get("type")), str(r.get("name")), "", True, r.get("inputs") or {})
                     for r, (urn, _) in zip(resources, urns)]
    return is_production(policy_resources(registrations), rule_config(RULES_BY_ID[_PRODUCTION_RULE], entry), {})
