"""`jqd.thermal.ClassicalWell`: point particles in a smooth well (physics §7.9).

Exact references: the harmonic closed form at λ = 0; for λ > 0 the
symplectic structure (bounded energy error, time reversal) and the
declared convergence orders.
"""

import dataclasses
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jqd
from jqd.schemes import Strang, Yoshida4
from jqd.thermal import ClassicalWell, WellParams, WellState, coupled_quartic

X0 = jnp.array([[0.5, 3.5], [1.0, -2.0], [-1.5, 0.3], [2.0, 2.0]])
P0 = jnp.array([[0.0, 0.2], [0.4, 0.0], [-0.3, 0.7], [0.1, -0.4]])


def _final(law, y0, params, dt, n_steps, **kw):
    return jqd.evolve(law, y0, params, dt=dt, n_save=1, steps_per_save=n_steps, **kw).y_final


def test_harmonic_closed_form_at_lambda_zero():
    """λ = 0: x_i(t) = x_i cos ω_i t + p_i/(mω_i) sin ω_i t, ω_i = √(k_i/m).
    Yoshida-4 error ≈ c (ωh)⁴ ω t |x|: (1.3·0.002)⁴·1.3·3·4 ≈ 7e-10 times c ≈ 0.05."""
    params = WellParams(mass=1.2, lam=0.0)
    law = ClassicalWell()
    t = 3.0
    y = _final(law, WellState(X0, P0), params, 0.002, 1500)
    w = jnp.sqrt(params.curvature / params.mass)
    x_exact = X0 * jnp.cos(w * t) + P0 / (params.mass * w) * jnp.sin(w * t)
    p_exact = P0 * jnp.cos(w * t) - params.mass * w * X0 * jnp.sin(w * t)
    np.testing.assert_allclose(y.x, x_exact, atol=1e-10)
    np.testing.assert_allclose(y.p, p_exact, atol=1e-10)


@pytest.mark.parametrize(
    "scheme, order", [(Strang(), 2), (Yoshida4(), 4)], ids=["verlet", "yoshida4"]
)
def test_convergence_order(scheme, order):
    """Error of y(t = 1) vs a run at h/8, for h and h/2 (λ = 0.15, chaotic start)."""
    params = WellParams(lam=0.15)
    law = ClassicalWell(scheme=scheme)
    y0 = WellState(X0, P0)
    ref = _final(law, y0, params, 0.0025, 400)
    errs = []
    for n in (25, 50):
        y = _final(law, y0, params, 1.0 / n, n)
        errs.append(float(jnp.max(jnp.abs(y.x - ref.x)) + jnp.max(jnp.abs(y.p - ref.p))))
    measured = np.log2(errs[0] / errs[1])
    assert abs(measured - order) <= (0.1 if order == 2 else 0.2), (errs, measured)
    assert law.order == order


def test_energy_error_bounded_over_long_run():
    """Symplectic: the energy error oscillates without drift. Bound: the
    leading term of the modified Hamiltonian, |ΔE| ≲ E (ω_eff h)⁴ with
    ω_eff ≈ 3 the largest local frequency on these orbits (E ≤ 11):
    11·(0.03)⁴ ≈ 9e-6; checked over 2e4 steps (t = 200)."""
    params = WellParams(lam=0.15)
    law = ClassicalWell()
    y0 = WellState(X0, P0)
    sol = jqd.evolve(
        law, y0, params, dt=0.01, n_save=40, steps_per_save=500,
        observe=lambda t, y, p: law.energy(t, y, p), checkpoint=False,
    )  # fmt: skip
    E = np.asarray(sol.observables)
    drift = np.max(np.abs(E - E[0]), axis=0)
    assert np.all(drift <= 9e-6), drift
    # no secular growth: the second half is no worse than 2x the first
    half = len(E) // 2
    assert np.all(
        np.max(np.abs(E[half:] - E[0]), 0) <= 2 * np.max(np.abs(E[:half] - E[0]), 0) + 1e-12
    )


def test_time_reversal():
    """Flip p, run the same number of steps, flip p: back to y0 up to round-off
    (the step is symmetric; in a chaotic flow round-off grows as e^{Λt}, Λ ≈ 0.2,
    so t = 20 leaves ≲ 1e-15·e^4 ≈ 1e-13)."""
    params = WellParams(lam=0.15)
    law = ClassicalWell()
    y0 = WellState(X0, P0)
    y = _final(law, y0, params, 0.02, 1000)
    back = _final(law, WellState(y.x, -y.p), params, 0.02, 1000)
    np.testing.assert_allclose(back.x, X0, atol=1e-10)
    np.testing.assert_allclose(-back.p, P0, atol=1e-10)


@pytest.mark.slow  # also covered by the law contract (tests/cases_thermal_well.py)
def test_jit_equals_eager_and_vmap_equals_loop():
    law = ClassicalWell()
    y0 = WellState(X0, P0)
    run = lambda lam: _final(law, y0, WellParams(lam=lam), 0.02, 20).x
    eager = run(0.15)
    np.testing.assert_array_equal(jax.jit(run)(0.15), eager)
    lams = jnp.array([0.0, 0.1, 0.15])
    batched = jax.vmap(run)(lams)
    for i, lam in enumerate(lams):
        np.testing.assert_allclose(batched[i], run(lam), rtol=1e-13, atol=1e-13)
    # trajectories are independent: one run of 4 equals 4 runs of 1
    single = jnp.stack([_final(law, WellState(X0[i], P0[i]), WellParams(lam=0.15), 0.02, 20).x
                        for i in range(4)])  # fmt: skip
    np.testing.assert_allclose(single, eager, rtol=1e-13, atol=1e-13)


@pytest.mark.slow  # also covered by the law contract (tests/cases_thermal_well.py)
def test_gradients_match_finite_differences():
    law = ClassicalWell()
    y0 = WellState(X0[:2], P0[:2])

    def f(lam, mass):
        y = _final(law, y0, WellParams(lam=lam, mass=mass), 0.05, 10, check=False)
        return jnp.sum(y.x**2) + jnp.sum(y.p * y.x)

    check_grads(f, (0.15, 1.2), order=1, modes=("rev",), atol=1e-6, rtol=1e-6)


@pytest.mark.slow  # also covered by the law contract (tests/cases_thermal_well.py)
def test_float32_stays_float32():
    law = ClassicalWell()
    y0 = WellState(X0.astype(jnp.float32), P0.astype(jnp.float32))
    params = WellParams(
        mass=jnp.float32(1.0), lam=jnp.float32(0.15), curvature=jnp.array([1.0, 1.69], jnp.float32)
    )
    y = _final(law, y0, params, 0.02, 10)
    assert y.x.dtype == jnp.float32 and y.p.dtype == jnp.float32
    assert law.energy(0.0, y, params).dtype == jnp.float32


@pytest.mark.slow  # also covered by the law contract (tests/cases_thermal_well.py)
def test_three_dimensions_and_custom_potential():
    x = jnp.array([[0.3, -0.2, 1.0]])
    y0 = WellState(x, jnp.zeros_like(x))
    params = WellParams(lam=0.2, curvature=jnp.array([1.0, 1.3, 0.7]))
    law = ClassicalWell(dim=3)
    y = _final(law, y0, params, 0.01, 300)
    assert abs(float(law.energy(0, y, params)[0] - law.energy(0, y0, params)[0])) < 1e-8
    # V(x) = ½|x|² through a user callable reproduces the harmonic flow
    iso = ClassicalWell(dim=3, potential=lambda x, p: 0.5 * jnp.sum(x * x, axis=-1))
    y = _final(iso, y0, params, 0.002, 500)
    np.testing.assert_allclose(y.x, x * np.cos(1.0), atol=1e-10)
    assert float(coupled_quartic(jnp.array([2.0, 3.0]), WellParams(lam=0.15))) == pytest.approx(
        0.5 * (4 + 1.69 * 9) + 0.15 * 36, rel=1e-14
    )


@pytest.mark.parametrize(
    "params, dt, match",
    [
        (WellParams(mass=-1.0), 0.01, "mass"),
        (WellParams(curvature=jnp.array([1.0, -1.0])), 0.01, "curvature"),
        (WellParams(lam=-0.1), 0.01, "lam"),
        (WellParams(), 1.25, "dt is too large"),  # ω_max dt = 1.3 x 1.25 > 1.573
        (WellParams(), 0.7, "ω·dt = 0.91 > 0.8"),  # stable, but beyond the accuracy bound
        (WellParams(curvature=jnp.array([1.0, 1.0, 1.0])), 0.01, "curvature"),
    ],
)
def test_bad_input_is_a_clear_error(params, dt, match):
    with pytest.raises(ValueError, match=match):
        jqd.evolve(ClassicalWell(), WellState(X0, P0), params, dt=dt, n_save=1)


def test_bad_state_is_a_clear_error():
    law = ClassicalWell()
    with pytest.raises(ValueError, match="shape"):
        jqd.evolve(
            law, WellState(jnp.zeros((4, 3)), jnp.zeros((4, 3))), WellParams(), dt=0.01, n_save=1
        )
    with pytest.raises(ValueError, match="WellState"):
        jqd.evolve(law, (X0, P0), WellParams(), dt=0.01, n_save=1)
    with pytest.raises(ValueError, match="scheme 'rk4' is not one of .*'verlet'"):
        ClassicalWell(scheme="rk4")
    with pytest.raises(TypeError, match="scheme must be one of .*Strang"):
        ClassicalWell(scheme=jqd.schemes.RK4())
    assert ClassicalWell(scheme="verlet").scheme == Strang()
    with pytest.raises(ValueError, match="params.mass must be a scalar"):
        jqd.evolve(law, WellState(X0, P0), WellParams(mass=jnp.ones(2)), dt=0.01, n_save=1)


def test_yoshida_step_inside_its_own_stability_bound_is_accepted_and_bounded():
    """ω_max dt = 1.3 x 0.96 = 1.25 < 1.573, the triple jump's stability bound
    (its largest sub-step, 1.70 dt, exceeds Verlet's 2 here, which an earlier
    guard refused): stable, and at λ = 0 (a linear map) the energy error does
    not grow: its maximum over saves 20-40 stays within 1.5x that over saves
    0-20 (measured 0.68 both; beyond the bound it grows exponentially). The
    checks refuse it (above the accuracy bound 0.8): check=False runs it."""
    law = ClassicalWell()
    sol = jqd.evolve(
        law,
        WellState(X0, P0),
        WellParams(lam=0.0),
        dt=0.96,
        n_save=40,
        steps_per_save=10,
        check=False,
        observe=lambda t, y, p: law.energy(t, y, p),
    )
    E = np.asarray(sol.observables)  # (saves, trajectories)
    err = np.abs(E / E[0] - 1)
    assert np.all(np.isfinite(err)) and err[20:].max() <= 1.5 * err[:21].max()


def test_bad_params_rejected_under_jit():
    law = ClassicalWell()
    run = jax.jit(lambda lam: _final(law, WellState(X0, P0), WellParams(lam=lam), 0.01, 2).x)
    with pytest.raises(Exception, match="lam"):
        jax.block_until_ready(run(-0.1))


def test_chaotic_well_tangent_map_matches_classical_well():
    """thermal-chaotic-well's NumPy flow and tangent map (its Lyapunov exponent)
    against jqd's ClassicalWell: the final state to the Yoshida-4 error and M to
    central finite differences of ClassicalWell trajectories (ε = 1e-6)."""
    from jqdlab import registry

    registry.load("thermal-chaotic-well")
    E = sys.modules["jqd_experiments.thermal_chaotic_well"]
    config = dataclasses.replace(E.Config.quick(), dt_classical=0.005)
    rng = np.random.default_rng(3)
    x = np.array([config.x0, config.y0]) + 0.2 * rng.normal(size=(3, 2))
    p = 0.2 * rng.normal(size=(3, 2))
    t = 4.0
    xf, pf, M = E._tangent_flow(config, x, p, t)
    params, law, steps = WellParams(lam=config.lam), ClassicalWell(), 800
    y = _final(law, WellState(jnp.asarray(x), jnp.asarray(p)), params, t / steps, steps)
    np.testing.assert_allclose(xf, y.x, atol=1e-6)
    np.testing.assert_allclose(pf, y.p, atol=1e-6)
    eps, z = 1e-6, np.concatenate([x, p], 1)
    for j in range(4):
        shifted = []
        for sign in (1, -1):
            zj = z.copy()
            zj[:, j] += sign * eps
            yj = _final(law, WellState(jnp.asarray(zj[:, :2]), jnp.asarray(zj[:, 2:])), params,
                        t / steps, steps)  # fmt: skip
            shifted.append(np.concatenate([yj.x, yj.p], 1))
        np.testing.assert_allclose(M[:, :, j], (shifted[0] - shifted[1]) / (2 * eps), atol=1e-4)


def test_block_collision_reference_against_analytic_modes():
    """thermal-block-collision's NumPy reference (its m ≠ 1 claim): at t = 0
    each block (one wall, one free end) is in its ground state, ⟨u_j²⟩ =
    (ħ/2m) Σ_k U_jk²/ω_k with the analytic modes U_jk ∝ sin((2k−1)π(j+1)/(2n+1)),
    ω_k = 2√(κ/m) sin((2k−1)π/(2(2n+1))); at v = 0 mirror-image atoms keep
    equal ⟨u_j²⟩; and ±v adds the mean's square, ⟨u_j⟩ = (±mv)t/m + O(t³) at
    small t (the mass enters both the momentum and ẋ = p/m)."""
    from jqdlab import registry

    registry.load("thermal-block-collision")
    E = sys.modules["jqd_experiments.thermal_block_collision"]
    n, m, kappa, hbar = 5, 2.5, 1.3, 0.07
    k = np.arange(1, n + 1)
    j = np.arange(n)[:, None]
    U = np.sin((2 * k - 1) * np.pi * (j + 1) / (2 * n + 1))
    U /= np.linalg.norm(U, axis=0)
    omega = 2 * np.sqrt(kappa / m) * np.sin((2 * k - 1) * np.pi / (2 * (2 * n + 1)))
    ground = hbar / (2 * m) * (U**2 / omega).sum(1)
    u2 = E.chain_second_moments(n, m, kappa, hbar, 0.0, [0.0, 7.0])
    np.testing.assert_allclose(u2[0, :n], ground, rtol=1e-12)
    np.testing.assert_allclose(u2[0, n:], ground[::-1], rtol=1e-12)
    np.testing.assert_allclose(u2[1, :n], u2[1, n:][::-1], rtol=1e-10)
    t, v = 1e-4, 0.3  # ⟨u_j⟩ = ±v t + O(t²) (the force on the mean is O(u) = O(t))
    drift = E.chain_second_moments(n, m, kappa, hbar, v, [t]) - E.chain_second_moments(
        n, m, kappa, hbar, 0.0, [t]
    )
    np.testing.assert_allclose(drift[0], (v * t) ** 2, rtol=1e-6)


def _user_quartic(x, params):
    """coupled_quartic as a user writes it (the law cannot read k or λ from it)."""
    return (
        0.5 * (x[..., 0] ** 2 + 1.69 * x[..., 1] ** 2) + params.lam * (x[..., 0] * x[..., 1]) ** 2
    )


def test_accuracy_bound_applies_to_a_user_potential():
    """The bound read ω from params.curvature, so it held for the built-in
    potential only: the same quartic as a user callable ran at dt = 1.0 with
    a 77 % energy error. ω is now estimated from the user's V, √(max |eig
    ∇²V(y0.x)| / m) (1.945 here: its curvature where the particles start),
    eagerly and in-graph; at the bound (harmonic V, ω = 1: ω dt = 0.8) it
    passes, just above it is refused."""
    law, y0 = ClassicalWell(potential=_user_quartic), WellState(X0, P0)
    params = WellParams(lam=0.1)
    with pytest.raises(
        ValueError, match=r"ω·dt = 1\.945 > 0\.8 \(ω = √\(max \|eig ∇²V\(y0\.x\)\| / m\)"
    ):
        jqd.evolve(law, y0, params, dt=1.0, n_save=1)
    in_graph = jax.jit(lambda dt: jnp.stack([c.ok for c in law.checks(y0, params, dt)]))
    assert np.asarray(in_graph(1.0)).tolist() == [True, False]
    assert np.asarray(in_graph(0.4)).tolist() == [True, True]  # ω dt = 0.78
    checked = lambda law, y, dt: jqd._guards.enforce(law.checks(y, params, dt))
    harmonic = ClassicalWell(potential=lambda x, p: 0.5 * jnp.sum(x * x, axis=-1))
    checked(harmonic, y0, 0.8)
    with pytest.raises(ValueError, match=r"ω·dt = 0\.81 > 0\.8"):
        checked(harmonic, y0, 0.81)
    kink = ClassicalWell(potential=lambda x, p: jnp.sum(jnp.abs(x) ** 1.5, axis=-1))
    with pytest.raises(ValueError, match="curvature of the potential at y0.x is not finite"):
        checked(kink, WellState(X0.at[0, 0].set(0.0), P0), 0.01)


def test_user_potential_curvature_by_power_iteration():
    """Above 16 coordinates ω comes from power iteration on Hessian-vector
    products: within 1 % of the exact √(max k) for k = 1..40."""
    from jqd.thermal._well import curvature_frequency

    k = jnp.arange(1.0, 41.0)
    V = lambda x, p: 0.5 * jnp.sum(k * x * x, axis=-1)
    omega = float(curvature_frequency(V, jnp.ones((3, 40)), WellParams()))
    assert omega == pytest.approx(np.sqrt(40.0), rel=1e-2) and omega <= np.sqrt(40.0) + 1e-12
