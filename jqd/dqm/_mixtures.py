"""Which pattern laws can fluctuating probabilities give? (physics §6.4):
`closest_mixture` finds the mixture of multinomials closest (total variation)
to a target by a linear program on a simplex lattice, with a lower bound for
every mixing law from the LP dual. NumPy/SciPy, eager.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, minimize
from scipy.special import gammaln

from ._statistics import _check_nm, occupation_patterns


def simplex_lattice(M: int, L: int) -> np.ndarray:
    """All w on the simplex with w_i = k_i/L (Σk_i = L), shape (C(L+M−1, M−1), M)."""
    if int(L) != L or L < 1:
        raise ValueError(f"L (lattice divisions) must be a positive integer; got {L}.")
    return occupation_patterns(int(L), M) / float(L)


def multinomial_matrix(patterns, w) -> np.ndarray:
    """Mult(n_k | N, w_j) for patterns (K, M) and probabilities (J, M): shape (K, J)."""
    n = np.asarray(patterns, np.float64)
    w = np.atleast_2d(np.asarray(w, np.float64))
    if n.shape[-1] != w.shape[-1]:
        raise ValueError(f"patterns {n.shape} and w {w.shape} need the same M (last axis).")
    if np.any(w < -1e-12) or np.any(np.abs(w.sum(-1) - 1) > 1e-9):
        raise ValueError("w must hold probability vectors (w_i ≥ 0, Σ w_i = 1).")
    w = np.clip(w, 0.0, 1.0)
    logc = gammaln(n.sum(-1) + 1) - gammaln(n + 1).sum(-1)
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    # n_i log w_i with 0·log 0 = 0.
    terms = n[:, None, :] * np.where(n[:, None, :] > 0, logw[None, :, :], 0.0)
    return np.exp(logc[:, None] + terms.sum(-1))


@dataclass(frozen=True)
class MixtureFit:
    """Result of `closest_mixture`: `distance` TV(target, achieved) (an upper
    bound on min_μ TV); `lower_bound` f·q − max_w f·Mult(w) with `dual` f
    (|f_k| ≤ 1/2), valid for every mixing law; the mixture's support `points`
    (S, M) and `weights` (S,); its pattern law `achieved`; HiGHS's `lp_value`
    and the `n_columns` candidate points of the last LP.
    """

    distance: float
    lower_bound: float
    points: np.ndarray
    weights: np.ndarray
    achieved: np.ndarray
    dual: np.ndarray
    lp_value: float
    n_columns: int


def _solve_lp(A, q):
    """min ½Σ(s⁺ + s⁻) s.t. Aλ − s⁺ + s⁻ = q, Σλ = 1, λ, s± ≥ 0; returns (λ, f, value).

    Dual: value = f·q − max_j f·A_j, with f the marginals of the K pattern rows
    (the s± columns force |f_k| ≤ 1/2)."""
    K, J = A.shape
    eye = sparse.identity(K, format="csr")
    A_eq = sparse.vstack(
        [
            sparse.hstack([sparse.csr_matrix(A), -eye, eye]),
            sparse.hstack([np.ones((1, J)), sparse.csr_matrix((1, 2 * K))]),
        ],
        format="csr",
    )
    c = np.concatenate([np.zeros(J), 0.5 * np.ones(2 * K)])
    res = linprog(c, A_eq=A_eq, b_eq=np.append(q, 1.0), method="highs")
    if res.status != 0:
        raise RuntimeError(f"closest_mixture: HiGHS failed ({res.message}).")
    f = np.clip(res.eqlin.marginals[:K], -0.5, 0.5)
    return res.x[:J], f, float(res.fun)


def _max_over_simplex(f, patterns, M, L_check, n_polish=4):
    """(max, argmax) of f·Mult(w) on the simplex: lattice 1/L_check, then SLSQP."""
    grid = simplex_lattice(M, L_check)
    vals = np.concatenate(
        [f @ multinomial_matrix(patterns, g) for g in np.array_split(grid, 1 + len(grid) // 4096)]
    )
    best = float(vals.max())
    arg = grid[int(np.argmax(vals))]
    cons = ({"type": "eq", "fun": lambda w: w.sum() - 1.0},)
    for j in np.argsort(vals)[::-1][:n_polish]:
        res = minimize(
            lambda w: -(f @ multinomial_matrix(patterns, np.clip(w, 0, 1)[None] / w.sum()))[0],
            grid[j],
            method="SLSQP",
            bounds=[(0.0, 1.0)] * M,
            constraints=cons,
        )
        w = np.clip(res.x, 0.0, 1.0)
        w = w / w.sum()
        v = float((f @ multinomial_matrix(patterns, w[None]))[0])
        if v > best:
            best, arg = v, w
    return best, arg


def closest_mixture(
    target, N: int, M: int, L: int, refine: int = 0, L_check: int | None = None
) -> MixtureFit:
    """Closest (total variation) law ∫ Mult(· | N, w) dμ(w) to `target` (one
    weight per pattern of `occupation_patterns(N, M)`), over candidate points
    on the lattice w = k/L, plus `refine` column-generation rounds (each adds
    the w maximizing the dual f·Mult(w) and re-solves); the dual's max over
    the simplex is searched on the lattice 1/`L_check` (default 2L).
    """
    patterns = occupation_patterns(N, M)
    q = np.asarray(target, np.float64).reshape(-1)
    if q.shape != (len(patterns),):
        raise ValueError(
            f"target must hold one weight per pattern of occupation_patterns(N={N}, M={M}), "
            f"shape ({len(patterns)},); got {q.shape}."
        )
    if not np.all(np.isfinite(q)):
        raise ValueError("target must be finite.")
    if int(refine) != refine or refine < 0:
        raise ValueError(f"refine must be a non-negative integer; got {refine}.")
    L_check = 2 * int(L) if L_check is None else L_check
    points = simplex_lattice(M, L)
    A = multinomial_matrix(patterns, points)
    for _ in range(int(refine)):
        _, f, _ = _solve_lp(A, q)
        _, w = _max_over_simplex(f, patterns, M, L_check)
        points = np.vstack([points, w])
        A = np.hstack([A, multinomial_matrix(patterns, w[None])])
    lam, f, value = _solve_lp(A, q)
    lam = np.clip(lam, 0.0, None)
    lam = lam / lam.sum()
    achieved = A @ lam
    peak, _ = _max_over_simplex(f, patterns, M, L_check)
    keep = lam > 1e-12
    return MixtureFit(
        distance=float(0.5 * np.abs(achieved - q).sum()),
        lower_bound=float(f @ q - peak),
        points=points[keep],
        weights=lam[keep],
        achieved=achieved,
        dual=f,
        lp_value=value,
        n_columns=A.shape[1],
    )


def fd_distance_closed_form(N: int, M: int) -> float:
    """min over mixing laws μ of TV(W_FD, P_μ) = 1 − M!/((M − N)! M^N) (N ≤ M):
    the multiply-occupied mass of the uniform multinomial (Maxwell-Boltzmann)."""
    _check_nm(N, M)
    if N > M:
        raise ValueError(f"Fermi-Dirac counting needs N ≤ M; got N = {N}, M = {M}.")
    return 1.0 - math.perm(M, N) / float(M) ** N
