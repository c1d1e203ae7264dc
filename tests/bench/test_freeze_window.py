"""The freeze-window benchmark measures what it says: a serial baseline, ours freezing everything before the
snapshot, and every printed figure in the JSON.  No timing assertions (the machine is shared): only the order
of the iris double's events and calls."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import PARTS, Part  # noqa: E402
from bench import freeze_window as fw  # noqa: E402
from bench.report import part_json, table_text  # noqa: E402

LATENCY = 0.3  # long enough that overlapping calls cannot be mistaken for serial ones, or the reverse


def call_starts(double, expr_part: str) -> dict[str, float]:
    """When each instance's call whose expression contains expr_part started (the double logs argv on entry)."""
    out = {}
    for line in (double.dir / "calls").read_text().splitlines():
        t, *argv = line.split("\t")
        if argv[:2] == ["iris", "session"] and expr_part in argv[-1]:
            out.setdefault(argv[2], int(t) / 100.0)
    return out


@pytest.fixture
def rig(tmp_path):
    r = fw.Rig(tmp_path / "vm", 3)
    yield r
    r.cleanup()


def test_baseline_script_is_shellcheck_clean_and_labelled():
    text = fw.BASELINE.read_text()
    assert "NOT A PRODUCT SCRIPT" in text
    assert not (REPO / "hooks" / fw.BASELINE.name).exists()
    shellcheck = Path(sys.executable).with_name("shellcheck")
    p = subprocess.run([str(shellcheck), "-s", "sh", str(fw.BASELINE)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout


def test_baseline_freezes_and_thaws_one_instance_after_another(rig):
    rig.set_latency(LATENCY)
    r = rig.backup("baseline", 0.0)
    assert "failed" not in r, r
    d = rig.double
    for kind, expr in (("freeze", "ExternalFreeze"), ("thaw", "ExternalThaw")):
        done = {e.name: e.t for e in d.events(kind)}
        starts = call_starts(d, expr)
        assert sorted(done) == sorted(starts) == rig.names
        order = sorted(rig.names, key=lambda n: starts[n])
        assert order == rig.names  # in the order given, one session call each
        for prev, nxt in zip(order, order[1:]):
            assert starts[nxt] >= done[prev], f"{kind} of {nxt} started before {prev}'s had completed"
    # One session call per instance and operation: no checks, no verification.
    sessions = [c for c in d.calls() if c[:2] == ["iris", "session"]]
    assert len(sessions) == 2 * len(rig.names)
    assert all(e.t < min(e2.t for e2 in d.events("thaw")) for e in d.events("freeze"))


def test_ours_freezes_every_instance_in_parallel_before_the_snapshot(rig, monkeypatch):
    rig.set_latency(LATENCY)
    seen = {}
    real_run_backup = fw.run_backup

    def spy(*a, **kw):
        res = real_run_backup(*a, **kw)
        seen["res"] = res
        return res

    monkeypatch.setattr(fw, "run_backup", spy)
    r = rig.backup("ours", 0.1)
    assert "failed" not in r, r
    res, d = seen["res"], rig.double
    freezes, thaws = d.events("freeze"), d.events("thaw")
    assert sorted(e.name for e in freezes) == sorted(e.name for e in thaws) == rig.names
    assert res.snapshot.frozen_at_start == {f"{n}:iris": True for n in rig.names}
    assert all(e.t <= res.snapshot.started for e in freezes)
    assert all(e.t >= res.snapshot.ended for e in thaws)
    # Parallel: every freeze call had started before the first one completed.
    starts = call_starts(d, "ExternalFreeze")
    assert max(starts.values()) < min(e.t for e in freezes)
    # The figures are the event log's.
    assert r["window"] == pytest.approx(max(e.t for e in thaws) - min(e.t for e in freezes))
    assert r["overhead"] == pytest.approx(r["window"] - 0.1)


def test_quick_part_has_every_printed_figure_in_its_json():
    part = fw.run(True, sizes=(1, 2), repetitions=1, latencies=(0.0, 0.05), snapshot_seconds=0.1,
                  runners=fw.RUNNERS[:2])
    assert isinstance(part, Part)
    assert part.columns == fw.COLUMNS
    assert [tuple(r[:3]) for r in part.rows] == [("instant", 0, 1), ("instant", 0, 2), ("instant", 50, 1),
                                                 ("instant", 50, 2), ("azure-poll-1s", 0, 1),
                                                 ("azure-poll-1s", 50, 1)]
    for row in part.rows:
        assert len(row) == len(part.columns)
        assert row[4] == 1  # runs
        assert all(c != "n/a" for c in row), row
    printed = table_text(part)
    record = part_json("freeze", part)
    shown = json.dumps({k: v for k, v in record.items() if k != "data"})
    missing = [tok for tok in re.findall(r"\d+(?:\.\d+)?", printed) if tok not in shown]
    assert missing == []
    for row in part.rows:
        for c in row:
            assert json.dumps(c) in shown
    joined = "\n".join(part.notes)
    assert "overhead at 1 instance (instant iris)" in joined and "target < 50 ms" in joined
    assert "is for 1->8: not judged on this run" in joined
    assert "every run: pre and post exit 0" in joined
    assert {c["instances"] for c in part.data["cells"]} == {1, 2}
    assert part.data["verdicts"]["overhead_1_instance_ms"]["met"] in (True, False)
    assert len(part.data["samples"]) == 2 * 2 * 2 + 2 * 1 * 2  # (latency x size x variant) per runner
    polled = part.data["verdicts"]["azure-poll-1s_latency_0ms_1"]
    assert polled["target_extra_le_s"] == 2.5 and polled["met"] in (True, False)
    assert any(n.startswith("azure-poll-1s, iris call 0 ms, 1 instance(s): ours") for n in part.notes)


def test_growth_target_is_judged_on_1_to_8_instances():
    def cellset(window_1, window_8):
        def variant(w):
            return {"window": fw.summary([w]), "overhead": fw.summary([w - 0.5]), "wall": fw.summary([w]),
                    **{k: fw.summary([0.0]) for k in ("before_snapshot", "after_snapshot", "freeze_spread",
                                                        "thaw_spread")}, "runs": 1, "failures": []}
        return {n: {"ours": variant(w), "baseline": variant(w), "ratio": 1.0}
                for n, w in ((1, window_1), (8, window_8))}

    _, notes, verdicts = fw.build({0.0: cellset(0.5, 0.59)}, (1, 8), 1, 0.5)
    assert verdicts["latency_0ms"]["met"] is True
    assert any("+18 %" in n and "target ours < 20 %): met" in n for n in notes)
    _, notes, verdicts = fw.build({0.0: cellset(0.5, 0.61)}, (1, 8), 1, 0.5)
    assert verdicts["latency_0ms"]["met"] is False
    assert any("+22 %" in n and "NOT met" in n for n in notes)
    assert verdicts["overhead_1_instance_ms"] == {"median": 0, "min": 0, "mean": 0.0, "max": 0,
                                                  "target_lt": 50.0, "met": True}


def test_registered_in_the_bench_cli():
    assert PARTS["freeze"] == "bench.freeze_window"


def test_polling_runner_rows_measure_a_backup_paced_by_the_runner(tmp_path):
    # Under the Azure-polling runner the snapshot cannot start before PluginHost's first look, one poll
    # after the pre-script started, nor before ScriptRunner's poll saw the pre-script end; whether that
    # is one poll or two depends on which of the two threads wakes first (both sleep one poll), so the
    # test asserts the order and the one-poll bound, which hold on a busy machine too.
    rig = fw.Rig(tmp_path / "vm", 1, poll=1, installed_poll=1)
    seen = {}
    real_run_backup = fw.run_backup

    def spy(*a, **kw):
        seen["res"] = real_run_backup(*a, **kw)
        return seen["res"]

    try:
        fw.run_backup = spy
        r = rig.backup("ours", 0.1)
    finally:
        fw.run_backup = real_run_backup
        rig.cleanup()
    assert "failed" not in r, r
    res = seen["res"]
    assert res.poll_seconds == 1
    assert res.pre.started < res.pre.exited_seen <= res.pre.ended <= res.snapshot.started
    assert res.snapshot.started - res.pre.started >= 1 - 0.02  # one poll; /proc/uptime ticks 10 ms
