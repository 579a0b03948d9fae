"""`jqd reproduce` rewrites REPORT.md as experiments finish and `--resume` reuses
the results made with the same code, config, seed and versions (issue 54).

Two tiny experiments (JQD_EXPERIMENTS) stand for the real ones: each run appends a
line to RUNS/NAME, so a test sees which ran, and HANG=NAME makes that one hang
until it is killed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

EXPERIMENT = """
import os
import time
from dataclasses import dataclass
from pathlib import Path

from jqdlab import Experiment


@dataclass(frozen=True)
class Config:
    x: float = 1.0

    @classmethod
    def quick(cls):
        return cls(x=0.5)


def run(config, rec):
    with open(Path(os.environ["RUNS"]) / "{name}", "a") as f:
        f.write("ran\\n")
    if os.environ.get("HANG") == "{name}":
        time.sleep(600)
    rec.claim("c", "stmt", measured=config.x, tolerance=1.0)


EXPERIMENT = Experiment(
    name="{name}", description="test", config=Config, run=run, compile_bound={bound}
)
"""


@pytest.fixture
def setup(tmp_path):
    """(env for the command, RUNS folder) with experiments resume-a and resume-b."""
    exps, runs = tmp_path / "exps", tmp_path / "runs"
    for name in ("resume-a", "resume-b"):
        (exps / name).mkdir(parents=True)
        # resume-a, reused below, compiles at -O0 (compile_bound), resume-b as quick runs do
        text = EXPERIMENT.format(name=name, bound=name == "resume-a")
        (exps / name / "experiment.py").write_text(text)
    runs.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HANG"}
    env.update(JQD_EXPERIMENTS=str(exps), RUNS=str(runs), JQD_PROGRESS="0")
    return env, runs


def jqd(env, *args, **kw):
    cmd = [sys.executable, "-m", "jqdlab.cli", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, **kw)


def runs_of(runs: Path, name: str) -> int:
    path = runs / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def without_times(report: str) -> str:
    """REPORT.md with its recorded times (seconds, shares) masked."""
    return re.sub(r"\d+\.\d+|\d+%", "#", report)


def test_killed_reproduce_resumes_to_the_same_report(setup, tmp_path):
    env, runs = setup
    out = tmp_path / "out"
    args = ["reproduce", "--quick", "--jobs", "1", "--out", out]
    # interrupted: resume-b hangs; the run is killed (the whole process group) once
    # REPORT.md shows resume-a finished and resume-b pending
    proc = subprocess.Popen(
        [sys.executable, "-m", "jqdlab.cli", *map(str, args)],
        cwd=REPO,
        env=dict(env, HANG="resume-b"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    report = out / "REPORT.md"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = report.read_text() if report.exists() else ""
            if "| resume-a | c |" in text and runs_of(runs, "resume-b"):
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    partial = report.read_text()
    assert "| resume-a | c | stmt | 0.5 |" in partial, partial
    assert "| resume-b | (not run yet) |" in partial and "1 not run yet" in partial
    assert not (out / "resume-b" / "summary.json").exists()

    res = jqd(env, *args, "--resume")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resume-a: reused (same code, config, seed and versions)" in res.stdout
    assert "resume-b: to run (no finished result)" in res.stdout
    assert runs_of(runs, "resume-a") == 1 and runs_of(runs, "resume-b") == 2  # a: not rerun
    from jqdlab import cli

    made = json.loads((out / "resume-a" / "summary.json").read_text())["environment"]
    quick_o1 = cli._QUICK_FLAGS[1] in env.get("XLA_FLAGS", "").split()
    assert (cli._COMPILE_BOUND_LEVEL in made["xla_flags"].split()) == quick_o1  # reused at -O0
    resumed = report.read_text()
    assert "not run yet" not in resumed and "2/2 claims passed" in resumed

    # the same bytes as the report written from the same results (and the same
    # environment, which each summary.json records)
    from jqdlab.results import write_report

    entries = [
        {"name": n, "summary": json.loads((out / n / "summary.json").read_text())}
        for n in ("resume-a", "resume-b")
    ]
    env_now = entries[1]["summary"]["environment"]
    regenerated = write_report(tmp_path, entries, True, env_now).read_text()
    assert regenerated == resumed
    # and an uninterrupted run's report but for the times each run recorded
    res = jqd(env, "reproduce", "--quick", "--jobs", "1", "--out", tmp_path / "whole")
    assert res.returncode == 0, res.stdout + res.stderr
    whole = (tmp_path / "whole" / "REPORT.md").read_text()
    assert without_times(whole) == without_times(resumed)
    for e in entries:  # whose times are the stored ones
        assert f"| {e['summary']['cpu_time_s']:.1f} |\n" in resumed


def test_resume_reruns_a_result_made_otherwise(setup, tmp_path):
    """A finished result of another config is rerun, the reason named; the same
    config's is reused."""
    env, runs = setup
    out = tmp_path / "out"
    res = jqd(env, "run", "resume-a", "--quick", "--set", "x=0.25", "--out", out / "resume-a")
    assert res.returncode == 0, res.stdout + res.stderr
    args = ["reproduce", "--quick", "--only", "resume-a", "--out", out, "--resume"]
    res = jqd(env, *args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resume-a: to run (" in res.stdout and "config.x: 0.25 there, 0.5 now" in res.stdout
    assert runs_of(runs, "resume-a") == 2
    report = (out / "REPORT.md").read_text()
    assert "| resume-a | c | stmt | 0.5 |" in report
    # resumed again, it reruns nothing and rewrites REPORT.md to the same bytes
    res = jqd(env, *args)
    assert "0 experiment(s) to run (1 reused)" in res.stdout, res.stdout + res.stderr
    assert runs_of(runs, "resume-a") == 2 and (out / "REPORT.md").read_text() == report


def test_stored_result_checks_what_made_it(setup, tmp_path, monkeypatch):
    """Every part of the key, and the versions and settings, bar reuse."""
    from jqdlab.results import reuse_key, stored_result

    env, _ = setup
    monkeypatch.setenv("JQD_EXPERIMENTS", env["JQD_EXPERIMENTS"])
    key = reuse_key("resume-a", True, 0, False)
    assert key["config"] == {"x": 0.5} and key["code"]["experiment_source"] == "resume-a"
    here = {"jqd": "1", "jax": "0.10.2", "x64": True, "backend": "cpu", "xla_flags": ""}
    folder = tmp_path / "resume-a"
    folder.mkdir()
    assert stored_result(folder, key, here) == (None, "no finished result")
    made = {**json.loads(json.dumps(key)), "environment": dict(here, hostname="elsewhere")}
    made.update(passed=True, claims=[], wall_time_s=1.0)

    def why(**changes):
        env_changes = changes.pop("environment", {})
        summary = {**made, **changes, "environment": {**made["environment"], **env_changes}}
        (folder / "summary.json").write_text(json.dumps(summary))
        summary_back, reason = stored_result(folder, key, here)
        assert (summary_back is None) == bool(reason)
        return reason

    assert why() == ""  # the host is not part of it
    assert "quick: true there, false now" in stored_result(folder, {**key, "quick": False}, here)[1]
    assert "seed: 3 there, 0 now" in why(seed=3)
    assert "animate: true there, false now" in why(animate=True)
    assert "config.x: 1.0 there, 0.5 now" in why(config={"x": 1.0})
    assert "the experiment's source changed" in why(
        code={**key["code"], "experiment_source_sha256": "0"}
    )
    assert "records no code hash" in why(code=None)
    assert "x64: false there, true now" in why(environment={"x64": False})
    assert "jax: " in why(environment={"jax": "0.9"})
    (folder / "summary.json").write_text("{")
    assert "corrupt" in stored_result(folder, key, here)[1]


def test_report_has_cpu_time_and_pending_rows(tmp_path):
    """CPU and compile time per experiment and in total; not-yet-run experiments as
    pending rows; the report depends on the results alone."""
    from jqdlab.results import write_report

    s = {"wall_time_s": 10.0, "compile_time_s": 4.0, "cpu_time_s": 15.0, "n_compilations": 3}
    s.update(claims=[], figures=[], animations=[], passed=True)
    entries = [{"name": "e", "summary": s}, {"name": "f", "pending": True}]
    text = write_report(tmp_path, entries, True, {"jqd": "0"}).read_text()
    assert "run 10.0 s, CPU 15.0 s, compile 4.0 s (40% of run" in text
    assert "| [e](e/summary.json) | 10.0 | 4.0 | 40% | 3 | 0 | 15.0 |" in text
    assert "| f | (not run yet) |" in text and "1 not run yet" in text
    assert write_report(tmp_path, entries, True, {"jqd": "0"}, 99.0).read_text() == text
