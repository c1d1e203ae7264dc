"""The policy pack installs on its own: every module it imports, followed from its entry point through
its own modules and the repository files it reaches, is the standard library, the repository, or a
distribution in its own lock (policy/requirements.txt)."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.program.harness import ROOT
from tests.program.test_dependencies import canonical, locked

PACK_DIR = ROOT / "policy"


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules `path` imports (relative imports resolved against `package`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])])
            found.add(base)
    return found


def _repository_file(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def pack_imports() -> tuple[set[str], set[str]]:
    """(repository modules reached, third-party top-level modules imported), from policy/__main__.py."""
    seen, third_party = set(), set()
    todo = [("policy.__main__", PACK_DIR / "__main__.py")]
    while todo:
        module, path = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in _imports(path, package):
            top = name.split(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            if (found := _repository_file(name)) is not None:
                todo.append((name, found))
            elif _repository_file(top) is None and not (ROOT / top).is_dir():
                third_party.add(top)
    return seen, third_party


def test_every_module_the_pack_imports_is_covered_by_its_own_lock():
    reached, third_party = pack_imports()
    assert "policy.backup_rules" in reached and "pulumi_policy" in third_party  # the walk followed the pack
    distributions = packages_distributions()
    lock = locked(PACK_DIR / "requirements.txt")
    for module in third_party:
        names = {canonical(name) for name in distributions.get(module, [])}
        assert names & set(lock), f"the pack imports {module} ({sorted(names)}), which policy/requirements.txt does not install"


def test_of_the_program_the_pack_reaches_only_stdlib_only_files():
    # irisbackup/ is not installed in the pack's venv: the CLI finds it through the repository root,
    # so what the pack reaches there must need nothing beyond the standard library.
    reached, _ = pack_imports()
    program = {module for module in reached if not module.startswith("policy")}
    assert program == {"irisbackup.schedule"}
    for module in program:
        path = _repository_file(module)
        outside = {name for name in _imports(path, module.rpartition(".")[0])
                   if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"}
        assert outside == set(), f"{module} imports {outside}: the pack's venv does not have them"
