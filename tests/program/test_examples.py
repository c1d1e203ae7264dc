"""examples/: the example stacks say at their top that their ids are fake, and every id in them is."""

from __future__ import annotations

import re

from offline_plan.stack_file import EXAMPLES_DIR, real_stacks, stack_file_path, stack_names
from tests.program.harness import ROOT

HEADER = "# EXAMPLE - fake subscription and resource ids, never deployed."
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EXAMPLES = sorted((ROOT / EXAMPLES_DIR).glob("*"))


def obviously_fake(guid: str) -> bool:
    """00000000-0000-0000-0000-000000000000, 11111111-1111-...: one hex digit throughout."""
    return len(set(guid.replace("-", "").lower())) == 1


def test_every_example_file_says_at_its_top_that_its_ids_are_fake():
    assert [path.name for path in EXAMPLES] == ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]
    for path in EXAMPLES:
        assert path.read_text(encoding="utf-8").startswith(HEADER + "\n"), f"{path.name}: first line must be {HEADER!r}"


def test_every_id_in_an_example_uses_an_obviously_fake_subscription_guid():
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        subscriptions = re.findall(r"/subscriptions/([^/\s\"']+)", text, re.I)
        assert subscriptions, f"{path.name}: names no subscription (the check would prove nothing)"
        for value in subscriptions:
            assert GUID.fullmatch(value) and obviously_fake(value), f"{path.name}: subscription {value!r} is not obviously fake"
        for guid in GUID.findall(text):
            assert obviously_fake(guid), f"{path.name}: {guid} looks real"
    assert not obviously_fake("3f2504e0-4f89-11d3-9a0c-0305e82c3301")


def test_a_real_stack_beside_pulumi_yaml_wins_over_the_example_of_its_name(tmp_path):
    (tmp_path / EXAMPLES_DIR).mkdir()
    for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        (tmp_path / EXAMPLES_DIR / name).write_text("config: {}\n")
    assert real_stacks(tmp_path) == [] and stack_names(tmp_path) == ["dev", "prod"]
    assert stack_file_path(tmp_path, "dev") == tmp_path / EXAMPLES_DIR / "Pulumi.dev.yaml"
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    assert stack_file_path(tmp_path, "dev") == tmp_path / "Pulumi.dev.yaml"
    assert real_stacks(tmp_path) == ["dev"] and stack_names(tmp_path) == ["dev", "prod"]
    assert stack_file_path(tmp_path, "nope") == tmp_path / "Pulumi.nope.yaml"  # the error names where a real one goes


def test_the_repository_has_no_real_stack_only_examples():
    assert real_stacks(ROOT) == [] and stack_names(ROOT) == ["dev", "prod"]
