"""benchmarks/RESULTS.md is generated from benchmarks/data/*.jsonl by
benchmarks/report.py: the committed page is what the committed data give,
and a record that cannot be a row is refused naming its field."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def report():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("jqd_bench_report", BENCH / "report.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def test_results_md_is_what_the_data_give(report):
    text = report.render(report.load())
    assert (BENCH / "RESULTS.md").read_text() == text, (
        "benchmarks/RESULTS.md differs from benchmarks/data: run python benchmarks/report.py"
    )


def test_first_screen_answers_how_fast_against_whom(report):
    lines = (BENCH / "RESULTS.md").read_text().splitlines()
    head = "\n".join(lines[:40])
    assert "## Against QuTiP and dynamiqs" in head
    assert "jqd cold first call" in head
    assert "| ising-12 |" in head and "| modes-125-20001 |" in head


def test_peer_rows_below_2x_carry_their_reason(report):
    for r in report.load()["peers"]:
        if r.get("status", "measured") == "measured" and r["ratio"] < 2:
            assert r["reason"]


def _good(report):
    line = (BENCH / "data" / "peers.jsonl").read_text().splitlines()[0]
    return json.loads(line)


@pytest.mark.parametrize("field", ["date", "machine", "versions", "load", "source"])
def test_a_record_without_its_provenance_is_refused(report, field, tmp_path):
    rec = _good(report)
    del rec[field]
    (tmp_path / "peers.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(report.RecordError, match=rf"peers\.jsonl:1 \(kerr-64\): no '{field}'"):
        report.load(tmp_path)


def test_a_peer_row_below_2x_without_a_reason_is_refused(report):
    good = _good(report)
    rec = dict(good, peer_tuned_s=good["jqd_plain_s"] * 0.5, ratio=0.5)
    with pytest.raises(report.RecordError, match="no 'reason'"):
        report.validate(rec)
    report.validate(dict(rec, reason="measured: the fixed cost of the plain call"))


def test_a_ratio_that_does_not_match_its_times_is_refused(report):
    with pytest.raises(report.RecordError, match="'ratio' 5.0 does not match"):
        report.validate(dict(_good(report), ratio=5.0))


def test_a_row_not_measured_yet_needs_no_numbers(report):
    report.validate({"area": "peers", "case": "jc-driven", "status": "not measured yet"})
    with pytest.raises(report.RecordError, match="status 'planned'"):
        report.validate({"area": "peers", "case": "jc-driven", "status": "planned"})


def test_a_bench_vs_peers_run_becomes_rows(report):
    """`report.py --from-vs-peers` / `bench_vs_peers.py --update-results`:
    a run's summary becomes a valid record, with the measured shortfall as
    its reason when the plain call stays below 2x."""
    header = {
        "kind": "header",
        "argv": ["benchmarks/bench_vs_peers.py", "--cases", "kerr-64"],
        "versions": {"jax": "0.10.2", "qutip": "5.3.1"},
        "machine": {"cpu": "AMD EPYC", "cores": 2, "loadavg_at_start": [1.5, 1.0, 1.0]},
        "device": "cpu:cpu x1",
        "time_utc": "2026-11-28T12:00:00Z",
    }
    plain = {"impl": "jqd plain", "side": "jqd", "kind": "plain", "first_s": 0.5}
    summary = {
        "case": "kerr-64",
        "peer_tuned": "dynamiqs tuned Expm",
        "peer_tuned_s": 0.001,
        "peer_tuned_cpu_s": 0.001,
        "jqd_plain": "jqd plain",
        "jqd_plain_s": 0.002,
        "jqd_plain_cpu_s": 0.002,
        "jqd_tuned_s": 0.0005,
        "jqd_tuned_cpu_s": 0.0005,
        "ratio_plain": 0.5,
        "ratio_plain_cpu": 0.5,
        "ratio_tuned": 2.0,
    }
    sys.path.insert(0, str(BENCH))
    try:
        (rec,) = report.peer_records(header, [([plain], summary)], {"kerr-64": {"size": "d = 64"}})
    finally:
        sys.path.remove(str(BENCH))
    assert rec["size"] == "d = 64" and rec["jqd_first_s"] == 0.5 and rec["ratio"] == 0.5
    assert "jqd's plain call 2.0 ms" in rec["reason"]
    report.validate(rec)


def test_a_scaling_row_names_strong_or_weak_and_its_efficiency_matches(report):
    rec = {
        "area": "scaling",
        "case": "Nelson 1-D ensemble",
        "scaling": "strong",
        "processes": 2,
        "time_s": 0.5,
        "speedup": 1.6,
        "efficiency": 0.8,
        "date": "2026-11-28",
        "machine": "AMD EPYC, 2 cores",
        "versions": "jax 0.10.2",
        "load": "2.0",
        "source": "`python benchmarks/bench_scaling.py`; `results_scaling.md`",
    }
    report.validate(rec)
    with pytest.raises(report.RecordError, match="scaling 'diagonal'; one of strong, weak"):
        report.validate(dict(rec, scaling="diagonal"))
    with pytest.raises(report.RecordError, match="'efficiency' 0.4 does not match"):
        report.validate(dict(rec, efficiency=0.4))
    with pytest.raises(report.RecordError, match="no 'efficiency'"):
        report.validate({k: v for k, v in rec.items() if k != "efficiency"})
