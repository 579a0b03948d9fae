"""The `jqd` command's user errors (issue 12, point 5): each is one line on
stderr, `jqd: error: ...`, with exit code 2 (1 stays "a claim failed", 4 "an
internal error"), and
leaves no folder behind. Driven in-process through `jqdlab.cli.main` (one
subprocess check of the real exit code and speed), on tiny configs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from jqdlab.cli import main
from jqdlab.registry import UsageError

REPO = Path(__file__).resolve().parents[1]
TINY = ["--quick", "--set", "n_save=5"]  # kerr-revival's sweep: 6 saved times per item


def usage_error(capsys, argv: list[str], *expect: str) -> str:
    """Run `jqd argv` in-process; it must exit 2 with one `jqd: error:` line."""
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, (argv, captured.err)
    assert len(lines) == 1, (argv, captured.err)
    assert lines[0].startswith("jqd: error: "), lines[0]
    assert "Traceback" not in captured.err
    for text in expect:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def nothing_at(path: Path) -> None:
    assert not path.exists(), sorted(p.name for p in path.iterdir())


# -- jqd run: --set values -----------------------------------------------------------
@pytest.mark.parametrize(
    "override, expect",
    [
        ("alpha0=-1", ["alpha0=-1 is out of range", "alpha0 > 0"]),
        ("n_save=-3", ["n_save=-3 is out of range", "n_save >= 1"]),
        ("U=0", ["U=0 is out of range", "U > 0"]),
        ("husimi_extent=-4", ["husimi_extent > 0"]),
        ("alpha0=nan", ["alpha0=nan is not finite"]),
        ("alpha0=-inf", ["alpha0=-inf is not finite"]),
        ("cutoff=5", ["cutoff=5 truncates", "cutoff >= 23", "cutoff=0"]),
        ("cutoff=100000", ["above the limit of 1024"]),
        ("n_save=2.5", ["not an integer"]),
        ("nope=1", ["unknown key 'nope'", "alpha0 (float)"]),
        ("alpha0", ["expects key=value"]),
    ],
)
def test_run_bad_set_value(override, expect, tmp_path, capsys):
    out = tmp_path / "out"
    usage_error(
        capsys, ["run", "kerr-revival", "--quick", "--set", override, "--out", out], *expect
    )
    nothing_at(out)


def test_run_huge_alpha0_refused_quickly(tmp_path, capsys):
    out = tmp_path / "out"
    t0 = time.perf_counter()
    line = usage_error(
        capsys,
        ["run", "kerr-revival", "--set", "alpha0=1e7", "--out", out],
        "~1e+14 levels",
        "limit is 1024 levels",
        "alpha0 <= 27.4",
    )
    assert time.perf_counter() - t0 < 3, line
    nothing_at(out)


def test_subprocess_exit_code_and_speed(tmp_path):
    """The real command: exit 2, one stderr line, no traceback, seconds not hours."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "jqdlab.cli", "run", "kerr-revival", "--quick"]
        + ["--set", "alpha0=1e7", "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "JQD_TRACEBACK"},
    )
    assert time.perf_counter() - t0 < 30
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("jqd: error: kerr-revival:")
    nothing_at(tmp_path / "out")


# -- the command line and --out ---------------------------------------------------------
def test_command_line_errors_are_one_line(tmp_path, capsys):
    usage_error(capsys, ["run", "no-such-experiment"], "unknown experiment", "kerr-revival")
    usage_error(capsys, ["run"], "required: name", "jqd run --help")
    usage_error(capsys, ["run", "kerr-revival", "--seed", "x"], "--seed", "invalid int")
    usage_error(capsys, [], "required: COMMAND")
    usage_error(capsys, ["reproduce", "--timeout", "0"], "--timeout must be > 0")
    usage_error(capsys, ["reproduce", "--only", "nope"], "unknown experiment(s) nope")


def test_misspelt_names_and_keys_get_a_suggestion(tmp_path, capsys):
    """A misspelt experiment (run, show, sweep, fit) or key (--set, --over, --free) is
    answered with the close matches (difflib), beside the full list."""
    close = "(did you mean 'madelung-nodes'?); available: "
    for command in ("run", "show", "sweep", "fit"):
        usage_error(
            capsys, [command, "madelung-nodez"], "unknown experiment 'madelung-nodez'", close
        )
    usage_error(capsys, ["run", "madelung_nodez"], close)  # underscores as dashes
    usage_error(
        capsys,
        ["reproduce", "--only", "madelung-nodez", "--only", "zzz"],
        "unknown experiment(s) madelung-nodez (did you mean 'madelung-nodes'?), zzz; available",
    )
    keys = "unknown key 'p00' for madelung-nodes (did you mean 'p0'?);"
    usage_error(capsys, ["run", "madelung-nodes", "--set", "p00=1"], keys, "valid keys: n (int)")
    sweep = ["sweep", "madelung-nodes", "--out", tmp_path / "s", "--over"]
    usage_error(capsys, [*sweep, "p00=1,2"], keys, "sweepable keys: n, L")
    fit = ["fit", "husimi-kerr", "--out", tmp_path / "f", "--free"]
    usage_error(
        capsys,
        [*fit, "UU"],
        "--free UU: UU is not a config key for husimi-kerr (did you mean 'U'?)",
    )
    line = usage_error(capsys, ["run", "zzz"], "unknown experiment 'zzz'; available: ")
    assert "did you mean" not in line  # nothing close: no guess
    nothing_at(tmp_path / "s")


def test_bad_cache_setting_is_a_usage_error(tmp_path, capsys, monkeypatch):
    """A malformed JQD_CACHE_* is one line and exit 2 (it was a traceback and exit 1)."""
    monkeypatch.delenv("JQD_NO_CACHE", raising=False)
    monkeypatch.setenv("JQD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("JQD_CACHE_MAX_MB", "abc")
    out = tmp_path / "out"
    usage_error(
        capsys, ["run", "kerr-revival", *TINY, "--out", out], "JQD_CACHE_MAX_MB", "unset it"
    )
    assert not out.exists()


def test_out_is_a_file_or_cannot_be_made(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    run = ["run", "kerr-revival", "--quick", "--out"]
    usage_error(capsys, [*run, a_file], "is a file, not a folder")
    usage_error(capsys, [*run, a_file / "sub"], "is a file, so no folder can be made")
    sweep = ["sweep", "kerr-revival", *TINY, "--over", "U=1,2", "--out"]
    usage_error(capsys, [*sweep, a_file], "is a file, not a folder")
    assert a_file.read_text() == "x"
    if Path("/proc/self").is_dir():  # not creatable, even by root
        usage_error(capsys, [*run, "/proc/jqd-no/out"], "cannot create it")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        usage_error(capsys, [*run, locked / "out"], "not writable")
    assert sorted(p.name for p in tmp_path.iterdir()) in (["a_file"], ["a_file", "locked"])


# -- experiments that fail: exit codes and no empty folder --------------------------------
FAKE = """
from dataclasses import dataclass
from jqdlab import Experiment

@dataclass(frozen=True)
class Config:
    x: float = 1.0
    n: int = 3
    @classmethod
    def quick(cls):
        return cls()

def run(config, rec):
    {body}

def sweep(config, values):
    {sweep_body}

EXPERIMENT = Experiment(name="{name}", description="test", config=Config, run=run,
                        sweep=sweep, sweep_keys=("x",))
"""


@pytest.fixture
def fake_experiments(tmp_path, monkeypatch):
    exps = tmp_path / "exps"
    cases = {
        "raises_value_error": ("raise ValueError('x must be small; use --set x=0.5')", "return 1"),
        "crashes": ("raise RuntimeError('internal bug')", "return 1"),
        "fails_claim": ("rec.claim('c', 'stmt', measured=2.0, tolerance=1.0)", "return 1"),
        "passes": ("rec.claim('c', 'stmt', measured=0.5, tolerance=1.0)", "return 1"),
    }
    for name, (body, sweep_body) in cases.items():
        folder = exps / f"{name}_{tmp_path.name}"  # a fresh module name per test
        folder.mkdir(parents=True)
        (folder / "experiment.py").write_text(
            FAKE.format(name=name.replace("_", "-"), body=body, sweep_body=sweep_body)
        )
    monkeypatch.setenv("JQD_EXPERIMENTS", str(exps))
    monkeypatch.delenv("JQD_TRACEBACK", raising=False)
    return lambda name: f"{name.replace('_', '-')}-{tmp_path.name.replace('_', '-')}"


def test_exit_codes_and_no_empty_folder(fake_experiments, tmp_path, capsys):
    out = tmp_path / "new" / "out"
    usage_error(
        capsys,
        ["run", fake_experiments("raises_value_error"), "--out", out],
        "x must be small; use --set x=0.5",
        "(ValueError in run, ",  # where jqd's check raised it
        "/experiment.py:",
        "JQD_TRACEBACK=1",
    )
    nothing_at(tmp_path / "new")  # the folder and the parent it made are gone
    # a bug: exit 4, one line, its traceback in OUT/jqd-error.log (issue 51) and nothing else
    assert main(["run", fake_experiments("crashes"), "--out", str(out)]) == 4
    assert "jqd: internal error: RuntimeError: internal bug" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["jqd-error.log"]
    assert "RuntimeError: internal bug" in (out / "jqd-error.log").read_text()
    (out / "jqd-error.log").unlink()
    out.rmdir()
    assert main(["run", fake_experiments("fails_claim"), "--out", str(out)]) == 1
    assert json.loads((out / "summary.json").read_text())["passed"] is False
    assert main(["run", fake_experiments("passes"), "--out", str(out)]) == 0
    # a failed rerun into an existing folder leaves no stale summary.json behind
    assert main(["run", fake_experiments("raises_value_error"), "--out", str(out)]) == 2
    assert not (out / "summary.json").exists() and out.is_dir()
    capsys.readouterr()


def test_sweep_exit_code_as_run(fake_experiments, tmp_path, capsys):
    """`jqd sweep` exits 1 when an item fails a claim (as `jqd run`), 0 when all pass."""
    argv = ["sweep", "--over", "n=2,3", "--no-progress", "--out"]
    failing = fake_experiments("fails_claim")
    assert main([argv[0], failing, *argv[1:], str(tmp_path / "f")]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] 0/2 items: c" in out and "failed: item 0 (n=2): c: 2 <= 1 fails" in out
    assert json.loads((tmp_path / "f" / "summary.json").read_text())["passed"] is False
    assert main([argv[0], fake_experiments("passes"), *argv[1:], str(tmp_path / "p")]) == 0
    assert "[PASS] 2/2 items: c" in capsys.readouterr().out


def test_run_config_validation_generic(fake_experiments, tmp_path, capsys):
    name = fake_experiments("passes")
    out = tmp_path / "out"
    usage_error(capsys, ["run", name, "--set", "n=0", "--out", out], "n=0 is out of range", ">= 1")
    usage_error(capsys, ["run", name, "--set", "x=nan", "--out", out], "x=nan is not finite")
    nothing_at(out)


def test_sweep_failing_before_any_chunk_leaves_no_folder(fake_experiments, tmp_path, capsys):
    out = tmp_path / "new" / "sweep"
    usage_error(
        capsys,
        ["sweep", fake_experiments("passes"), "--over", "x=1,2", "--out", out, "--no-progress"],
        "must return a non-empty dict of arrays",
    )
    nothing_at(tmp_path / "new")


# -- jqd sweep: the spec and every item validated before anything runs -----------------------
def test_sweep_bad_specs(tmp_path, capsys):
    out = tmp_path / "sweep"
    sweep = ["sweep", "kerr-revival", *TINY, "--out", out, "--over"]
    usage_error(capsys, [*sweep, "U=1:2"], "start:stop:num")
    usage_error(capsys, [*sweep, "U=1,nan"], "must be finite")
    usage_error(capsys, [*sweep, "V=1:2:3"], "unknown key 'V'", "sweepable keys: alpha0, U, t_max")
    # every numeric key sweeps per item; one compiled (vmapped) program takes only U, alpha0
    for key, why in [
        ("t_max", "fixes the saved times"),
        ("husimi_extent", "only jqd run's Husimi snapshots use it"),
        ("n_save", "an integer fixes array shapes"),
    ]:
        usage_error(
            capsys,
            [*sweep, f"{key}=1:2:3", "--mode", "vmapped"],
            f"{key} cannot be vmapped",
            why,
            "Vmapped keys: U, alpha0",
        )
    line = usage_error(capsys, [*sweep, "n_save=1.5,2"], "n_save is an integer field; got 1.5")
    assert line.count("--over n_save") == 1, line
    usage_error(capsys, [*sweep, "U=1,2", "--over", "U=3,4"], "--over U given twice")
    usage_error(capsys, [*sweep, "U=1,2", "--batch", "0"], "--batch must be >= 1")
    nothing_at(out)


@pytest.mark.parametrize(
    "extra, expect",
    [
        (["--over", "alpha0=-1:2:4"], ["--over alpha0: alpha0=-1 is out of range"]),
        (["--over", "U=0,1"], ["--over U: U=0 is out of range"]),
        (["--over", "alpha0=1:100:3"], ["sweep item alpha0=50.5", "alpha0 <= 27.4"]),
        (["--set", "cutoff=30", "--over", "alpha0=1,2,8"], ["item alpha0=8", "cutoff >= "]),
        (["--set", "alpha0=nan", "--over", "U=1,2"], ["alpha0=nan is not finite"]),
        # a grid over 4096 items: the hook sees each value with the others' extremes
        (["--over", "U=0.5:2:100", "--over", "alpha0=1:30:50"], ["alpha0=30", "alpha0 <= 27.4"]),
    ],
)
def test_sweep_items_validated_as_run(extra, expect, tmp_path, capsys):
    out = tmp_path / "sweep"
    t0 = time.perf_counter()
    usage_error(capsys, ["sweep", "kerr-revival", *TINY, *extra, "--out", out], *expect)
    assert time.perf_counter() - t0 < 5
    nothing_at(out)


@pytest.mark.slow
def test_sweep_cutoff_follows_the_largest_alpha0(tmp_path):
    """The base config's cutoff (from alpha0 = 2) would truncate alpha0 = 8
    (max error 4.4); the sweep derives it from the largest swept value."""
    import dataclasses

    import jqd
    from jqdlab.registry import load
    from jqdlab.sweep import run_sweep

    exp = load("kerr-revival")
    config = dataclasses.replace(exp.config.quick(), n_save=5)
    over = {"alpha0": np.array([1.0, 8.0])}
    res = run_sweep(exp, config, over, tmp_path / "s", batch=2, devices=1, progress=False)
    cutoff = res.summary["config"]["cutoff"]
    assert cutoff == jqd.fock.coherent_cutoff(8.0, tol=1e-20) + 4
    import xarray as xr

    with xr.open_dataset(tmp_path / "s" / "results.nc", engine="h5netcdf") as ds:
        assert float(ds["max_error"].max()) < 1e-10


# -- resuming: other code, corrupt manifest -------------------------------------------------
@pytest.fixture
def tiny_sweep(tmp_path, capsys, monkeypatch):
    import jqdlab.sweep
    from jqdlab.registry import load

    # The real fingerprint, frozen: a source edit elsewhere in the worktree while
    # this test runs must not look like the edit the test simulates.
    code = jqdlab.sweep.code_fingerprint(load("kerr-revival"))
    monkeypatch.setattr(jqdlab.sweep, "code_fingerprint", lambda exp: dict(code))
    out = tmp_path / "sweep"
    argv = ["sweep", "kerr-revival", *TINY, "--over", "U=1,2", "--batch", "1", "--devices", "1"]
    argv += ["--no-progress", "--out", str(out)]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["code"]) >= {
        "jqd_version",
        "jqd_source_sha256",
        "experiment_source_sha256",
    }
    capsys.readouterr()
    return argv, out


def test_resume_after_code_change_refused(tiny_sweep, capsys):
    argv, out = tiny_sweep
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    for key, what in [
        ("experiment_source_sha256", "the experiment's source"),
        ("jqd_source_sha256", "jqd's source"),
    ]:
        edited = {**manifest, "code": {**manifest["code"], key: "0" * 64}}
        path.write_text(json.dumps(edited))
        usage_error(capsys, argv, "chunks computed by other code", f"{what} changed", "--fresh")
    assert main([*argv, "--fresh"]) == 0  # starts afresh
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chunks_computed"] == [0, 1] and summary["code"] == manifest["code"]
    assert main(argv) == 0  # and the same code resumes
    assert json.loads((out / "summary.json").read_text())["chunks_reused"] == [0, 1]
    capsys.readouterr()


def test_corrupt_manifest_reported_as_corrupt(tiny_sweep, capsys):
    argv, out = tiny_sweep
    path = out / "manifest.json"
    for text in ['{"spec_hash": ', "[1, 2]", "\x00\xff"]:
        path.write_text(text, encoding="latin-1")
        line = usage_error(capsys, argv, "is corrupt", str(path), "--fresh")
        assert "different sweep" not in line
    path.unlink()  # chunks without a manifest: who wrote them is unknown
    usage_error(capsys, argv, "no manifest.json", "--fresh")
    assert main([*argv, "--fresh"]) == 0
    capsys.readouterr()


# -- the declarations themselves ---------------------------------------------------------------
def test_every_experiment_default_and_quick_config_is_valid():
    from jqdlab.registry import discover, load
    from jqdlab.validate import check_config

    for name in discover():
        exp = load(name)
        for config in (exp.config(), exp.config.quick()):
            check_config(exp, config)


def test_run_length_is_bounded_by_the_run_budget(tmp_path, capsys, monkeypatch):
    """`--set t_max=1e9` (a run that would not end) is refused before anything runs,
    naming the key, its bound and the fix; a value within the budget is accepted."""
    import dataclasses

    from jqdlab.registry import load
    from jqdlab.validate import check_config

    monkeypatch.delenv("JQD_MAX_STEPS", raising=False)
    out = tmp_path / "out"
    run = ["run", "kerr-revival", *TINY, "--out", out, "--set"]
    usage_error(
        capsys,
        [*run, "t_max=1e9"],
        "t_max=1e+09 would make kerr-revival's run 1.59e+08 times as long as its default",
        "run budget of 1000 times the default's length",
        "use t_max <= 6283.19, or raise the budget with JQD_MAX_STEPS=N (or none)",
    )
    sweep = ["sweep", "kerr-revival", *TINY, "--out", out, "--over", "t_max=1,1e5"]
    usage_error(capsys, sweep, "--over t_max: t_max=100000 would make", "t_max <= 6283.19")
    nothing_at(out)
    exp = load("kerr-revival")
    check_config(exp, dataclasses.replace(exp.config.quick(), t_max=6000.0))  # within
    monkeypatch.setenv("JQD_MAX_STEPS", "none")  # the budget lifted, as for jqd.evolve
    check_config(exp, dataclasses.replace(exp.config.quick(), t_max=1e9))
    monkeypatch.setenv("JQD_MAX_STEPS", "1e12")
    with pytest.raises(UsageError, match=r"JQD_MAX_STEPS = 1e\+12 steps.*t_max <= 6\.28319e\+07"):
        check_config(exp, dataclasses.replace(exp.config.quick(), t_max=1e9))


def test_an_experiments_cost_bound_scales_with_the_run_budget(monkeypatch):
    """copy-coalescence's own bound on its runs' cost (thinning candidates of the exact
    law) is refused by default, naming JQD_MAX_STEPS, and lifted by it: N/1e8 times
    the bound, `none` without one (the opt-in for a deliberately long run)."""
    import dataclasses

    from jqdlab.registry import load
    from jqdlab.validate import check_config

    exp = load("copy-coalescence")
    # the exact law to N = 3e4 with 64 ensembles, to 0.42 N: ~1.5e10 candidates
    long = dataclasses.replace(
        exp.config(), Ns=(6, 9, 30000), batch=32, exact_max=10**9, t_cap=0.42
    )
    monkeypatch.delenv("JQD_MAX_STEPS", raising=False)
    with pytest.raises(UsageError, match=r"thinning candidates.*more than 1e\+10.*JQD_MAX_STEPS"):
        check_config(exp, long)
    monkeypatch.setenv("JQD_MAX_STEPS", "1.2e8")  # 1.2 × the bound: still too many
    with pytest.raises(UsageError, match=r"~1\.5e\+10 thinning candidates.*more than 1\.2e\+10"):
        check_config(exp, long)
    monkeypatch.setenv("JQD_MAX_STEPS", "2e8")
    check_config(exp, long)
    monkeypatch.setenv("JQD_MAX_STEPS", "none")
    check_config(exp, long)


def test_every_time_like_key_is_bounded():
    """Every experiment's times and step counts (`RUN_LENGTH_KEYS`) and time steps
    are bounded: each one alone 2000 times longer (a step 2000 times shorter) is
    refused, 500 times accepted."""
    import dataclasses

    from jqdlab.registry import discover, load
    from jqdlab.validate import check_run_length, run_length

    found = set()
    for name in discover():
        exp = load(name)
        default = exp.config()
        for key in run_length(exp, default):
            found.add(key)
            value, step = getattr(default, key), key.startswith("dt")
            for factor, refused in ((2000, True), (500, False)):
                new = value / factor if step else type(value)(value * factor)
                config = dataclasses.replace(default, **{key: new})
                if refused:
                    with pytest.raises(UsageError, match=f"{key} {'>=' if step else '<='} "):
                        check_run_length(exp, config)
                else:
                    check_run_length(exp, config)
    expect = {"t_max", "t_end", "t_final", "T", "n_t", "dt", "steps_per_save", "n_save"}
    assert expect <= found, expect - found
    from jqd._evolve import RUN_BUDGET_STEPS
    from jqdlab import validate

    assert validate.RUN_BUDGET_STEPS == RUN_BUDGET_STEPS  # (a copy: validate starts no JAX)


def test_python_api_config_types_are_checked(tmp_path):
    """A Config built in Python skips the --set parser: a wrong type is still named
    (n_save="40" used to surface as an unrelated cutoff error from the law)."""
    import dataclasses

    from jqdlab.registry import load
    from jqdlab.results import run_experiment

    exp = load("kerr-revival")
    for field, value, says in [
        ("n_save", "40", "n_save='40' is a str; kerr-revival's n_save is int"),
        ("n_save", 40.0, "n_save=40 is a float"),
        ("n_save", True, "n_save=True is a bool"),
        ("U", None, "U=None is a NoneType; kerr-revival's U is float"),
    ]:
        config = dataclasses.replace(exp.config.quick(), **{field: value})
        with pytest.raises(UsageError, match=re.escape(says)):
            run_experiment(exp, config, tmp_path / "out")
        assert not (tmp_path / "out").exists()


@pytest.mark.slow  # runs two sweeps; the declaration itself is checked at Experiment creation
def test_sweep_keys_change_the_result():
    """Each declared sweep key moves kerr-revival's sweep output (the others
    are refused because they do not)."""
    import dataclasses

    import jax

    from jqdlab.registry import load

    exp = load("kerr-revival")
    config = exp.sweep_config(dataclasses.replace(exp.config.quick(), n_save=5), {})
    values = {k: 1.5 for k in exp.sweep_keys}
    for key in exp.sweep_keys:
        f = lambda v, key=key: exp.sweep(config, {**values, key: v})["mean_a"]
        _, tangent = jax.jvp(f, (1.5,), (1.0,))
        assert float(np.max(np.abs(tangent))) > 1e-3, key


def test_reproduce_into_a_folder_in_use_is_refused(tmp_path, capsys):
    """Two `jqd reproduce` into one --out would mix their summaries: the second is
    refused (exit 3) while the first holds the folder's lock."""
    import socket

    out = tmp_path / "out"
    out.mkdir()
    holder = os.getppid()  # a live process on this host stands for the first run
    (out / ".lock").write_text(json.dumps({"pid": holder, "host": socket.gethostname()}))
    rc = main(["reproduce", "--quick", "--only", "kerr-revival", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 3, err
    assert f"another jqd reproduce (pid {holder})" in err and "Traceback" not in err
    assert not (out / "kerr-revival").exists()  # nothing ran
