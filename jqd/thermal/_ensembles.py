"""Statistical ensembles, eigenstate thermalization and level statistics from
an exact spectrum (physics §7.7). The windowed functions need concrete inputs
and refuse windows of fewer than 5 levels; the others are jax-traceable."""

from __future__ import annotations

import numpy as np

from .. import _guards
from .._guards import array_module

MIN_LEVELS = 5  # fewest levels a window may hold
WEIGHT_TOL = 1e-6  # |Σ c2 − 1| allowed for a state's weights


def _weights(caller: str, c2, name: str = "c2", square: bool = False) -> None:
    """Concrete weights (c2, or amplitudes c with `square`) are >= 0 and normalized."""
    if _guards.is_traced(c2):
        return
    p = np.abs(np.asarray(c2)) ** 2 if square else np.asarray(c2).real
    eps = np.finfo(p.dtype).eps if np.issubdtype(p.dtype, np.inexact) else 0.0
    tol = max(WEIGHT_TOL, 10 * (p.shape[-1] if p.ndim else 1) * eps)
    total = "Σ|c|²" if square else f"Σ {name}"
    fix = f"{name} / np.linalg.norm({name})" if square else f"{name} / {name}.sum()"
    dev = np.sum(p, axis=-1) - 1
    normalized = np.all(np.abs(dev) <= tol)
    message = f"{total} must be 1; {total} - 1 = {{value}} (tolerance {tol:.1g}). Use {fix}."
    guards = _guards.finite(p, name) + [
        _guards.Check(np.all(p >= 0), f"{name} must be >= 0 (weights |c_n|²); got {{value}}.", p),
        _guards.Check(normalized, message, dev),
    ]
    _guards.enforce(guards, caller=f"jqd.thermal.{caller}")


def _same_length(caller: str, **arrays) -> None:
    """Concrete arrays share their last axis (one entry per level)."""
    shapes = {k: np.shape(v) for k, v in arrays.items() if not _guards.is_traced(v)}
    if len({s[-1:] for s in shapes.values()}) > 1:
        given = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(
            f"jqd.thermal.{caller}: {' and '.join(shapes)} must have one entry per level "
            f"(the same last axis); got {given}. Pass them in the same eigenbasis."
        )


def _spectrum(E):
    E = np.asarray(E, dtype=float)
    if E.ndim != 1 or E.size == 0:
        raise ValueError(f"E must be a non-empty vector of eigenvalues; got shape {E.shape}.")
    if not np.all(np.isfinite(E)):
        raise ValueError(f"E contains NaN or Inf. {_guards.NONFINITE_FIX}")
    return E


def _window(E, lo, hi, E0=None):
    """The levels in [lo, hi] (at least MIN_LEVELS), after checking that E0 lies in E."""
    if E0 is not None and not (E.min() <= E0 <= E.max()):
        raise ValueError(
            f"E0 = {E0:.6g} lies outside the spectrum [{E.min():.6g}, {E.max():.6g}]; "
            "choose E0 inside it."
        )
    sel = (E >= lo) & (E <= hi)
    n = int(sel.sum())
    if n < MIN_LEVELS:
        raise ValueError(
            f"window: [{lo:.6g}, {hi:.6g}] holds {n} level(s) of E, fewer than "
            f"{MIN_LEVELS}; widen the window (or use a larger system)."
        )
    return sel


def gap_ratio(E, *, fraction: float = 1.0, degeneracy_tol: float = 1e-8) -> float:
    """Mean spacing ratio ⟨r⟩ of the levels E (one symmetry sector).

    Args:
        E: eigenvalues (any order).
        fraction: use the central `fraction` of the sorted levels (e.g. 0.5
            for the middle half, away from the spectral edges).
        degeneracy_tol: gaps below this times the mean spacing count as
            exact degeneracies, which are refused.
    """
    E = np.sort(_spectrum(E))
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1]; got {fraction}.")
    n = E.size
    cut = int(round(n * (1 - fraction) / 2))
    E = E[cut : n - cut]
    if E.size < MIN_LEVELS:
        raise ValueError(
            f"E: {E.size} levels (after fraction), fewer than {MIN_LEVELS}: raise fraction or "
            "use a larger system."
        )
    s = np.diff(E)
    mean = s.mean()
    n_deg = int(np.sum(s <= degeneracy_tol * mean))
    if n_deg:
        raise ValueError(
            f"E has {n_deg} (near-)degenerate gap(s) (below {degeneracy_tol:g} x the mean "
            "spacing): an unresolved symmetry. Resolve sectors first (jqd.thermal."
            "reflection_sector, sz_sector) and pass one sector's levels."
        )
    r = np.minimum(s[:-1], s[1:]) / np.maximum(s[:-1], s[1:])
    return float(r.mean())


def _sorted_pair(E, O_diag):
    E = _spectrum(E)
    O = np.asarray(O_diag)
    if O.shape != E.shape:
        raise ValueError(f"O_diag must have the shape of E {E.shape}; got {O.shape}.")
    order = np.argsort(E)
    return E[order], np.real(O[order])


def _consecutive(E, O_diag, window):
    """O_{n+1,n+1} − O_nn over consecutive levels inside `window` = (E_lo, E_hi)."""
    E, O = _sorted_pair(E, O_diag)
    lo, hi = (float(w) for w in window)
    return np.diff(O[_window(E, lo, hi)])


def eth_diagonal_fluctuation(E, O_diag, window) -> float:
    """Mean eigenstate-to-eigenstate fluctuation ⟨|O_{n+1,n+1} − O_nn|⟩ over
    consecutive levels inside `window` = (E_lo, E_hi) (ETH: ~ D^{−1/2})."""
    return float(np.mean(np.abs(_consecutive(E, O_diag, window))))


def eth_diagonal_variance(E, O_diag, window) -> float:
    """Variance of O_nn about its smooth part inside `window` = (E_lo, E_hi):
    ⟨(O_{n+1,n+1} − O_nn)²⟩/2 (the smooth part cancels to first order)."""
    return float(np.mean(_consecutive(E, O_diag, window) ** 2) / 2)


def eth_offdiagonal_variance(E, O_eig, E0, window) -> float:
    """Mean |O_mn|² over pairs m ≠ n with both levels in |E − E0| ≤ window/2
    (the variance of the off-diagonal elements, whose mean is zero up to the
    arbitrary signs of eigenvectors). O_eig is (D, D) in the eigenbasis of E."""
    _guards.arguments("jqd.thermal.eth_offdiagonal_variance", window=window)
    E = _spectrum(E)
    O = np.asarray(O_eig)
    if O.shape != (E.size, E.size):
        raise ValueError(f"O_eig must have shape {(E.size, E.size)}; got {O.shape}.")
    E0 = float(E0)
    sel = np.flatnonzero(_window(E, E0 - window / 2, E0 + window / 2, E0))
    block = np.abs(O[np.ix_(sel, sel)]) ** 2
    off = ~np.eye(sel.size, dtype=bool)
    return float(block[off].mean())


def diagonal_ensemble(c2, O_diag):
    """Σ_n |c_n|² O_nn: the infinite-time average of ⟨O(t)⟩ (c2 normalized)."""
    _same_length("diagonal_ensemble", c2=c2, O_diag=O_diag)
    _weights("diagonal_ensemble", c2)
    xp = array_module(c2, O_diag)
    return xp.sum(xp.asarray(c2) * xp.real(xp.asarray(O_diag)), axis=-1)


def microcanonical_average(E, O_diag, E0, width) -> float:
    """Mean of O_nn over the levels with |E_n − E0| ≤ width/2."""
    _guards.arguments("jqd.thermal.microcanonical_average", width=width)
    E, O = _sorted_pair(E, O_diag)
    E0 = float(E0)
    return float(O[_window(E, E0 - width / 2, E0 + width / 2, E0)].mean())


def _boltzmann(E, beta):
    xp = array_module(E, beta)
    E = xp.asarray(E)
    beta = xp.asarray(beta)[..., None]
    x = -beta * E
    x = x - xp.max(x, axis=-1, keepdims=True)  # no overflow at any β
    w = xp.exp(x)
    return w / xp.sum(w, axis=-1, keepdims=True)


def canonical_average(E, O_diag, beta):
    """Σ e^{−βE_n} O_nn / Z (any β, array β broadcasts; jax-traceable)."""
    _same_length("canonical_average", E=E, O_diag=O_diag)
    _guards.arguments("jqd.thermal.canonical_average", real=("beta",), beta=beta)
    xp = array_module(E, O_diag, beta)
    return xp.sum(_boltzmann(E, beta) * xp.real(xp.asarray(O_diag)), axis=-1)


def canonical_energy(E, beta):
    """⟨E⟩_β = Σ E_n e^{−βE_n}/Z."""
    return canonical_average(E, E, beta)


def beta_canonical(E, E0, *, iterations: int = 200) -> float:
    """The β with ⟨E⟩_β = E0 ∈ (E_min, E_max): bisection on
    β ∈ ±1e3·D/(E_max − E_min) (⟨E⟩_β is monotonic), then Newton."""
    E = np.sort(_spectrum(E))
    E0 = float(E0)
    if not (E[0] < E0 < E[-1]):
        raise ValueError(
            f"E0 = {E0:.6g} lies outside the open spectrum ({E[0]:.6g}, {E[-1]:.6g}): no finite "
            "β has that mean energy; choose E0 strictly inside it."
        )
    bmax = 1e3 * E.size / (E[-1] - E[0])
    lo, hi = -bmax, bmax  # mean(lo) > E0 > mean(hi)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        if canonical_energy(E, mid) > E0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(abs(mid), 1 / (E[-1] - E[0])):
            break
    b = (lo + hi) / 2
    for _ in range(3):  # Newton: d⟨E⟩/dβ = −Var E
        p = np.asarray(_boltzmann(E, b))
        var = float(p @ E**2 - (p @ E) ** 2)
        if var <= 0:
            break
        b = b + (float(canonical_energy(E, b)) - E0) / var
    return float(b)


def beta_microcanonical(E, E0, width) -> float:
    """d ln g/dE at E0 for the level density smoothed with a Gaussian of
    standard deviation `width`: Σ w_n (E_n − E0)/(width² Σ w_n),
    w_n = exp(−(E_n − E0)²/2 width²). Needs ≥ 5 levels within ±width."""
    E, E0, width = _spectrum(E), float(E0), float(width)
    if not width > 0:
        raise ValueError(f"width must be positive; got {width}.")
    _window(E, E0 - width, E0 + width, E0)
    w = np.exp(-((E - E0) ** 2) / (2 * width**2))
    return float(np.sum(w * (E - E0)) / (width**2 * np.sum(w)))


def effective_dimension(c2):
    """d_eff = 1/Σ|c_n|⁴ (the number of eigenstates a state occupies; c2 normalized)."""
    _weights("effective_dimension", c2)
    xp = array_module(c2)
    return 1.0 / xp.sum(xp.asarray(c2) ** 2, axis=-1)


def temporal_variance(E, c, O_eig, *, degeneracy_tol: float = 1e-10):
    """Infinite-time variance of ⟨O(t)⟩ = Σ_{m≠n, E_m≠E_n} |c_m|²|c_n|²|O_mn|²
    (pairs with equal energies do not oscillate; assumes non-degenerate gaps).
    E (D,), c (D,) normalized, O_eig (D, D) in the eigenbasis of E."""
    if not _guards.is_traced(E, c, O_eig) and (
        np.ndim(E) != 1 or np.shape(c) != np.shape(E) or np.shape(O_eig) != np.shape(E) * 2
    ):
        raise ValueError(
            "jqd.thermal.temporal_variance: E and c must be (D,) and O_eig (D, D), in one "
            f"eigenbasis; got E {np.shape(E)}, c {np.shape(c)}, O_eig {np.shape(O_eig)}."
        )
    _weights("temporal_variance", c, "c", square=True)
    xp = array_module(E, c, O_eig)
    E = xp.asarray(E)
    c2 = xp.abs(xp.asarray(c)) ** 2
    scale = xp.maximum(xp.max(xp.abs(E)), 1.0)
    moving = xp.abs(E[:, None] - E[None, :]) > degeneracy_tol * scale
    W = c2[:, None] * c2[None, :] * xp.abs(xp.asarray(O_eig)) ** 2
    return xp.sum(xp.where(moving, W, 0.0))
