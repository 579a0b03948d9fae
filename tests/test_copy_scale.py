"""`CopyFaithfulTauLeap` (physics §5.8): the faithful copy process lumped into
phase types and tau-leaped. Fast: its hazards and phase flow equal the member
rule and S40 summed over members (brute force), its Poisson draws, and the
expected events of one step (which a 5 % rate error fails by > 10 SE).
Slow: two-sample KS against the exact-event `CopyMembersFaithfulMobius`
from the same keys, and the power of that test against a 5 % rate mutant."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jqd
import jqd.copy._faithful_leap as leap
from jqd.copy import (
    CopyFaithfulTauLeap,
    CopyMembersFaithfulMobius,
    CopyParams,
    FaithfulTypeState,
    MemberState,
    faithful_state,
    faithful_type_state,
    hamiltonian_to_rates,
)
from jqd.copy._faithful import member_flow

P, L = 3, 5


def _H():
    return jqd.fock.random_hermitian(jax.random.key(3), P)


def _state(seed=0):
    """A random type state: counts 0..6 (one type empty), random type phases."""
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 7, (P, L)).astype(float)
    n[1, 2] = 0.0
    zero = jnp.zeros(())
    return FaithfulTypeState(jnp.asarray(n), jnp.asarray(rng.uniform(-3, 3, (P, L))), zero, zero)


def _members(y):
    """The members (class, phase) of a type state, one per unit of n."""
    a, phi = [], []
    for c in range(P):
        for l in range(L):
            a += [c] * int(y.n[c, l])
            phi += [float(y.phi[c, l])] * int(y.n[c, l])
    return np.array(a), np.array(phi)


def test_pair_hazards_equal_the_member_rule():
    """Σ over the members of two types of 2R_{a_Y a_X} sin⁺(φ_Y − φ_X + δ_{a_Y a_X})/√(n_X n_Y)
    (physics §5.8, X copies Y) equals the signed type-pair hazard, both ways."""
    y = _state()
    R, delta, _ = (np.asarray(x) for x in hamiltonian_to_rates(_H()))
    a, phi = _members(y)
    nc = np.bincount(a, minlength=P)
    rate = np.zeros((P, P))  # members of class x copying class y
    flux = {}
    z = np.exp(1j * np.asarray(y.phi))
    for ca in range(P):
        for cb in range(P):
            if ca == cb:
                continue
            for l in range(L):
                for m in range(L):
                    th = np.angle(z[cb, m]) - np.angle(z[ca, l]) + delta[cb, ca]
                    r = 2 * R[cb, ca] * max(np.sin(th), 0) / np.sqrt(nc[ca] * nc[cb] or 1)
                    flux[ca, l, cb, m] = y.n[ca, l] * y.n[cb, m] * r
                    rate[ca, cb] += flux[ca, l, cb, m]
    h = np.asarray(
        jax.jit(leap.pair_hazards)(y.n, jnp.asarray(z), jnp.asarray(R), jnp.asarray(delta))
    )
    pa, pb = (np.asarray(x) for x in leap._pairs(P))
    for p in range(len(pa)):
        for l in range(L):
            for m in range(L):
                want = flux[pa[p], l, pb[p], m] - flux[pb[p], m, pa[p], l]
                np.testing.assert_allclose(h[p, l, m], want, atol=1e-12)
    out, inn = (
        np.asarray(x) for x in jax.jit(leap.type_flows, static_argnums=1)(jnp.asarray(h), P)
    )
    np.testing.assert_allclose(out.sum(), sum(flux.values()), rtol=1e-12)
    np.testing.assert_allclose(out.sum(), inn.sum(), rtol=1e-12)


def test_type_phase_flow_is_s40_summed_over_members():
    """The type phase velocity equals S40 summed over the expanded members
    (`_faithful.member_flow`): the lumping keeps every member's phase law."""
    y = _state(1)
    R, delta, omega = hamiltonian_to_rates(_H())
    v = np.asarray(jax.jit(leap.phase_velocity)(y.phi, y.n, R, delta, omega))
    a, phi = _members(y)
    onehot = (a[:, None] == np.arange(P)).astype(float)
    n = jnp.asarray(np.bincount(a, minlength=P).astype(float))
    c, s = np.cos(phi), np.sin(phi)
    flow = jax.jit(member_flow)
    dc, ds = flow((jnp.asarray(c), jnp.asarray(s)), jnp.asarray(onehot), n, R, delta, omega)
    phidot_members = c * np.asarray(ds) - s * np.asarray(dc)
    expect = np.concatenate(
        [np.repeat(v[k, l], int(y.n[k, l])) for k in range(P) for l in range(L)]
    )
    np.testing.assert_allclose(phidot_members, expect, atol=1e-12)


@pytest.mark.parametrize("mu", [0.3, 3.9, 4.1, 30.0])
def test_poisson_draws(mu):
    """Inversion (μ <= 4): the Poisson pmf (χ², 4e4 draws); above: mean and variance μ."""
    x = np.asarray(leap.poisson(jax.random.key(1), jnp.full((40000,), mu)))
    assert np.all(x == np.round(x)) and np.all(x >= 0)
    if mu <= leap.POISSON_EXACT_MAX:
        k = np.arange(int(mu + 8 * np.sqrt(mu) + 6))
        obs = np.array([np.sum(x == j) for j in k[:-1]] + [np.sum(x >= k[-1])])
        pmf = stats.poisson.pmf(k[:-1], mu)
        exp = x.size * np.append(pmf, 1 - pmf.sum())
        keep = exp > 5
        chi2 = np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep])
        assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3
    assert abs(x.mean() - mu) < 5 * np.sqrt(mu / x.size)
    assert abs(x.var() / mu - 1) < 0.05


def test_one_step_events_have_the_member_rule_mean():
    """From a fixed state, the events of one short step, averaged over 4000
    keys, equal dt × Σ over member pairs of the copy rate (brute force) to
    O(dt²): a 5 % rate error is > 10 standard errors off."""
    H = jqd.fock.random_hermitian(jax.random.key(8), P)
    R, delta, _ = (np.asarray(x) for x in hamiltonian_to_rates(H))
    rng = np.random.default_rng(2)
    a = np.repeat(np.arange(P), 100)
    y0 = faithful_type_state(
        MemberState(a=jnp.asarray(a), phi=jnp.asarray(rng.uniform(-3, 3, 300))), P, 8
    )
    z = np.exp(1j * np.asarray(y0.phi))
    total = 0.0
    for ca in range(P):
        for cb in range(P):
            if ca != cb:
                th = np.angle(z[cb])[None, :] - np.angle(z[ca])[:, None] + delta[cb, ca]
                w = np.asarray(y0.n[ca])[:, None] * np.asarray(y0.n[cb])[None, :]
                total += np.sum(w * 2 * R[cb, ca] * np.maximum(np.sin(th), 0)) / 100.0
    dt = 0.1
    law = CopyFaithfulTauLeap(P)
    keys = jax.random.split(jax.random.key(4), 4000)
    one = lambda k: law.step(0.0, y0, CopyParams(H=H), dt, k).n_events
    ev = np.asarray(jax.jit(jax.vmap(one))(keys))
    se = ev.std() / np.sqrt(ev.size)
    assert abs(ev.mean() - dt * total) < 4 * se + 0.01 * dt * total
    assert 0.05 * dt * total > 10 * se  # the power against a 5 % rate error


def test_type_state_bins_members_and_checks_input():
    a = jnp.asarray([0, 0, 1, 1, 1])
    phi = jnp.asarray([0.5, 0.5 + np.pi, -1.0, -1.0 + 2 * np.pi / 4, 2.0])
    y = faithful_type_state(MemberState(a=a, phi=phi), 2, 4)
    np.testing.assert_array_equal(np.asarray(y.n), [[1, 0, 1, 0], [1, 1, 1, 0]])
    nc, S = y.class_sums()
    np.testing.assert_allclose(np.asarray(nc), [2, 3])
    np.testing.assert_allclose(np.abs(np.asarray(S[0])), 0.0, atol=1e-12)  # two opposite phases
    with pytest.raises(ValueError, match="n_types"):
        faithful_type_state(MemberState(a=a, phi=phi), 2, 1)
    with pytest.raises(ValueError, match="FaithfulTypeState"):
        jqd.evolve(
            CopyFaithfulTauLeap(2),
            MemberState(a=a, phi=phi),
            CopyParams(H=jnp.eye(2)),
            dt=0.1,
            n_save=1,
            key=jax.random.key(0),
        )


# ----------------------------------------------------------- slow: against the exact law


def _runs(N, T, n_save, B=32, L=32, dt=0.25, seed=7):
    """Per-ensemble (V(t), n/N(t), events(t)) of both laws from the same initial
    member phases (keys `seed`), saves every T/n_save."""
    H = jnp.asarray(
        [[-1, 0.15 * np.exp(1.3j), 0.15 * np.exp(2.6j)], [0, 0, 0.15 * np.exp(1.7j)], [0, 0, 1]]
    )
    H = jnp.triu(H, 1) + jnp.conj(jnp.triu(H, 1)).T + jnp.diag(jnp.diag(H))
    params = CopyParams(H=H)
    a = jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P)
    keys = jax.random.split(jax.random.key(seed), B)
    phases = lambda k: jax.random.uniform(
        jax.random.split(k)[0], a.shape, minval=-np.pi, maxval=np.pi
    )

    def exact(k):
        law = CopyMembersFaithfulMobius(P, max_substep=0.05, max_events_per_step=None)
        y0 = faithful_state(MemberState(a=a, phi=phases(k)))

        def obs(t, y, p):
            n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=P)
            return jqd.copy.circular_variance(y, P), n / N, y.n_events.astype(float)

        return jqd.evolve(
            law, y0, params, dt=T / n_save, n_save=n_save, key=k, observe=obs, check=False
        ).observables

    def tau_leap(k):
        y0 = faithful_type_state(MemberState(a=a, phi=phases(k)), P, L)
        obs = lambda t, y, p: (y.circular_variance(), y.class_sums()[0] / N, y.n_events)
        sps = int(np.ceil(T / n_save / dt))
        return jqd.evolve(
            CopyFaithfulTauLeap(P),
            y0,
            params,
            dt=T / n_save / sps,
            n_save=n_save,
            steps_per_save=sps,
            key=k,
            observe=obs,
            check=False,
        ).observables

    return [[np.asarray(x) for x in jax.jit(jax.vmap(f))(keys)] for f in (exact, tau_leap)]


def _ks(ex, lp, fraction=0.5):
    """KS p-values: events at the end, n_0/N at the end, each ensemble's t_align
    (save index where V <= fraction·V(0), censored at the end)."""
    t_al = lambda V: np.array([np.argmax(np.append(v <= fraction * v[0], True)) for v in V])
    return {
        "events": stats.ks_2samp(ex[2][:, -1], lp[2][:, -1]).pvalue,
        "n/N": stats.ks_2samp(ex[1][:, -1, 0], lp[1][:, -1, 0]).pvalue,
        "t_align": stats.ks_2samp(t_al(ex[0]), t_al(lp[0])).pvalue,
    }


@pytest.mark.slow
def test_tau_leap_agrees_with_exact_and_catches_a_5_percent_rate(monkeypatch):
    """N = 300, 32 ensembles each, t <= 40: KS on events, n/N and V's crossing
    pass at 0.01/3 each; with the hazards 5 % high the events KS fails."""
    ex, lp = _runs(300, 40.0, 8)
    p = _ks(ex, lp, fraction=0.8)
    assert min(p.values()) > 0.01 / 3, p
    monkeypatch.setattr(leap, "rate_scale", lambda: 1.05)
    _, lp5 = _runs(300, 40.0, 8)
    assert _ks(ex, lp5, fraction=0.8)["events"] < 0.01 / 3
