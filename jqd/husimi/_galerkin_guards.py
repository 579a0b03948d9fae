"""Input guards and breakdown criteria of the Husimi Galerkin law (physics §4).

Guards (`galerkin_guards`, evaluated by `jqd.evolve` eagerly, or in-graph
under jit/vmap/grad):

- the coefficient matrix R is Hermitian and has trace 1 (∫ρ dz = tr R);
- the split stepper's Taylor series of the remainder is inside its range:
  L_R acts on R as Σ_g W_g ∘ gather_g(R), so every entry of L_R R is at most
  B · max|R| with B = max_ij Σ_g |W_g[i, j]| (an induced-norm bound, cheap
  and traceable). The half-step exponent Z = c L_R dt/2 then has ‖Z‖ ≤ r =
  |c| B dt/2, and the order-p series is within r^{p+1} e^r/(p+1)! of e^Z.
  The guard keeps that bound ≤ 0.1 (r ≤ 2.45 for p = 8), so the truncated
  series cannot blow up, and names the largest safe dt. Measured on Kerr at
  C = 2 (K = 8, four steps): dt = 0.5 (r = 12) gave entries of 7e18 with
  trace 1, dt = 0.3 (r = 7) 7e3; at the guard's limit dt = 0.1 the split
  step differs from the exact exponential by 9e-3 (Strang error), at
  dt = 0.05 by 5e-4.

Breakdown criteria (the law's monitor):

- Fock truncation: the weight Σ|R_nn| over the *edge* of the basis. The edge
  is the top g_j levels of every mode j, g_j the gcd of the number changes
  of the Hamiltonian's terms in that mode (g = 1 when none): a term changing
  n by 2 (squeezing) connects only levels of one parity, and the top level
  of the other parity is where that sector meets the cutoff. (With the top
  level alone, H = i(a†² − a²) from the vacuum on an even cutoff never
  reached it: ⟨n⟩ = 2.73 against 4.44 exact at t = 0.745, monitor silent.)
- Basis width: the concentration (2π)^N ∫ Q_H² d^{2N}α of the Galerkin
  Husimi function, computed exactly from R (below). For the Husimi function
  of any density operator it is ≤ 1, with equality only for coherent states
  (Lieb's bound, the sharp form of "no state is narrower than the vacuum").
  A solution that narrows below the vacuum width leaves the e^{−|α|²} ×
  polynomial space: the basis can follow it only with growing, cancelling
  coefficients. Measured (Kerr, K = 20, α0 = 1.2, C = 0.5): the concentration
  stays ≤ 1 to t = 0.2, then 23 at t = 0.3 and 2.5e5 at t = 0.5, where R has
  entries of 1e3 (1e11 by t = 1) with trace 1 and the Husimi function
  differs by 1e8 from the K = 45 run. Converged runs (C = 0.8, 0.9, 1, 1.2;
  φ⁴ at C = 1) stay below 1. It is exact, cheap (one gather over the pairs of
  basis states with equal m + k) and traceable.

Concentration formula: with Q(α) = e^{−|α|²} Σ R_mn ᾱ^m α^n/(π^N √(m! n!)),
angular integration keeps the terms with m + k = n + l = s (per mode), and

    (2π)^N ∫ Q² = Σ_s Σ_{m+k=s, n+l=s} w R_mn R_kl,
    w = Π_j 2^{−s_j} √(C(s_j, m_j) C(s_j, n_j)) ≤ 1.
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np
from scipy.special import gammaln

from .._guards import Check, hermitian
from ._ops import Ops, anti_normal_order

__all__ = [
    "number_strides",
    "edge_index",
    "taylor_radius",
    "concentration_structure",
    "concentration",
    "marginal_structures",
    "galerkin_guards",
]

TAYLOR_TOL = 0.1  # bound on ‖e^Z − T_p(Z)‖ for the split stepper's remainder series
TRACE_TOL = 1e-6
MAX_TERMS = 2_000_000  # full concentration sum up to this many terms, else marginals
HERMITIAN_RTOL = 1e-8


def number_strides(hamiltonian: Ops, n_modes: int) -> tuple[tuple[int, ...], int]:
    """(per-mode strides g_j, total stride): the gcd of the number changes
    Δn_j = #a_j† − #a_j over the Hamiltonian's terms (1 where there are none,
    e.g. Kerr), and of the total changes Σ_j Δn_j."""
    per, total = [0] * n_modes, 0
    for word in anti_normal_order(hamiltonian).terms:
        delta = [0] * n_modes
        for m, dag in word:
            delta[m] += 1 if dag else -1
        per = [math.gcd(g, abs(x)) for g, x in zip(per, delta, strict=True)]
        total = math.gcd(total, abs(sum(delta)))
    return tuple(max(g, 1) for g in per), max(total, 1)


def edge_index(basis: np.ndarray, kind: str, strides, total_stride: int) -> tuple[int, ...]:
    """Basis indices at the edge of the truncation: n_j ≥ cutoff_j − g_j for
    some mode with cutoff > 1 ("cutoffs"), or Σ n_j > max_total − g ("total")."""
    if kind == "total":
        tot = basis.sum(1)
        top = (tot > tot.max() - total_stride) & (tot.max() > 0)
    else:
        hi = basis.max(0)
        g = np.asarray(strides)
        top = np.any((basis > hi - g) & (hi > 0), axis=1)
    return tuple(int(i) for i in np.flatnonzero(top))


@functools.lru_cache(maxsize=32)
def taylor_radius(order: int, tol: float = TAYLOR_TOL) -> float:
    """Largest r with r^{p+1} e^r/(p+1)! ≤ tol (bisection): the order-p
    Taylor series of e^Z is within tol of it when ‖Z‖ ≤ r."""
    lo, hi = 0.0, 200.0
    target = math.log(tol) + math.lgamma(order + 2)
    for _ in range(200):
        r = 0.5 * (lo + hi)
        if (order + 1) * math.log(r) + r <= target:
            lo = r
        else:
            hi = r
    return lo


@functools.lru_cache(maxsize=16)
def concentration_structure(basis_tuple: tuple):
    """(i1, i2, w): flat indices m·d + n and k·d + l into R, and weights, of
    the concentration's terms w R_mn R_kl (module docstring); None when there
    would be more than `MAX_TERMS` of them."""
    basis = np.array(basis_tuple, dtype=np.int64).reshape(len(basis_tuple), -1)
    d = len(basis)
    # every ordered pair (m, k) of basis states, keyed by s = m + k
    m_idx, k_idx = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    m_idx, k_idx = m_idx.ravel(), k_idx.ravel()
    s = basis[m_idx] + basis[k_idx]
    base = int(2 * basis.max() + 1) if basis.size else 1
    key = s @ (base ** np.arange(basis.shape[1]))
    # log of Π_j √(C(s_j, m_j)) 2^{−s_j/2} per pair (m, k)
    logc = 0.5 * np.sum(
        gammaln(s + 1) - gammaln(basis[m_idx] + 1) - gammaln(basis[k_idx] + 1) - s * np.log(2),
        axis=1,
    )
    order = np.argsort(key, kind="stable")
    key, m_idx, k_idx, logc = key[order], m_idx[order], k_idx[order], logc[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    if np.sum((ends - starts) ** 2) > MAX_TERMS:
        return None
    i1, i2, w = [], [], []
    for a, b in zip(starts, ends, strict=True):
        mp, kp, lp = m_idx[a:b], k_idx[a:b], logc[a:b]
        # pairs (m, k) and (n, l) in the same group: R_mn R_kl
        i1.append((mp[:, None] * d + mp[None, :]).ravel())
        i2.append((kp[:, None] * d + kp[None, :]).ravel())
        w.append(np.exp(lp[:, None] + lp[None, :]).ravel())
    return (
        np.concatenate(i1).astype(np.int32),
        np.concatenate(i2).astype(np.int32),
        np.concatenate(w),
    )


@functools.lru_cache(maxsize=16)
def marginal_structures(basis_tuple: tuple) -> tuple:
    """Per mode: (rows, cols, src_rows, src_cols, d_j, structure) of the
    partial trace onto that mode and the concentration of the reduced state
    (whose Husimi function is the marginal of Q; Lieb's bound holds for it)."""
    basis = np.array(basis_tuple, dtype=np.int64).reshape(len(basis_tuple), -1)
    out = []
    for j in range(basis.shape[1]):
        others = np.delete(basis, j, axis=1)
        _, rest = np.unique(others, axis=0, return_inverse=True)
        same = rest.ravel()[:, None] == rest.ravel()[None, :]
        src_r, src_c = np.nonzero(same)
        d_j = int(basis[:, j].max()) + 1
        levels = tuple((n,) for n in range(d_j))
        out.append(
            (basis[src_r, j], basis[src_c, j], src_r, src_c, d_j, concentration_structure(levels))
        )
    return tuple(out)


def concentration(R, structure, marginals=None) -> jnp.ndarray:
    """(2π)^N ∫ Q_H² d^{2N}α of the Galerkin state R (1 for coherent states,
    < 1 for every other density operator). `structure` None (a basis too
    large for the full sum): the largest concentration of the one-mode
    marginals (`marginals`), a weaker but still necessary condition."""
    if structure is None:
        vals = []
        for rows, cols, src_r, src_c, d_j, sub in marginals:
            red = jnp.zeros((d_j, d_j), R.dtype).at[rows, cols].add(R[src_r, src_c])
            vals.append(concentration(red, sub))
        return jnp.max(jnp.stack(vals))
    i1, i2, w = structure
    flat = R.reshape(-1)
    return jnp.real(jnp.sum(jnp.asarray(w, R.real.dtype) * flat[i1] * flat[i2]))


def state_guards(R, name: str = "y0") -> list[Check]:
    """R Hermitian and of trace 1 (jax.numpy: eager or traced)."""
    R = jnp.asarray(R)
    dev = jnp.abs(jnp.trace(R) - 1.0)
    return hermitian(R, name, rtol=HERMITIAN_RTOL) + [
        Check(
            dev <= TRACE_TOL,
            f"{name} must have trace 1 (∫ρ dz = tr R = 1); got |tr {name} − 1| = {{value}}. "
            f"Normalize it: {name} / jnp.trace({name}).",
            dev,
        )
    ]


def stability_guard(law, C, dt, *, dt_scale: float = 1.0) -> list[Check]:
    """The split stepper's remainder series inside its range (module
    docstring), for Galerkin steps of dt_scale × dt."""
    if law.method != "split" or dt is None:
        return []
    dtype = jnp.result_type(jnp.asarray(dt).dtype, jnp.complex64)
    c, W, _ = law._remainder(C, dtype)
    bound = jnp.abs(c) * jnp.max(jnp.sum(jnp.abs(W), axis=0))  # ≥ ‖c L_R‖
    r = taylor_radius(law.taylor_order)
    h = jnp.abs(jnp.asarray(dt, bound.dtype)) * dt_scale
    dt_max = 2 * r / jnp.maximum(bound, jnp.finfo(bound.dtype).tiny) / dt_scale
    return [
        Check(
            bound * h / 2 <= r,
            "dt is too large for the split stepper of HusimiGalerkin at this C (params.C): "
            f"its remainder series (taylor_order={law.taylor_order}) needs |c| B h/2 <= {r:.3g} "
            "for a Galerkin step h, B a bound on the remainder operator and c = C − 1 (a "
            "truncating H) or 1. The largest safe dt here is {value}. Reduce dt, raise "
            "taylor_order, or use method='expm'.",
            dt_max,
        )
    ]


def galerkin_guards(law, R, C, dt, *, name: str = "y0", dt_scale: float = 1.0) -> list[Check]:
    """Every value guard of a Galerkin run: state (R) and step (C, dt)."""
    return state_guards(R, name) + stability_guard(law, C, dt, dt_scale=dt_scale)
