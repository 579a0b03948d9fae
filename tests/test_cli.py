"""The `jqd` command, driven as a user drives it: in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from jqdlab import cli

REPO = Path(__file__).resolve().parents[1]
KERR_SMALL = ["--quick", "--set", "n_save=20"]


def jqd(*args, env=None, timeout=300, **kw):
    full_env = dict(os.environ)
    full_env.pop("JQD_SWEEP_THROTTLE", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "jqdlab.cli", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        **kw,
    )


def jqd_popen(*args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "jqdlab.cli", *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, **(env or {})),
    )


def load_results(out: Path) -> dict[str, np.ndarray]:
    import xarray as xr

    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        return {k: ds[k].values.copy() for k in ds.variables}


def test_faster_cpu_compile_only_where_known(monkeypatch):
    """The quick flags go to a jaxlib they were measured on, never over the user's own."""
    emitter, opt = cli._QUICK_FLAGS
    for flags, jaxlib, want in [
        ("--a=1", "0.10.2", f"--a=1 {emitter} {opt}"),
        (
            "--xla_cpu_use_fusion_emitters=true",
            "0.10.2",
            f"{emitter.replace('false', 'true')} {opt}",
        ),
        (
            "--xla_backend_optimization_level=3",
            "0.10.2",
            f"--xla_backend_optimization_level=3 {emitter}",
        ),
        ("", "0.11.0", ""),
    ]:
        monkeypatch.setenv("XLA_FLAGS", flags)
        monkeypatch.setattr("importlib.metadata.version", lambda name, v=jaxlib: v)
        cli._faster_cpu_compile()
        assert os.environ["XLA_FLAGS"] == want
    # runs side by side: one codegen thread each, unless the user set the split
    one = cli._ONE_THREAD_CODEGEN
    for flags, want in [
        ("", f"{emitter} {opt} {one}"),
        ("--xla_cpu_parallel_codegen_split_count=4", f"{one[:-1]}4 {emitter} {opt}"),
    ]:
        monkeypatch.setenv("XLA_FLAGS", flags)
        monkeypatch.setattr("importlib.metadata.version", lambda name: "0.10.2")
        cli._faster_cpu_compile(parallel_runs=True)
        assert os.environ["XLA_FLAGS"] == want


def test_compile_bound_run_flags(monkeypatch):
    """A compile-bound experiment's quick run swaps the quick -O1 for -O0 on the CPU, and
    only that."""
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    import types

    bound, plain = (
        types.SimpleNamespace(compile_bound=True),
        types.SimpleNamespace(compile_bound=False),
    )
    emitter, opt = cli._QUICK_FLAGS
    o0 = cli._COMPILE_BOUND_LEVEL
    assert cli._run_flags(bound, f"{emitter} {opt} --x=1") == f"{emitter} {o0} --x=1"
    assert cli._run_flags(plain, f"{emitter} {opt}") == f"{emitter} {opt}"
    for kept in (f"{opt}0", "--xla_backend_optimization_level=3", ""):  # the user's level, none
        assert cli._run_flags(bound, kept) == kept
    monkeypatch.setenv("JAX_PLATFORMS", "cuda")  # an accelerator's kernels keep -O1
    assert cli._run_flags(bound, f"{emitter} {opt}") == f"{emitter} {opt}"


def test_list():
    res = jqd("list")
    assert res.returncode == 0, res.stderr
    names = [line.split()[0] for line in res.stdout.splitlines() if line.strip()]
    assert "kerr-revival" in names and "spreading" in names
    assert "kerr-revival" in res.stdout and "[vmapped sweep: U, alpha0]" in res.stdout
    assert "failed to load" not in res.stdout


@pytest.mark.slow
def test_run_with_overrides_json(tmp_path):
    out = tmp_path / "kerr"
    res = jqd(
        "run",
        "kerr-revival",
        *KERR_SMALL,
        "--set",
        "alpha0=1.5",
        "--set",
        "husimi_points=30",
        "--json",
        "--seed",
        "7",
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)  # stdout is exactly the JSON summary
    assert summary["config"]["alpha0"] == 1.5 and summary["config"]["n_save"] == 20
    assert summary["seed"] == 7 and summary["quick"] is True
    assert summary["passed"] and len(summary["claims"]) >= 3
    for c in summary["claims"]:
        assert set(c) >= {"name", "statement", "measured", "tolerance", "passed"}
    env = summary["environment"]
    assert env["x64"] and env["jax"] and env["jqd"] and env["devices"]
    # --quick compiles with XLA:CPU's elemental emitter where jaxlib has the switch, and
    # kerr-revival (compile-bound) at -O0 in place of the quick runs' -O1
    fast = version("jaxlib").startswith(cli._EMITTER_JAXLIB)
    want = (cli._QUICK_FLAGS[0], cli._COMPILE_BOUND_LEVEL)
    assert all(f in env["xla_flags"].split() for f in want) == fast
    assert cli._QUICK_FLAGS[1] not in env["xla_flags"].split()
    assert summary["wall_time_s"] > 0 and summary["compile_time_s"] > 0
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["claims"] == summary["claims"]
    for f in summary["figures"]:
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import xarray as xr

    with xr.open_dataset(out / "kerr_revival.nc", engine="h5netcdf") as ds:
        assert ds["mean_a_real"].dims == ("t",) and ds.sizes["t"] == 21
        assert ds["husimi"].shape == (4, 30, 30)


def test_bad_override_is_one_line(tmp_path):
    res = jqd("run", "kerr-revival", "--quick", "--set", "nope=1", "--out", tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "unknown key 'nope'" in lines[0] and "alpha0 (float)" in lines[0]  # valid keys
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize(
    "override, expect",
    [
        ("n_save=ten", "not an integer"),
        ("n_save=2.5", "not an integer"),
        ("alpha0=abc", "not a number"),
        ("n_save", "expects key=value"),
    ],
)
def test_bad_override_in_process(override, expect, tmp_path, capsys):
    from jqdlab.cli import main

    assert main(["run", "kerr-revival", "--quick", "--set", override, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0] and "alpha0 (float)" in err[0]


def test_tuple_fields_are_settable():
    """Bare `tuple` Config fields (copy-coalescence's Ns) take comma-separated
    numbers: ints where they read as ints, floats otherwise."""
    from jqdlab.registry import apply_overrides, load, parse_override

    types_ = {"Ns": tuple, "eps": tuple, "pair": tuple[int, float]}
    assert parse_override("x", types_, "Ns=30,100,1e5") == ("Ns", (30, 100, 1e5))
    assert parse_override("x", types_, "eps=(0.1, 0.3)") == ("eps", (0.1, 0.3))
    assert parse_override("x", types_, "pair=2,0.5") == ("pair", (2, 0.5))
    with pytest.raises(Exception, match="not a number: 'ten'"):
        parse_override("x", types_, "Ns=30,ten")
    exp = load("copy-coalescence")
    config = apply_overrides(exp, exp.config.quick(), ["Ns=99,300,1000"])
    assert config.Ns == (99, 300, 1000)


def test_reproduce_one_experiment(tmp_path):
    res = jqd("reproduce", "--quick", "--only", "kerr-revival", "--out", tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    report = (tmp_path / "REPORT.md").read_text()
    rows = [r for r in report.splitlines() if r.startswith("| kerr-revival")]
    assert len(rows) >= 3 and all("| pass |" in r for r in rows)
    assert "[mean_a.png](kerr-revival/mean_a.png)" in report
    assert (tmp_path / "kerr-revival" / "mean_a.png").exists()


BROKEN = """
from dataclasses import dataclass
from jqdlab import Experiment

@dataclass(frozen=True)
class Config:
    x: float = 1.0
    @classmethod
    def quick(cls):
        return cls()

def run(config, rec):
    {body}

EXPERIMENT = Experiment(name="{name}", description="test", config=Config, run=run)
"""


def test_reproduce_isolates_failures(tmp_path):
    exps = tmp_path / "exps"
    for name, body in [
        ("crashes", "raise RuntimeError('boom')"),
        ("fails_claim", "rec.claim('c', 'stmt', measured=2.0, tolerance=1.0)"),
        ("ok", "rec.claim('c', 'stmt', measured=0.5, tolerance=1.0)"),
    ]:
        (exps / name).mkdir(parents=True)
        (exps / name / "experiment.py").write_text(
            BROKEN.format(name=name.replace("_", "-"), body=body)
        )
    res = jqd("reproduce", "--quick", "--out", tmp_path / "out", env={"JQD_EXPERIMENTS": str(exps)})
    assert res.returncode == 4  # an experiment did not finish (1: only claims failed)
    report = (tmp_path / "out" / "REPORT.md").read_text()
    assert "| crashes | (did not run) |" in report and "boom" in report
    assert "exit code 4: jqd: internal error: RuntimeError: boom" in report
    # (no ± SE or step error: not ensemble claims)
    assert "| fails-claim | c | stmt | 2 | — | — | <= 1 | **FAIL** |" in report
    assert "| ok | c | stmt | 0.5 | — | — | <= 1 | pass |" in report


@pytest.mark.slow
def test_reproduce_all_quick_under_5_minutes(tmp_path):
    t0 = time.perf_counter()
    res = jqd("reproduce", "--quick", "--out", tmp_path, timeout=600)
    wall = time.perf_counter() - t0
    assert wall < 300
    report = (tmp_path / "REPORT.md").read_text()
    assert "0 experiments failed to run" in report
    failing = {
        tuple(cell.strip() for cell in row.split("|")[1:3])
        for row in report.splitlines()
        if "**FAIL**" in row
    }
    # No claim may fail (the last known failures, the (ρ, S) laws going NaN in the
    # tails of a freely spreading packet, were fixed; see jqd/dqm/_madelung.py).
    assert failing == set(), failing
    assert res.returncode == 0, res.stdout + res.stderr


# -- sweeps -------------------------------------------------------------------------
SWEEP = [
    "sweep",
    "kerr-revival",
    *KERR_SMALL,
    "--over",
    "U=0.5:2.0:24",
    "--batch",
    "2",
    "--devices",
    "2",
    "--no-progress",
]


# the tests that use it run on one xdist worker: the reference sweep is made once
SHARES_REFERENCE_SWEEP = pytest.mark.xdist_group("reference-sweep")


@pytest.fixture(scope="module")
def reference_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "sweep"
    res = jqd(*SWEEP, "--out", out)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chunks_computed"] == list(range(12)) and summary["devices_used"] == 2
    return out, load_results(out)


def _wait_for_chunks(out: Path, n: int, proc, timeout=120):
    t0 = time.time()
    while len(list((out / "chunks").glob("chunk_*.json"))) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout
        time.sleep(0.05)


def _snapshot(out: Path) -> dict[str, tuple[int, int]]:
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "chunks").glob("chunk_*")
    }


def _assert_resumed(out: Path, before: dict, reference: dict):
    done = sorted(int(n[6:11]) for n in before if n.endswith(".json"))
    res = jqd(*SWEEP, "--out", out)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chunks_reused"] == done
    assert summary["chunks_computed"] == [i for i in range(12) if i not in done]
    after = _snapshot(out)
    for name, stamp in before.items():  # nothing already written was rewritten
        if int(name[6:11]) in done:
            assert after[name] == stamp, name
    got = load_results(out)
    assert got.keys() == reference.keys()
    for k in reference:
        np.testing.assert_array_equal(got[k], reference[k])
    assert not (out / ".lock").exists()
    return res


@pytest.mark.slow
@SHARES_REFERENCE_SWEEP
def test_sweep_sigint_resume_and_concurrent_refusal(tmp_path, reference_sweep):
    out = tmp_path / "sweep"
    # Paced (6 s after each chunk; SIGINT cuts the pause short) so that it is
    # still running while a second command starts, however loaded the machine
    # (at 2 s a loaded CI worker once saw the sweep finish first).
    proc = jqd_popen(*SWEEP, "--out", out, env={"JQD_SWEEP_THROTTLE": "6"})
    try:
        _wait_for_chunks(out, 1, proc)
        # A second sweep into the same folder is refused while the first runs.
        second = jqd(*SWEEP, "--out", out)
        assert second.returncode == 3
        assert f"another jqd sweep (pid {proc.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # (also closes the pipes: no ResourceWarning later)
    assert proc.returncode == 130, err
    assert "Rerun the same command to resume" in err
    assert not (out / ".lock").exists()  # released on SIGINT
    before = _snapshot(out)
    assert 1 <= len([n for n in before if n.endswith(".json")]) < 12
    _assert_resumed(out, before, reference_sweep[1])


@pytest.mark.slow  # 10 s; the SIGINT resume test runs by default
@SHARES_REFERENCE_SWEEP
def test_sweep_sigkill_resume_with_stale_lock(tmp_path, reference_sweep):
    out = tmp_path / "sweep"
    proc = jqd_popen(*SWEEP, "--out", out, env={"JQD_SWEEP_THROTTLE": "0.5"})
    try:
        _wait_for_chunks(out, 3, proc)
        proc.kill()  # SIGKILL: no cleanup at all
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()  # (also closes the pipes: no ResourceWarning later)
    assert proc.returncode == -signal.SIGKILL
    assert (out / ".lock").exists()  # left behind by the killed process
    before = _snapshot(out)
    assert len([n for n in before if n.endswith(".json")]) < 12
    res = _assert_resumed(out, before, reference_sweep[1])
    assert "removed a stale lock" in res.stdout


@pytest.mark.slow
@SHARES_REFERENCE_SWEEP
def test_sweep_corrupt_chunk_recomputed(tmp_path, reference_sweep):
    import shutil

    out = tmp_path / "sweep"
    shutil.copytree(reference_sweep[0], out)
    bad = out / "chunks" / "chunk_00003.npz"
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # a partial write
    (out / "chunks" / "chunk_00007.json").unlink()  # data without its checksum
    res = jqd(*SWEEP, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "chunk 3 is checksum mismatch" in res.stdout
    assert "chunk 7 is partial" in res.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chunks_computed"] == [3, 7]
    got = load_results(out)
    for k, v in reference_sweep[1].items():
        np.testing.assert_array_equal(got[k], v)


@SHARES_REFERENCE_SWEEP
def test_sweep_refuses_other_spec_in_same_folder(tmp_path, reference_sweep):
    import shutil

    out = tmp_path / "sweep"
    shutil.copytree(reference_sweep[0], out)
    other = [a if a != "U=0.5:2.0:24" else "U=0.5:2.0:10" for a in SWEEP]
    res = jqd(*other, "--out", out)
    assert res.returncode == 2 and "holds a different sweep" in res.stderr
    assert "Traceback" not in res.stderr


def test_sweep_bad_arguments(tmp_path, capsys):
    from jqdlab.cli import main

    res = jqd("sweep", "spreading", "--over", "dims=1:3:3", "--out", tmp_path)
    assert res.returncode == 2 and "dims cannot be swept" in res.stderr
    assert "Traceback" not in res.stderr
    for args, expect in [
        (["kerr-revival", "--over", "U=1:2"], "start:stop:num"),
        (["kerr-revival", "--over", "cutoff=24,30", "--mode", "vmapped"], "cannot be vmapped"),
        (["kerr-revival", "--over", "cutoff=1:3:3"], "cutoff=1 truncates the coherent state"),
        (["kerr-revival", "--over", "V=1:2:3"], "unknown key 'V'"),
        (["kerr-revival"], "at least one --over"),
    ]:
        assert main(["sweep", *args, "--out", str(tmp_path)]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expect in err[0], (args, err)


@pytest.mark.slow
def test_list_into_a_closed_pipe_is_quiet():
    """`jqd list | head`: the reader leaves early; no traceback, exit 141 (SIGPIPE's)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "jqdlab.cli", "list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    p.stdout.close()
    with p.stderr:
        err = p.stderr.read()
    assert p.wait() in (0, 141) and b"Traceback" not in err, err.decode()
