"""GPU checks (marker `gpu`): skipped with "no GPU" where JAX sees none
(tests/conftest.py); `pytest -m gpu` on a machine with `jqd[cuda12]`.

The same float64 programs on the GPU and on the CPU: XLA's kernels differ
(FFT, matrix products, fused reductions), so results agree to rounding, not
bit for bit; each step adds O(1e-16) relative error, so a few hundred steps
stay far below the 1e-12 asked.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd

pytestmark = pytest.mark.gpu


def on(device, fn):
    """fn() with its inputs and computation committed to `device`, as NumPy."""
    with jax.default_device(device):
        return jax.tree_util.tree_map(np.asarray, fn())


def gpu_and_cpu():
    return jax.devices("gpu")[0], jax.devices("cpu")[0]


def kerr_run():
    cutoff = 48
    psi0 = jqd.fock.coherent_state(2.5, cutoff)
    params = jqd.MatrixParams(jqd.fock.kerr_hamiltonian(cutoff))
    sol = jqd.evolve(
        jqd.SchrodingerBasis(), psi0, params, dt=jnp.pi / 400, n_save=40, steps_per_save=10
    )
    return sol.observables


def split_step_run():
    grid = jqd.Grid((1024,), 40.0)
    law = jqd.SchrodingerGrid(grid, potential=lambda x, t, w: 0.5 * w**2 * x[0] ** 2)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=1.0)
    sol = jqd.evolve(
        law, psi0, jqd.SchrodingerParams(potential=1.0), dt=0.005, n_save=20, steps_per_save=10
    )
    return sol.observables


@pytest.mark.parametrize("run", [kerr_run, split_step_run], ids=["kerr", "split-step"])
def test_evolve_on_gpu_equals_cpu(run):
    gpu, cpu = gpu_and_cpu()
    a, b = on(gpu, run), on(cpu, run)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        assert x.dtype == y.dtype and x.dtype in (np.complex128, np.float64)
        assert np.max(np.abs(x - y)) <= 1e-12 * max(1.0, np.max(np.abs(y)))


def test_gpu_arrays_live_on_the_gpu():
    gpu, _ = gpu_and_cpu()
    with jax.default_device(gpu):
        psi = jqd.fock.coherent_state(2.0, 32)
    assert psi.devices() == {gpu} and psi.dtype == jnp.complex128


def test_sweep_on_gpu(tmp_path):
    """kerr-revival's vmapped sweep over U on every local GPU agrees with the
    closed form <a(t)> (physics §4) to 1e-10 at every item."""
    import xarray as xr

    from jqdlab.registry import load
    from jqdlab.sweep import run_sweep

    assert jax.default_backend() == "gpu"
    exp = load("kerr-revival")
    config = dataclasses.replace(exp.config.quick(), n_save=20)
    over = {"U": np.linspace(0.25, 3.0, 64)}
    res = run_sweep(exp, config, over, tmp_path / "s", devices=len(jax.devices()), progress=False)
    assert res.n_items == 64
    with xr.open_dataset(tmp_path / "s" / "results.nc", engine="h5netcdf") as ds:
        t, U = ds["t"].values, ds["U"].values
        got = ds["mean_a_real"].values + 1j * ds["mean_a_imag"].values
    exact = np.asarray(jqd.reference.kerr_mean_a(t[None, :], config.alpha0, U[:, None]))
    assert np.max(np.abs(got - exact)) < 1e-10


def test_bad_params_named_on_gpu():
    """On the GPU an in-graph error surfaces only when a result is read: a NaN
    constant must still come out as the named ValueError (not the raw runtime
    error of a later in-graph check, as it once did for SoftSphereGas)."""
    from jqd.thermal import GasParams, PhaseState, SoftSphereGas

    gpu, _ = gpu_and_cpu()
    with jax.default_device(gpu):
        g = np.arange(4) * 1.5 + 0.3
        q = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
        y0 = PhaseState(jnp.asarray(q), jnp.zeros_like(jnp.asarray(q)))
        params = jax.tree_util.tree_map(jnp.asarray, GasParams(mass=np.nan, kappa=50.0, sigma=1.0))
        law = SoftSphereGas(16, 6.0, 2, cell_size=1.2)
        with pytest.raises(ValueError, match="mass contains NaN"):
            jqd.evolve(law, y0, params, dt=0.02, n_save=2)
