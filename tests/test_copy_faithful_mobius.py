"""`CopyMembersFaithfulMobius` (jqd/copy/_faithful_mobius.py): the Möbius
generator is S40's member flow, class sums from moments equal direct sums
within the stated series bound, members are picked as the reference picks
them, and with one key the law makes the same events as
`CopyMembersFaithful` with phases equal to RK4 accuracy (re-bases included)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd.copy import (
    CopyMembersFaithful,
    CopyMembersFaithfulMobius,
    MatrixParams,
    MemberState,
    class_sums,
    faithful_state,
    hamiltonian_to_rates,
)
from jqd.copy._faithful import pick_member
from jqd.copy._faithful_mobius import (
    coupling_matrix,
    member_bits,
    members_of_bits,
    mobius,
    mobius_rate,
    moments,
    move_member_bits,
    pick_member_bits,
    run_mobius,
    series_radius,
)
from jqd.copy._kinetics import member_phase_coefficients

P = 3


def _H():
    return jqd.fock.random_hermitian(jax.random.key(5), P)


def _random_maps(key, c_abs):
    """(α, β) per class with |β/α| = c_abs (SU(1,1))."""
    k1, k2 = jax.random.split(key)
    th = jax.random.uniform(k1, (2, P), minval=-3.0, maxval=3.0)
    al = jnp.exp(1j * th[0]) / jnp.sqrt(1 - c_abs**2)
    be = c_abs * jnp.exp(1j * th[1]) / jnp.sqrt(1 - c_abs**2)
    return al, be


def test_series_radius_meets_the_tolerance():
    for K, tol in ((8, 1e-14), (32, 1e-14), (32, 1e-10)):
        c = series_radius(K, tol)
        assert (1 + c) * c**K / (1 - c) <= tol < (1 + c + 1e-9) * (c + 1e-9) ** K / (1 - c - 1e-9)


@pytest.mark.parametrize("K", [8, 32])
def test_class_sums_from_moments_equal_direct_sums(K):
    """|S_series − Σ_J G(w_J)| ≤ n_a (series_tol + 1e-15) at |c| = c_max."""
    tol = 1e-14
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), jnp.array([7, 20, 13]), total_repeat_length=40)
    w = jnp.exp(1j * jax.random.uniform(jax.random.key(1), a.shape, minval=-3.2, maxval=3.2))
    al, be = _random_maps(jax.random.key(2), series_radius(K, tol))
    got = jax.jit(class_sums)(al, be, moments(w, a, P, K))
    want = jax.ops.segment_sum(mobius(al[a], be[a], w), a, num_segments=P)
    n = jnp.bincount(a, length=P)
    assert np.all(np.abs(np.asarray(got - want)) <= np.asarray(n) * (tol + 1e-15))


@pytest.mark.slow
def test_mobius_generator_is_the_member_flow():
    """d/dt G(w) with (α̇, β̇) = `mobius_rate` equals i z φ̇, φ̇ = ω_a + A_a cos φ
    + B_a sin φ (S40 summed over members, `member_phase_coefficients`)."""
    R, delta, omega = hamiltonian_to_rates(_H())
    a = jnp.array([0, 0, 1, 2, 2, 2, 1, 0, 2], jnp.int32)
    w = jnp.exp(1j * jax.random.uniform(jax.random.key(3), a.shape, minval=-3.0, maxval=3.0))
    al, be = _random_maps(jax.random.key(4), 0.3)
    n = jnp.bincount(a, length=P).astype(float)
    M = moments(w, a, P, 60)
    dal, dbe = mobius_rate((al, be), M, coupling_matrix(n, R, delta), omega)
    z = mobius(al[a], be[a], w)
    # d/dt (α w + β)/(β̄ w + ᾱ) by the quotient rule
    num, den = al[a] * w + be[a], jnp.conj(be[a]) * w + jnp.conj(al[a])
    dz = ((dal[a] * w + dbe[a]) * den - num * (jnp.conj(dbe[a]) * w + jnp.conj(dal[a]))) / den**2
    S = jax.ops.segment_sum(z, a, num_segments=P)
    A, B = member_phase_coefficients(n, S.real, S.imag, R, delta)
    phi_dot = omega[a] + A[a] * z.real + B[a] * z.imag
    np.testing.assert_allclose(dz, 1j * z * phi_dot, rtol=0, atol=1e-13)


@pytest.mark.slow
def test_picks_the_reference_member_and_moves_it():
    a = jax.random.randint(jax.random.key(6), (150,), 0, P).astype(jnp.int32)
    bits, cum = member_bits(a, P)
    assert np.array_equal(members_of_bits(bits, a.shape[0]), a)
    n = jnp.bincount(a, length=P).astype(float)
    u = jnp.linspace(0.0, 0.999999, 37)
    for c in range(P):
        got = jax.vmap(lambda v: pick_member_bits(v, bits, cum, c, n[c]))(u)
        want = jax.vmap(lambda v: pick_member(v, a, c, n[c]))(u)
        assert np.array_equal(got, want)
    bits2, cum2 = move_member_bits(bits, cum, 77, a[77], (a[77] + 1) % P, True)
    b2, c2 = member_bits(a.at[77].set((a[77] + 1) % P), P)
    assert np.array_equal(bits2, b2) and np.array_equal(cum2, c2)


def _coalescence_H():
    """experiments/copy_coalescence's H: diag(−1, 0, 1) + couplings 0.15 e^{iδ}."""
    a = np.arange(P)
    upper = np.triu(0.15 * np.exp(1j * (1.3 * (a[None, :] - a[:, None]) + 0.4 * a[:, None])), 1)
    return jnp.asarray(upper + upper.conj().T + np.diag(a - 1.0))


def _paths(max_substep, n_terms, T=4.0, N=30):
    """Both laws from one misaligned start with one key. With K = 8 the
    re-base radius is c_max = 0.018 and the substep cap c_max/(4η̂) ≈ 0.015
    stays above max_substep ≤ 0.01, so both laws take the same iterations."""
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)
    phi = jax.random.uniform(jax.random.key(1), a.shape, minval=-jnp.pi, maxval=jnp.pi)
    y0, key = faithful_state(MemberState(a=a, phi=phi)), jax.random.key(3)
    params = MatrixParams(H=_coalescence_H())
    ref = CopyMembersFaithful(P, max_substep=max_substep)
    mob = CopyMembersFaithfulMobius(P, max_substep=max_substep, n_terms=n_terms)
    y1 = jax.jit(lambda y: ref.step(0.0, y, params, T, key))(y0)
    y2, diag = jax.jit(lambda y: run_mobius(mob, 0.0, y, params, T, key))(y0)
    dphi = float(jnp.max(jnp.abs(jnp.angle(jnp.exp(1j * (y1.phi - y2.phi))))))
    return y1, y2, diag, dphi


@pytest.mark.slow
def test_same_events_as_the_reference_with_one_key():
    """Same candidates, same events, same beables; phases equal to the two
    RK4 errors (~1e-9 at substep 0.01, tests/slow: they fall as h⁴). K = 8
    terms re-base often, so re-basing is exercised too."""
    y1, y2, diag, dphi = _paths(0.01, 8)
    assert int(y1.n_proposals) == int(y2.n_proposals) > 20
    assert int(y1.n_events) == int(y2.n_events) > 10
    assert np.array_equal(y1.a, y2.a)
    assert int(diag["rebases"]) > 0
    assert float(diag["truncation_bound"]) <= 1e-14
    assert dphi <= 1e-6


@pytest.mark.slow
def test_phase_difference_falls_as_h4():
    """Both laws are RK4 of one flow: halving the substep divides their
    difference by ≈ 16 (8 to 32 allowed), events unchanged."""
    y1, y2, _, d1 = _paths(0.01, 32)
    z1, z2, _, d2 = _paths(0.005, 32)
    assert np.array_equal(y1.a, y2.a) and np.array_equal(z1.a, z2.a)
    assert 8 <= d1 / d2 <= 32


@pytest.mark.slow
def test_nested_vmap_equals_loop():
    """vmap(vmap(step)) over keys runs one flattened batch: same as a loop."""
    N, T = 24, 2.0
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)
    y0 = faithful_state(MemberState(a=a, phi=jnp.sin(1.7 * jnp.arange(float(N)))))
    params, law = MatrixParams(H=_H()), CopyMembersFaithfulMobius(P)
    keys = jax.random.split(jax.random.key(9), 6).reshape(2, 3)
    step = lambda k: law.step(0.0, y0, params, T, k)
    nested = jax.jit(jax.vmap(jax.vmap(step)))(keys)
    one = jax.jit(step)
    for i in range(2):
        for j in range(3):
            y = one(keys[i, j])
            assert np.array_equal(nested.a[i, j], y.a)
            np.testing.assert_allclose(nested.phi[i, j], y.phi, rtol=0, atol=1e-12)
