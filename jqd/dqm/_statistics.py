"""Quantum statistics from fluctuating probabilities (SPEC §6, Zakir §4).

N particles in M single-particle states; an occupation pattern is
n = (n_1, ..., n_M) with Σ n_i = N. Weights of a pattern:

    Maxwell-Boltzmann (Z45):  W_MB(n) = M^(−N) N! / Π n_i!
    Bose-Einstein     (Z47):  W_BE(n) = N! (M−1)! / (M+N−1)!   (every pattern alike)
    Fermi-Dirac       (Z49):  W_FD(n) = N! (M−N)! / M!          (n_i ≤ 1, else 0)

Averaging the multinomial N!/Π n_i! Π w_i^{n_i} over state probabilities w
uniform on the simplex, i.e. Dirichlet(1, ..., 1), gives exactly W_BE
(Z51-Z53; the Pólya urn). `dirichlet_multinomial_weight` is the closed form
for any Dirichlet(α, ..., α); `sample_dirichlet_multinomial` draws w then n.

Equilibrium occupations at inverse temperature β and chemical potential μ
(Z46, Z48, Z50):

    MB: n̄ = e^{−β(ε−μ)},   BE: n̄ = 1/(e^{β(ε−μ)} − 1),   FD: n̄ = 1/(e^{β(ε−μ)} + 1).

`sample_occupations` draws them level by level from the grand-canonical
distributions whose means these are: Poisson (MB), geometric (BE, needs
ε > μ), Bernoulli (FD).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from .._checks import is_concrete

__all__ = [
    "occupation_patterns",
    "weight_mb",
    "weight_be",
    "weight_fd",
    "dirichlet_multinomial_weight",
    "sample_dirichlet_multinomial",
    "pattern_frequencies",
    "mean_occupation",
    "occupation_variance",
    "sample_occupations",
    "be_weight_closed_form",
]

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
    out = []

    def rec(prefix, left, slots):
        if slots == 1:
            out.append(prefix + [left])
            return
        for k in range(left, -1, -1):
            rec(prefix + [k], left - k, slots - 1)

    rec([], int(N), int(M))
    return np.asarray(out, dtype=np.int64)


def _nm(n):
    n = jnp.asarray(n)
    M = n.shape[-1]
    N = jnp.sum(n, axis=-1)
    return n, N, M


def weight_mb(n, dtype=float):
    """Maxwell-Boltzmann weight M^(−N) N!/Π n_i! (Z45); `n` of shape (..., M)."""
    n, N, M = _nm(n)
    nf = n.astype(dtype)
    Nf = N.astype(dtype)
    return jnp.exp(
        gammaln(Nf + 1) - jnp.sum(gammaln(nf + 1), -1) - Nf * jnp.log(jnp.asarray(M, dtype))
    )


def weight_be(n, dtype=float):
    """Bose-Einstein weight N!(M−1)!/(M+N−1)! (Z47): the same for every pattern."""
    n, N, M = _nm(n)
    Nf = N.astype(dtype)
    return jnp.exp(gammaln(Nf + 1) + gammaln(jnp.asarray(M, dtype)) - gammaln(Nf + M))


def weight_fd(n, dtype=float):
    """Fermi-Dirac weight N!(M−N)!/M! (Z49) for patterns with every n_i ≤ 1, else 0."""
    n, N, M = _nm(n)
    Nf = N.astype(dtype)
    allowed = jnp.all(n <= 1, axis=-1) & (N <= M)
    w = jnp.exp(
        gammaln(Nf + 1) + gammaln(jnp.maximum(M - Nf, 0) + 1) - gammaln(jnp.asarray(M + 1, dtype))
    )
    return jnp.where(allowed, w, 0.0).astype(dtype)


def dirichlet_multinomial_weight(n, alpha=1.0):
    """∫ Mult(n | N, w) Dir(w | α, ..., α) dw in closed form:

        N!/Π n_i! · Γ(Mα)/Γ(N + Mα) · Π Γ(n_i + α)/Γ(α).

    For α = 1 this is N!(M−1)!/(M+N−1)! = W_BE (Z51-Z53)."""
    n, N, M = _nm(n)
    alpha = jnp.asarray(alpha)
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
    """Draw w ~ Dirichlet(α, ..., α) then n ~ Multinomial(N, w); returns integer
    occupations of shape `shape + (M,)`. For α = 1 the patterns are uniform
    (Bose-Einstein counting)."""
    _check_nm(N, M)
    shape = tuple(shape)
    kw, kn = jax.random.split(key)
    alpha = jnp.broadcast_to(jnp.asarray(alpha, dtype), (M,))
    w = jax.random.dirichlet(kw, alpha, shape, dtype=dtype)
    # N categorical draws per sample, counted: exact multinomial for any N.
    draws = jax.random.categorical(kn, jnp.log(w)[..., None, :], axis=-1, shape=shape + (int(N),))
    return jnp.sum(jax.nn.one_hot(draws, M, dtype=jnp.int32), axis=-2)


def pattern_frequencies(counts, N: int, M: int) -> np.ndarray:
    """Relative frequency of each pattern of `occupation_patterns(N, M)` among
    sampled occupations `counts` of shape (S, M) (NumPy, eager)."""
    patterns = occupation_patterns(N, M)
    counts = np.asarray(counts).reshape(-1, M)
    base = N + 1
    code = lambda a: a @ (base ** np.arange(M)[::-1])
    pc = code(patterns)
    order = np.argsort(pc)
    idx = order[np.searchsorted(pc[order], code(counts))]
    return np.bincount(idx, minlength=len(patterns)) / counts.shape[0]


def _x(energy, beta, mu):
    return beta * (jnp.asarray(energy) - mu)


def mean_occupation(energy, beta, mu, statistics: str):
    """Equilibrium occupation of levels `energy` (Z46 MB, Z48 BE, Z50 FD)."""
    _check_statistics(statistics)
    x = _x(energy, beta, mu)
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
    """Grand-canonical occupations of each level at (β, μ), shape `shape + energy.shape`.

    MB: Poisson(e^{−β(ε−μ)}); BE: geometric P(n) = (1−q)qⁿ, q = e^{−β(ε−μ)}
    (needs ε > μ); FD: Bernoulli(1/(e^{β(ε−μ)}+1)). The means are Z46/Z48/Z50.
    Returns int32 counts.
    """
    _check_statistics(statistics)
    energy = jnp.asarray(energy)
    dtype = jnp.result_type(energy.dtype, jnp.float32)
    if statistics == "BE" and is_concrete(energy, beta, mu):
        if np.any(np.asarray(_x(energy, beta, mu)) <= 0):
            raise ValueError(
                "statistics='BE' needs every level above the chemical potential "
                "(β(ε − μ) > 0); lower mu below min(energy)."
            )
    full = tuple(shape) + energy.shape
    x = jnp.broadcast_to(_x(energy, beta, mu), full).astype(dtype)
    if statistics == "MB":
        return jax.random.poisson(key, jnp.exp(-x), full).astype(jnp.int32)
    u = jax.random.uniform(key, full, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    if statistics == "BE":
        # P(n >= k) = q^k  <=>  n = floor(log u / log q), log q = −x.
        return jnp.floor(jnp.log(u) / (-x)).astype(jnp.int32)
    return (u < 1.0 / (jnp.exp(x) + 1.0)).astype(jnp.int32)


def be_weight_closed_form(N: int, M: int) -> float:
    """N!(M−1)!/(M+N−1)! as an exact Python float (for checks)."""
    return math.factorial(N) * math.factorial(M - 1) / math.factorial(M + N - 1)
