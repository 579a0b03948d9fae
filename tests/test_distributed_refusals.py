"""Issue 51, item 2: a --distributed job's processes agree or stop, fast. A
partial or malformed set of JQD_* variables is refused before anything starts;
a process missing or two with one id stop the job within
JQD_DISTRIBUTED_TIMEOUT (here a few seconds; it took 306 s, or never ended);
processes given different grids stop before any work (process 1's values were
written under process 0's labels, and process 0 exited 0). Processes on
127.0.0.1, one CPU device each (tests/test_sweep_distributed.py)."""

from __future__ import annotations

import time

import pytest
from test_sweep_distributed import _env, _free_port, _jqd

from jqdlab.cli import main

SWEEP = ["kerr-revival", "--quick", "--set", "n_save=5", "--no-progress", "--no-cache"]
WAIT = "4"  # JQD_DISTRIBUTED_TIMEOUT of these tests (seconds)


def _job(port: int, n: int, i: int, **extra) -> dict:
    job = dict(JQD_NUM_PROCESSES=str(n), JQD_PROCESS_ID=str(i), JQD_DISTRIBUTED_TIMEOUT=WAIT)
    return _env(1, JQD_COORDINATOR=f"127.0.0.1:{port}", **{**job, **extra})


def _finish(procs, timeout=90) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        try:
            text = p.communicate(timeout=timeout)[0]
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        out.append((p.returncode, text))
    return out


def _jqd_line(text: str) -> str:
    """The jqd error line among JAX's own log lines."""
    lines = [ln for ln in text.splitlines() if ln.startswith("jqd: error:")]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize(
    "env, expect",
    [
        ({"JQD_COORDINATOR": "127.0.0.1:1"}, "not JQD_NUM_PROCESSES and JQD_PROCESS_ID"),
        (
            {"JQD_NUM_PROCESSES": "2", "JQD_PROCESS_ID": "0"},
            "JQD_NUM_PROCESSES and JQD_PROCESS_ID set but not JQD_COORDINATOR",
        ),
        ({"JQD_COORDINATOR": "h:1", "JQD_NUM_PROCESSES": "two", "JQD_PROCESS_ID": "0"}, "'two'"),
        ({"JQD_COORDINATOR": "h:1", "JQD_NUM_PROCESSES": "2", "JQD_PROCESS_ID": "2"}, "0..1"),
        (
            {"JQD_COORDINATOR": "nohost", "JQD_NUM_PROCESSES": "2", "JQD_PROCESS_ID": "0"},
            "host:port",
        ),
        (
            {
                "JQD_COORDINATOR": "h:1",
                "JQD_NUM_PROCESSES": "2",
                "JQD_PROCESS_ID": "0",
                "JQD_DISTRIBUTED_TIMEOUT": "-1",
            },
            "JQD_DISTRIBUTED_TIMEOUT='-1'",
        ),
    ],
)
def test_job_variables_checked_before_anything_starts(env, expect, tmp_path, capsys, monkeypatch):
    for k in ("JQD_COORDINATOR", "JQD_NUM_PROCESSES", "JQD_PROCESS_ID", "JQD_DISTRIBUTED_TIMEOUT"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    t0 = time.perf_counter()
    rc = main(["sweep", *SWEEP, "--over", "U=1,2", "--distributed", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("jqd: error: "), err
    assert expect in err, err
    assert " set " in err or "give " in err or "unset " in err, err  # the fix
    assert time.perf_counter() - t0 < 5 and not (tmp_path / "o").exists()


def test_a_missing_process_stops_the_job_in_seconds(tmp_path):
    """JQD_NUM_PROCESSES=2 and one process: it waited 300 s, then JAX aborted it."""
    t0 = time.perf_counter()
    ((rc, text),) = _finish(
        [
            _jqd(
                [*SWEEP, "--over", "U=1,2", "--distributed", "--out", str(tmp_path / "o")],
                _job(_free_port(), 2, 0),
            )
        ]
    )
    assert rc == 2, text
    line = _jqd_line(text)
    assert "the job did not assemble" in line and "waited 4 s for the others" in line
    for name in ("JQD_PROCESS_ID=0", "JQD_NUM_PROCESSES=2", "JQD_COORDINATOR=127.0.0.1:"):
        assert name in line, line
    assert time.perf_counter() - t0 < 40 and not (tmp_path / "o").exists()


def test_processes_given_different_grids_stop_before_any_work(tmp_path):
    port = _free_port()
    procs = [
        _jqd(
            [*SWEEP, "--over", over, "--distributed", "--out", str(tmp_path / "o")],
            _job(port, 2, i),
        )
        for i, over in enumerate(("U=1,2", "U=1,3"))
    ]
    t0 = time.perf_counter()
    for i, (rc, text) in enumerate(_finish(procs)):
        assert rc == 2, text
        line = _jqd_line(text)
        assert "the processes were not given the same job" in line, line
        other = 1 - i
        theirs, mine = ("[1.0, 3.0]", "[1.0, 2.0]") if i == 0 else ("[1.0, 2.0]", "[1.0, 3.0]")
        assert f"over.U: {theirs} in process {other}, {mine} in process {i}" in line, line
    assert time.perf_counter() - t0 < 60
    assert not (tmp_path / "o" / "chunks").exists() or not any(
        (tmp_path / "o" / "chunks").iterdir()
    )


@pytest.mark.slow  # three processes: 15-25 s on 2 shared cores
def test_two_processes_with_one_id_stop_the_job(tmp_path):
    """Ids 0, 1, 1 for JQD_NUM_PROCESSES=2: JAX's runtime aborts the job when the
    second 1 joins (or that one waits); each process ends with a jqd error naming
    the variables within seconds: exit 2 (4 where the first two had already
    agreed on the job, which a loaded machine may allow). It never ended."""
    port = _free_port()
    procs = []
    for i in (0, 1, 1):
        procs.append(
            _jqd(
                [*SWEEP, "--over", "U=1,2", "--distributed", "--out", str(tmp_path / "o")],
                _job(port, 2, i),
            )
        )
        time.sleep(0.3)
    t0 = time.perf_counter()
    for rc, text in _finish(procs):
        assert rc in (2, 4), text
        line = _jqd_line(text)
        assert "JQD_PROCESS_ID" in line and "JAX's runtime" in line or "waited" in line, line
    assert time.perf_counter() - t0 < 60


@pytest.mark.slow  # ~35 s: the stopped process's peer waits for it, bounded by the timeout
def test_a_process_that_stops_before_agreeing_stops_the_other(tmp_path):
    """Process 1's --over is malformed (refused after the job assembled): it exits
    2 with its own error, although JAX aborts it at exit for want of its peer, and
    process 0 is stopped with a jqd error pointing at the other's output."""
    port = _free_port()
    procs = [
        _jqd(
            [*SWEEP, "--over", over, "--distributed", "--out", str(tmp_path / "o")],
            _job(port, 2, i, JQD_DISTRIBUTED_TIMEOUT="10"),
        )
        for i, over in enumerate(("U=1,2", "U=bad"))
    ]
    t0 = time.perf_counter()
    (rc0, text0), (rc1, text1) = _finish(procs)
    assert rc1 == 2 and "jqd: error: --over 'U=bad'" in _jqd_line(text1), text1
    assert rc0 == 2, text0
    line = _jqd_line(text0)
    assert "before the processes compared their jobs" in line and "another process" in line
    assert time.perf_counter() - t0 < 60
