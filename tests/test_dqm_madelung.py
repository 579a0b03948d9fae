"""Madelung law: validation against grid Schrödinger and the exact oscillator
Gaussian, breakdown detection at nodes (the law's monitor) and input checks.
The generic law contract (jit, vmap, dtypes, recompiles, grads) is in
tests/test_law_contract.py (cases in tests/cases_dqm.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd.dqm import (
    CanonicalDQM,
    DQMParams,
    Madelung,
    MadelungBreakdownError,
    MadelungState,
    MadelungValidity,
    UncertaintyProduct,
    evolve_madelung,
    find_breakdown,
    gaussian_state,
    state_from_psi,
    state_to_psi,
)

V_HO = lambda x, t, a: 0.5 * a["omega"] ** 2 * x[0] ** 2


# each module fixture's tests run on one xdist worker: the fixture runs once
@pytest.fixture(scope="module")
def harmonic_runs():
    """One oscillator period of a displaced Gaussian (x0 = 1, p0 = 0.3):
    Madelung, canonical DQM (D = ħ/2m) and grid Schrödinger (Yoshida-4)."""
    grid = jqd.Grid(128, 16.0)
    params = DQMParams(potential={"omega": 1.0})
    y0 = gaussian_state(grid, a=1.0, x0=1.0, p0=0.3)
    n, n_save = 800, 8
    dt = 2 * np.pi / n
    out = {"grid": grid, "y0": y0, "params": params}
    for name, law in (("madelung", Madelung(grid, V_HO)),):
        sol = jqd.evolve(
            law,
            y0,
            params,
            dt=dt,
            n_save=n_save,
            steps_per_save=n // n_save,
            observe={"rho": jqd.observables.Density(law), "E": jqd.observables.Energy(law)},
            checkpoint=False,
        )
        out[name] = sol
    sch = jqd.SchrodingerGrid(grid, V_HO, scheme=jqd.schemes.Yoshida4())
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0, x0=1.0, p0=0.3)
    out["schrodinger"] = jqd.evolve(
        sch,
        psi0,
        jqd.SchrodingerParams(potential={"omega": 1.0}),
        dt=dt,
        n_save=n_save,
        steps_per_save=n // n_save,
        observe=jqd.observables.Density(sch),
        checkpoint=False,
    )
    ts = np.asarray(out["schrodinger"].ts)
    out["exact"] = np.stack(
        [
            np.abs(np.asarray(jqd.reference.harmonic_gaussian(grid, t, x0=1.0, p0=0.3))) ** 2
            for t in ts
        ]
    )
    return out


@pytest.mark.slow
@pytest.mark.xdist_group("madelung-harmonic_runs")
@pytest.mark.parametrize("name", ["madelung"])
def test_matches_schrodinger_over_one_period(harmonic_runs, name):
    rho = np.asarray(harmonic_runs[name].observables["rho"])
    ref = np.asarray(harmonic_runs["schrodinger"].observables)
    assert np.isclose(harmonic_runs[name].ts[-1], 2 * np.pi)
    # the reference itself is exact to 1e-8 (so the comparison tests the law)
    assert np.max(np.abs(ref - harmonic_runs["exact"])) < 1e-8
    err = np.max(np.abs(rho - ref))
    assert err < 1e-6, err
    assert np.max(np.abs(rho - harmonic_runs["exact"])) < 1e-6


@pytest.mark.xdist_group("madelung-harmonic_runs")
def test_energy_conserved(harmonic_runs):
    E = np.asarray(harmonic_runs["madelung"].observables["E"])
    # E = <H> of the displaced coherent state: ħω/2 + m ω² x0²/2 + p0²/2m
    assert abs(E[0] - (0.5 + 0.5 + 0.045)) < 1e-8  # FD8 discretization: 2.7e-9
    assert np.max(np.abs(E - E[0])) < 1e-8


def test_vector_fields_agree():
    grid = jqd.Grid(128, 16.0)
    params = DQMParams(potential={"omega": 1.3})
    y = gaussian_state(grid, a=0.8, x0=0.7, p0=-0.4)
    y = MadelungState(
        y.rho,
        0.1 * jnp.cos(2 * np.pi * grid.mesh()[0] / 16.0) * y.rho,
        y.momentum,
        jnp.array([0.2]),
    )
    f1 = jax.jit(lambda u: Madelung(grid, V_HO).vector_field(0.0, u, params))(y)
    f2 = jax.jit(lambda u: CanonicalDQM(grid, V_HO).vector_field(0.0, u, params))(y)
    for a, b in zip(jax.tree_util.tree_leaves(f1), jax.tree_util.tree_leaves(f2), strict=True):
        scale = max(float(jnp.max(jnp.abs(a))), 1.0)
        assert float(jnp.max(jnp.abs(a - b))) < 1e-10 * scale


def test_uncertainty_product_gaussian_and_superposition():
    grid = jqd.Grid(256, 24.0)
    law = Madelung(grid)
    params = DQMParams(hbar=0.7, mass=1.3)
    y = gaussian_state(grid, a=1.1, x0=0.5, p0=0.2, hbar=0.7)
    U = float(UncertaintyProduct(law)(0.0, y, params)[0])
    assert abs(U - 0.7**2 / 4) < 1e-8
    psi = jqd.reference.gaussian_packet(grid, a=1.0, x0=-1.5) + jqd.reference.gaussian_packet(
        grid, a=1.0, x0=1.5, p0=1.0
    )
    psi = jqd.normalize(psi, grid)
    y2 = MadelungState(jnp.abs(psi) ** 2, jnp.zeros(grid.shape))
    U2 = float(UncertaintyProduct(law)(0.0, y2, DQMParams())[0])
    assert U2 > 0.25 * 1.5, U2  # well above ħ²/4 (measured 0.25 x ~4)


def test_state_roundtrip():
    grid = jqd.Grid(256, 24.0)
    psi = jqd.reference.gaussian_packet(
        grid, a=1.0, x0=-2.0, p0=1.5
    ) + jqd.reference.gaussian_packet(grid, a=1.0, x0=2.0, p0=-1.5)
    psi = jqd.normalize(psi, grid)
    y = state_from_psi(grid, psi)
    psi2 = state_to_psi(grid, y)
    ov = grid.integrate(jnp.conj(psi) * psi2)
    assert abs(float(jnp.abs(ov)) - 1) < 1e-12
    assert float(jnp.max(jnp.abs(psi2 * jnp.conj(ov) / jnp.abs(ov) - psi))) < 1e-7


def _two_packets(grid):
    psi = jqd.reference.gaussian_packet(
        grid, a=1.0, x0=-2.0, p0=1.5
    ) + jqd.reference.gaussian_packet(grid, a=1.0, x0=2.0, p0=-1.5)
    return jqd.normalize(psi, grid)


@pytest.fixture(scope="module")
def interference():
    """Two packets at ±2 moving toward each other with momenta ±1.5 (V = 0):
    Madelung run past its breakdown (monitor off, validity observed), and
    grid Schrödinger with the same criteria applied to |ψ|²."""
    grid = jqd.Grid(256, 24.0)
    psi = _two_packets(grid)
    kw = dict(dt=0.002, n_save=30, steps_per_save=25, checkpoint=False)
    law = Madelung(grid)
    sol = jqd.evolve(
        law,
        state_from_psi(grid, psi),
        DQMParams(),
        observe={"rho": jqd.observables.Density(law), "v": law.validity()},
        monitor=False,
        on_breakdown="flag",
        **kw,
    )
    sch = jqd.SchrodingerGrid(grid)
    ref = jqd.evolve(
        sch,
        psi,
        jqd.SchrodingerParams(),
        observe={"rho": jqd.observables.Density(sch), "v": MadelungValidity(sch)},
        **kw,
    )
    return grid, sol, ref


@pytest.mark.slow
@pytest.mark.xdist_group("madelung-interference")
def test_breakdown_detected_before_nodes_with_time_and_place(interference):
    grid, sol, ref = interference
    br = find_breakdown(sol.ts, sol.observables["v"])
    assert br is not None
    # the exact evolution reaches a node (depth < 1e-3) later, and keeps going
    exact = find_breakdown(ref.ts, ref.observables["v"])
    assert exact is not None and exact.reason == "node"
    assert np.all(np.isfinite(np.asarray(ref.observables["rho"])))
    assert 0.0 < br.time <= exact.time
    # the place: a fringe minimum of the exact density at that time (up to the
    # mirror symmetry of the setup), within two grid cells
    node_x = float(np.asarray(ref.observables["v"]["node_position"])[br.index][0])
    assert abs(abs(br.position[0]) - abs(node_x)) <= 2 * grid.spacing[0]
    # up to the save before the breakdown, the density is right
    rho = np.asarray(sol.observables["rho"])
    exact_rho = np.asarray(ref.observables["rho"])
    err_before = np.max(np.abs(rho[: br.index] - exact_rho[: br.index]))
    assert err_before < 2e-4, err_before
    # and it goes wrong afterwards (NaN or a large error): the detector is not idle
    after = np.abs(rho[br.index + 5 :] - exact_rho[br.index + 5 :])
    assert not np.all(np.isfinite(after)) or np.nanmax(after) > 1e-3


@pytest.mark.xdist_group("madelung-interference")
def test_plain_evolve_raises_at_the_breakdown_with_time_and_place(interference):
    """The law's own monitor stops `jqd.evolve` at the same save and place as
    the observed validity series, and the error carries the partial run."""
    grid, sol, _ = interference
    br = find_breakdown(sol.ts, sol.observables["v"])
    law = Madelung(grid)
    with pytest.raises(MadelungBreakdownError, match=r"resolves .* at t = 0\.\d+ at \(") as info:
        jqd.evolve(
            law,
            state_from_psi(grid, _two_packets(grid)),
            DQMParams(),
            dt=0.002,
            n_save=30,
            steps_per_save=25,
            observe=jqd.observables.Density(law),
            checkpoint=False,
        )
    err = info.value
    assert isinstance(err, jqd.BreakdownError)
    assert err.time == br.time and err.where == br.position
    assert err.breakdown.reason == br.reason == "resolution"
    assert err.breakdown.index == br.index
    assert find_breakdown(err.solution) == err.breakdown
    # later saves repeat the state at the breakdown
    rho = np.asarray(err.solution.observables)
    np.testing.assert_array_equal(rho[br.index :], rho[br.index][None].repeat(30 - br.index + 1, 0))


@pytest.fixture(scope="module")
def node_at_start():
    """Two resting packets at ±2 (density dip 4e^-4 = 0.073 of the peaks at x = 0), with
    the law's node threshold raised to 0.1 so that the dip counts as a node."""
    grid = jqd.Grid(128, 16.0)
    psi = jqd.normalize(
        jqd.reference.gaussian_packet(grid, a=1.0, x0=-2.0)
        + jqd.reference.gaussian_packet(grid, a=1.0, x0=2.0),
        grid,
    )
    law = Madelung(grid, V_HO, node_threshold=0.1)
    return law, state_from_psi(grid, psi), DQMParams(potential={"omega": jnp.asarray(0.5)})


def _run_short(law, y0, params, **kwargs):
    return jqd.evolve(law, y0, params, dt=0.004, n_save=2, steps_per_save=2, **kwargs)


@pytest.mark.xdist_group("madelung-node_at_start")
@pytest.mark.slow  # 28 s; the law contract fires the dqm-madelung monitor eagerly, under jit and vmap
def test_monitor_raises_at_a_node_eagerly_and_under_jit_and_vmap(node_at_start):
    law, y0, params = node_at_start
    with pytest.raises(MadelungBreakdownError, match="a node formed") as info:
        _run_short(law, y0, params)
    assert info.value.time == 0.0 and abs(info.value.where[0]) < 0.07
    sol = _run_short(law, y0, params, on_breakdown="flag")
    br = find_breakdown(sol)
    assert br.reason == "node" and br.index == 0 and br.position == info.value.where
    # the same with the threshold passed to evolve_madelung
    br2 = find_breakdown(
        evolve_madelung(
            Madelung(law.grid, V_HO),
            y0,
            params,
            dt=0.004,
            n_save=1,
            on_breakdown="flag",
            node_threshold=0.1,
        )
    )
    assert br2.reason == "node" and br2.position == br.position
    run = lambda y, p: _run_short(law, y, p, check=False).y_final.rho
    with pytest.raises(Exception, match="a node formed"):
        jax.block_until_ready(jax.jit(run)(y0, params))
    both = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), y0)
    with pytest.raises(Exception, match="a node formed"):
        jax.block_until_ready(jax.vmap(run, in_axes=(0, None))(both, params))


@pytest.mark.slow
@pytest.mark.xdist_group("madelung-node_at_start")
def test_monitor_raises_at_a_node_under_grad(node_at_start):
    law, y0, _ = node_at_start
    run = lambda w: _run_short(law, y0, DQMParams(potential={"omega": w}), check=False)
    loss = lambda w: jnp.sum(run(w).y_final.rho ** 2)
    with pytest.raises(Exception, match="a node formed"):
        jax.block_until_ready(jax.grad(loss)(jnp.asarray(0.5)))


@pytest.mark.slow
def test_no_breakdown_for_single_packet():
    grid = jqd.Grid(128, 16.0)
    law = Madelung(grid, V_HO)
    sol = jqd.evolve(
        law,
        gaussian_state(grid, x0=1.0),
        DQMParams(potential={"omega": 1.0}),
        dt=0.005,
        n_save=5,
        steps_per_save=40,
        observe=law.validity(),
        checkpoint=False,
    )
    assert find_breakdown(sol) is None and int(sol.stats["breakdown_code"]) == 0
    assert np.all(np.asarray(sol.observables["valid"]))


# -- input checks -------------------------------------------------------------------
def _small():
    grid = jqd.Grid(48, 12.0)
    law = Madelung(grid, V_HO)
    y0 = gaussian_state(grid, a=1.0, x0=0.5, p0=0.2)
    params = DQMParams(potential={"omega": jnp.asarray(1.0)})
    return grid, law, y0, params


@pytest.mark.slow
def test_bad_inputs():
    grid, law, y0, params = _small()
    with pytest.raises(ValueError, match="y0.rho has shape"):
        jqd.evolve(law, MadelungState(jnp.ones(16), jnp.zeros(16)), params, dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="not normalized"):
        jqd.evolve(law, MadelungState(2 * y0.rho, y0.S), params, dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="params.hbar must be positive"):
        jqd.evolve(law, y0, DQMParams(hbar=-1.0, potential={"omega": 1.0}), dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="Madelung law is the D = ħ/2m"):
        jqd.evolve(law, y0, DQMParams(D=0.3, potential={"omega": 1.0}), dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="RK4 stability limit"):
        jqd.evolve(law, y0, params, dt=1.0, n_save=1)
    with pytest.raises(ValueError, match="derivative must be one of"):
        Madelung(grid, derivative="fd2")
    with pytest.raises(TypeError, match="MadelungState"):
        jqd.evolve(law, y0.rho, params, dt=0.01, n_save=1)


@pytest.mark.parametrize(  # one moving packet per law by default (5 s each)
    "law_cls, p0",
    [
        (Madelung, 0.0),
        (CanonicalDQM, 1.0),
        pytest.param(Madelung, 1.0, marks=pytest.mark.slow),
        pytest.param(CanonicalDQM, 0.0, marks=pytest.mark.slow),
    ],
)
@pytest.mark.slow
def test_free_gaussian_spreads_exactly_to_t5(law_cls, p0):
    """A free nodeless Gaussian follows physics §1 to 1e-6 up to t = 5 while its
    width grows 5.1-fold (measured 8.0e-10 for p0 = 0, 2.4e-9 for p0 = 1). This
    is the tail test: the packet spreads into grid points where ρ started below
    1e-300, and the unit Gaussian's quantum potential on √ρ with dx = a/8 is
    wrong by O(10) at ρ ~ 1e-16; with the old ρ/(ρ+ε)-frozen tail the
    density front lagged behind into a cliff and the run went NaN at t ≈ 1.5."""
    grid = jqd.Grid(512, 64.0)
    (x,) = grid.mesh()
    law = law_cls(grid)
    sol = jqd.evolve(
        law,
        gaussian_state(grid, a=1.0, p0=p0),
        DQMParams(),
        dt=0.004,
        n_save=10,
        steps_per_save=125,
        observe=jqd.observables.Density(law),
        checkpoint=False,
    )
    ts = np.asarray(sol.ts)
    assert np.isclose(ts[-1], 5.0)
    exact = np.stack(
        [np.asarray(jqd.reference.free_gaussian_density(x, t, a=1.0, p0=p0)) for t in ts]
    )
    err = np.max(np.abs(np.asarray(sol.observables) - exact))
    assert err < 1e-6, err


def test_grid_too_coarse_for_the_tails_is_rejected():
    """On dx = a/2 the bulk density (ρ > 1e-9 max ρ) falls by e^4.5 per cell and
    the conservative forms are O(1) wrong: check names the fix."""
    grid = jqd.Grid(24, 12.0)
    law = Madelung(grid, V_HO)
    y0 = gaussian_state(grid, a=1.0, x0=0.5)
    params = DQMParams(potential={"omega": 1.0})
    with pytest.raises(ValueError, match=r"too coarse .* Refine the grid to dx <= 0\.3"):
        jqd.evolve(law, y0, params, dt=0.01, n_save=1)
    # twice the resolution passes
    fine = jqd.Grid(48, 12.0)
    Madelung(fine, V_HO).check(gaussian_state(fine, a=1.0, x0=0.5), params, 0.01)


@pytest.mark.slow
def test_breakdown_when_the_packet_reaches_the_box_edge():
    """A packet running into the box edge is reported ("edge"), with the time the
    density there first exceeds 1e-10 of its peak, instead of wrapping garbage."""
    grid = jqd.Grid(256, 32.0)
    (x,) = grid.mesh()
    law = Madelung(grid)
    with pytest.raises(MadelungBreakdownError, match="reached the box edge") as info:
        jqd.evolve(
            law,
            gaussian_state(grid, a=1.0, p0=3.0),
            DQMParams(),
            dt=0.004,
            n_save=30,
            steps_per_save=25,
            checkpoint=False,
        )
    br = info.value.breakdown
    assert br.reason == "edge" and br.position[0] > 14.5
    # against the exact density at that place: past 1e-10 of the peak at the
    # reported save, not yet at the save before
    ts = np.asarray(info.value.solution.ts)
    rel = [
        float(jqd.reference.free_gaussian_density(br.position[0], t, a=1.0, p0=3.0))
        / float(jqd.reference.free_gaussian_density(3.0 * t, t, a=1.0, p0=3.0))
        for t in ts[br.index - 1 : br.index + 1]
    ]
    assert rel[0] < 1e-10 <= rel[1], rel
    rho = np.asarray(info.value.solution.observables.rho[: br.index])
    exact = np.stack(
        [jqd.reference.free_gaussian_density(x, t, a=1.0, p0=3.0) for t in ts[: br.index]]
    )
    assert np.max(np.abs(rho - exact)) < 1e-6
