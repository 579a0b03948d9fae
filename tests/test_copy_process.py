"""Stochastic copy process (physics §5, S39-S40): exact event-driven and
tau-leaping, member and count level, against exact Schrödinger evolution."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jqd
from jqd.copy import (
    CopyCountsTauLeap,
    CopyGillespie,
    CopyMembersTauLeap,
    CountState,
    MatrixParams,
    MemberState,
    StepCapError,
    class_phase_velocity,
    copy_gillespie,
    count_drift,
    counts_from_members,
    gillespie_state,
    hamiltonian_to_rates,
    members_from_counts,
)
from jqd.stats import loglog_slope

P = 4
T_END = 2.0
TS = np.linspace(0.0, T_END, 11)


def _problem(seed=5):
    H = jqd.fock.random_hermitian(jax.random.key(seed), P)
    psi0 = jnp.ones(P, complex) / 2.0
    rho = np.abs(np.asarray(jqd.reference.propagate(H, psi0, jnp.asarray(TS)))) ** 2
    return MatrixParams(H=H), psi0, rho


PARAMS, PSI0, RHO_QM = _problem()


def _counts0(N, dtype=jnp.float64):
    return CountState(n=jnp.full(P, N / P, dtype), phi=jnp.zeros(P, dtype))


def _members0(N, dtype=jnp.float64):
    return MemberState(
        a=jnp.repeat(jnp.arange(P, dtype=jnp.int32), N // P), phi=jnp.zeros(N, dtype)
    )


def _tau_run(law, y0, params, dt, steps_per_save, n_save, key):
    """Tau-leaping with traced dt and steps per save, so that the binomial
    sampler compiles once per law, shapes and n_save across the dt ladders of
    these tests (`jqd.evolve` would recompile for each step count)."""
    dtype = y0.phi.dtype
    return _tau_core(
        law, y0, params, jnp.asarray(dt, dtype), jnp.asarray(steps_per_save), n_save, key
    )


@eqx.filter_jit
def _tau_core(law, y0, params, dt, steps_per_save, n_save, key):
    def save(carry, k):
        def body(i, c):
            y, kk = c
            kk, sub = jax.random.split(kk)
            return law.step(0.0, y, params, dt, sub), kk

        y, _ = jax.lax.fori_loop(0, steps_per_save, body, (carry, k))
        return y, y

    keys = jax.random.split(key, n_save)
    _, ys = jax.lax.scan(save, y0, keys)
    return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), y0, ys)


def _freqs(ys, N, member=False):
    if member:
        n = jax.vmap(lambda a: jnp.bincount(a, length=P))(ys.a.reshape(-1, ys.a.shape[-1]))
        n = np.asarray(n).reshape(ys.a.shape[:-1] + (P,))
    else:
        n = np.asarray(ys.n)
    return n / N


def _rms(freqs, rho):
    """RMS of n_a/N − |ψ_a|² over ensembles, save times after t0, classes."""
    return float(np.sqrt(np.mean((freqs[..., 1:, :] - rho[1:]) ** 2)))


# ------------------------------------------------------------------ physics


@pytest.mark.slow
def test_count_drift_is_S32_and_phase_velocity_is_S40():
    """Transfer rates n_a n_b × (per pair rate) give ṅ = N × S32 (q = 1/2); the
    aligned S40 velocity is φ̇ of Schrödinger's ψ = √ρ e^{−iφ} (r = −1/2)."""
    for seed, n in [(0, 2), (3, 5), (7, 8)]:
        H = jqd.fock.random_hermitian(jax.random.key(seed), n)
        k = jax.random.key(100 + seed)
        psi = jax.random.normal(k, (n,)) + 1j * jax.random.normal(jax.random.split(k)[0], (n,))
        psi = psi / jnp.linalg.norm(psi)
        hbar = 0.7
        R, delta, omega = hamiltonian_to_rates(H, hbar)
        rho, phi = jnp.abs(psi) ** 2, -jnp.angle(psi)
        dpsi = (-1j / hbar) * (H @ psi)
        rho_dot = 2 * jnp.real(jnp.conj(psi) * dpsi)
        phi_dot = -jnp.imag(dpsi / psi)
        N = 1e9
        count_drift_j = jax.jit(count_drift, static_argnames="rule")
        np.testing.assert_allclose(count_drift_j(N * rho, phi, R, delta) / N, rho_dot, atol=1e-12)
        np.testing.assert_allclose(
            count_drift_j(N * rho, phi, R, delta, rule="printed") / N, -rho_dot, atol=1e-12
        )
        np.testing.assert_allclose(
            jax.jit(class_phase_velocity)(N * rho, phi, R, delta, omega), phi_dot, atol=1e-10
        )


def test_printed_sign_moves_populations_the_wrong_way():
    """Stochastic check of physics §5's sign statement: over a short time the
    consistent rule moves n/N with QM, the printed S39 rule against it."""
    N, t1 = 10**5, 0.3
    ts = jnp.array([0.0, t1])
    rho1 = np.abs(np.asarray(jqd.reference.propagate(PARAMS.H, PSI0, ts)[1])) ** 2
    d_qm = rho1 - 0.25
    moved = {}
    for rule in ("consistent", "printed"):
        sol = copy_gillespie(_counts0(N), PARAMS, ts, jax.random.key(1), rule=rule)
        moved[rule] = np.asarray(sol.observables.n[1]) / N - 0.25
    big = np.abs(d_qm) > 0.02
    assert big.any()
    assert np.all(np.sign(moved["consistent"][big]) == np.sign(d_qm[big]))
    assert np.all(np.sign(moved["printed"][big]) == -np.sign(d_qm[big]))
    assert np.max(np.abs(moved["consistent"] - d_qm)) < 0.01


def _fit_exponent(Ns, rms):
    return loglog_slope(Ns, rms)


@pytest.mark.slow
def test_finite_N_scaling_count_gillespie():
    """Exact event-driven, count level: RMS departure ∝ N^p, p = −1/2 ± 0.05."""
    Ns = np.array([10**2, 10**3, 10**4, 10**5])
    B = 16
    keys = jax.random.split(jax.random.key(11), B)
    rms = []
    for N in Ns:
        run = jax.vmap(lambda k, N=N: copy_gillespie(_counts0(float(N)), PARAMS, TS, k).observables)
        rms.append(_rms(_freqs(run(keys), N), RHO_QM))
    p = _fit_exponent(Ns, rms)
    assert abs(p + 0.5) <= 0.05, (p, rms)


@pytest.mark.slow
def test_finite_N_scaling_member_tau():
    """Tau-leaping, member level, N = 1e2..1e4 (1e6 in the slow test): p = −1/2 ± 0.05."""
    Ns = np.array([10**2, 10**3, 10**4])
    B = 16
    law = CopyMembersTauLeap(P)
    keys = jax.random.split(jax.random.key(12), B)
    dt = 0.02
    rms = []
    for N in Ns:
        ys = jax.vmap(lambda k, N=N: _tau_run(law, _members0(int(N)), PARAMS, dt, 10, 10, k))(keys)
        rms.append(_rms(_freqs(ys, N, member=True), RHO_QM))
    p = _fit_exponent(Ns, rms)
    assert abs(p + 0.5) <= 0.05, (p, rms)


@pytest.mark.slow
def test_finite_N_scaling_member_to_1e6_and_counts_to_1e10():
    """Member level N = 1e2..1e6 (tau, dt = 0.02) and count level to 1e10
    (tau, dt = 0.002, bias 2e-7 ≪ noise 3e-6 at 1e10)."""
    B = 8
    keys = jax.random.split(jax.random.key(13), B)
    Ns = np.array([10**2, 10**3, 10**4, 10**5, 10**6])
    law = CopyMembersTauLeap(P)
    rms = []
    for N in Ns:
        ys = jax.vmap(lambda k, N=N: _tau_run(law, _members0(int(N)), PARAMS, 0.02, 10, 10, k))(
            keys
        )
        rms.append(_rms(_freqs(ys, N, member=True), RHO_QM))
    p = _fit_exponent(Ns, rms)
    assert abs(p + 0.5) <= 0.05, (p, rms)
    Ns = 10.0 ** np.arange(2, 11)
    law = CopyCountsTauLeap(P)
    rms = []
    for N in Ns:
        ys = jax.vmap(lambda k, N=N: _tau_run(law, _counts0(N), PARAMS, 0.002, 100, 10, k))(keys)
        rms.append(_rms(_freqs(ys, N), RHO_QM))
    p = _fit_exponent(Ns, rms)
    assert abs(p + 0.5) <= 0.05, (p, rms)


@pytest.mark.slow
def test_member_and_count_level_agree_in_distribution():
    """Two-sample KS tests at N = 1e3 (each class's n_a/N at t = 1 and t = 2):
    tau-leaping member vs count, and exact member vs exact count."""
    N, B = 1000, 200
    keys = jax.random.split(jax.random.key(21), 2 * B)
    ka, kb = keys[:B], keys[B:]
    yc = jax.vmap(lambda k: _tau_run(CopyCountsTauLeap(P), _counts0(N), PARAMS, 0.02, 50, 2, k))(ka)
    ym = jax.vmap(lambda k: _tau_run(CopyMembersTauLeap(P), _members0(N), PARAMS, 0.02, 50, 2, k))(
        kb
    )
    fc, fm = _freqs(yc, N), _freqs(ym, N, member=True)
    ts = jnp.array([0.0, 1.0, 2.0])
    gc = jax.vmap(lambda k: copy_gillespie(_counts0(N), PARAMS, ts, k).observables)(ka)
    gm = jax.vmap(lambda k: copy_gillespie(_members0(N), PARAMS, ts, k, n_states=P).observables)(kb)
    gfc, gfm = _freqs(gc, N), _freqs(gm, N, member=True)
    pvals = []
    for i in (1, 2):
        for a in range(P):
            pvals.append(stats.ks_2samp(fc[:, i, a], fm[:, i, a]).pvalue)
            pvals.append(stats.ks_2samp(gfc[:, i, a], gfm[:, i, a]).pvalue)
    # 16 tests: Bonferroni at family level 1e-3
    assert min(pvals) > 1e-3 / len(pvals), pvals
    # the test has power: a shifted sample (by 1/√N·0.5) is rejected
    assert stats.ks_2samp(fc[:, 2, 0], fm[:, 2, 0] + 0.5 * np.std(fm[:, 2, 0])).pvalue < 1e-3


def _tau_bias(dt):
    """Deterministic bias of the tau-leap scheme at t = T_END (N = 1e15)."""
    N = 1e15
    nsteps = int(round(T_END / dt))
    ys = _tau_run(CopyCountsTauLeap(P), _counts0(N), PARAMS, dt, nsteps, 1, jax.random.key(0))
    return np.abs(np.asarray(ys.n[-1]) / N - RHO_QM[-1])


def test_tau_leap_bias_is_second_order():
    b = np.array([_tau_bias(dt).max() for dt in (0.1, 0.05, 0.025)])
    ratios = b[:-1] / b[1:]
    assert np.all((ratios > 3.5) & (ratios < 4.6)), ratios
    assert b[1] < 2e-4  # documented: ≈ 0.07 dt² (max over classes) at T = 2 on this problem


@pytest.mark.slow
def test_gillespie_and_tau_leap_agree_as_leap_shrinks():
    """Ensemble means at t = 2 agree within bias(dt) + 4 SE; distributions
    agree (KS) at the smallest leap."""
    N, B = 10**4, 64
    keys = jax.random.split(jax.random.key(31), B)
    ts = jnp.array([0.0, T_END])
    g = np.asarray(
        jax.vmap(lambda k: copy_gillespie(_counts0(N), PARAMS, ts, k).observables.n)(keys)
    )
    g = g[:, -1] / N
    kt = jax.random.split(jax.random.key(32), B)
    for dt in (0.1, 0.05, 0.025):
        nsteps = int(round(T_END / dt))
        y = jax.vmap(
            lambda k, dt=dt, nsteps=nsteps: _tau_run(
                CopyCountsTauLeap(P), _counts0(N), PARAMS, dt, nsteps, 1, k
            )
        )(kt)
        f = np.asarray(y.n[:, -1]) / N
        se = np.sqrt(g.var(0, ddof=1) / B + f.var(0, ddof=1) / B)
        diff = np.abs(f.mean(0) - g.mean(0))
        assert np.all(diff <= _tau_bias(dt) + 4 * se), (dt, diff, se)
    for a in range(P):
        assert stats.ks_2samp(f[:, a], g[:, a]).pvalue > 1e-3 / P


# --------------------------------------------------------------------- nodes


def _node_counts(N):
    n = jnp.array([N / 3, N / 3, N / 3, 0.0])
    return CountState(n=jnp.round(n), phi=jnp.zeros(P))


@pytest.mark.slow
def test_node_never_fills_while_QM_fills_it():
    N = 999
    psi = jnp.array([1, 1, 1, 0], complex) / np.sqrt(3)
    rho = np.abs(np.asarray(jqd.reference.propagate(PARAMS.H, psi, jnp.asarray(TS)))) ** 2
    assert rho[:, 3].max() > 0.05  # QM fills the node
    y0 = _node_counts(N)
    g = copy_gillespie(y0, PARAMS, TS, jax.random.key(3)).observables
    assert np.all(np.asarray(g.n)[:, 3] == 0)
    gm = copy_gillespie(
        members_from_counts(y0), PARAMS, TS, jax.random.key(3), n_states=P
    ).observables
    assert np.all(np.asarray(gm.a) != 3)
    t = _tau_run(CopyCountsTauLeap(P), y0, PARAMS, 0.01, 20, 10, jax.random.key(4))
    assert np.all(np.asarray(t.n)[:, 3] == 0)
    tm = _tau_run(
        CopyMembersTauLeap(P), members_from_counts(y0), PARAMS, 0.01, 20, 10, jax.random.key(4)
    )
    assert np.all(np.asarray(tm.a) != 3)
    # total is conserved exactly
    assert np.all(np.asarray(t.n).sum(-1) == float(y0.n.sum()))


@pytest.mark.slow
def test_spectators_shrink_departure_monotonically():
    """Remedy (2) of S §3.4: a fraction s of spectators spread over all classes.
    Departure of the copy process from QM of the same initial ensemble
    (phases: ψ0's, 0 for the node) decreases monotonically in s."""
    N, B = 4000, 32
    psi0 = np.array([1, 1, 1, 0], complex) / np.sqrt(3)
    keys = jax.random.split(jax.random.key(41), B)
    deps = []
    for s in (0.0, 0.002, 0.02, 0.2):
        n = np.round(N * ((1 - s) * np.abs(psi0) ** 2 + s / P))
        y0 = CountState(n=jnp.asarray(n), phi=jnp.zeros(P))
        psi_s = np.sqrt(n / n.sum()).astype(complex)
        rho = np.abs(np.asarray(jqd.reference.propagate(PARAMS.H, psi_s, jnp.asarray(TS)))) ** 2
        ys = jax.vmap(lambda k, y0=y0: copy_gillespie(y0, PARAMS, TS, k).observables)(keys)
        deps.append(_rms(np.asarray(ys.n) / n.sum(), rho))
    assert np.all(np.diff(deps) < 0), deps
    assert deps[0] > 5 * deps[-1], deps


# --------------------------------------------------------- transformations


def test_gillespie_counters_and_conservation():
    """Every accepted event is a candidate and every candidate a loop
    iteration; N is conserved exactly (float32 too)."""
    N = 200
    ts = jnp.array([0.0, 0.5, 1.0])
    sol = copy_gillespie(_counts0(N), PARAMS, ts, jax.random.key(8))
    ev, prop, it = (int(sol.stats[k]) for k in ("n_events", "n_proposals", "n_iterations"))
    assert 0 < ev <= prop <= it
    assert np.all(np.asarray(sol.observables.n).sum(-1) == N)
    p32 = MatrixParams(H=PARAMS.H.astype(jnp.complex64), hbar=jnp.float32(1.0))
    s32 = copy_gillespie(_counts0(N, jnp.float32), p32, ts.astype(jnp.float32), jax.random.key(8))
    assert float(s32.observables.n[-1].sum()) == N


@pytest.mark.slow
def test_gillespie_step_cap_raises_or_flags():
    """A step that needs more than max_steps iterations stops short: the
    monitor raises StepCapError naming the fix, or flags the partial run."""
    with pytest.raises(StepCapError, match="max_steps"):
        copy_gillespie(_counts0(400), PARAMS, TS, jax.random.key(0), max_steps=5)
    sol = copy_gillespie(
        _counts0(400), PARAMS, TS, jax.random.key(0), max_steps=5, on_breakdown="flag"
    )
    assert int(sol.stats["breakdown_code"]) == 2 and int(sol.stats["breakdown_index"]) == 1
    assert float(sol.stats["breakdown_time"]) == pytest.approx(TS[1])
    law = CopyGillespie(P, max_steps=5)
    run = jax.jit(
        lambda k: jqd.evolve(law, gillespie_state(_counts0(400)), PARAMS, dt=0.2, n_save=2, key=k)
    )
    with pytest.raises(Exception, match="max_steps"):
        jax.block_until_ready(run(jax.random.key(0)).y_final)


@pytest.mark.slow  # 15 s; sharded == unsharded is checked by default in tests/test_sweep.py
def test_sharded_batch_equals_unsharded():
    law = CopyCountsTauLeap(P)
    mesh = jqd.batch_mesh(4)
    keys = jax.random.split(jax.random.key(9), 4)
    y0s = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 4), _counts0(400))
    run = jax.jit(jax.vmap(lambda y, k: _tau_run(law, y, PARAMS, 0.05, 4, 2, k).n))
    ref = run(y0s, keys)
    out = run(jqd.shard_batch(y0s, mesh), jqd.shard_batch(keys, mesh))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))


@pytest.mark.slow
def test_counts_members_roundtrip_and_bad_input():
    y = CountState(n=jnp.array([3.0, 0.0, 2.0, 1.0]), phi=jnp.array([0.1, 0.2, 0.3, 0.4]))
    m = members_from_counts(y)
    c = counts_from_members(m, P)
    np.testing.assert_array_equal(c.n, y.n)
    np.testing.assert_allclose(c.phi[np.asarray(y.n) > 0], y.phi[np.asarray(y.n) > 0], atol=1e-12)
    law = CopyCountsTauLeap(P)
    with pytest.raises(ValueError, match="dt=.*too large"):
        jqd.evolve(law, _counts0(400), PARAMS, dt=1.0, n_save=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="nonnegative integers"):
        jqd.evolve(
            law,
            CountState(n=jnp.array([1.5, 1, 1, 1]), phi=jnp.zeros(P)),
            PARAMS,
            dt=0.01,
            n_save=1,
            key=jax.random.key(0),
        )
    with pytest.raises(ValueError, match="rule"):
        copy_gillespie(_counts0(8), PARAMS, TS, jax.random.key(0), rule="wrong")
    with pytest.raises(ValueError, match="n_states"):
        copy_gillespie(_members0(8), PARAMS, TS, jax.random.key(0))
    with pytest.raises(ValueError, match="Hermitian"):
        copy_gillespie(
            _counts0(8), MatrixParams(H=jnp.triu(jnp.ones((P, P)))), TS, jax.random.key(0)
        )
    with pytest.raises(ValueError, match="uniformly spaced"):
        copy_gillespie(_counts0(8), PARAMS, jnp.array([0.0, 0.1, 0.3]), jax.random.key(0))


def test_differentiating_a_sampler_raises_naming_the_alternatives():
    """The sampled counts are piecewise constant in params: jax.grad returned 0
    silently (issue 27). Now it raises, naming MeanField and a score-function
    estimator (at trace time: nothing is compiled). A derivative with respect to
    something else passes (a symbolic-zero tangent); the forward call is the
    identity, under jit and vmap too (the law contract)."""
    law, y0, key = CopyCountsTauLeap(P), _counts0(40), jax.random.key(0)

    def final_n(H):
        sol = jqd.evolve(law, y0, MatrixParams(H=H), dt=0.05, n_save=2, key=key)
        return jnp.sum(sol.y_final.n * jnp.arange(P))

    H = PARAMS.H
    for transform in (jax.grad, lambda f: lambda H: jax.jvp(f, (H,), (H,))):
        with pytest.raises(TypeError, match="piecewise constant in params.*MeanField.*score"):
            transform(final_n)(H)
    from jqd._guards import no_derivative

    def other(H, s):
        return s * jnp.sum(no_derivative(MatrixParams(H=H), "refused").H.real)

    assert float(jax.grad(other, argnums=1)(H, 2.0)) == float(jnp.sum(H.real))


class _Factorized(jqd.copy.AbstractCopyRates):
    """The consistent rule as an `AbstractCopyRates`."""

    def transfer_rates(self, n, phi, R, delta):
        return jqd.copy.transfer_rates(n, phi, R, delta)

    def phase_velocity(self, n, phi, R, delta, omega):
        return class_phase_velocity(n, phi, R, delta, omega)


@pytest.mark.slow  # two tau-leap compilations (~2 × 3.5 s of binomial sampler)
def test_rates_object_replaces_the_rule():
    """`CopyCountsTauLeap(rates=...)` with the consistent rule as an object is the
    string rule to the bit (same key); member level and a second rule are
    refused with the fix (traced fields under vmap: experiments/copy_factorization)."""
    y0, dt = _counts0(1e4), 0.01
    key = jax.random.key(3)
    run = lambda law, k=key: (
        jqd.evolve(
            law, y0, PARAMS, dt=dt, n_save=4, steps_per_save=5, key=k, check=False
        ).observables
    )
    ref = run(CopyCountsTauLeap(P))
    obj = run(CopyCountsTauLeap(P, rates=_Factorized()))
    assert np.array_equal(np.asarray(ref.n), np.asarray(obj.n))
    assert np.array_equal(np.asarray(ref.phi), np.asarray(obj.phi))
    with pytest.raises(ValueError, match="CopyCountsTauLeap"):
        CopyMembersTauLeap(P, rates=_Factorized())
    with pytest.raises(ValueError, match="leave rule .* at its default"):
        CopyCountsTauLeap(P, rule="printed", rates=_Factorized())
    with pytest.raises(ValueError, match="AbstractCopyRates"):
        CopyCountsTauLeap(P, rates="consistent")


# -- derivatives through every input of a sampler (issue 51) -------------------------


class _Tilted(jqd.copy.AbstractCopyRates):
    """The consistent rule with every rate scaled by 1 + eps (a traced field, as
    copy-factorization's ε)."""

    eps: jax.Array

    def transfer_rates(self, n, phi, R, delta):
        return (1 + self.eps) * jqd.copy.transfer_rates(n, phi, R, delta)

    def phase_velocity(self, n, phi, R, delta, omega):
        return class_phase_velocity(n, phi, R, delta, omega)


def _sampler_cases():
    import cases_bell
    import cases_copy
    import cases_copy_members
    import cases_copy_scale

    cases = {}
    for module in (cases_copy, cases_copy_members, cases_bell, cases_copy_scale):
        cases.update({k: v for k, v in module.CASES.items() if v().law.stochastic})
    return cases


SAMPLERS = _sampler_cases()
TRANSFORMS = {
    "grad": lambda f: jax.grad(f)(0.0),
    "jvp": lambda f: jax.jvp(f, (0.0,), (1.0,)),
    "jacfwd": lambda f: jax.jacfwd(f)(0.0),
    "vmap-grad": lambda f: jax.vmap(jax.grad(f))(jnp.zeros(2)),
}


def _observed(t, y, params):
    y = y[0] if isinstance(y, tuple) else y  # a jqd.Coupled pair: its dt run
    return jnp.mean(jnp.cos(y.phi)) if hasattr(y, "phi") else jnp.mean(y.a == 0)


def _moved(case, what, s, errors=None):
    """The sum of the final state's float leaves of `case`'s run with `s`
    added to one input: params.H, the state's phases (ψ for Bell), dt or a
    rates object's field."""
    law, y0, params, dt = case.law, case.y0, case.params, case.dt
    if what == "params":
        params = MatrixParams(H=params.H + s * jnp.ones_like(params.H))
    elif what == "state" and isinstance(y0, tuple):  # a jqd.Coupled pair
        y0 = tuple(eqx.tree_at(lambda y: y.phi, y, y.phi + s) for y in y0)
    elif what == "state" and hasattr(y0, "phi"):
        y0 = eqx.tree_at(lambda y: y.phi, y0, y0.phi + s)
    elif what == "state":
        y0 = eqx.tree_at(lambda y: y.psi, y0, y0.psi * (1 + s))
    elif what == "dt":
        dt = dt + s
    else:
        law = CopyCountsTauLeap(law.n_states, rates=_Tilted(s))
    observe = None if errors is None else _observed
    sol = jqd.evolve(
        law, y0, params, dt=dt, n_save=2, key=jax.random.key(0), errors=errors, observe=observe
    )
    leaves = jax.tree_util.tree_leaves(sol.y_final)
    return sum(jnp.sum(jnp.real(x)) for x in leaves if jnp.issubdtype(x.dtype, jnp.inexact))


LEAVES = {"params": r"params\.H", "state": r"y\.(phi|psi)", "dt": "dt"}


def _refused(case, what, transform, errors=None):
    leaf = LEAVES.get(what, r"CopyCountsTauLeap\.rates\.eps \(a field of the law")
    with pytest.raises(TypeError, match=rf"piecewise constant in params.* through {leaf}"):
        TRANSFORMS[transform](lambda s: _moved(case, what, s, errors))


@pytest.mark.parametrize("case_id", list(SAMPLERS))
def test_a_derivative_through_the_state_of_a_sampler_is_refused(case_id):
    """jax.grad through the samplers was refused for params only: through the
    initial phases it returned exactly 0 (d⟨n₀⟩/dφ₀ = 79.8 ± 1.1 by central
    differences). It now raises at trace time (nothing runs), naming the
    state's leaf, for every sampler (params: `test_differentiating_a_sampler_
    raises_naming_the_alternatives`; every transform through every input of
    every sampler: the slow test below)."""
    _refused(SAMPLERS[case_id](), "state", "grad")


def test_every_transform_and_input_of_one_sampler_is_refused():
    """One mechanism (`sampled`) guards every sampler's step and coupled step:
    for the count tau-leap, jvp and vmap of grad through the state, grad
    through dt, grad and jvp through a user's rates object's field
    (copy-factorization's ε: 0 against 7.45 ± 0.45 by differences), and grad
    through `coupled_step` (`errors=`: the dt/2 run)."""
    case = SAMPLERS["copy-counts-tau-leap"]()
    for transform in ("jvp", "vmap-grad"):
        _refused(case, "state", transform)
    _refused(case, "dt", "grad")
    for transform in ("grad", "jvp"):
        _refused(case, "rates", transform)
    _refused(case, "state", "grad", jqd.Errors(2))


@pytest.mark.slow  # ~60 s: every transform through every input of every sampler
@pytest.mark.parametrize("case_id", list(SAMPLERS))
def test_every_transform_through_every_sampler_input_is_refused(case_id):
    case = SAMPLERS[case_id]()
    for what in LEAVES:
        for transform in TRANSFORMS:
            _refused(case, what, transform)
    if case_id == "copy-counts-tau-leap":
        for transform in TRANSFORMS:
            _refused(case, "rates", transform)
    if case.law.order is not None:  # a coupled dt/2 run (`coupled_step`)
        for what in ("params", "state", "dt"):
            _refused(case, what, "grad", jqd.Errors(2))


def test_tau_leap_hazard_bound_applies_to_a_rates_object():
    """The per-member hazard bound (dt · hazard <= 0.5) was the factorized
    rule's, read from params: a user's rule ten times faster passed it at
    ten times the safe dt. Its own hazard at y0 now bounds it too; the
    consistent rule as an object keeps the string rule's bound."""
    y = CountState(n=jnp.array([40.0, 30.0, 30.0, 20.0]), phi=jnp.array([0.0, 1.0, 2.0, 3.0]))
    checks = lambda rates, dt: CopyCountsTauLeap(P, rates=rates).checks(y, PARAMS, dt)
    safe = lambda rates: float(checks(rates, 0.01)[-1].value["safe"])  # the largest safe dt
    assert safe(_Factorized()) == float(
        CopyCountsTauLeap(P).checks(y, PARAMS, 0.01)[-1].value["safe"]
    )
    assert safe(_Tilted(jnp.asarray(9.0))) < safe(_Factorized()) / 2
    jqd._guards.enforce(checks(_Factorized(), 0.9 * safe(_Factorized())))
    with pytest.raises(ValueError, match=r"too large for tau-leaping.* Use dt <= "):
        jqd._guards.enforce(checks(_Tilted(jnp.asarray(9.0)), 0.9 * safe(_Factorized())))
