"""No silent wrong answers from the integrators and the Schrödinger laws.

Each test is one class of bad input found by an adversarial user (issue 12):
checks that vanished under tracing, unvalidated scalars, mixed precision,
non-finite observables, and a grid step that is only valid where the wave
starts. Family-specific cases live in tests/test_{husimi,dqm,copy}_guards.py;
the per-law contract (NaN constants refused eagerly and under jit(vmap)) in
tests/test_law_contract.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _guards

CUTOFF = 8
H = jqd.fock.kerr_hamiltonian(CUTOFF)
PSI = jqd.normalize(jqd.fock.coherent_state(0.8, CUTOFF, check=False))
BASIS = jqd.SchrodingerBasis()


def _basis_run(H=H, psi=PSI, hbar=1.0, **kwargs):
    kwargs.setdefault("dt", 0.1)
    kwargs.setdefault("n_save", 3)
    return jqd.evolve(BASIS, psi, jqd.MatrixParams(H, hbar), **kwargs).y_final


def _non_hermitian():
    return H.at[0, 1].set(1.0)


# -- checks that survive tracing ---------------------------------------------------


def test_concrete_state_checked_under_grad_over_hbar():
    """Under a transform every value check runs once, in-graph: a bad ψ0 is
    refused (with its name) even though only ħ is traced."""
    with pytest.raises(RuntimeError, match="psi0 is not normalized"):
        jax.grad(lambda hb: jnp.abs(_basis_run(psi=2 * PSI, hbar=hb)[0]))(1.0)


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: (_non_hermitian(), PSI), "H is not Hermitian"),
        (lambda: (H, 2 * PSI), "psi0 is not normalized"),
        (lambda: (H, PSI.at[0].set(jnp.nan)), "NaN or Inf"),
    ],
    ids=["non-hermitian", "doubled-state", "nan-state"],
)
def test_traced_values_checked_in_graph(bad, match):
    Hb, psib = bad()
    with pytest.raises(ValueError, match=match):
        _basis_run(Hb, psib)  # eagerly: ValueError with the value
    with pytest.raises(RuntimeError, match=match):  # under jit: in-graph, same message
        jax.block_until_ready(jax.jit(_basis_run)(Hb, psib))


def test_negative_hbar_refused_inside_vmap():
    with pytest.raises(ValueError, match="params.hbar must be positive"):
        _basis_run(hbar=-1.0)
    with pytest.raises(RuntimeError, match="params.hbar must be positive"):
        jax.block_until_ready(jax.vmap(lambda hb: _basis_run(hbar=hb))(jnp.array([1.0, -1.0])))


def test_in_graph_checks_do_not_change_valid_results():
    eager = _basis_run()
    traced = jax.jit(_basis_run)(H, PSI)
    batched = jax.vmap(lambda hb: _basis_run(hbar=hb))(jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(traced, eager, atol=1e-14)
    np.testing.assert_allclose(batched[1], eager, atol=1e-14)
    g = jax.grad(lambda hb: jnp.abs(_basis_run(hbar=hb)[1]) ** 2)(1.0)
    assert np.isfinite(g)


def test_too_coarse_grid_refused_under_jit():
    grid = jqd.Grid(64, 20.0)
    fast = jqd.reference.gaussian_packet(grid, a=0.3, p0=20.0)
    fast = fast / jnp.sqrt(grid.integrate(jnp.abs(fast) ** 2))
    run = lambda s: (
        jqd.evolve(jqd.SchrodingerGrid(grid), s, jqd.SchrodingerParams(), dt=0.01, n_save=1).y_final
    )
    with pytest.raises(ValueError, match="grid too coarse"):
        run(fast)
    with pytest.raises(RuntimeError, match="grid too coarse"):
        jax.block_until_ready(jax.jit(run)(fast))


# -- one validator for scalars and constants ------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dt": jnp.inf}, "dt must be finite"),
        ({"dt": -0.1}, "dt must be positive"),
        ({"t0": float("nan")}, "t0 must be finite"),
        ({"n_save": 2.5}, "n_save must be an integer"),
        ({"n_save": 0}, "n_save must be >= 1"),
        ({"steps_per_save": True}, "steps_per_save must be a Python int"),
        ({"dt": "0.1"}, "dt must be a real number"),
        ({"dt": jnp.array([0.1, 0.2])}, "dt must be a scalar"),
        ({"steps_per_save": 10**12}, "exceeds max_steps"),
    ],
)
def test_bad_scalars_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _basis_run(**kwargs)


def test_integral_float_counts_accepted():
    np.testing.assert_allclose(_basis_run(n_save=3.0), _basis_run(n_save=3), atol=0)


def test_count_and_scalar_validators():
    assert _guards.count(np.int64(4), "n") == 4
    with pytest.raises(ValueError, match="n must be an integer"):
        _guards.count(float("nan"), "n")
    with pytest.raises(ValueError, match="C must be real"):
        _guards.scalar(1j, "C")
    (finite, positive) = _guards.scalar(np.array([1.0, -2.0]), "m", positive=True)
    with pytest.raises(ValueError, match="m must be positive; got -2"):
        _guards.enforce([finite, positive])


def test_mixed_precision_refused_not_demoted():
    with pytest.raises(ValueError, match=r"params\.H is complex64 but the state is 64-bit"):
        _basis_run(H=H.astype(jnp.complex64))
    # promotion is fine: a single-precision state with double-precision constants
    out = jqd.evolve(BASIS, PSI.astype(jnp.complex64), jqd.MatrixParams(H), dt=0.1, n_save=2)
    assert out.y_final.dtype == jnp.complex64


def test_nan_observable_is_a_breakdown_not_a_result():
    empty_mean = lambda t, y, p: jnp.sum(jnp.abs(y[:0]) ** 2) / jnp.sum(jnp.abs(y[:0]))
    with pytest.raises(jqd.NonFiniteError, match="observable became NaN"):
        _basis_run(observe=empty_mean)
    sol = jqd.evolve(
        BASIS, PSI, jqd.MatrixParams(H), dt=0.1, n_save=2, observe=empty_mean, on_breakdown="flag"
    )
    assert int(sol.stats["breakdown_code"]) == 1 and float(sol.stats["breakdown_time"]) == 0.0


def test_adaptive_path_checks_too():
    ts = jnp.linspace(0.0, 1.0, 3)
    run = lambda Hm, ts=ts: jqd.evolve_adaptive(BASIS, PSI, jqd.MatrixParams(Hm), ts).y_final
    with pytest.raises(ValueError, match="rtol must be positive"):
        jqd.evolve_adaptive(BASIS, PSI, jqd.MatrixParams(H), ts, rtol=0.0, atol=0.0)
    with pytest.raises(ValueError, match="ts must be finite"):
        run(H, ts.at[1].set(jnp.nan))
    with pytest.raises(RuntimeError, match="H is not Hermitian"):
        jax.block_until_ready(jax.jit(run)(_non_hermitian()))


# -- the grid step is checked where the wave is, at every save ---------------------------


def _wall_run(dt, steps_per_save, **kwargs):
    grid = jqd.Grid(512, 40.0)
    wall = lambda x, t, a: 400.0 / (1.0 + jnp.exp(-4.0 * (x[0] - 8.0)))
    law = jqd.SchrodingerGrid(grid, potential=wall)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=3.0, x0=-5.0)
    return jqd.evolve(
        law,
        psi0,
        jqd.SchrodingerParams(),
        dt=dt,
        n_save=20,
        steps_per_save=steps_per_save,
        **kwargs,
    )


def test_grid_step_too_large_where_the_wave_arrives_later():
    """dt = 0.02 is fine where ψ0 starts (V = 0) but V dt/ħ ≈ 8 at the wall it
    reaches at t ≈ 4: the monitor stops the run there with the largest safe dt."""
    with pytest.raises(jqd.schrodinger.TimeStepError, match="Reduce dt below") as err:
        _wall_run(0.02, 25)
    assert 3.0 < err.value.time < 8.0
    safe = err.value.where[0]
    assert 0.005 < safe < 0.02
    flagged = _wall_run(0.02, 25, on_breakdown="flag")
    assert int(flagged.stats["breakdown_code"]) == 2
    ok = _wall_run(0.002, 250)  # below the bound: runs through
    assert int(ok.stats["breakdown_code"]) == 0


def test_nonfinite_state_is_named_by_its_field():
    """A NaN in one field of a pytree state names that field (`y0.phi`), eagerly
    and in-graph (issue 27: it said "y0" whatever the field)."""
    from jqd.copy import MeanField, MeanFieldParams, MeanFieldState

    params = MeanFieldParams.from_hamiltonian(jqd.fock.random_hermitian(jax.random.key(0), 3))
    rho, phi = jnp.full(3, 1 / 3), jnp.array([0.0, jnp.nan, 0.2])
    with pytest.raises(ValueError, match=r"y0\.phi contains NaN"):
        jqd.evolve(MeanField(), MeanFieldState(rho, phi), params, dt=0.1, n_save=1)
    run = jax.jit(
        lambda p: jqd.evolve(MeanField(), MeanFieldState(rho, p), params, dt=0.1, n_save=1)
    )
    with pytest.raises(Exception, match=r"y0\.phi contains NaN"):
        jax.block_until_ready(run(phi).y_final)
