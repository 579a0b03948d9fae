"""No silent wrong answers from the DQM family (issue 12).

Each test is one class of bad input found by an adversarial user: value
checks of the (ρ, S) laws and the ensembles that vanished under tracing, a
ψ = 0 region that Madelung accepted, a Nelson step too large for the nodes
of ψ, a particle given an absurd drift at a node, and statistics with
unvalidated occupations. Each bad input raises eagerly (ValueError, with the
value and the fix) and, for guards, under jit/vmap/grad (in-graph); valid
runs are unaffected.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _guards
from jqd.dqm import (
    BohmEnsemble,
    CanonicalDQM,
    DQMParams,
    EnsembleBreakdownError,
    EnsembleState,
    Madelung,
    MadelungState,
    NelsonEnsemble,
    ParticleMoments,
    gaussian_state,
    log_weight_mb,
    pattern_frequencies,
    sample_density,
    sample_occupations,
    state_from_psi,
)

# Every class of bad input for this family; run with -m slow (the default run keeps
# the law-independent cases in tests/test_guards.py and the per-law eager contract).
pytestmark = pytest.mark.slow

GRID = jqd.Grid(128, 16.0)
V_HO = lambda x, t, a: 0.5 * x[0] ** 2


def _fluid(law=None, y0=None, params=None, dt=0.005, **kwargs):
    law = Madelung(GRID, V_HO) if law is None else law
    y0 = gaussian_state(GRID, a=1.0, x0=0.5) if y0 is None else y0
    params = DQMParams() if params is None else params
    return jqd.evolve(law, y0, params, dt=dt, n_save=1, **kwargs)


def _doubled(y):
    return MadelungState(2 * y.rho, y.S, y.momentum, y.chirp)


def _guarded(law, y, params, dt):
    """What `jqd.evolve` does with a law's guards, without compiling its step:
    under jit/vmap the traced guards are staged in-graph (jqd._guards)."""
    return _guards.enforce(law.checks(y, params, dt), y, "guards")


# -- (ρ, S) laws: value checks survive tracing ---------------------------------------


def test_unnormalized_density_refused_eagerly_and_in_graph():
    y0 = gaussian_state(GRID, a=1.0, x0=0.5)
    with pytest.raises(ValueError, match=r"y0.rho is not normalized .* grid.integrate"):
        _fluid(y0=_doubled(y0))
    law = Madelung(GRID, V_HO)
    with pytest.raises(RuntimeError, match="y0.rho is not normalized"):
        jax.block_until_ready(jax.jit(lambda y: _guarded(law, y, DQMParams(), 0.005))(_doubled(y0)))
    both = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), y0, _doubled(y0))
    with pytest.raises(RuntimeError, match="y0.rho is not normalized"):
        jax.block_until_ready(jax.vmap(lambda y: _guarded(law, y, DQMParams(), 0.005).rho)(both))
    # under a transform every value check runs in-graph, also for a concrete state
    with pytest.raises(RuntimeError, match="y0.rho is not normalized"):
        jax.grad(lambda m: jnp.sum(_fluid(y0=_doubled(y0), params=DQMParams(mass=m)).y_final.S))(
            1.0
        )


def test_negative_density_refused():
    y0 = gaussian_state(GRID, a=1.0, x0=0.5)
    bad = MadelungState(y0.rho.at[3].set(-1e-3), y0.S)
    with pytest.raises(ValueError, match="y0.rho has negative values"):
        _fluid(y0=bad)


def test_negative_hbar_refused_inside_vmap():
    run = lambda hb: _fluid(params=DQMParams(hbar=hb)).y_final.rho
    with pytest.raises(RuntimeError, match="params.hbar must be positive"):
        jax.block_until_ready(jax.vmap(run)(jnp.array([1.0, -1.0])))


def test_diffusion_constant_checked_in_graph():
    law = CanonicalDQM(GRID, V_HO)
    y0 = gaussian_state(GRID, a=1.0, x0=0.5)
    with pytest.raises(ValueError, match="params.D must be positive"):
        _fluid(law, params=DQMParams(D=-0.1))
    run = lambda D: _guarded(law, y0, DQMParams(D=D), 0.005).rho
    with pytest.raises(RuntimeError, match="params.D must be positive"):
        jax.block_until_ready(jax.vmap(run)(jnp.array([0.4, -0.4])))
    with pytest.raises(ValueError, match=r"Madelung law is the D = ħ/2m = 0.5 case"):
        _fluid(params=DQMParams(D=0.3))


def test_rk4_limit_names_the_largest_safe_dt_and_holds_under_jit():
    with pytest.raises(ValueError, match=r"RK4 stability limit .*use dt <= 0\.007915"):
        _fluid(dt=1.0)
    with pytest.raises(RuntimeError, match="RK4 stability limit"):
        jax.block_until_ready(jax.jit(lambda dt: _fluid(dt=dt).y_final.rho)(1.0))


def _compact_bump():
    """ψ = cos²(πx/6) on |x| < 3, exactly 0 outside: a hard edge."""
    grid = jqd.Grid(128, 16.0)
    (x,) = grid.axes()
    psi = jnp.where(jnp.abs(x) < 3, jnp.cos(np.pi * x / 6) ** 2, 0.0) + 0j
    return grid, jqd.normalize(psi, grid)


def test_vacuum_region_refused_naming_where():
    """Madelung accepted a ψ = 0 region and was off by 0.015 (L1) at t = 0.5,
    NaN at t = 1, with no breakdown; now refused at t0, naming the edge."""
    grid, psi = _compact_bump()
    law = Madelung(grid)
    y0 = state_from_psi(grid, psi)
    run = lambda y: jqd.evolve(law, y, DQMParams(), dt=0.005, n_save=1).y_final.rho
    with pytest.raises(ValueError, match=r"falls by e\^\d+ to vacuum .* at x = \(-2\.938\)"):
        run(y0)
    with pytest.raises(RuntimeError, match="falls by e\\^\\? to vacuum"):
        jax.block_until_ready(jax.jit(run)(y0))


def test_valid_fluid_run_unaffected_by_the_guards():
    sol = _fluid(y0=gaussian_state(GRID, a=1.0, x0=0.5, p0=0.2), steps_per_save=4)
    assert int(sol.stats["breakdown_code"]) == 0
    assert abs(float(GRID.integrate(sol.y_final.rho)) - 1) < 1e-10


# -- Nelson and Bohm ensembles -----------------------------------------------------


@pytest.fixture(scope="module")
def node_state():
    """The first excited oscillator state (a node at 0) and 2000 particles."""
    grid = jqd.Grid(128, 16.0)
    psi = jnp.asarray(jqd.reference.oscillator_eigenstate(grid, 1) + 0j)
    x = sample_density(jax.random.key(1), grid, jnp.abs(psi) ** 2, 2000)
    return grid, psi, x


def _nelson(grid, y0, dt, law=None, **kwargs):
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V_HO)) if law is None else law
    kwargs.setdefault("n_save", 1)
    return jqd.evolve(law, y0, jqd.SchrodingerParams(), dt=dt, key=jax.random.key(2), **kwargs)


def test_nelson_step_too_large_for_the_nodes(node_state):
    """dt = 0.1 in the n = 1 state gave ⟨x²⟩ = 1.81 at t = 2 (exact 1.5); now
    refused with the largest safe dt, which is then accepted."""
    grid, psi, x = node_state
    y0 = EnsembleState(psi, x)
    with pytest.raises(ValueError, match=r"too large for the nodes of psi0: \d+ of 2000") as err:
        _nelson(grid, y0, 0.1)
    safe = float(str(err.value).rsplit("dt <= ", 1)[1].rstrip("."))
    assert 0.005 < safe < 0.05
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V_HO))
    _guarded(law, y0, jqd.SchrodingerParams(), safe)  # the safe dt passes
    guarded = jax.jit(lambda y, dt: _guarded(law, y, jqd.SchrodingerParams(), dt))
    with pytest.raises(RuntimeError, match="too large for the nodes of psi0"):
        jax.block_until_ready(guarded(y0, 0.1))


def test_nelson_node_step_is_monitored_at_every_save(node_state):
    """Without the t0 guard the monitor stops the run at the first save where
    the step is too large for the nodes, with the particle and the safe dt."""
    grid, psi, x = node_state
    with pytest.raises(EnsembleBreakdownError, match="too large for the nodes") as err:
        _nelson(grid, EnsembleState(psi, x), 0.1, check=False)
    assert err.value.time == 0.0 and 0.005 < err.value.where[-1] < 0.05


def test_nelson_node_step_monitor_under_jit(node_state):
    grid, psi, x = node_state
    flag = lambda y: _nelson(grid, y, 0.1, check=False, on_breakdown="flag").stats
    stats = jax.jit(flag)(EnsembleState(psi, x))
    assert int(stats["breakdown_code"]) == 3 and 0.005 < float(stats["breakdown_where"][-1]) < 0.05


def test_absurd_drift_at_a_node_is_a_breakdown_at_the_particle(node_state):
    """With rho_floor = 0 a particle on the node gets a NaN drift (one 1e-9
    away gets 1e9) and was thrown across the box; now the step is not taken
    and the run stops naming the particle's position."""
    grid, psi, x = node_state
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V_HO), rho_floor=0.0)
    on_node = EnsembleState(psi, x.at[7, 0].set(0.0))
    with pytest.raises(EnsembleBreakdownError, match="non-finite drift") as err:
        _nelson(grid, on_node, 0.01, law=law, steps_per_save=2)
    assert err.value.where[0] == 0.0 and err.value.time == pytest.approx(0.02)


def test_absurd_drift_flagged_under_jit(node_state):
    grid, psi, x = node_state
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V_HO), rho_floor=0.0)
    near = EnsembleState(psi, x.at[7, 0].set(1e-9))
    flag = lambda y: _nelson(grid, y, 0.01, law=law, steps_per_save=2, on_breakdown="flag").stats
    stats = jax.jit(flag)(near)
    assert int(stats["breakdown_code"]) == 4
    assert float(stats["breakdown_where"][0]) == pytest.approx(1e-9, abs=1e-12)


def test_bohm_absurd_drift_is_a_breakdown_too(node_state):
    grid, psi, x = node_state
    law = BohmEnsemble(jqd.SchrodingerGrid(grid, V_HO), rho_floor=0.0)
    moving = jqd.normalize(psi * jnp.exp(0.1j * grid.axes()[0]), grid)
    y0 = EnsembleState(moving, x.at[7, 0].set(0.0))
    with pytest.raises(EnsembleBreakdownError, match="non-finite drift") as err:
        jqd.evolve(law, y0, jqd.SchrodingerParams(), dt=0.01, n_save=1)
    assert err.value.where[0] == 0.0


def test_degenerate_ensembles_refused(node_state):
    grid, psi, x = node_state
    with pytest.raises(ValueError, match="holds no particles"):
        _nelson(grid, EnsembleState(psi, x[:0]), 0.01)
    outside = EnsembleState(psi, x + 20.0)
    with pytest.raises(ValueError, match=r"y0.x must lie in the box .* Wrap the positions"):
        _nelson(grid, outside, 0.01)
    with pytest.raises(RuntimeError, match="y0.x must lie in the box"):
        jax.block_until_ready(jax.jit(lambda y: _nelson(grid, y, 0.01).y_final.x)(outside))


def test_negative_hbar_refused_for_ensembles_inside_vmap(node_state):
    grid, psi, x = node_state
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, V_HO))
    run = lambda hb: (
        jqd.evolve(
            law,
            EnsembleState(psi, x),
            jqd.SchrodingerParams(hbar=hb),
            dt=0.01,
            n_save=1,
            key=jax.random.key(0),
        ).y_final.x
    )
    with pytest.raises(RuntimeError, match="params.hbar must be positive"):
        jax.block_until_ready(jax.vmap(run)(jnp.array([1.0, -1.0])))


def test_valid_nodal_run_unaffected(node_state):
    """At an accepted dt the moments are finite and no breakdown is flagged."""
    grid, psi, x = node_state
    sol = _nelson(grid, EnsembleState(psi, x), 0.01, steps_per_save=5, observe=ParticleMoments())
    assert int(sol.stats["breakdown_code"]) == 0
    assert np.all(np.isfinite(np.asarray(sol.observables)))
    assert abs(float(sol.observables[-1, 0, 1]) - 1.5) < 0.2


# -- statistics ---------------------------------------------------------------------


def test_occupations_must_be_nonnegative_integers():
    with pytest.raises(ValueError, match="n must hold nonnegative integer occupations; got 1.5"):
        log_weight_mb(jnp.array([1.5, 0.5, 1.0]))
    with pytest.raises(RuntimeError, match="nonnegative integer occupations"):
        jax.block_until_ready(jax.jit(log_weight_mb)(jnp.array([2, -1, 1])))
    assert math.isclose(float(jnp.exp(log_weight_mb(jnp.array([1, 1])))), 0.5)


def test_pattern_frequencies_refuse_counts_of_another_N():
    """A row summing to N' ≠ N matched an unrelated pattern of N, silently."""
    counts = np.array([[2, 1, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match=r"must sum to N = 3; row 1 sums to 2"):
        pattern_frequencies(counts, 3, 3)


def test_bose_einstein_sampling_checked_under_jit():
    run = jax.jit(
        lambda mu: sample_occupations(jax.random.key(0), jnp.array([0.0, 1.0]), 1.0, mu, "BE")
    )
    with pytest.raises(RuntimeError, match="every level above the chemical potential"):
        jax.block_until_ready(run(0.5))
    assert np.all(np.asarray(run(-0.5)) >= 0)
