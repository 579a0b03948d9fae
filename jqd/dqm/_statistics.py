"""Quantum statistics from fluctuating probabilities (physics §6, Zakir §4):
pattern weights of N particles in M states, their Dirichlet average and
equilibrium occupations (§6.1-§6.3)."""

from __future__ import annotations

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from .. import _guards
from .._guards import Check

_STATISTICS = ("MB", "BE", "FD")


def _check_nm(N, M):
    if int(N) != N or N < 0:
        raise ValueError(f"N (number of particles) must be a non-negative integer; got {N}.")
    if int(M) != M or M < 1:
        raise ValueError(f"M (number of states) must be a positive integer; got {M}.")


def occupation_patterns(N: int, M: int) -> np.ndarray:
    """All occupation patterns of N particles in M states, shape (C(N+M−1, N), M),
    in lexicographic order (largest n_1 first)."""
    _check_nm(N, M)
    n, m = int(N), int(M)
    bars = list(itertools.combinations(range(n + m - 1), m - 1))  # stars and bars
    bars = np.asarray(bars, np.int64).reshape(len(bars), m - 1)
    edges = np.pad(bars, ((0, 0), (1, 1)), constant_values=(-1, n + m - 1))
    return (np.diff(edges, axis=1) - 1)[::-1].copy()


def _occupation_guards(n, name="n") -> list[Check]:
    """Occupations are nonnegative integers (1.5 or −1 give a finite, meaningless Γ(n + 1))."""
    xp = _guards.array_module(n)  # NumPy for concrete n: no program per check
    n = xp.asarray(n)
    ok = n >= 0
    if xp.issubdtype(n.dtype, xp.inexact):
        ok = ok & (n == xp.round(n))
    return [
        Check(
            xp.all(ok),
            f"{name} must hold nonnegative integer occupations; got {{value}}.",
            xp.where(ok, 0, n),
        )
    ]


def _log_weight(n, dtype, statistics):
    """`log_weight_mb` etc., checked; one program for all three (a traced `lax.switch` index)."""
    n = n if isinstance(n, jax.Array) else np.asarray(n)  # a jit argument: no staging program
    out = _log_weight_core(n, dtype, _STATISTICS.index(statistics))
    return _guards.enforce(_occupation_guards(n), out, f"log_weight_{statistics.lower()}")


@functools.partial(jax.jit, static_argnames=("dtype",))  # one program per shape, not one per op
def _log_weight_core(n, dtype, index):
    M, N = n.shape[-1], jnp.sum(n, axis=-1)
    Nf = N.astype(dtype)
    logM = jnp.log(jnp.asarray(M, dtype))
    mb = lambda: gammaln(Nf + 1) - jnp.sum(gammaln(n.astype(dtype) + 1), -1) - Nf * logM
    be = lambda: gammaln(Nf + 1) + gammaln(jnp.asarray(M, dtype)) - gammaln(Nf + M)

    def fd():
        allowed = jnp.all(n <= 1, axis=-1) & (N <= M)
        lw = (
            gammaln(Nf + 1)
            + gammaln(jnp.maximum(M - Nf, 0) + 1)
            - gammaln(jnp.asarray(M + 1, dtype))
        )
        return jnp.where(allowed, lw, -jnp.inf).astype(dtype)

    return jax.lax.switch(index, (mb, be, fd))


def log_weight_mb(n, dtype=float):
    """ln of the Maxwell-Boltzmann weight M^(−N) N!/Π n_i! (Z45); `n` of shape (..., M)."""
    return _log_weight(n, dtype, "MB")


def log_weight_be(n, dtype=float):
    """ln of the Bose-Einstein weight N!(M−1)!/(M+N−1)! (Z47): the same for every pattern."""
    return _log_weight(n, dtype, "BE")


def log_weight_fd(n, dtype=float):
    """ln of the Fermi-Dirac weight N!(M−N)!/M! (Z49); −inf unless every n_i ≤ 1."""
    return _log_weight(n, dtype, "FD")


def weight_mb(n, dtype=float):
    """Maxwell-Boltzmann weight M^(−N) N!/Π n_i! (Z45); `n` of shape (..., M)."""
    return jnp.exp(log_weight_mb(n, dtype))


def weight_be(n, dtype=float):
    """Bose-Einstein weight N!(M−1)!/(M+N−1)! (Z47): the same for every pattern."""
    return jnp.exp(log_weight_be(n, dtype))


def weight_fd(n, dtype=float):
    """Fermi-Dirac weight N!(M−N)!/M! (Z49) for patterns with every n_i ≤ 1, else 0."""
    return jnp.exp(log_weight_fd(n, dtype))


def dirichlet_multinomial_weight(n, alpha=1.0):
    """∫ Mult(n | N, w) Dir(w | α, ..., α) dw in closed form (physics §6.2); W_BE at α = 1."""
    guards = _occupation_guards(n) + _guards.scalar(alpha, "alpha", positive=True)
    weight = _dirichlet_multinomial_weight(_guards.to_device(n), _guards.to_device(alpha))
    return _guards.enforce(guards, weight, "dirichlet_multinomial_weight")


@jax.jit  # one program, not one per op
def _dirichlet_multinomial_weight(n, alpha):
    M, N = n.shape[-1], jnp.sum(n, axis=-1)
    dtype = jnp.result_type(alpha.dtype, jnp.float32)
    nf = n.astype(dtype)
    Nf = N.astype(dtype)
    logw = (
        gammaln(Nf + 1)
        - jnp.sum(gammaln(nf + 1), -1)
        + gammaln(M * alpha)
        - gammaln(Nf + M * alpha)
        + jnp.sum(gammaln(nf + alpha) - gammaln(alpha), -1)
    )
    return jnp.exp(logw)


def sample_dirichlet_multinomial(key, N: int, M: int, shape=(), alpha=1.0, dtype=float):
    """Integer occupations (shape + (M,)) from w ~ Dirichlet(α, ..., α), then n ~
    Multinomial(N, w): uniform patterns (Bose-Einstein counting) at α = 1."""
    _check_nm(N, M)
    shape = tuple(shape)
    kw, kn = jax.random.split(key)
    alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype), (M,))
    guards = _guards.scalar(alpha, "alpha", positive=True)
    alpha = _guards.enforce(guards, alpha, "sample_dirichlet_multinomial")
    return _sample_dirichlet_multinomial(kw, kn, alpha, int(N), int(M), shape, dtype)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 6))  # one program, not one per op
def _sample_dirichlet_multinomial(kw, kn, alpha, N, M, shape, dtype):
    w = jax.random.dirichlet(kw, alpha, shape, dtype=dtype)
    # N categorical draws per sample, counted: exact multinomial for any N.
    draws = jax.random.categorical(kn, jnp.log(w)[..., None, :], axis=-1, shape=shape + (N,))
    return jnp.sum(jax.nn.one_hot(draws, M, dtype=jnp.int32), axis=-2)


def pattern_frequencies(counts, N: int, M: int) -> np.ndarray:
    """Relative frequency of each pattern of `occupation_patterns(N, M)` among
    sampled occupations `counts` of shape (S, M) (NumPy, eager)."""
    patterns = occupation_patterns(N, M)
    counts = np.asarray(counts)
    if counts.shape[-1:] != (M,):
        raise ValueError(f"counts must have shape (..., M) = (..., {M}); got {counts.shape}.")
    counts = counts.reshape(-1, M)
    _guards.enforce(_occupation_guards(counts, "counts"), caller="pattern_frequencies")
    bad = np.flatnonzero(counts.sum(-1) != N)
    if bad.size:
        raise ValueError(
            f"pattern_frequencies: every row of counts must sum to N = {N}; row {bad[0]} "
            f"sums to {counts[bad[0]].sum()} ({bad.size} rows do not). A pattern of another "
            "N matches no pattern of occupation_patterns(N, M): pass the N the samples have."
        )
    code = lambda a: a @ ((N + 1) ** np.arange(M)[::-1])  # decreasing along the patterns
    idx = len(patterns) - 1 - np.searchsorted(code(patterns)[::-1], code(counts))
    return np.bincount(idx, minlength=len(patterns)) / counts.shape[0]


def mean_occupation(energy, beta, mu, statistics: str):
    """Equilibrium occupation of levels `energy` (Z46 MB, Z48 BE, Z50 FD)."""
    _check_statistics(statistics)
    x = beta * (jnp.asarray(energy) - mu)
    if statistics == "MB":
        return jnp.exp(-x)
    if statistics == "BE":
        return 1.0 / jnp.expm1(x)
    return 1.0 / (jnp.exp(x) + 1.0)


def occupation_variance(energy, beta, mu, statistics: str):
    """Variance of the grand-canonical occupation: n̄ (MB), n̄(1+n̄) (BE), n̄(1−n̄) (FD)."""
    nbar = mean_occupation(energy, beta, mu, statistics)
    if statistics == "MB":
        return nbar
    if statistics == "BE":
        return nbar * (1 + nbar)
    return nbar * (1 - nbar)


def _check_statistics(statistics):
    if statistics not in _STATISTICS:
        raise ValueError(f"statistics must be one of {_STATISTICS}; got {statistics!r}.")


def sample_occupations(key, energy, beta, mu, statistics: str, shape=()):
    """Grand-canonical int32 occupations (`shape + energy.shape`) at (β, μ):
    Poisson (MB), geometric (BE, needs ε > μ), Bernoulli (FD) (physics §6.3)."""
    _check_statistics(statistics)
    energy = jnp.asarray(energy)
    dtype = jnp.result_type(energy.dtype, jnp.float32)
    full = tuple(shape) + energy.shape
    x = jnp.broadcast_to(beta * (energy - mu), full).astype(dtype)
    guards = [Check(jnp.all(jnp.isfinite(x)), "energy, beta and mu must be finite.")]
    if statistics == "BE":
        guards.append(
            Check(
                jnp.all(x > 0),
                "statistics='BE' needs every level above the chemical potential "
                "(β(ε − μ) > 0; smallest {value}); lower mu below min(energy).",
                jnp.min(x),
            )
        )
    x = _guards.enforce(guards, x, "sample_occupations")
    if statistics == "MB":
        return jax.random.poisson(key, jnp.exp(-x), full).astype(jnp.int32)
    u = jax.random.uniform(key, full, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    if statistics == "BE":  # P(n >= k) = q^k: n = floor(log u / log q), log q = −x
        return jnp.floor(jnp.log(u) / (-x)).astype(jnp.int32)
    return (u < 1.0 / (jnp.exp(x) + 1.0)).astype(jnp.int32)


def be_weight_closed_form(N: int, M: int) -> float:
    """N!(M−1)!/(M+N−1)! as an exact Python float (for checks)."""
    return math.factorial(N) * math.factorial(M - 1) / math.factorial(M + N - 1)


def spread_pattern(N, g: int) -> np.ndarray:
    """The most even pattern of N particles in g states (NumPy int64, shape
    `N.shape + (g,)`): every n_i ∈ {⌊N/g⌋, ⌈N/g⌉}; for N ≤ g all n_i ≤ 1 (dilute)."""
    N = np.asarray(N, dtype=np.int64)
    if np.any(N < 0) or int(g) != g or g < 1:
        raise ValueError(f"need N >= 0 and a positive integer g; got N = {N}, g = {g}.")
    i = np.arange(int(g))
    return N[..., None] // g + (i < (N[..., None] % g))


def log_statistical_weight(N, g: int, statistics: str):
    """ln ΔΓ = −ln P{n} of N particles in g states (Z45, Z47, Z49) on
    `spread_pattern(N, g)`: C(N+g−1, N) (BE), C(g, N) (FD), g^N/N! (MB, dilute).
    NumPy-eager (integer N of any shape); float64."""
    _check_statistics(statistics)
    log_weight = {"MB": log_weight_mb, "BE": log_weight_be, "FD": log_weight_fd}[statistics]
    return -np.asarray(log_weight(spread_pattern(N, g)), dtype=np.float64)


def most_probable_occupation(energy, beta, mu, statistics: str, g: int = 10_000):
    """Occupation per state N_j*/g maximising the entropy (physics §6.3): level
    ε_j a group of g states, N_j* the largest N whose increment of
    `log_statistical_weight`(N, g) is >= β(ε_j − μ) (bisection): Z46/Z48/Z50
    to within (1 + n̄)/g. NumPy-eager."""
    _check_statistics(statistics)
    x = np.atleast_1d(np.asarray(beta * (np.asarray(energy, np.float64) - mu), np.float64))
    g = _guards.count(g, "g")
    if not np.all(np.isfinite(x)):
        raise ValueError("energy, beta and mu must be finite.")
    if statistics == "MB" and np.any(x < 0):
        raise ValueError(
            "statistics='MB' is searched in the dilute regime N <= g (Z45 is the Boltzmann "
            f"count only there), which caps n̄ at 1, but β(ε − μ) = {x.min():.4g} < 0 has "
            "n̄ = e^{-β(ε−μ)} > 1; lower mu below min(energy)."
        )
    if statistics == "BE":
        if np.any(x <= 0):
            raise ValueError("statistics='BE' needs β(ε − μ) > 0 for every level.")
        n_max = int(g * (1 + 4 / x.min()))
    else:
        n_max = g
    # Invariant: increment(lo) >= x (or lo = 0), increment(hi + 1) < x (or hi = n_max).
    lo = np.zeros(x.shape, np.int64)
    hi = np.full(x.shape, n_max, np.int64)
    log_w = functools.partial(log_statistical_weight, g=g, statistics=statistics)
    while np.any(lo < hi):
        mid = (lo + hi + 1) // 2
        ok = log_w(mid) - log_w(mid - 1) >= x
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid - 1)
    return (lo / g).reshape(np.shape(energy))
