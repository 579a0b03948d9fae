"""Quantum statistics from fluctuating probabilities (physics §6)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy import integrate, stats

from jqd.dqm import (
    be_weight_closed_form,
    dirichlet_multinomial_weight,
    log_statistical_weight,
    log_weight_be,
    log_weight_fd,
    log_weight_mb,
    mean_occupation,
    most_probable_occupation,
    occupation_patterns,
    occupation_variance,
    pattern_frequencies,
    sample_dirichlet_multinomial,
    sample_occupations,
    spread_pattern,
    weight_be,
    weight_fd,
    weight_mb,
)

NM = [(4, 3), (6, 5)]


@pytest.mark.parametrize("N,M", NM + [(3, 4)])
def test_patterns_and_weights_normalized(N, M):
    p = occupation_patterns(N, M)
    assert p.shape == (math.comb(N + M - 1, N), M)
    assert np.all(p.sum(1) == N) and len({tuple(r) for r in p}) == len(p)
    np.testing.assert_allclose(float(jnp.sum(weight_mb(p))), 1.0, rtol=1e-13)
    np.testing.assert_allclose(float(jnp.sum(weight_be(p))), 1.0, rtol=1e-13)
    fd = np.asarray(weight_fd(p))
    if N <= M:
        np.testing.assert_allclose(fd.sum(), 1.0, rtol=1e-13)
        assert np.all(fd[np.any(p > 1, axis=1)] == 0)
    else:
        assert np.all(fd == 0)
    # MB of an explicit pattern: M^-N N!/prod n!
    n = p[len(p) // 2]
    exact = M**-N * math.factorial(N) / math.prod(math.factorial(int(k)) for k in n)
    np.testing.assert_allclose(float(weight_mb(n)), exact, rtol=1e-13)


@pytest.mark.parametrize("N,M", NM)
def test_averaged_multinomial_equals_be_weight(N, M):
    p = occupation_patterns(N, M)
    w = np.asarray(dirichlet_multinomial_weight(p, 1.0))
    np.testing.assert_allclose(w, be_weight_closed_form(N, M), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(weight_be(p)), be_weight_closed_form(N, M), rtol=1e-12)
    # alpha != 1 is not uniform (the identity is specific to the flat measure)
    w2 = np.asarray(dirichlet_multinomial_weight(p, 0.5))
    assert w2.max() / w2.min() > 2 and abs(w2.sum() - 1) < 1e-12


def test_averaged_weight_by_quadrature_over_simplex():
    """Independent check for M = 3: integrate the multinomial over the simplex
    with the flat Dirichlet density (M-1)! = 2."""
    N = 4
    for n in occupation_patterns(N, 3):
        coef = math.factorial(N) / math.prod(math.factorial(int(k)) for k in n)
        f = lambda w2, w1, n=n, coef=coef: (
            2 * coef * w1 ** n[0] * w2 ** n[1] * (1 - w1 - w2) ** n[2]
        )
        val, _ = integrate.dblquad(f, 0, 1, 0, lambda w1: 1 - w1, epsabs=1e-13, epsrel=1e-12)
        assert abs(val - be_weight_closed_form(N, 3)) < 1e-10, (n, val)


@pytest.mark.slow
@pytest.mark.parametrize("N,M", [NM[0], pytest.param(*NM[1], marks=pytest.mark.slow)])  # 6-5: 9 s
def test_dirichlet_multinomial_frequencies_uniform(N, M):
    S = 200_000
    counts = sample_dirichlet_multinomial(jax.random.key(N * 10 + M), N, M, (S,))
    assert counts.shape == (S, M) and np.all(np.asarray(counts).sum(1) == N)
    f = pattern_frequencies(counts, N, M)
    K = math.comb(N + M - 1, N)
    p = 1 / K
    se = math.sqrt(p * (1 - p) / S)
    assert np.all(np.abs(f - p) < 4 * se), np.abs(f - p).max() / se
    chi2 = np.sum((f * S - S * p) ** 2 / (S * p))
    assert stats.chi2.sf(chi2, K - 1) > 1e-3
    # the same test rejects fixed uniform w (Maxwell-Boltzmann counting)
    mb = jax.random.categorical(jax.random.key(1), jnp.zeros(M), shape=(S, N))
    mb_counts = jnp.sum(jax.nn.one_hot(mb, M, dtype=jnp.int32), axis=1)
    fm = pattern_frequencies(mb_counts, N, M)
    assert np.max(np.abs(fm - p)) > 10 * se
    np.testing.assert_allclose(
        fm, np.asarray(weight_mb(occupation_patterns(N, M))), atol=5 * math.sqrt(0.25 / S)
    )


@pytest.mark.slow
@pytest.mark.parametrize("statistics", ["MB", "BE", "FD"])
def test_sampled_mean_occupations_match_z46_z48_z50(statistics):
    energy = jnp.linspace(0.1, 3.0, 8)
    beta, mu = 1.3, 0.0 if statistics == "BE" else 0.8
    S = 100_000
    n = np.asarray(sample_occupations(jax.random.key(3), energy, beta, mu, statistics, (S,)))
    mean = n.mean(0)
    se = n.std(0) / math.sqrt(S)
    exact = np.asarray(mean_occupation(energy, beta, mu, statistics))
    e = np.asarray(energy)
    formula = {
        "MB": np.exp(-beta * (e - mu)),
        "BE": 1 / (np.exp(beta * (e - mu)) - 1),
        "FD": 1 / (np.exp(beta * (e - mu)) + 1),
    }[statistics]
    np.testing.assert_allclose(exact, formula, rtol=1e-12)
    assert np.all(np.abs(mean - exact) < 4 * se), (mean - exact) / se
    var = np.asarray(occupation_variance(energy, beta, mu, statistics))
    np.testing.assert_allclose(n.var(0), var, rtol=0.05)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="statistics"):
        mean_occupation(1.0, 1.0, 0.0, "boltzmann")
    with pytest.raises(ValueError, match="mu"):
        sample_occupations(jax.random.key(0), jnp.array([0.0, 1.0]), 1.0, 0.5, "BE")
    with pytest.raises(ValueError, match="N"):
        occupation_patterns(-1, 3)


# One statistic by default (the three share their code paths; 21 s for all three)
@pytest.mark.parametrize(
    "st",
    ["MB", pytest.param("BE", marks=pytest.mark.slow), pytest.param("FD", marks=pytest.mark.slow)],
)
def test_jit_vmap_grads_float32(st):
    energy = jnp.linspace(0.1, 2.0, 5)
    key = jax.random.key(0)
    eager = sample_occupations(key, energy, 1.0, -0.2, st, (10,))
    jitted = jax.jit(sample_occupations, static_argnums=(4, 5))(key, energy, 1.0, -0.2, st, (10,))
    np.testing.assert_array_equal(eager, jitted)
    betas = jnp.array([0.5, 1.0, 2.0])
    batched = jax.vmap(lambda b: mean_occupation(energy, b, -0.2, st))(betas)
    loop = np.stack([mean_occupation(energy, b, -0.2, st) for b in betas])
    np.testing.assert_allclose(batched, loop, rtol=1e-14)
    # jitted: one program per transformation, not one per eager op
    check_grads(jax.jit(lambda b, m: mean_occupation(energy, b, m, st)), (1.1, -0.3), order=1)
    f32 = mean_occupation(energy.astype(jnp.float32), jnp.float32(1.0), jnp.float32(-0.2), st)
    assert f32.dtype == jnp.float32
    if st != "MB":
        return
    check_grads(
        jax.jit(lambda a: dirichlet_multinomial_weight(jnp.array([2, 1, 1]), a)), (0.7,), order=1
    )
    assert dirichlet_multinomial_weight(jnp.array([2, 1, 1]), jnp.float32(1.0)).dtype == jnp.float32
    c1 = sample_dirichlet_multinomial(key, 4, 3, (5,))
    c2 = jax.jit(sample_dirichlet_multinomial, static_argnums=(1, 2, 3))(key, 4, 3, (5,))
    np.testing.assert_array_equal(c1, c2)


def test_log_weights_match_weights_and_counts():
    p = occupation_patterns(5, 4)
    for lw, w in (
        (log_weight_mb, weight_mb),
        (log_weight_be, weight_be),
        (log_weight_fd, weight_fd),
    ):
        np.testing.assert_allclose(np.exp(np.asarray(lw(p))), np.asarray(w(p)), rtol=1e-13)
    assert np.all(np.isneginf(np.asarray(log_weight_fd(np.array([[2, 0, 0]])))))
    # ln ΔΓ = −ln P: the number of microstates of N particles in g states.
    g = 7
    for N in range(0, 6):
        assert spread_pattern(N, g).sum() == N and spread_pattern(N, g).max() <= 1
        np.testing.assert_allclose(
            log_statistical_weight(N, g, "BE"),
            math.log(math.comb(N + g - 1, N)),
            rtol=1e-12,
            atol=1e-12,  # ln 1 = 0 at N = 0 is reached to round-off (sums of lgamma)
        )
        np.testing.assert_allclose(
            log_statistical_weight(N, g, "FD"), math.log(math.comb(g, N)), atol=1e-12
        )
        np.testing.assert_allclose(
            log_statistical_weight(N, g, "MB"), N * math.log(g) - math.lgamma(N + 1), atol=1e-12
        )
    sp = spread_pattern(np.array([17, 3]), 5)
    assert sp.shape == (2, 5) and list(sp.sum(-1)) == [17, 3] and np.ptp(sp[0]) == 1


@pytest.mark.parametrize("statistics", ["MB", "BE", "FD"])
def test_most_probable_occupation_is_the_exact_integer_maximiser(statistics):
    # Closed forms of the integer argmax of ln ΔΓ − xN (README of quantum_statistics):
    # MB floor(g n̄), BE floor((g − 1) n̄), FD floor((g + 1) n̄).
    g, beta = 1000, 1.3
    mu = {"MB": -0.1, "BE": -0.1, "FD": 0.9}[statistics]
    energy = np.linspace(0.05, 3.0, 9)
    n_star = most_probable_occupation(energy, beta, mu, statistics, g)
    nbar = np.asarray(mean_occupation(jnp.asarray(energy), beta, mu, statistics))
    shift = {"MB": 0, "BE": -1, "FD": 1}[statistics]
    np.testing.assert_array_equal(np.round(n_star * g), np.floor((g + shift) * nbar))
    assert np.all(np.abs(n_star - nbar) < (1 + nbar) / g)
    # brute force over all N for one level
    x = beta * (energy[3] - mu)
    Ns = np.arange(0, 3 * g if statistics == "BE" else g + 1)
    obj = log_statistical_weight(Ns, g, statistics) - x * Ns
    assert Ns[np.argmax(obj)] == round(n_star[3] * g)


def test_most_probable_occupation_sees_a_wrong_counting(monkeypatch):
    from jax.scipy.special import gammaln

    import jqd.dqm._statistics as module

    correct = module.log_weight_be

    def be_with_mb_factor(n, dtype=float):
        nf = jnp.asarray(n).astype(dtype)
        return correct(n, dtype) + gammaln(nf.sum(-1) + 1) - gammaln(nf + 1).sum(-1)

    energy = np.linspace(0.1, 2.0, 5)
    good = most_probable_occupation(energy, 1.0, 0.0, "BE", 1000)
    monkeypatch.setattr(module, "log_weight_be", be_with_mb_factor)
    bad = most_probable_occupation(energy, 1.0, 0.0, "BE", 1000)
    nbar = np.asarray(mean_occupation(jnp.asarray(energy), 1.0, 0.0, "BE"))
    assert np.all(np.abs(good - nbar) < (1 + nbar) / 1000)
    assert np.max(np.abs(bad - nbar) / nbar) > 0.1
    with pytest.raises(ValueError, match="BE"):
        most_probable_occupation(np.array([0.0, 1.0]), 1.0, 0.5, "BE")


@pytest.mark.parametrize("N,M", [(4, 3), (3, 4)])
def test_mb_weight_is_the_microstate_count(N, M):
    """Z45: the fraction of the M^N microstates of distinguishable particles with
    each pattern (enumerated) is M^(−N) N!/Π n_i!."""
    import itertools

    p = occupation_patterns(N, M)
    counts = np.asarray(
        [np.bincount(s, minlength=M) for s in itertools.product(range(M), repeat=N)]
    )
    np.testing.assert_allclose(pattern_frequencies(counts, N, M), weight_mb(p), rtol=1e-13)
