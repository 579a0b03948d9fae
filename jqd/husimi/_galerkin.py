"""Spectral Galerkin law for the Husimi Fokker-Planck equation (physics §4.8): the
state is the coefficient matrix R of e^{−|α|²} × a polynomial in α, α*; steppers
scheme `Strang()` or `Exact()` (invariant blocks). why: docs/internals/husimi.md#galerkin
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array
from scipy.special import gammaln

from .._guards import Check, array_module, hermitian, to_device
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from .._steppers import AbstractScheme, Exact, Strang, check_scheme, scheme_named
from ._fp_terms import apply_groups, galerkin_structure
from ._galerkin_blocks import ExpmBlocks, _ExpmStep
from ._ops import Ops, anti_normal_order
from ._states import fock_basis, husimi, trace_index
from ._symbols import anti_wick_symbol, truncation_check

FOCK_TRUNCATION, BASIS_WIDTH = 2, 3  # monitor codes


class GalerkinParams(eqx.Module):
    """Constants of the Husimi Fokker-Planck equation: the diffusion strength
    C (quantum mechanics: C = 1)."""

    C: float | Array = 1.0


class FockTruncationError(BreakdownError):
    """The Galerkin state put more than `fock_tol` of its weight in the top
    Fock levels of the law's truncated basis."""


class BasisWidthError(FockTruncationError):
    """The Galerkin Husimi function became more concentrated than the vacuum's
    (narrower than the e^{−|α|²} width of the basis): no density operator has
    it, and the basis follows it only with growing, cancelling coefficients."""


SCHEMES = (Strang, Exact)


class HusimiGalerkin(AbstractLaw):
    """Husimi Fokker-Planck law (physics §4.2) in the Galerkin basis
    e^{−|α|²} × polynomials (physics §4.8), H the anti-Wick symbol of
    `hamiltonian` (units of ħ). State: the coefficient matrix R (d × d,
    complex, Hermitian, trace 1), Q(α) = Σ R_mn ⟨α|m⟩⟨n|α⟩/π^N. Params:
    `GalerkinParams(C)`.

    Args:
        hamiltonian: an `Ops` polynomial in a_j, a_j†.
        cutoffs: per-mode Fock cutoffs (int or tuple), or
        max_total: keep all patterns with Σ n_j ≤ max_total (e.g. Bose-Hubbard).
        n_modes: number of modes (default: those H acts on).
        scheme: `jqd.schemes.Strang()` (default: the exact unitary step
            between two half steps of the remainder, by Taylor series; order
            2) or `jqd.schemes.Exact()` (exp(dt L) by invariant blocks: exact
            for any C); or their names ("strang", "expm").
        taylor_order: order of the remainder's Taylor series (`Strang`).
        fock_tol: the monitor's bound on `top_weight` (above it `jqd.evolve`
            raises `FockTruncationError`); not applied where the truncation is
            exact (`sealed` at C = 1).
        width_tol: the monitor's bound on `concentration(y) − 1` (≤ 0 for every
            density operator); above it `jqd.evolve` raises `BasisWidthError`.

    Order: the scheme's, 2 for `Strang` (exact for C = 1 with a truncating
    H), None for `Exact`. Validated against exact Kerr and Bose-Hubbard
    evolution.
    """

    basis_tuple: tuple = eqx.field(static=True)
    n_modes: int = eqx.field(static=True)
    exact_fp: bool = eqx.field(static=True)
    scheme: AbstractScheme = eqx.field(static=True)
    taylor_order: int = eqx.field(static=True)
    fock_tol: float = eqx.field(static=True)
    width_tol: float = eqx.field(static=True)
    top_index: tuple = eqx.field(static=True)  # basis indices of the top Fock levels
    sealed: bool = eqx.field(static=True)  # at C = 1 no weight crosses the basis edge
    diff_groups: tuple = eqx.field(static=True)  # groups with a diffusion weight
    flat: Array  # (G, d, d) int32: flat gather index of each index group
    blocks: ExpmBlocks | None  # scheme Exact: L's invariant blocks
    W: Array  # (3, G, d, d): weights: Liouville, diffusion per unit C, −i[H, ·]
    H: Array
    ladders: Array  # (N, d, d) projected a_j

    breakdowns = {
        FOCK_TRUNCATION: Reason(
            FockTruncationError,
            "the weight in the top Fock levels of the Galerkin basis (`where[0]`) exceeded "
            "fock_tol",
            "Raise the cutoff (cutoffs= or max_total=), or raise fock_tol= if that weight "
            "is acceptable.",
        ),
        BASIS_WIDTH: Reason(
            BasisWidthError,
            "the Husimi function became more concentrated than the vacuum's "
            "((2π)^N ∫Q² = `where[1]` > 1 + width_tol; no density operator exceeds 1): the "
            "solution narrows below the e^{-|α|²} width of the Galerkin basis",
            "Raise the cutoff; if that does not help (C < 1, or a non-truncating H, whose "
            "exact solution narrows below the vacuum), shorten the run or use C >= 1.",
        ),
    }

    def __init__(
        self,
        hamiltonian: Ops,
        *,
        cutoffs=None,
        max_total: int | None = None,
        n_modes: int | None = None,
        scheme: AbstractScheme | str = Strang(),  # noqa: B008 (schemes hold no state)
        taylor_order: int = 8,
        fock_tol: float = 1e-3,
        width_tol: float = 1e-2,
    ):
        if not isinstance(hamiltonian, Ops):
            raise ValueError("hamiltonian must be a jqd.husimi.Ops (built from a(j), ad(j)).")
        scheme = scheme_named(scheme, SCHEMES)
        check_scheme(scheme, SCHEMES)
        if not hamiltonian.is_hermitian():
            raise ValueError("hamiltonian must be Hermitian (add the h.c. terms).")
        if not fock_tol > 0 or not width_tol > 0:
            raise ValueError(f"fock_tol, width_tol must be positive; got {fock_tol}, {width_tol}.")
        if int(taylor_order) < 1:
            raise ValueError(f"taylor_order must be >= 1; got {taylor_order}.")
        N = max(hamiltonian.n_modes if n_modes is None else int(n_modes), 1)
        if cutoffs is not None:
            cutoffs = (int(cutoffs),) * N if np.ndim(cutoffs) == 0 else tuple(cutoffs)
            if len(cutoffs) != N:
                raise ValueError(f"cutoffs has {len(cutoffs)} entries for {N} modes.")
        total = None if max_total is None else int(max_total)
        basis = fock_basis(cutoffs, max_total=total, n_modes=N)  # checks: one of the two
        kind = "total" if cutoffs is None else "cutoffs"
        poly = anti_wick_symbol(hamiltonian, N)
        flat, W, H, ladders = galerkin_structure(hamiltonian, poly, basis, kind)
        # jax.device_put, not jnp.asarray: no program per shape (jax 0.10)
        self.flat, self.W = jax.device_put(flat), jax.device_put(W)
        self.blocks = ExpmBlocks.from_structure(flat, W) if isinstance(scheme, Exact) else None
        self.diff_groups = tuple(
            int(g) for g in np.flatnonzero(np.abs(W[1]).max(axis=(1, 2)) > 1e-15)
        )
        self.H, self.ladders = jax.device_put(H), jax.device_put(ladders)
        self.basis_tuple = tuple(tuple(int(x) for x in o) for o in basis)
        self.n_modes = N
        self.exact_fp = truncation_check(poly).exact
        self.scheme = scheme
        self.taylor_order = int(taylor_order)
        self.fock_tol = float(fock_tol)
        self.width_tol = float(width_tol)
        self.top_index, conserving = edge_index(hamiltonian, basis, kind)
        self.sealed = self.exact_fp and conserving

    @property
    def basis(self) -> np.ndarray:
        return np.array(self.basis_tuple, dtype=int).reshape(len(self.basis_tuple), self.n_modes)

    @property
    def dim(self) -> int:
        return len(self.basis_tuple)

    def initial_state(self, state) -> Array:
        """Coefficient matrix of a ket (dim,) or density matrix on `self.basis`."""
        state = to_device(state)
        return _ket_to_matrix(state) if state.ndim == 1 else state

    def fp_operator(self, R, C):
        """L(C) R: the projected Fokker-Planck right-hand side."""
        C = jnp.asarray(C).astype(R.dtype)
        W = self.W.astype(R.dtype)
        return apply_groups(self.flat, W[0] + C * W[1], R)

    def fp_parts(self, R):
        """(Liouville part, diffusion part per unit C) of L(C) R (F65-66)."""
        W = self.W.astype(R.dtype)
        return apply_groups(self.flat, W[0], R), apply_groups(self.flat, W[1], R)

    def vector_field(self, t, y, params):
        return self.fp_operator(y, params.C)

    def _remainder(self, C, dtype):
        """L_R = L(C) + i[H_P, ·] as (c, W, flat): c = C − 1 and the diffusion
        groups for a truncating H (P L(1) P = −i[H_P, ·]), else c = 1 and all."""
        C = jnp.asarray(C)
        W = self.W.astype(dtype)
        if self.exact_fp:
            idx = np.array(self.diff_groups, dtype=int)
            return (C - 1).astype(W.real.dtype), W[1][idx], self.flat[idx]
        rdtype = W.real.dtype
        return jnp.ones((), rdtype), W[0] + C.astype(dtype) * W[1] - W[2], self.flat

    def superoperator(self, C, dtype=complex):
        """Dense d² × d² matrix of L(C) acting on R.reshape(-1) (row-major)."""
        d = self.dim
        eye = jnp.eye(d * d, dtype=dtype).reshape(d * d, d, d)
        cols = jax.vmap(lambda E: self.fp_operator(E, C).reshape(-1))(eye)
        return cols.T

    def step(self, t, y, params, dt, key=None):
        return self.prepare(params, dt).step(t, y, params, dt, key)

    def prepare(self, params, dt):
        """The stepper for this C and dt (`Strang`: e^{−iH_P dt}, the remainder × dt/2)."""
        dtype = jnp.result_type(jnp.asarray(dt).dtype, jnp.complex64)
        if isinstance(self.scheme, Exact):
            M = self.blocks.exponential(self.W[0], self.W[1], params.C, dt, dtype)
            return _ExpmStep(M, self.blocks.index)
        c, W, flat = self._remainder(params.C, dtype)
        half = (jnp.asarray(dt) / 2).astype(dtype)
        E, V = jnp.linalg.eigh(self.H.astype(dtype))
        U = (V * jnp.exp(-1j * E * dt).astype(dtype)) @ jnp.conj(V).T
        return _SplitStep(U, c, W * half, flat, self.taylor_order)

    # ---- read-outs ------------------------------------------------------
    def husimi(self, y, alphas):
        """Q_H(α) of the state at complex points (..., N)."""
        return husimi(y, alphas, basis=self.basis)

    def density(self, y):
        """Diagonal of R (Fock populations for a quantum state)."""
        return jnp.real(jnp.diagonal(y))

    def norm(self, y):
        """∫ ρ dz = tr R."""
        return jnp.real(jnp.trace(y))

    def energy(self, t, y, params):
        """⟨H⟩ = ∫ H(z) ρ(z) dz = tr(R Ĥ) (exact for the anti-Wick symbol)."""
        return jnp.real(jnp.trace(self.H.astype(y.dtype) @ y))

    def mean_a(self, y):
        """⟨a_j⟩ = ∫ α_j ρ dz = tr(R a_j), shape (N,)."""
        return jnp.einsum("jmn,nm->j", self.ladders.astype(y.dtype), y)

    def populations(self, y):
        """⟨n_j⟩ = ∫ (|α_j|² − 1) ρ dz = tr(R a_j† a_j), shape (N,)."""
        return jnp.real(
            jnp.einsum("n,nj->j", jnp.diagonal(y), jnp.asarray(self.basis, y.real.dtype))
        )

    def check(self, y, params, dt=None):
        """Shapes and dtypes (known under tracing too)."""
        d = self.dim
        if jnp.shape(y) != (d, d):
            raise ValueError(
                f"y0 must be the ({d}, {d}) coefficient matrix on the law's basis; got shape "
                f"{jnp.shape(y)}. Use law.initial_state(psi) for a ket."
            )
        if not jnp.iscomplexobj(y):
            raise ValueError("y0 must be complex (e.g. y0.astype(jnp.complex128)).")
        if not hasattr(params, "C") or jnp.iscomplexobj(params.C):
            raise ValueError("params must be a jqd.husimi.GalerkinParams(C) with a real C.")

    def checks(self, y, params, dt=None):
        """y0 Hermitian with trace 1; the split step inside its series' range."""
        return state_guards(y) + stability_guard(self, params.C, dt)

    def top_weight(self, y):
        """Σ |R_nn| over the edge of the basis (n_j ≥ cutoff_j − g_j for some mode,
        or Σ n_j > max_total − g; g the step by which H changes the number)."""
        return _top_weight(y, np.asarray(self.top_index, dtype=int))

    def concentration(self, y):
        """(2π)^N ∫ Q_H² d^{2N}α, exact from R: ≤ 1 for density operators (Lieb)."""
        full = concentration_structure(self.basis_tuple)
        marginals = None if full is not None else marginal_structures(self.basis_tuple)
        return concentration(y, full, marginals)

    def monitor(self, t, y, params, dt=None):
        """Code 2: `top_weight > fock_tol` (not `sealed` at C = 1; `params` None:
        applies); code 3: `concentration > 1 + width_tol`. `where` = both values."""
        y = jax.lax.stop_gradient(y)
        w, c = self.top_weight(y), self.concentration(y)
        fock, width = w > self.fock_tol, c > 1 + self.width_tol
        if self.sealed and params is not None:
            fock = fock & (jax.lax.stop_gradient(jnp.asarray(params.C)) != 1)
        code = jnp.where(fock, FOCK_TRUNCATION, jnp.where(width, BASIS_WIDTH, 0))
        return ~(fock | width), code, jnp.stack([w, c])


class _SplitStep(AbstractLaw):
    """Strang step e^{L_R dt/2} e^{L_U dt} e^{L_R dt/2}. why: docs/internals/husimi.md#split"""

    U: Array
    c: Array
    Wh: Array
    flat: Array
    taylor_order: int = eqx.field(static=True)

    def _half(self, y):  # exp(c L_R dt/2) y by its Taylor series
        Wh, c = self.Wh.astype(y.dtype), self.c.astype(y.real.dtype)
        out = term = y
        for k in range(1, self.taylor_order + 1):
            term = apply_groups(self.flat, Wh, term) * (c / k).astype(y.real.dtype)
            out = out + term
        return out

    def step(self, t, y, params, dt, key=None):
        y = self._half(y)
        U = self.U.astype(y.dtype)
        y = U @ y @ jnp.conj(U).T
        return self._half(y)


# ---- guards and breakdown criteria (why and calibration:
# docs/internals/husimi.md#split, #galerkin-monitor)

TAYLOR_TOL = 0.1  # bound on ‖e^Z − T_p(Z)‖ for the split stepper's remainder series
TRACE_TOL = 1e-6
MAX_TERMS = 2_000_000  # full concentration sum up to this many terms, else marginals
HERMITIAN_RTOL = 1e-8


def edge_index(hamiltonian: Ops, basis: np.ndarray, kind: str) -> tuple[tuple[int, ...], bool]:
    """(basis indices at the truncation edge (`HusimiGalerkin.top_weight`), whether H
    keeps the numbers the basis is cut in (each n_j, or Σ_j n_j for "total")); g_j (g)
    the gcd of the terms' number changes Δn_j = #a_j† − #a_j (Σ_j Δn_j), 1 if none."""
    strides, total_stride, conserving = [0] * basis.shape[1], 0, True
    for word in anti_normal_order(hamiltonian).terms:
        delta = [0] * basis.shape[1]
        for m, dag in word:
            delta[m] += 1 if dag else -1
        strides = [math.gcd(g, abs(x)) for g, x in zip(strides, delta, strict=True)]
        total_stride = math.gcd(total_stride, abs(sum(delta)))
        conserving &= not ((sum(delta) != 0) if kind == "total" else any(delta))
    strides, total_stride = [max(g, 1) for g in strides], max(total_stride, 1)
    if kind == "total":
        tot = basis.sum(1)
        top = (tot > tot.max() - total_stride) & (tot.max() > 0)
    else:
        hi = basis.max(0)
        g = np.asarray(strides)
        top = np.any((basis > hi - g) & (hi > 0), axis=1)
    return tuple(int(i) for i in np.flatnonzero(top)), conserving


def taylor_radius(order: int, tol: float = TAYLOR_TOL) -> float:
    """Largest r with r^{p+1} e^r/(p+1)! ≤ tol (bisection): ‖e^Z − T_p(Z)‖ ≤ tol for ‖Z‖ ≤ r."""
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
    """(i1, i2, w) of the concentration's terms w R[i1] R[i2] (R flat; formula:
    docs/internals); None above `MAX_TERMS` terms."""
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
    """Per mode: the partial trace onto it (rows, cols, src_rows, src_cols, d_j) and
    the reduced state's concentration structure (Lieb's bound holds for it)."""
    basis = np.array(basis_tuple, dtype=np.int64).reshape(len(basis_tuple), -1)
    out = []
    for j in range(basis.shape[1]):
        *index, levels = trace_index(basis, j)
        out.append((*index, len(levels), concentration_structure(tuple(map(tuple, levels)))))
    return tuple(out)


def concentration(R, structure, marginals=None) -> jnp.ndarray:
    """(2π)^N ∫ Q_H² d^{2N}α of R; `structure` None: the largest one-mode marginal
    concentration (`marginals`), or 0 (check off) where even those are too large."""
    if structure is None:
        if not marginals:
            return jnp.zeros((), R.real.dtype)
        vals = []
        for rows, cols, src_r, src_c, d_j, sub in marginals:
            red = jnp.zeros((d_j, d_j), R.dtype).at[rows, cols].add(R[src_r, src_c])
            vals.append(concentration(red, sub, None))
        return jnp.max(jnp.stack(vals))
    i1, i2, w = structure
    flat = R.reshape(-1)
    return jnp.real(jnp.sum(jnp.asarray(w, R.real.dtype) * flat[i1] * flat[i2]))


@jax.jit  # one program (conj and outer eagerly were two; NumPy's complex product differs)
def _ket_to_matrix(psi):
    return jnp.outer(psi, jnp.conj(psi))


def state_guards(R, name: str = "y0") -> list[Check]:
    """R Hermitian and of trace 1."""
    xp = array_module(R)
    R = xp.asarray(R)
    dev = xp.abs(xp.trace(R) - 1.0)
    return hermitian(R, name, rtol=HERMITIAN_RTOL) + [
        Check(
            dev <= TRACE_TOL,
            f"{name} must have trace 1 (∫ρ dz = tr R = 1); got |tr {name} − 1| = {{value}}. "
            f"Normalize it: {name} / jnp.trace({name}).",
            dev,
        )
    ]


def stability_guard(law, C, dt, *, dt_scale: float = 1.0) -> list[Check]:
    """The split stepper's remainder series in range for steps dt_scale × dt."""
    if not isinstance(law.scheme, Strang) or dt is None:
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
            "dt is too large for the split stepper of HusimiGalerkin at this C (params.C): its "
            f"remainder series (taylor_order={law.taylor_order}) needs |c| B h/2 <= {r:.3g} "
            "(docs/internals/husimi.md#split). The largest safe dt here is {value}. Reduce "
            "dt, raise taylor_order, or use scheme=jqd.schemes.Exact() ('expm').",
            dt_max,
        )
    ]


@jax.jit  # one program per shape for plain calls, not one per op
def _top_weight(y, top_index):
    return jnp.sum(jnp.abs(jnp.real(jnp.diagonal(y)))[top_index])
