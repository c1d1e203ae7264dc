"""docs/mirror.md promises, held against the code: the preference table is what snapshot_need answers,
every mirrors setting is in the configuration reference, the drill's removal call is the one the
check makes, and the README points to the page."""

from __future__ import annotations

import re

from pydantic.alias_generators import to_camel

from irisbackup.settings.mirror import MirrorMember, MirrorSet
from irisbackup.vm.mirror_spec import BackupPreference, MemberKind, MirrorRole, snapshot_need
from tests.program.harness import ROOT

DOC = (ROOT / "docs" / "mirror.md").read_text()
# The table's columns: (role, failover-ready).
COLUMNS = [(MirrorRole.PRIMARY, True), (MirrorRole.BACKUP, True), (MirrorRole.PRIMARY, False),
           (MirrorRole.BACKUP, False), (MirrorRole.NOT_READY, True)]


def _cell(answer) -> str:
    return answer.consistency.value + (" + alert" if answer.alert else "")


def test_the_preference_table_is_what_the_logic_answers():
    names = {p.value for p in BackupPreference}
    rows = {m[1]: [cell.strip() for cell in m[2].split("|")[1:-1]]
            for m in re.finditer(r"^\| `(\w+)` (\|.*\|)$", DOC, re.M) if m[1] in names}
    assert sorted(rows) == sorted(p.value for p in BackupPreference)
    for preference in BackupPreference:
        expected = [_cell(snapshot_need(preference, MemberKind.FAILOVER, role, ready)) for role, ready in COLUMNS]
        assert rows[preference.value] == expected, preference


def test_every_mirrors_setting_is_in_the_configuration_reference():
    reference = (ROOT / "docs" / "configuration.md").read_text()
    fields = [("mirrors[]", name) for name in MirrorSet.model_fields if name != "members"]
    fields += [("mirrors[].members[]", name) for name in MirrorMember.model_fields]
    assert [f"{at}.{to_camel(name)}" for at, name in fields if f"| `{at}.{to_camel(name)}` |" not in reference] == []


def test_the_documented_removal_is_the_one_the_drill_check_makes():
    script = (ROOT / "drill" / "vm" / "check.sh").read_text()
    [call] = set(re.findall(r"RemoveMirrorConfiguration\([0-9,]*\)", script))
    assert call == "RemoveMirrorConfiguration(1,0,0)" and f"SYS.Mirror.{call}" in DOC
    assert "`CleanJournal=0`" in DOC and "`DeleteDB=1`" in DOC


def test_the_readme_points_to_the_page():
    assert "[docs/mirror.md](docs/mirror.md)" in (ROOT / "README.md").read_text()
