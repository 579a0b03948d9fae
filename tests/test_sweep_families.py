"""A vmapped sweep of each law family, at tiny sizes, checked against the
family's exact reference item by item (not only against the sweep's own claims)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import jqd
from jqdlab.registry import load
from jqdlab.sweep import run_sweep


def _sweep(name, tmp_path, over, **changes):
    exp = load(name)
    config = dataclasses.replace(exp.config.quick(), **changes)
    res = run_sweep(exp, config, over, tmp_path / name, progress=False, devices=2)
    import xarray as xr

    with xr.open_dataset(tmp_path / name / "results.nc", engine="h5netcdf") as ds:
        return res, ds.load()


@pytest.mark.slow
def test_schrodinger_grid_spreading(tmp_path):
    over = {"a": np.array([1.3, 1.6]), "mass": np.array([1.0, 2.0])}
    res, ds = _sweep("spreading", tmp_path, over, n_save=4, t_final=2.0)
    assert res.summary["mode"] == "vmapped" and not res.summary["items_failed"]
    t = ds["t"].values
    for i, a in enumerate(over["a"]):
        for j, m in enumerate(over["mass"]):
            exact = a * np.sqrt((1 + (t / (m * a**2)) ** 2) / 2)  # physics §1, ħ = 1
            assert np.max(np.abs(ds["sigma_x"].values[i, j] - exact)) < 1e-10
    assert ds["width_error_1d__passed"].values.all()


@pytest.mark.slow
def test_thermal_free_ring_cm(tmp_path):
    over = {"width": np.array([0.1, 0.2, 0.4]), "hbar": np.array([0.02, 0.05])}
    res, ds = _sweep("thermal-localization", tmp_path, over, n_save=5, t_max=20.0)
    t = ds["t"].values
    N, m = 20, 1.0  # quick ring_atoms, mass
    for i, d in enumerate(over["width"]):
        for j, hb in enumerate(over["hbar"]):
            exact = d**2 / (2 * N) + hb**2 * t**2 / (2 * N * m**2 * d**2)  # physics §7.3
            np.testing.assert_allclose(ds["cm_variance"].values[i, j], exact, rtol=1e-12)
    assert res.summary["claims"]["cm_relative_error"] == {"passed": 6, "items": 6}


@pytest.mark.slow
def test_schrodinger_basis_kerr_vs_closed_form(tmp_path):
    over = {"U": np.array([0.5, 1.0, 2.0])}
    res, ds = _sweep("kerr-revival", tmp_path, over, n_save=10)
    t = ds["t"].values
    got = ds["mean_a_real"].values + 1j * ds["mean_a_imag"].values
    for i, U in enumerate(over["U"]):
        exact = np.asarray(jqd.reference.kerr_mean_a(t, 2.0, U))
        assert np.max(np.abs(got[i] - exact)) < 1e-10
    assert ds["max_error__passed"].values.all()


@pytest.mark.slow
def test_per_item_sweep_of_a_real_experiment(tmp_path):
    """The per-item mode on a real experiment: thermal-equilibration over L."""
    exp = load("thermal-equilibration")
    res = run_sweep(
        exp, exp.config.quick(), {"L": np.array([8.0, 10.0])}, tmp_path / "te", progress=False
    )
    assert res.summary["mode"] == "per-item" and not res.summary["items_failed"]
    assert all(c["items"] == 2 for c in res.summary["claims"].values())


@pytest.mark.slow  # 15 s; the vmapped sweep: the three families above, the laws: test_dqm_*
def test_madelung_dqm_harmonic_moments(tmp_path):
    """The canonical DQM law (dqm-fit-D's sweep) at D = ħ/2m in harmonic wells
    k x²/2 from the Gaussian a = 1 at x0 = 1 (ħ = m = 1, ω = √k): ⟨x⟩ = x0 cos ωt and
    Var x = cos²ωt/2 + sin²ωt/(2ω²). Tolerances: 10× a separate calibration run at
    x0 = 0.5 (max errors 2.6e-13 and 1.1e-10; the variance's is the grid's own
    floor, the same at every k)."""
    over = {"k": np.array([0.5, 1.0, 2.0])}
    res, ds = _sweep("dqm-fit-D", tmp_path, over, mu=0.0, x0=1.0)
    assert res.summary["mode"] == "vmapped" and not res.summary["items_failed"]
    t = ds["t"].values
    for i, k in enumerate(over["k"]):
        w = np.sqrt(k)
        mean = np.cos(w * t)
        var = np.cos(w * t) ** 2 / 2 + np.sin(w * t) ** 2 / (2 * w**2)
        assert np.max(np.abs(ds["mean_x"].values[i] - mean)) < 3e-12
        assert np.max(np.abs(ds["var_x"].values[i] - var)) < 1.1e-9
    assert ds["max_density_error__passed"].values.all()


@pytest.mark.slow  # 20 s; the per-item mode: tests/test_sweep_modes.py, the claims: -m mutants
def test_nelson_per_item_over_seed(tmp_path):
    """Nelson and Bohm ensembles (nelson-two-time, quick) swept per item over the
    seed: every item runs the experiment with its own noise, against its exact
    references (the claims), and the items differ."""
    exp = load("nelson-two-time")
    res = run_sweep(
        exp, exp.config.quick(), {"seed": np.array([0, 1])}, tmp_path / "n", progress=False
    )
    assert res.summary["mode"] == "per-item" and not res.summary["items_failed"]
    assert all(c == {"passed": 2, "items": 2} for c in res.summary["claims"].values())
    import xarray as xr

    with xr.open_dataset(tmp_path / "n" / "results.nc", engine="h5netcdf") as ds:
        ground = [v for v in ds.data_vars if v.startswith("nelson_ground_state_x_t_x_0")][0]
        a, b = ds[ground].values
    assert a != b  # independent noise per seed, not one result copied
    import json

    problems = json.loads((tmp_path / "n" / "summary.json").read_text())["figure_problems"]
    assert not problems, problems  # claim names with e^{...} drawn as mathtext
