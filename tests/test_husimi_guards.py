"""No silent wrong answers in the Husimi family (issue 12): each adversarial
input is refused (guards: eagerly and in-graph under jit/vmap/grad) or stopped
by a monitor, with a message naming the argument and the fix; valid runs are
unaffected. The measured "before" numbers are in the docstrings."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import husimi as hs
from jqd.husimi import a, ad
from jqd.reference import kerr_symbol as kerr

# Every class of bad input for this family; run with -m slow (the default run keeps
# the law-independent cases in tests/test_guards.py and the per-law eager contract).
pytestmark = pytest.mark.slow

SQUEEZE = 1j * (ad(0) * ad(0) - a(0) * a(0))  # number-changing (by 2): r = 2t from the vacuum


def _kerr8():
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=8)
    return law, law.initial_state(jqd.fock.coherent_state(0.6, 8, tol=1e-6))


def _run(law, y0, C=1.0, **kw):
    kw = {"dt": 0.05, "n_save": 2, **kw}
    return jqd.evolve(law, y0, hs.GalerkinParams(C), **kw)


def _raises_in_graph(fn, match):
    with pytest.raises(Exception, match=match):
        jax.block_until_ready(fn())


# ---- 1. Galerkin value checks are guards: eager, jit, vmap, grad -----------------


def test_galerkin_trace_guard_eager():
    """Before: under jax.jit an R with trace 2 ran (final trace 2.0)."""
    law, R0 = _kerr8()
    with pytest.raises(ValueError, match=r"y0 must have trace 1 .*Normalize it"):
        _run(law, 2 * R0)
    # under grad over C every value check runs once, in-graph (as in test_guards.py's
    # test_concrete_state_checked_under_grad_over_hbar): still named
    with pytest.raises(RuntimeError, match="trace 1"):
        jax.grad(lambda C: jnp.real(_run(law, 2 * R0, C).y_final[0, 0]))(1.0)


def test_galerkin_trace_guard_jit_and_vmap():
    law, R0 = _kerr8()
    f = jax.jit(lambda R: _run(law, R, n_save=1).y_final)
    np.testing.assert_allclose(f(R0), _run(law, R0, n_save=1).y_final, atol=1e-13)  # valid
    _raises_in_graph(lambda: f(2 * R0), "trace 1")
    g = jax.jit(jax.vmap(lambda R: _run(law, R, n_save=1).y_final))
    assert np.isfinite(np.asarray(g(jnp.stack([R0, R0])))).all()
    _raises_in_graph(lambda: g(jnp.stack([R0, 2 * R0])), "trace 1")  # one bad member


def test_galerkin_trace_guard_grad():
    law, R0 = _kerr8()
    loss = jax.jit(
        jax.grad(lambda s: jnp.sum(jnp.abs(_run(law, s * R0, n_save=1, checkpoint=False).y_final)))
    )
    assert np.isfinite(float(loss(1.0)))  # valid
    _raises_in_graph(lambda: loss(2.0), "trace 1")


def test_galerkin_hermitian_guard():
    law, R0 = _kerr8()
    bad = R0.at[0, 1].add(0.1)  # trace 1, not Hermitian
    with pytest.raises(ValueError, match=r"y0 is not Hermitian.*\(y0 \+ y0.conj\(\).T\) / 2"):
        _run(law, bad)
    f = jax.jit(lambda R: _run(law, R, n_save=1).y_final)
    _raises_in_graph(lambda: f(bad), "not Hermitian")


# ---- 2. split-step stability ---------------------------------------------------


def test_split_step_dt_guard_names_the_largest_safe_dt():
    """Before: C = 2, dt = 0.5 returned entries of 7e18 with trace 1. The guard
    bounds |c| ‖L_R‖ dt/2 (Taylor remainder of the half-step series <= 0.1)."""
    law, R0 = _kerr8()
    with pytest.raises(ValueError, match=r"largest safe dt here is 0\.100") as err:
        _run(law, R0, 2.0, dt=0.5)
    assert "scheme=jqd.schemes.Exact()" in str(err.value)
    # the named dt is safe (the expm stepper, exact, has no such limit)
    y = _run(law, R0, 2.0, dt=0.1, monitor=False).y_final
    assert float(jnp.max(jnp.abs(y))) < 1 and abs(complex(jnp.trace(y)) - 1) < 1e-12


def test_split_step_dt_guard_in_graph():
    law, R0 = _kerr8()
    run = lambda C: _run(law, R0, C, dt=0.5, n_save=1).y_final
    f = jax.jit(run)
    assert float(jnp.max(jnp.abs(f(1.0)))) <= 1  # C = 1, truncating H: remainder 0, no limit
    _raises_in_graph(lambda: f(2.0), "largest safe dt")
    _raises_in_graph(lambda: jax.vmap(run)(jnp.array([1.0, 2.0])), "largest safe dt")


# ---- 3d. Fock truncation: every parity sector's top level ----------------------


def test_fock_monitor_sees_the_top_of_each_parity_sector():
    """Before: H = i(a†² − a²) from the vacuum on cutoffs=10 never populates the
    top level 9 (odd); at t = 0.745 ⟨n⟩ = 2.73 against 4.44 exact, monitor silent.
    The edge is now the top g levels, g = 2 the step by which H changes n."""
    law = hs.HusimiGalerkin(SQUEEZE, cutoffs=10)
    assert [int(law.basis[i, 0]) for i in law.top_index] == [8, 9]
    kerr10 = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=10)  # number-conserving: g = 1
    assert [int(kerr10.basis[i, 0]) for i in kerr10.top_index] == [9]
    R0 = law.initial_state(jnp.zeros(10, complex).at[0].set(1))
    run = dict(dt=0.05, n_save=15)
    with pytest.raises(hs.FockTruncationError, match="top Fock levels.*Raise the cutoff") as err:
        _run(law, R0, **run)
    assert 0 < err.value.time < 0.745 and err.value.where[0] > law.fock_tol
    flag = jax.jit(lambda R: _run(law, R, on_breakdown="flag", **run).stats["breakdown_code"])
    assert int(flag(R0)) == 2
    # valid: while the state is inside the basis it runs, ⟨n⟩ = sinh²(2t) at t = 0.1
    sol = _run(law, R0, on_breakdown="flag", dt=0.05, n_save=2)
    assert int(sol.stats["breakdown_code"]) == 0
    assert abs(float(law.populations(sol.y_final)[0]) - np.sinh(0.2) ** 2) < 1e-4


# ---- 3e. basis width: no Husimi function is more concentrated than the vacuum ----


def test_concentration_is_lieb_bounded():
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=10)
    coh = law.initial_state(jqd.fock.coherent_state(1.0, 10, tol=1e-6))
    assert 1 - 1e-6 < float(law.concentration(coh)) <= 1  # coherent (truncated at 10)
    for n in range(4):  # Fock states: C(2n, n)/4^n
        R = law.initial_state(jnp.zeros(10, complex).at[n].set(1))
        assert abs(float(law.concentration(R)) - math.comb(2 * n, n) / 4**n) < 1e-12


def test_basis_width_monitor_stops_narrowing_below_the_vacuum():
    """Before: Kerr at C = 0.5 (K = 20, α0 = 1.2) ran on with entries of 1e3 by
    t = 0.5 and 2e5 by t = 1 (Σ|R_mn|² = 1.5e11), trace 1, monitor silent; its
    Husimi function differs from the K = 45 run by 1e8 (L1, t = 0.5). Now it stops where the concentration
    passes 1 (measured 0.97 at t = 0.2, 23 at t = 0.3); C = 0.8 runs through."""
    law = hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=20)
    R0 = law.initial_state(jqd.fock.coherent_state(1.2, 20, tol=1e-3))
    run = dict(dt=0.01, n_save=10, steps_per_save=5)
    with pytest.raises(hs.BasisWidthError, match="more concentrated than the vacuum") as err:
        _run(law, R0, 0.5, **run)
    assert isinstance(err.value, hs.FockTruncationError)  # "the basis cannot hold it"
    assert 0.2 < err.value.time <= 0.3 and err.value.where[1] > 1 + law.width_tol
    codes = jax.vmap(lambda C: _run(law, R0, C, on_breakdown="flag", **run).stats)(
        jnp.array([0.8, 0.5])
    )["breakdown_code"]
    np.testing.assert_array_equal(codes, [0, 3])


# ---- the probability flow keeps its Galerkin density's checks --------------------


def test_flow_checks_its_galerkin_density():
    law = hs.HusimiGalerkin(SQUEEZE, cutoffs=10)
    sym = hs.anti_wick_symbol(SQUEEZE)
    H = lambda z, args: sym(z)
    R0 = law.initial_state(jnp.zeros(10, complex).at[0].set(1))
    z0 = jnp.array([[0.3, 0.1], [-0.2, 0.4]])
    with pytest.raises(ValueError, match=r"y0\.R must have trace 1"):
        hs.flow_trajectories(H, hs.GalerkinDensity(law, 2 * R0, hs.GalerkinParams(1.0)), z0,
                             dt=0.05, n_save=1)  # fmt: skip
    flow = hs.HusimiFlow(H, law)
    params = hs.FlowParams(1.0, None)
    y_bad = flow.initial_state(z0, R0=2 * R0)
    staged = jax.jit(lambda R: jqd._guards.enforce(flow.checks(y_bad, params, 0.05), R))
    _raises_in_graph(lambda: staged(2 * R0), "y0.R must have trace 1")
    # the monitor (also under flow_trajectories' counting mode) reads the density's edge
    edge = jnp.zeros((10, 10), complex).at[0, 0].set(0.9).at[8, 8].set(0.1)
    ok, code, where = flow.density_monitor(0.0, flow.initial_state(z0, R0=edge), params)
    assert not bool(ok) and int(code) == 4 and abs(float(where[0]) - 0.1) < 1e-12
    assert flow.breakdowns[4].error is hs.FockTruncationError
    ok, code, _ = flow.monitor(0.0, flow.initial_state(z0, R0=R0), params)
    assert bool(ok) and int(code) == 0


# ---- grid: Fock shells ------------------------------------------------------------


def _grid_law(n_max, q0=1.4142135623730951, **kw):  # q0 = √2: α0 = 1
    g = hs.PhaseSpaceGrid(1, 32, 16.0)
    law = hs.HusimiGrid(g, kerr, n_max=n_max, **kw)
    Q, P = g.mesh()
    rho = jnp.exp(-((Q - q0) ** 2 + P**2) / 2)
    return g, law, rho / g.integrate(rho)


P1 = hs.HusimiGridParams(C=1.0, args=1.0)


def _outside():
    g, law, rho = _grid_law(7, q0=1.5)
    return law, hs.HusimiGrid(g, kerr, regularization="none").initial_state(rho)


def _grid_run(law, y):
    return jqd.evolve(law, y, P1, dt=1e-2, n_save=1).y_final.rho


def test_grid_state_outside_the_fock_space_is_refused():
    """Before: plain jqd.evolve of a y0 not projected onto V_n (here 9.4e-4 of
    it outside V_7) left that part frozen. evolve_grid projects it and runs."""
    law, y0 = _outside()
    with pytest.raises(ValueError, match=r"outside the Fock-shell space V_7.*law\.initial_state"):
        jqd.evolve(law, y0, P1, dt=1e-2, n_save=1)
    sol = hs.evolve_grid(law, y0, P1, dt=1e-2, n_save=1)
    assert 5e-4 < float(sol.y_final.removed) < 2e-3  # the projection is counted


def test_grid_state_outside_the_fock_space_in_graph():
    law, y0 = _outside()
    f = jax.jit(lambda y: _grid_run(law, y))
    _raises_in_graph(lambda: f(y0), "outside the Fock-shell space")
    assert np.isfinite(np.asarray(f(law.project_state(y0)))).all()  # valid: same program
    both = jax.tree_util.tree_map(lambda u, v: jnp.stack([u, v]), law.project_state(y0), y0)
    _raises_in_graph(lambda: jax.vmap(lambda y: _grid_run(law, y))(both), "outside the Fock")


def test_grid_misassigned_fock_tail_is_seen():
    """Before: n_max forced below the state's Fock content: the projected ρ0 is
    no Husimi function of a density operator (Kerr α0 = 2, 64², n_max = 16:
    L1 error 4.3e-2 by Ut = 0.4 while `removed` read 2.1e-5). Here α0 = 1 on
    32², n_max = 4: 2 Σ|λ−| = 0.048 (the error reaches 0.093 by Ut = 0.12)."""
    g, law, rho = _grid_law(4)
    proj = law.fock_project(rho)
    y0 = law.initial_state(proj / g.integrate(proj))
    with pytest.raises(ValueError, match=r"negative eigenvalues \(2 Σ\|λ−\| = 0\.04.*n_max"):
        jqd.evolve(law, y0, P1, dt=1e-2, n_save=1)
    run = lambda y, C: jqd.evolve(law, y, hs.HusimiGridParams(C, 1.0), dt=1e-2, n_save=1)
    _raises_in_graph(lambda: jax.jit(run)(y0, 1.0).y_final.rho, "negative eigenvalues")
    # not at C != 1 (its solutions are not density operators; the monitor's
    # top-shell check still sees this small n_max), nor with a larger n_max
    with pytest.raises(hs.ShellOverflowError):
        run(y0, 0.9)
    g, law7, rho = _grid_law(7)
    assert int(jqd.evolve(law7, law7.initial_state(law7.fock_project(rho) / g.integrate(
        law7.fock_project(rho))), P1, dt=1e-2, n_save=1).stats["breakdown_code"]) == 0  # fmt: skip


def test_grid_number_changing_hamiltonian_is_refused():
    """Before: H = i(a†² − a²) under FockShells: P L P has eigenvalues with real
    part up to +9.9 (n_max = 8); the error grew to 30x the best approximation
    in V_11 by t = 1 while `removed` read 1.3."""
    sym = hs.anti_wick_symbol(SQUEEZE)
    g = hs.PhaseSpaceGrid(1, 32, 16.0)
    law = hs.HusimiGrid(g, lambda z, args: sym(z), n_max=4)
    Q, P = g.mesh()
    rho = jnp.exp(-(Q**2 + P**2) / 2)
    y0 = law.initial_state(rho / g.integrate(rho))
    p = hs.HusimiGridParams(C=1.0)
    with pytest.raises(ValueError, match=r"conserves the number.*HusimiGalerkin.*max Re λ") as e:
        jqd.evolve(law, y0, p, dt=1e-3, n_save=1)
    assert float(str(e.value).split("max Re λ(P L P) = ")[1].split(")")[0]) > 1
    # in-graph (traced params: the eager check cannot evaluate H): the guard, as evolve stages it
    staged = jax.jit(
        lambda C: jqd._guards.enforce(law.checks(y0, hs.HusimiGridParams(C), 1e-3), y0.rho)
    )
    _raises_in_graph(lambda: staged(1.0), "conserves the number")
    # a number-conserving H (Kerr) on the same law passes every guard
    kerr_law = hs.HusimiGrid(g, kerr, n_max=4)
    jqd._guards.enforce(kerr_law.checks(y0, P1, 1e-3))


def test_grid_normalization_guard_in_graph():
    g, law, rho = _grid_law(7)
    y0 = law.initial_state(law.fock_project(rho))
    y0 = hs.HusimiGridState(2 * y0.rho, y0.removed, y0.top, y0.mass0)
    run = lambda y: jqd.evolve(law, y, P1, dt=1e-2, n_save=1).y_final.rho
    _raises_in_graph(lambda: jax.jit(run)(y0), "must be normalized")


def test_grid_explicit_dt_limit_in_graph():
    """Before: NoRegularization with dt = 0.5 under jax.jit ran (the RK4 bound
    was checked eagerly only); the monitor then stopped it naming no dt."""
    g = hs.PhaseSpaceGrid(1, 16, 12.0)
    law = hs.HusimiGrid(g, kerr, regularization="none")
    Q, P = g.mesh()
    rho = jnp.exp(-((Q - 1.5) ** 2 + P**2) / 2)
    y0 = law.initial_state(rho / g.integrate(rho))
    p = hs.HusimiGridParams(jnp.asarray(1.0), jnp.asarray(0.5))
    f = jax.jit(lambda y, dt: jqd.evolve(law, y, p, dt=dt, n_save=1).y_final.rho)
    assert np.isfinite(np.asarray(f(y0, 1e-3))).all()  # valid: same program
    _raises_in_graph(lambda: f(y0, 0.5), "explicit RK4 limit")
