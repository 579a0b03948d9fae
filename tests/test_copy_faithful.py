"""The faithful member-level copy process (physics §5.8, jqd/copy/_faithful.py):
its phase flow is S40 summed over members, it reduces to `CopyGillespie` at
an aligned start, and the mean-field law is time-reversal invariant only at
q = 1/2 (S21-S23)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jqd
from jqd.copy import (
    CopyMembersFaithful,
    MatrixParams,
    MeanField,
    MeanFieldParams,
    MemberState,
    circular_variance,
    class_phase_velocity,
    copy_gillespie,
    counts_from_members,
    faithful_state,
    hamiltonian_to_rates,
)
from jqd.copy._faithful import copy_direction, member_flow

P = 3


def _H():
    return jqd.fock.random_hermitian(jax.random.key(5), P)


def _s40_direct(phi, a, R, delta, omega):
    """S40 literally: ω_{a_I} + Σ_J R_{a_I a_J} cos(φ_I − φ_J + δ_{a_I a_J})/√(n_I n_J)."""
    phi, a = np.asarray(phi), np.asarray(a)
    R, delta, omega = np.asarray(R), np.asarray(delta), np.asarray(omega)
    n = np.bincount(a, minlength=P).astype(float)
    x = phi[:, None] - phi[None, :] + delta[a][:, a]
    w = R[a][:, a] / np.sqrt(n[a][:, None] * n[a][None, :])
    return omega[a] + np.sum(w * np.cos(x), axis=1)


@jax.jit
def _velocity(phi, a, R, delta, omega):
    onehot = (a[:, None] == jnp.arange(P)).astype(phi.dtype)
    n = jnp.sum(onehot, axis=0)
    dc, _ = member_flow((jnp.cos(phi), jnp.sin(phi)), onehot, n, R, delta, omega)
    return -dc / jnp.sin(phi)  # ċ = −sin φ φ̇


def test_member_flow_is_s40_summed_over_members():
    R, delta, omega = hamiltonian_to_rates(_H())
    a = jnp.array([0, 0, 1, 2, 2, 2, 1, 0, 2], jnp.int32)
    phi = jax.random.uniform(jax.random.key(1), a.shape, minval=0.2, maxval=2.9)
    got = _velocity(phi, a, R, delta, omega)
    np.testing.assert_allclose(got, _s40_direct(phi, a, R, delta, omega), rtol=0, atol=1e-12)


def test_aligned_member_flow_is_the_class_law():
    R, delta, omega = hamiltonian_to_rates(_H())
    a = jnp.array([0, 0, 1, 2, 2, 2, 1, 0, 2], jnp.int32)
    phic = jnp.array([0.4, 1.3, 2.2])
    n = jnp.bincount(a, length=P).astype(float)
    got = _velocity(phic[a], a, R, delta, omega)
    want = class_phase_velocity(n, phic, R, delta, omega)[a]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)


def test_copy_direction_probabilities():
    u = jnp.linspace(0.0, 1.0, 100_001)[:-1]
    for s in (0.7, -0.3, 0.0):
        d = np.asarray(jax.jit(copy_direction)(jnp.asarray(s), u))
        assert abs(np.mean(d == 1) - max(s, 0.0)) < 2e-5
        assert abs(np.mean(d == -1) - max(-s, 0.0)) < 2e-5


def _reversal_error(q, T=2.0, dt=1e-3):
    """Forward T, flip φ → −φ and δ → −δ (ω kept), forward T: distance to
    (ρ0, −φ0) (physics §5.8)."""
    params = MeanFieldParams.from_hamiltonian(_H(), q=q, r=-0.5)
    rho0 = jnp.array([0.5, 0.3, 0.2])
    phi0 = jnp.array([0.1, 1.7, -0.8])
    y0 = jqd.copy.MeanFieldState(rho=rho0, phi=phi0)
    run = lambda y, p: jqd.evolve(MeanField(), y, p, dt=dt, n_save=1, steps_per_save=int(T / dt))
    y1 = run(y0, params).y_final
    back = eqx_replace(params, delta=-params.delta)
    y2 = run(jqd.copy.MeanFieldState(rho=y1.rho, phi=-y1.phi), back).y_final
    dphi = jnp.angle(jnp.exp(1j * (y2.phi + phi0)))
    return float(jnp.maximum(jnp.max(jnp.abs(y2.rho - rho0)), jnp.max(jnp.abs(dphi))))


def eqx_replace(params, **kw):
    import equinox as eqx

    return eqx.tree_at(lambda p: [getattr(p, k) for k in kw], params, list(kw.values()))


def test_time_reversal_forces_q_half():
    assert _reversal_error(0.5) <= 1e-10
    assert _reversal_error(0.4) > 1e-2
    assert _reversal_error(0.6) > 1e-2


@pytest.mark.slow  # the law's contract case runs it by default (tests/cases_copy_members.py)
def test_member_counts_and_phases_are_consistent_after_events():
    """Σn conserved, beables in range, and a copied phase equals its model's."""
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), 8)
    phi = jax.random.uniform(jax.random.key(2), a.shape, minval=-3.0, maxval=3.0)
    y0 = faithful_state(MemberState(a=a, phi=phi))
    law = CopyMembersFaithful(P)
    sol = jqd.evolve(law, y0, MatrixParams(H=_H()), dt=20.0, n_save=1, key=jax.random.key(3))
    y = sol.y_final
    assert int(y.n_events) > 10
    assert int(jnp.sum(counts_from_members(y.members(), P).n)) == a.shape[0]
    assert bool(jnp.all((y.a >= 0) & (y.a < P)))
    # the flow maps distinct phases to distinct phases: the number of distinct
    # phases can only fall (copies), never rise
    assert len(np.unique(np.round(np.asarray(y.phi), 9))) <= a.shape[0]


@pytest.mark.slow
def test_reduces_to_gillespie_at_aligned_start():
    """From an aligned start the faithful process is CopyGillespie: phases stay
    aligned (V = 0) and n(t) has the same distribution (KS, 400 ensembles)."""
    N, T, B = 30, 3.0, 400
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)
    phic = jnp.array([0.3, -1.1, 2.0])
    y0 = MemberState(a=a, phi=phic[a])
    params = MatrixParams(H=_H())
    law = CopyMembersFaithful(P)

    def faithful(k):
        y = jqd.evolve(law, faithful_state(y0), params, dt=T, n_save=1, key=k).y_final
        return counts_from_members(y.members(), P).n, circular_variance(y, P)

    def gillespie(k):
        return copy_gillespie(y0, params, jnp.array([0.0, T]), k, n_states=P).y_final.n

    keys = jax.random.split(jax.random.key(7), 2 * B)
    nf, V = jax.jit(jax.vmap(faithful))(keys[:B])
    ng = jax.jit(jax.vmap(gillespie))(keys[B:])
    assert float(jnp.max(V)) <= 1e-12
    for c in range(P):
        assert stats.ks_2samp(np.asarray(nf[:, c]), np.asarray(ng[:, c])).pvalue > 1e-3
    se = np.sqrt(np.var(nf, axis=0) / B + np.var(ng, axis=0) / B)
    assert np.all(np.abs(np.mean(nf, axis=0) - np.mean(ng, axis=0)) <= 4 * se)
