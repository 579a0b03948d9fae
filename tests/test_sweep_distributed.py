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


def _jqd(args, env, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "jqd.run.cli", "sweep", *args],
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
