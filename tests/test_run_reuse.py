"""Issue 51, item 1: whatever reuses a result checks what made it, and every
writing command locks its --out. A checkpoint folder (a config's `checkpoint`
field, copy-coalescence's among them) resumes only the run that wrote it
(config, seed, process count, code); a sweep folder only the same sweep (its
seed too); a second `jqd run`, or a run beside a sweep, reproduce or fit, into
one --out is refused (exit 3). Driven in-process through `jqdlab.cli.main`
on toy experiments, with one subprocess pair for the live lock."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jqdlab.cli import main

REPO = Path(__file__).resolve().parents[1]

TOY = '''
import dataclasses
import json
import time
from pathlib import Path

from jqdlab import Experiment


@dataclasses.dataclass(frozen=True)
class Config:
    """Attributes:
        a: the number whose double is checkpointed.
        sleep: a second value to sweep (seconds slept).
        wait_for: a file: the run lasts until it exists (a run that lasts; "" = none).
        checkpoint: a folder: the double is written there and a rerun resumes it ("" = none).
    """

    a: float = 1.0
    sleep: float = 0.0
    wait_for: str = ""
    checkpoint: str = ""

    @classmethod
    def quick(cls):
        return cls()


def run(config, rec):
    time.sleep(config.sleep)
    t0 = time.monotonic()
    while config.wait_for and not Path(config.wait_for).exists() and time.monotonic() < t0 + 120:
        time.sleep(0.05)
    path = Path(config.checkpoint) / "double.json" if config.checkpoint else None
    resumed = path is not None and path.exists()
    value = json.loads(path.read_text()) if resumed else 2 * config.a
    if path is not None and not resumed:
        path.write_text(json.dumps(value))
    rec.metric("resumed", resumed)
    rec.claim("twice a", "toy", abs(value - 2 * config.a), 1e-12)


def sweep(config, values):
    return {"double": 2 * values["a"]}


EXPERIMENT = Experiment(name="{name}", description="toy", config=Config, run=run,
                        sweep=sweep, sweep_keys=("a",))
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy's command-line name (a fresh module per test) in JQD_EXPERIMENTS."""
    name = f"toy-reuse-{tmp_path.name.replace('_', '-')}"
    folder = tmp_path / "exps" / name.replace("-", "_")
    folder.mkdir(parents=True)
    (folder / "experiment.py").write_text(TOY.replace("{name}", name))
    monkeypatch.setenv("JQD_EXPERIMENTS", str(tmp_path / "exps"))
    monkeypatch.delenv("JQD_TRACEBACK", raising=False)
    return name


def _run(capsys, *argv) -> tuple[int, str]:
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def _resumed(out: Path) -> bool:
    return json.loads((out / "summary.json").read_text())["metrics"]["resumed"]


def test_checkpoint_resumes_only_the_run_that_wrote_it(toy, tmp_path, capsys):
    ck, out = tmp_path / "ck", tmp_path / "out"
    run = ["run", toy, "--out", out, "--set", f"checkpoint={ck}"]
    assert _run(capsys, *run)[0] == 0 and not _resumed(out)
    record = json.loads((ck / "jqd-checkpoint.json").read_text())
    assert record["config"] == {"a": 1.0, "sleep": 0.0, "wait_for": ""} and record["seed"] == 0
    assert record["processes"] == 1 and "jqd_source_sha256" in record["code"]
    assert _run(capsys, *run)[0] == 0 and _resumed(out)  # the same run resumes
    # another config or seed: refused, naming what differs and the fixes
    for extra, differs in [
        (["--set", "a=2"], "config.a: 1.0 there, 2.0 now"),
        (["--seed", "7"], "seed: 0 there, 7 now"),
    ]:
        rc, err = _run(capsys, *run, *extra)
        assert rc == 2 and err.count("\n") == 1, err
        assert differs in err and "--fresh" in err and "--set checkpoint=NEW" in err, err
    assert json.loads((ck / "double.json").read_text()) == 2.0  # untouched
    # other code: a jqd or experiment source edited since
    edited = {**record, "code": {**record["code"], "experiment_source_sha256": "0" * 64}}
    (ck / "jqd-checkpoint.json").write_text(json.dumps(edited))
    rc, err = _run(capsys, *run)
    assert rc == 2 and "computed by other code (the experiment's source changed" in err
    # --fresh discards it and records the new key
    assert _run(capsys, *run, "--set", "a=2", "--fresh")[0] == 0 and not _resumed(out)
    assert json.loads((ck / "double.json").read_text()) == 4.0
    assert json.loads((ck / "jqd-checkpoint.json").read_text())["config"]["a"] == 2.0
    assert _run(capsys, *run, "--set", "a=2")[0] == 0 and _resumed(out)


def test_checkpoint_folder_of_unknown_origin_refused(toy, tmp_path, capsys):
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "double.json").write_text("999.0")  # an older jqd's checkpoint, or anything
    run = ["run", toy, "--out", tmp_path / "out", "--set", f"checkpoint={ck}"]
    rc, err = _run(capsys, *run)
    assert rc == 2 and "holds files but no jqd-checkpoint.json" in err and "--fresh" in err
    assert (ck / "double.json").read_text() == "999.0"
    assert _run(capsys, *run, "--fresh")[0] == 0
    assert json.loads((ck / "double.json").read_text()) == 2.0  # computed, not 999 resumed
    (tmp_path / "a_file").write_text("x")
    rc, err = _run(
        capsys,
        "run",
        toy,
        "--out",
        tmp_path / "o",
        "--set",
        "checkpoint=" + str(tmp_path / "a_file"),
    )
    assert rc == 2 and "is a file, not a folder" in err


def test_copy_coalescence_changed_config_refused(tmp_path, capsys, monkeypatch):
    """The issue's example: a checkpoint written with the default coupling is not
    resumed under coupling=0.2 (it was, and its t_align and claims were reported
    as the new config's). Refused before anything is computed."""
    import dataclasses

    from jqdlab.registry import load
    from jqdlab.storage import prepare_checkpoint

    monkeypatch.delenv("JQD_TRACEBACK", raising=False)
    ck = tmp_path / "ck"
    exp = load("copy-coalescence")
    written = dataclasses.replace(exp.config.quick(), checkpoint=str(ck))
    prepare_checkpoint(exp, written, seed=0)  # what the first run recorded
    (ck / "N99.npz").write_bytes(b"the first run's saves")
    t0 = time.perf_counter()
    run = ["run", "copy-coalescence", "--quick", "--out", tmp_path / "out"]
    rc, err = _run(capsys, *run, "--set", f"checkpoint={ck}", "--set", "coupling=0.2")
    assert rc == 2, err
    assert "config.coupling: 0.15 there, 0.2 now" in err and "--fresh" in err
    assert time.perf_counter() - t0 < 30
    assert not (tmp_path / "out").exists()  # nothing ran


def test_per_item_sweep_refuses_a_shared_checkpoint(toy, tmp_path, capsys):
    """Every item of a per-item sweep would resume the first item's checkpoint."""
    rc, err = _run(
        capsys,
        *["sweep", toy, "--over", "sleep=0,0.01", "--out", tmp_path / "s", "--no-progress"],
        *["--set", f"checkpoint={tmp_path / 'ck'}"],
    )
    assert rc == 2 and "every item of a per-item sweep would resume" in err, err
    assert not (tmp_path / "ck").exists()


def test_sweep_resume_names_what_differs_seed_included(toy, tmp_path, capsys):
    """A per-item sweep's items use --seed: a rerun with another seed reused them."""
    argv = ["sweep", toy, "--over", "sleep=0", "--out", tmp_path / "s", "--no-progress"]
    assert _run(capsys, *argv, "--seed", "1")[0] == 0
    rc, err = _run(capsys, *argv, "--seed", "2")
    assert rc == 2 and "holds a different sweep (seed: 1 there, 2 now)" in err, err
    rc, err = _run(capsys, *argv, "--seed", "1", "--set", "a=3")
    assert rc == 2 and "config.a: 1.0 there, 3.0 now" in err, err


def _hold_lock(out: Path, command: str) -> int:
    """A lock on `out` as a live jqd `command` on this host leaves it."""
    out.mkdir(parents=True, exist_ok=True)
    holder = os.getppid()  # a live process that is not this one
    info = {"pid": holder, "host": socket.gethostname(), "command": command}
    (out / ".lock").write_text(json.dumps(info))
    return holder


@pytest.mark.parametrize("holder", ["run", "sweep", "reproduce", "fit"])
def test_every_writing_command_refuses_a_locked_out(holder, toy, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    pid = _hold_lock(out, holder)
    for argv in (
        ["run", toy],
        ["sweep", toy, "--over", "a=1,2", "--no-progress"],
        ["reproduce", "--only", toy],
        ["fit", "copy-fit-qr", "--quick", "--free", "q", "--no-progress"],
    ):
        if argv[0] == "fit":  # an experiment of the repository's
            monkeypatch.delenv("JQD_EXPERIMENTS")
        rc, err = _run(capsys, *argv, "--out", out)
        assert rc == 3, (argv, err)
        assert f"another jqd {holder} (pid {pid}) is writing {out}" in err, err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written


def test_two_runs_into_one_out(toy, tmp_path, capsys):
    """Two live `jqd run`s into one folder: the second (here in-process) is refused
    (exit 3) while the first runs, and the first's results are whole."""
    out = tmp_path / "out"
    env = dict(os.environ, JQD_EXPERIMENTS=os.environ["JQD_EXPERIMENTS"])
    cmd = [sys.executable, "-m", "jqdlab.cli", "run", toy, "--out", str(out)]
    first = subprocess.Popen(
        [*cmd, "--set", f"wait_for={tmp_path / 'go'}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / ".lock").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.1)
        rc, err = _run(capsys, "run", toy, "--out", out)
        assert rc == 3, err
        assert f"another jqd run (pid {first.pid}) is writing {out}" in err
        (tmp_path / "go").touch()
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["wait_for"] == str(tmp_path / "go") and summary["passed"]
    assert not (out / ".lock").exists()


def test_lock_names_an_older_holder_by_the_acquirer(tmp_path):
    """A lock file written before locks named their command still refuses."""
    from jqdlab.storage import OutputLock, SweepLocked

    (tmp_path / ".lock").write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(SweepLocked, match="another jqd run"):
        OutputLock(tmp_path, "run").acquire()


def test_checkpoint_write_interrupted_keeps_the_last_one(tmp_path, monkeypatch):
    """A run killed while it writes a checkpoint (a session's end, a preemption)
    resumes from the one before: `savez_atomic` and `write_text_atomic` write a
    temporary file and rename it, so the checkpoint is always a whole file; a
    bare `np.savez(path)` here leaves half a zip that no resume can read. Every
    experiment (and benchmarks/run_copy_leap.py) writes its files through them."""
    import ast

    import numpy as np

    from jqdlab.toolkit import savez_atomic, write_text_atomic

    npz, js = tmp_path / "N300.npz", tmp_path / "N300_rms.json"
    savez_atomic(npz, y0=np.arange(4.0), chunks=3)
    write_text_atomic(js, "[0.1, 0.2]")

    def dies_midway(f, *args, **kwargs):  # the process is killed after some bytes
        (f.write if hasattr(f, "write") else Path(f).write_bytes)(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies_midway)
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: dies_midway(self))
    with pytest.raises(KeyboardInterrupt):
        savez_atomic(npz, y0=np.zeros(4), chunks=4)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(js, "[0.3, 0.4]")
    monkeypatch.undo()
    with np.load(npz) as z:
        assert int(z["chunks"]) == 3 and np.array_equal(z["y0"], np.arange(4.0))
    assert json.loads(js.read_text()) == [0.1, 0.2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [js.name, npz.name]
    )  # no temporaries

    writes = {"savez", "savez_compressed", "write_text", "write_bytes"}
    files = [*REPO.glob("experiments/*/experiment.py"), *REPO.glob("benchmarks/run_copy_*.py")]
    bare = [
        f"{f.relative_to(REPO)}:{node.lineno}"
        for f in files
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in writes
    ]
    assert not bare, f"write these through jqdlab.toolkit's savez_atomic/write_text_atomic: {bare}"


def test_run_copy_leap_resumes_only_its_own_code(tmp_path, monkeypatch):
    """benchmarks/run_copy_leap.py keeps a run's settings and the sha256 of
    the code that computes it (jqd's source, the experiment's) beside its
    checkpoint: the same run resumes; other settings, other code, or a
    checkpoint that predates the code record are refused, naming what differs."""
    import importlib

    from jqdlab import registry

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    rcl = importlib.import_module("run_copy_leap")
    registry.load("copy-coalescence")
    code = rcl.code(sys.modules["jqd_experiments.copy_coalescence"])
    assert set(code) == {"jqd_source_sha256", "experiment_source_sha256"}
    assert all(len(v) == 64 for v in code.values())

    path = tmp_path / "ck" / "N999-coupled-dt0.25.json"
    made = {"N": 999, "dt": 0.25, "batch": 4, "code": code}
    rcl.refuse_another_run(path, made)  # a new run records its key
    assert json.loads(path.read_text()) == made
    rcl.refuse_another_run(path, dict(made))  # the same run resumes
    for now, names in [
        ({**made, "batch": 8}, "'batch': (4, 8)"),
        (
            {**made, "code": {**code, "jqd_source_sha256": "0" * 64}},
            "'code': ['jqd_source_sha256']",
        ),
    ]:
        with pytest.raises(SystemExit, match=re.escape(names)):
            rcl.refuse_another_run(path, now)
    # pooled finished runs (--pool, --ladder) come from one code; unrecorded ones pass
    other = {**made, "code": {**code, "experiment_source_sha256": "1" * 64}}
    rcl.one_code(["a", "b", "c"], [made, made, {"N": 999}])
    with pytest.raises(SystemExit, match="a, b: made by different code"):
        rcl.one_code(["a", "b", "c"], [made, other, made])
    path.write_text(json.dumps({k: v for k, v in made.items() if k != "code"}))  # an older run
    with pytest.raises(
        SystemExit, match="'code': \\['jqd_source_sha256', 'experiment_source_sha256'\\]"
    ):
        rcl.refuse_another_run(path, made)


def test_copy_exponent_pools_replicates_of_one_run_only(tmp_path, monkeypatch, capsys):
    """benchmarks/copy_exponent.py N=A,B pools checkpoints as replicates: the
    same ensembles twice (a key base repeated) would halve the SE, another N
    or step would mix two runs, and two codes two laws; each is refused by
    name (`same_run`), from the settings file run_copy_leap.py keeps beside
    each checkpoint."""
    import importlib

    import numpy as np

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    ce = importlib.import_module("copy_exponent")
    base = {"N": 999999, "dt": 0.25, "levels": 1024, "piece": 8, "chunk": 10, "seeds": 2}

    def ck(name, **settings):
        path = tmp_path / name / "N999999.npz"
        path.parent.mkdir()
        np.savez(path, V=np.ones((2, 3)))
        path.with_suffix(".json").write_text(json.dumps({**base, **settings}))
        return str(path)

    a, b = ck("a", key_base=200, batch=4), ck("b", key_base=300, batch=2)
    ce.same_run([a, b])  # replicates: other key bases and batches
    for paths, says in [
        ([a, ck("c", key_base=200, batch=4)], "the same ensembles twice"),
        ([a, ck("d", key_base=400, batch=4, dt=0.125)], "not a replicate of"),
        ([ck("e", key_base=1, code={"x": "1"}), ck("f", key_base=2, code={"x": "2"})], "code"),
    ]:
        with pytest.raises(SystemExit, match=says):
            ce.same_run(paths)
    Path(b).with_suffix(".json").unlink()
    with pytest.raises(SystemExit, match="no settings file"):
        ce.same_run([a, b])
    # a pool the README states by its numbers replaces the table's point; a bad one is refused
    monkeypatch.setattr(sys, "argv", ["copy_exponent.py", "--point", "999999=219500,22000"])
    ce.main()
    assert (
        "t_align 219500 ± 2.2e+04 in place of the table's (172598, 21963)"
        in capsys.readouterr().out
    )
    monkeypatch.setattr(sys, "argv", ["copy_exponent.py", "--point", "1000=3,1"])
    with pytest.raises(SystemExit):
        ce.main()
    assert "--point 1000=3,1: N must be one of" in capsys.readouterr().err


@pytest.mark.slow
def test_run_copy_exact_groups_are_one_run(tmp_path, monkeypatch, capsys):
    """benchmarks/run_copy_exact.py runs the exact law's ensembles in groups
    that finish on their own: merged, they are the ensembles of one batched
    run from the same keys (the saves to 1e-12), their record refuses a
    merge of another run (another `--n-terms`) or of a group that has not
    run, and run_copy_leap.py's `--exact` reads the folder (the same starts)."""
    import importlib

    import numpy as np

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    monkeypatch.syspath_prepend(str(REPO))
    rce = importlib.import_module("run_copy_exact")
    rcl = importlib.import_module("run_copy_leap")
    out = str(tmp_path / "out")
    line = ["--N", "30", "--batch", "2", "--groups", "2", "--out", out]

    def cli(*extra):
        monkeypatch.setattr(sys, "argv", ["run_copy_exact.py", *line, *extra])
        rce.main()
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    cli("--group", "0")
    with pytest.raises(SystemExit, match="group 1 has not run"):
        cli("--merge")
    assert cli("--merge", "--partial")["groups"] == [0]  # the groups there so far
    cli("--group", "1")
    merged = cli("--merge", "--npz", str(tmp_path / "m.npz"))
    assert merged["ensembles"] == 4 and merged["groups"] == [0, 1]
    V = np.load(tmp_path / "m.npz")["V"]

    from experiments.copy_coalescence import experiment as ex
    from jqd.copy import CopyMembersFaithfulMobius, MatrixParams

    cfg = ex.Config(batch=2, big_batch=2, Ns=rcl.NS, chunk=8)
    keys, dt = ex._keys_and_spacing(cfg, 0, 30)
    law = CopyMembersFaithfulMobius(3, max_substep=cfg.max_substep, max_events_per_step=None,
                                    n_terms=16)  # fmt: skip
    init, adv = ex._ensembles(law, MatrixParams(H=ex.hamiltonian(cfg)), 30, 3, cfg.chunk)
    _, o = adv(init(keys, 1.0), ex._chunk_keys(keys, 0), dt)  # the 4 ensembles at once
    np.testing.assert_allclose(V, o[0], rtol=0, atol=1e-12)
    assert np.ptp(V[:, -1]) > 0  # the ensembles differ

    with pytest.raises(SystemExit, match=re.escape("'n_terms': (16, 32)")):
        cli("--merge", "--n-terms", "32")
    pair = np.stack([V, V], -1)
    assert np.array_equal(rcl.exact_saves(Path(out), 30, cfg, 0, pair), V)
    with pytest.raises(SystemExit, match="other ensembles"):
        rcl.exact_saves(Path(out), 30, ex.Config(batch=4, Ns=rcl.NS), 0, pair)
