"""One sweep across two processes with `jax.distributed` (coordinator on
127.0.0.1) gives the single-process result bit for bit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SWEEP = [
    "kerr-revival",
    "--quick",
    "--set",
    "n_save=20",
    "--over",
    "U=0.5:2.0:10",
    "--over",
    "alpha0=1.5,2.0",
    "--batch",
    "8",
    "--no-progress",
    "--no-cache",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(devices: int, **extra) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env.update(extra)
    return env


def _jqd(args, env, command="sweep", **kw):
    """`jqd COMMAND ARGS` in a subprocess (stderr into stdout); also used by
    tests/test_copy_coalescence_distributed.py."""
    return subprocess.Popen(
        [sys.executable, "-m", "jqdlab.cli", command, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _arrays(path: Path) -> dict:
    import xarray as xr

    with xr.open_dataset(path / "results.nc", engine="h5netcdf") as ds:
        return {k: ds[k].values.copy() for k in ds.data_vars}


@pytest.mark.slow
def test_two_processes_match_one_process_bitwise(tmp_path):
    port = _free_port()
    procs = [
        _jqd(
            [*SWEEP, "--distributed", "--out", str(tmp_path / "multi")],
            _env(
                1, JQD_COORDINATOR=f"127.0.0.1:{port}", JQD_NUM_PROCESSES="2", JQD_PROCESS_ID=str(i)
            ),
        )
        for i in range(2)
    ]
    single = _jqd([*SWEEP, "--devices", "2", "--out", str(tmp_path / "single")], _env(2))
    outs = [p.communicate(timeout=300)[0] for p in [*procs, single]]
    for p, out in zip([*procs, single], outs, strict=True):
        assert p.returncode == 0, out
    assert "2 device(s) x 2 process(es)" in outs[0] and "2 device(s) x 1 process(es)" in outs[2]
    multi, one = _arrays(tmp_path / "multi"), _arrays(tmp_path / "single")
    assert multi.keys() == one.keys() and "max_error__passed" in multi
    for k in multi:
        np.testing.assert_array_equal(multi[k], one[k])
    assert float(np.max(multi["max_error"])) < 1e-10 and multi["max_error"].shape == (10, 2)
    assert not (tmp_path / "multi" / ".lock").exists()


TOY = '''
import dataclasses
from jqdlab import Experiment


@dataclasses.dataclass(frozen=True)
class Config:
    """Attributes:
        n: terms of the partial sum.
    """

    n: int = 4

    @classmethod
    def quick(cls):
        return cls()


def run(config, rec):
    import os

    s = sum(1.0 / k**2 for k in range(1, config.n + 1))
    rec.claim("partial sum of 1/k^2 below pi^2/6", "toy", s, 1.6449340668482264)
    rec.metric("process", int(os.environ.get("JQD_PROCESS_ID", "0")))


EXPERIMENT = Experiment(name="toy-sum", description="toy", config=Config, run=run)
'''


@pytest.mark.slow
def test_per_item_items_dealt_to_two_processes(tmp_path):
    (tmp_path / "exps" / "toy_sum").mkdir(parents=True)
    (tmp_path / "exps" / "toy_sum" / "experiment.py").write_text(TOY)
    args = ["toy-sum", "--over", "n=1:6:6", "--no-progress", "--no-cache", "--out"]
    port = _free_port()
    procs = [
        _jqd(
            [*args, str(tmp_path / "multi"), "--distributed"],
            _env(
                1,
                JQD_EXPERIMENTS=str(tmp_path / "exps"),
                JQD_COORDINATOR=f"127.0.0.1:{port}",
                JQD_NUM_PROCESSES="2",
                JQD_PROCESS_ID=str(i),
            ),
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    got = _arrays(tmp_path / "multi")
    # item i ran in process i % 2, and every partial sum is exact
    assert got["metric_process"].tolist() == [0, 1, 0, 1, 0, 1]
    sums = [sum(1.0 / k**2 for k in range(1, n + 1)) for n in range(1, 7)]
    np.testing.assert_array_equal(got["partial_sum_of_1_k_2_below_pi_2_6"], sums)
