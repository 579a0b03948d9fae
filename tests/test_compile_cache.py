"""The `jqd` command's persistent compilation cache, compile-time accounting
and progress lines (jqdlab._compile_cache, jqdlab.results)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from jqdlab._compile_cache import cache_dir, configure
from jqdlab.cli import main
from jqdlab.results import CompileTimer, _union_length, write_report

REPO = Path(__file__).resolve().parents[1]

# One program, compiled in a child process with the cache on or off; prints
# its value (hex, bit for bit) and what the CompileTimer saw.
CHILD = textwrap.dedent(
    """
    import json, sys
    import jax, jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from jqdlab._compile_cache import configure
    from jqdlab.results import CompileTimer
    folder = configure(enabled=sys.argv[1] == "on", path=sys.argv[2])
    with CompileTimer() as t:
        y = jax.jit(PROGRAM)(jnp.eye(16) * 0.3 + 0.01)
    print(json.dumps({"value": float(y).hex(), "hits": t.cache_hits, "n": t.count,
                      "folder": str(folder)}))
    """
)
PROGRAM = "lambda x: jnp.sum(jax.lax.fori_loop(0, 8, lambda i, z: jnp.sin(z) @ z + 0.1 * z, x))"


def child_env() -> dict:
    # (XLA_FLAGS kept: they enter the cache key, and this process reads the entries)
    env = {k: v for k, v in os.environ.items() if k != "JQD_NO_CACHE"}
    env["JQD_CACHE_MIN_COMPILE_S"] = "0"  # cache every program, however fast it compiles
    return env


def start(mode: str, folder: Path) -> subprocess.Popen:
    code = CHILD.replace("PROGRAM", PROGRAM)
    return subprocess.Popen(
        [sys.executable, "-c", code, mode, str(folder)],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc: subprocess.Popen) -> dict:
    # (a read racing the other process's write may warn and recompile: allowed)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_two_processes_share_a_fresh_cache(tmp_path):
    """Two processes compile the same program into one fresh folder at once
    (no lock: jqdlab._compile_cache); both are right, a third process then
    loads the program from the cache, and all equal a run without it.

    (The loads run in fresh processes: a pytest worker's own JAX settings,
    left by earlier tests, may enter the cache key.)"""
    folder = tmp_path / "cache"
    a, b = start("on", folder), start("on", folder)
    ra, rb = result(a), result(b)
    assert ra["value"] == rb["value"]
    assert ra["folder"] == str(folder)
    assert list(folder.glob("*-cache")), sorted(p.name for p in folder.iterdir())
    warm = result(start("on", folder))
    cold = result(start("off", folder))
    assert warm["hits"] >= 1 and cold["hits"] == 0 and cold["folder"] == "None"
    assert ra["value"] == warm["value"] == cold["value"]


def test_cache_folder_and_switches(tmp_path, monkeypatch):
    monkeypatch.delenv("JQD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "jqd" / "jax"
    monkeypatch.setenv("JQD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    # conftest sets JQD_NO_CACHE=1: the command leaves JAX's cache off in tests
    assert os.environ["JQD_NO_CACHE"] == "1"
    assert configure() is None and jax.config.jax_compilation_cache_dir is None
    monkeypatch.delenv("JQD_NO_CACHE")
    monkeypatch.setenv("JQD_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="JQD_CACHE_MAX_MB='lots' is not a number"):
        configure(path=tmp_path / "c")
    monkeypatch.setenv("JQD_CACHE_MAX_MB", "64")  # bounded: JAX's locked LRU mode
    try:
        assert configure(path=tmp_path / "c") == tmp_path / "c"
        assert jax.config.jax_compilation_cache_max_size == 64 * 2**20
    finally:
        configure(enabled=False)
    assert jax.config.jax_compilation_cache_dir is None
    monkeypatch.delenv("JQD_CACHE_MAX_MB")
    from jqdlab.cli import _parser as parser

    for cmd in (["run", "x"], ["reproduce"], ["sweep", "x"]):
        assert parser().parse_args([*cmd, "--no-cache"]).no_cache is True


def test_union_of_compile_spans():
    assert _union_length([(0, 2), (1, 3), (5, 6), (5.5, 5.7)]) == pytest.approx(4.0)
    assert _union_length([]) == 0.0


FAKE = """
import dataclasses, time
import jax, jax.numpy as jnp
from jqdlab import Experiment


@dataclasses.dataclass(frozen=True)
class Config:
    pause: float = 0.0

    @classmethod
    def quick(cls):
        return cls()


def run(config, rec):
    rec.progress("stage one")
    time.sleep(config.pause)
    y = jax.jit(lambda x: jnp.sin(x) * 2.0)(jnp.arange(3.0))
    rec.claim("c", "stmt", measured=float(y[0]), tolerance=1.0)


EXPERIMENT = Experiment(name="{name}", description="fake", config=Config, run=run)
"""


def test_progress_lines_and_compile_accounting(tmp_path, monkeypatch, capsys):
    name = f"progress-{tmp_path.name.replace('_', '-')}"
    folder = tmp_path / "exps" / name.replace("-", "_")
    folder.mkdir(parents=True)
    (folder / "experiment.py").write_text(FAKE.replace("{name}", name))
    monkeypatch.setenv("JQD_EXPERIMENTS", str(tmp_path / "exps"))
    monkeypatch.setenv("JQD_PROGRESS_INTERVAL", "0.3")
    out = tmp_path / "out"
    assert main(["run", name, "--set", "pause=1.5", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    # the console says which time is which: the run (compile part of it), then with start-up
    m = re.search(
        r": run (\S+) s \(of which compile (\S+) s, .*\); (\S+) s with start-up", captured.out
    )
    assert m and float(m[2]) <= float(m[1]) <= float(m[3]) and float(m[1]) >= 1.5, captured.out
    assert any(ln.startswith(f"jqd> {name}") and ln.endswith("stage one") for ln in err), err
    assert any("running (compile" in ln for ln in err), err  # the heartbeat
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_compilations"] >= 1 and summary["compile_time_s"] > 0
    assert summary["n_cache_hits"] == 0 and summary["compile_cache"] is None
    assert main(["run", name, "--json", "--out", str(out)]) == 0
    assert "jqd> " not in capsys.readouterr().err  # quiet with --json


def test_report_has_compile_time_per_experiment(tmp_path):
    s = {"wall_time_s": 10.0, "compile_time_s": 8.0, "n_compilations": 12, "n_cache_hits": 5}
    s.update(claims=[], figures=[], animations=[], passed=True)
    env = {"jqd": "0", "devices": []}
    path = write_report(tmp_path, [{"name": "e", "summary": s}], True, env, 11.0)
    text = path.read_text()
    assert "| [e](e/summary.json) | 10.0 | 8.0 | 80% | 12 | 5 |" in text, text
    assert "| **all (1)** | 10.0 | 8.0 | 80% | 12 | 5 |" in text
    # which time includes what (console and REPORT.md once differed without a word)
    assert "| experiment | run (s) | compile (s) |" in text
    assert "Neither counts the process's start-up" in text and "--jobs" in text


def test_compile_timer_counts_programs():
    with CompileTimer() as t:
        jax.jit(lambda x: x * 3.0 + 1.0)(jnp.arange(5.0)).block_until_ready()
    assert t.count >= 1 and t.seconds > 0 and t.seconds_by_stage["backend"] > 0


@pytest.mark.slow
def test_cache_changes_no_claim(tmp_path):
    """kerr-revival's quick claims and metrics are the same bits with no
    cache, a cold cache and a warm one (subprocesses: the real command)."""
    env = {k: v for k, v in os.environ.items() if k != "JQD_NO_CACHE"}
    env["JQD_CACHE_DIR"] = str(tmp_path / "cache")
    runs = {}
    for label, extra in (("none", ["--no-cache"]), ("cold", []), ("warm", [])):
        out = tmp_path / label
        cmd = [sys.executable, "-m", "jqdlab.cli", "run", "kerr-revival", "--quick"]
        res = subprocess.run(
            [*cmd, "--json", "--out", str(out), *extra],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, res.stderr
        runs[label] = json.loads(res.stdout)
    assert runs["warm"]["n_cache_hits"] > 0 and runs["none"]["n_cache_hits"] == 0
    for label in ("cold", "warm"):
        for key in ("claims", "metrics"):
            assert runs[label][key] == runs["none"][key], (label, key)
