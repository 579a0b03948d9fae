"""The sweep engine in-process: sharding, chunk integrity, locks, grids."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from jqdlab.registry import UsageError, load
from jqdlab.storage import OutputLock, SweepLocked
from jqdlab.sweep import grid_items, parse_over, read_chunk, run_sweep


@pytest.fixture(scope="module")
def kerr():
    exp = load("kerr-revival")
    return exp, dataclasses.replace(exp.config.quick(), n_save=20)


def test_sharded_512_matches_unsharded(kerr, tmp_path):
    assert len(jax.devices()) >= 4  # conftest forces 4 host devices
    exp, config = kerr
    over = {"U": np.linspace(0.25, 3.0, 512)}
    sharded = run_sweep(exp, config, over, tmp_path / "s4", batch=512, devices=4, progress=False)
    single = run_sweep(exp, config, over, tmp_path / "s1", batch=512, devices=1, progress=False)
    assert sharded.summary["devices_used"] == 4 and single.summary["devices_used"] == 1
    import xarray as xr

    a = xr.open_dataset(tmp_path / "s4" / "results.nc", engine="h5netcdf")
    b = xr.open_dataset(tmp_path / "s1" / "results.nc", engine="h5netcdf")
    with a, b:
        assert a["mean_a_real"].dims == ("U", "t") and a.sizes["U"] == 512
        np.testing.assert_array_equal(a["U"].values, over["U"])
        for k in ("mean_a_real", "mean_a_imag", "max_error"):
            np.testing.assert_array_equal(a[k].values, b[k].values)
        # and both agree with the closed form (physics §4) at every U
        assert float(a["max_error"].max()) < 1e-10
        t, U = a["t"].values, a["U"].values
        import jqd

        exact = np.asarray(jqd.reference.kerr_mean_a(t[None, :], config.alpha0, U[:, None]))
        got = a["mean_a_real"].values + 1j * a["mean_a_imag"].values
        assert np.max(np.abs(got - exact)) < 1e-10


def test_uneven_last_chunk_and_grid(kerr, tmp_path):
    exp, config = kerr
    over = {"U": np.array([0.5, 1.0, 1.5]), "alpha0": np.array([1.0, 2.0])}
    res = run_sweep(exp, config, over, tmp_path / "g", batch=4, devices=4, progress=False)
    assert res.n_items == 6 and res.n_chunks == 2
    import xarray as xr

    with xr.open_dataset(tmp_path / "g" / "results.nc", engine="h5netcdf") as ds:
        assert ds["max_error"].dims == ("U", "alpha0") and ds["max_error"].shape == (3, 2)
        t = ds["t"].values
        import jqd

        for i, U in enumerate(over["U"]):
            for j, a0 in enumerate(over["alpha0"]):
                got = ds["mean_a_real"].values[i, j] + 1j * ds["mean_a_imag"].values[i, j]
                exact = np.asarray(jqd.reference.kerr_mean_a(t, a0, U))
                assert np.max(np.abs(got - exact)) < 1e-10


def test_parse_over():
    key, v = parse_over("U=0:1:5")
    assert key == "U" and np.allclose(v, [0, 0.25, 0.5, 0.75, 1])
    assert parse_over("U=1,2.5")[1].tolist() == [1.0, 2.5]
    for bad in ("U", "U=1:2", "U=1:2:0", "U=a:b:3", "U=", "U=nan,1"):
        with pytest.raises(UsageError):
            parse_over(bad)
    items = grid_items({"a": np.array([1.0, 2.0]), "b": np.array([10.0, 20.0, 30.0])})
    assert items["a"].tolist() == [1, 1, 1, 2, 2, 2] and items["b"].tolist()[:3] == [10, 20, 30]


def test_lock_live_and_stale(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(
            json.dumps({"pid": sleeper.pid, "host": os.uname().nodename, "started": 0})
        )
        with pytest.raises(SweepLocked, match=f"pid {sleeper.pid}"):
            OutputLock(tmp_path).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    with OutputLock(tmp_path) as lock:  # the holder is dead: stale, taken over
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert not (tmp_path / ".lock").exists()


def test_read_chunk_rejects_damage(tmp_path):
    from jqdlab.sweep import write_chunk

    arrays = {"x": np.arange(6.0).reshape(3, 2)}
    expected = {"x": ((2,), "float64")}
    write_chunk(tmp_path, 0, 0, 3, arrays, "h")
    got, why = read_chunk(tmp_path, 0, 0, 3, "h", expected)
    assert why == "ok" and np.array_equal(got["x"], arrays["x"])
    assert read_chunk(tmp_path, 0, 0, 3, "other", expected)[1] == "written by a different sweep"
    assert read_chunk(tmp_path, 0, 0, 3, "h", {"x": ((3,), "float64")})[0] is None
    path = tmp_path / "chunk_00000.npz"
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(raw))
    assert read_chunk(tmp_path, 0, 0, 3, "h", expected)[1].startswith("checksum mismatch")
    assert read_chunk(tmp_path, 1, 3, 6, "h", expected)[1] == "missing"
