"""Mean-field copy dynamics (physics §5) against exact Schrödinger evolution."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jqd
from jqd.copy import (
    MeanField,
    MeanFieldParams,
    MeanFieldState,
    copy_flux,
    fit_qr,
    hamiltonian_to_rates,
    psi_from_state,
    rates_to_hamiltonian,
    state_from_psi,
)
from jqd.stats import loglog_slope


def _problem(P, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed + 100 * P), 3)
    H = jqd.fock.random_hermitian(k1, P)
    psi0 = jax.random.normal(k2, (P,)) + 1j * jax.random.normal(k3, (P,))
    return H, psi0 / jnp.linalg.norm(psi0)


@pytest.mark.parametrize(
    "P", [2, pytest.param(8, marks=pytest.mark.slow), pytest.param(64, marks=pytest.mark.slow)]
)
@pytest.mark.slow
def test_matches_schrodinger(P):
    """q = 1/2, r = −1/2 is Schrödinger (S32-S38): ρ to 1e-10, ψ = √ρ e^{−iφ} too."""
    H, psi0 = _problem(P)
    E = np.linalg.eigvalsh(np.asarray(H))
    period = 2 * np.pi / (E[-1] - E[0])
    ts = jnp.linspace(0.0, 5 * period, 41)  # five periods of the fastest beat
    exact = jqd.reference.propagate(H, psi0, ts)
    sol = jqd.evolve_adaptive(
        MeanField(),
        state_from_psi(psi0),
        MeanFieldParams.from_hamiltonian(H),
        ts,
        solver=diffrax.Dopri8(),
        rtol=1e-12,
        atol=1e-14,
        max_steps=100_000,
    )
    rho_err = float(jnp.max(jnp.abs(sol.observables.rho - jnp.abs(exact) ** 2)))
    psi = jax.vmap(psi_from_state)(sol.observables)
    # No global phase freedom: φ̇ includes ω_a = H_aa/ħ, so ψ itself must agree.
    psi_err = float(jnp.max(jnp.abs(psi - exact)))
    assert rho_err < 1e-10, rho_err
    assert psi_err < 1e-9, psi_err
    # Probability is conserved by the law for any q.
    assert float(jnp.max(jnp.abs(jnp.sum(sol.observables.rho, -1) - 1))) < 1e-11


@pytest.mark.slow
def test_rk4_step_order():
    """The fixed-step RK4 `step` converges at fourth order to exact evolution."""
    H, psi0 = _problem(4)
    params = MeanFieldParams.from_hamiltonian(H)
    exact = jqd.reference.propagate(H, psi0, jnp.array([0.0, 1.0]))[-1]
    errs = []
    dts = [0.02, 0.01, 0.005]
    for dt in dts:
        sol = jqd.evolve(
            MeanField(),
            state_from_psi(psi0),
            params,
            dt=dt,
            n_save=1,
            steps_per_save=int(round(1.0 / dt)),
        )
        errs.append(float(jnp.max(jnp.abs(psi_from_state(sol.y_final) - exact))))
    slope = loglog_slope(dts, errs)
    assert 3.7 < slope < 4.3, (slope, errs)


def test_hamiltonian_rates_roundtrip():
    H, _ = _problem(6)
    R, delta, omega = hamiltonian_to_rates(H, hbar=0.7)
    assert np.allclose(R, R.T) and np.all(R >= 0) and np.all(np.diag(R) == 0)
    off = ~np.eye(6, dtype=bool)
    assert np.allclose(np.angle(np.exp(1j * (delta + delta.T)))[off], 0, atol=1e-14)
    np.testing.assert_allclose(rates_to_hamiltonian(R, delta, omega, hbar=0.7), H, atol=1e-14)
    # zero couplings give R = 0 with finite gradients
    T = jqd.fock.tight_binding(5, periodic=False).astype(complex)
    g = jax.grad(lambda h: jnp.sum(hamiltonian_to_rates(h)[0]))(T)
    assert np.all(np.isfinite(np.asarray(g)))


def test_state_psi_roundtrip():
    _, psi0 = _problem(5)
    y = state_from_psi(psi0)
    np.testing.assert_allclose(psi_from_state(y), psi0, atol=1e-15)


@pytest.mark.slow
@pytest.mark.parametrize("P", [2] + [pytest.param(P, marks=pytest.mark.slow) for P in (8, 64)])
def test_printed_s39_sign_moves_populations_the_wrong_way(P):
    """physics §5: the mean-field limit of the printed S39 rule gives dn_a/dt with
    the sign opposite to S32 (exact dρ_a/dt = (2/ħ) Im ψ_a* (Hψ)_a)."""
    H, psi0 = _problem(P, seed=3)
    y = state_from_psi(psi0)
    params = MeanFieldParams.from_hamiltonian(H)
    exact = 2 * jnp.imag(jnp.conj(psi0) * (H @ psi0))
    s32 = copy_flux(y, params, "s32")
    s39 = copy_flux(y, params, "s39")
    assert float(jnp.max(jnp.abs(s32 - exact))) < 1e-13
    moving = jnp.abs(exact) > 1e-3
    assert int(jnp.sum(moving)) >= 1
    assert bool(jnp.all(jnp.sign(s39[moving]) == -jnp.sign(exact[moving])))
    # ...and over a finite time the S39 law drives ρ away from |ψ(t)|² (short:
    # running the wrong way soon empties states, where the phase law is singular).
    ts = jnp.array([0.0, 0.05])
    ex = jnp.abs(jqd.reference.propagate(H, psi0, ts)[-1]) ** 2
    run = lambda conv: (
        jqd.evolve(MeanField(conv), y, params, dt=0.01, n_save=1, steps_per_save=5).y_final.rho
    )
    good, bad = run("s32"), run("s39")
    d_exact = ex - y.rho
    assert float(jnp.max(jnp.abs(good - ex))) < 1e-8
    assert float(jnp.sum((bad - y.rho) * d_exact)) < 0  # moved against the exact change


@pytest.mark.slow
def test_check_grads_q_r_H():
    """Gradients of a final-time observable in (q, r, H) match finite differences."""
    H, psi0 = _problem(3)
    y0 = state_from_psi(psi0)

    def final(q, r, H):
        # finite differences step off the Hermitian matrices, which the rates refuse
        params = MeanFieldParams.from_hamiltonian((H + H.conj().T) / 2, q=q, r=r)
        sol = jqd.evolve(MeanField(), y0, params, dt=0.05, n_save=2, steps_per_save=5, check=False)
        return jnp.sum(sol.y_final.rho * jnp.arange(3.0)) + jnp.sum(jnp.cos(sol.y_final.phi))

    check_grads(final, (0.45, -0.4, H), order=1, modes=("rev",), eps=1e-6, atol=1e-5, rtol=1e-5)


def test_bad_input_errors():
    H, psi0 = _problem(3)
    params = MeanFieldParams.from_hamiltonian(H)
    y = state_from_psi(psi0)
    with pytest.raises(ValueError, match="sum to 1"):
        jqd.evolve(MeanField(), MeanFieldState(2 * y.rho, y.phi), params, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="params.R"):
        jqd.evolve(
            MeanField(),
            y,
            MeanFieldParams(params.R[:2, :2], params.delta, params.omega),
            dt=0.1,
            n_save=1,
        )
    with pytest.raises(ValueError, match="nodes"):
        rho = jnp.array([0.5, 0.5, 0.0])
        jqd.evolve(MeanField(), MeanFieldState(rho, y.phi), params, dt=0.1, n_save=1)
    with pytest.raises(ValueError, match="convention"):
        MeanField("s40")
    with pytest.raises(ValueError, match="MeanFieldState"):
        jqd.evolve(MeanField(), psi0, params, dt=0.1, n_save=1)
    # a non-Hermitian H is named as such where the rates are built (issue 27)
    with pytest.raises(ValueError, match="H is not Hermitian"):
        MeanFieldParams.from_hamiltonian(np.array([[0.0, 1.0], [0.0, 0.0]]))


@pytest.mark.slow
def test_fit_qr_from_origin():
    """From (q, r) = (0, 0) optax L-BFGS recovers (1/2, −1/2) to 1e-3."""
    H, psi0 = _problem(3, seed=7)
    ts = jnp.linspace(0.0, 1.5, 7)
    fit = fit_qr(H, psi0, ts, init=(0.0, 0.0), dt=0.025)
    assert isinstance(fit, jqd.FitResult) and fit.converged
    assert abs(fit.q - 0.5) < 1e-3 and abs(fit.r + 0.5) < 1e-3, (fit.q, fit.r)
    assert fit.path.shape == (fit.iterations + 1, 2) and fit.history.shape == (fit.iterations,)


@pytest.mark.slow
def test_fit_qr_three_starts():
    H, psi0 = _problem(3, seed=7)
    ts = jnp.linspace(0.0, 1.5, 7)
    fit = fit_qr(H, psi0, ts, init=[(0.0, 0.0), (0.75, -1.0), (0.25, 0.25)], dt=0.025)
    assert np.all(np.abs(fit.q - 0.5) < 1e-3) and np.all(np.abs(fit.r + 0.5) < 1e-3), fit


class _Factorized(jqd.copy.AbstractCopyRates):
    """The consistent rule (S32, S40) as an `AbstractCopyRates`."""

    def transfer_rates(self, n, phi, R, delta):
        return jqd.copy.transfer_rates(n, phi, R, delta)

    def phase_velocity(self, n, phi, R, delta, omega):
        return jqd.copy.class_phase_velocity(n, phi, R, delta, omega)


def test_rates_object_gives_the_same_law():
    """`MeanField(rates=...)` with the consistent rule as an object is the
    q = 1/2, r = −1/2 law (S32-S38) to round-off; s39 with rates is refused."""
    H = jqd.fock.random_hermitian(jax.random.key(2), 5)
    psi = jnp.array([0.5, 0.4 + 0.2j, 0.3 - 0.3j, 0.2j, 0.4 + 0.1j])
    y = state_from_psi(psi / jnp.linalg.norm(psi))
    params = MeanFieldParams.from_hamiltonian(H, hbar=0.7)
    ref = MeanField().vector_field(0.0, y, params)
    obj = MeanField(rates=_Factorized()).vector_field(0.0, y, params)
    np.testing.assert_allclose(obj.rho, ref.rho, atol=1e-14)
    np.testing.assert_allclose(obj.phi, ref.phi, atol=1e-13)
    with pytest.raises(ValueError, match="rates replaces the rule"):
        MeanField(convention="s39", rates=_Factorized())


class _Faster(jqd.copy.AbstractCopyRates):
    """The consistent rule, every rate `scale` times faster (a user's rule the
    built-in stiffness bound, read from params alone, does not see)."""

    scale: float = 10.0

    def transfer_rates(self, n, phi, R, delta):
        return self.scale * jqd.copy.transfer_rates(n, phi, R, delta)

    def phase_velocity(self, n, phi, R, delta, omega):
        drift = jqd.copy.class_phase_velocity(n, phi, R, delta, omega) - omega
        return omega + self.scale * drift


@pytest.mark.slow
def test_stiffness_bound_applies_to_a_rates_object():
    """The RK4 bound Λ dt <= 2.5 read Λ from params only: a user's rates ten
    times faster ran at ten times the stable step. Now Λ is the larger of it
    and the spectral radius of the object's own Jacobian at y0 (+ the phase
    beat): the consistent rule as an object keeps the string rule's Λ (its
    radius is below it), the faster rule is refused with its own Λ."""
    H = jqd.fock.random_hermitian(jax.random.key(2), 5)
    psi = jnp.array([0.5, 0.4 + 0.2j, 0.3 - 0.3j, 0.2j, 0.4 + 0.1j])
    y = state_from_psi(psi / jnp.linalg.norm(psi))
    params = MeanFieldParams.from_hamiltonian(H, hbar=0.7)
    lam = MeanField().stiffness(y, params)[0]
    assert float(MeanField(rates=_Factorized()).stiffness(y, params)[0]) == float(lam)
    lam_fast = float(MeanField(rates=_Faster()).stiffness(y, params)[0])
    assert lam_fast > 4 * float(lam)
    dt = 2.0 / float(lam)  # inside the built-in bound, outside the faster rule's
    checked = lambda law: jqd._guards.enforce(law.checks(y, params, dt), caller="evolve")
    checked(MeanField(rates=_Factorized()))
    with pytest.raises(ValueError, match=rf"Λ = {lam_fast:.4g} and RK4 needs Λ dt <= 2\.5"):
        checked(MeanField(rates=_Faster()))
