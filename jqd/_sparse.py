"""Sparse and banded Hamiltonians (`DiaMatrix`, BCOO, `as_operator`) and
Chebyshev propagation with them. Why: docs/internals/core.md#sparse.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array

from .thermal._chebyshev import CHEB_TOL, _bessel_j, _bessel_j_numpy

__all__ = ["DiaMatrix", "as_operator", "is_sparse", "todense"]

SPARSE_MIN_DIM = 128  # below it a dense H is kept (its eigendecomposition is cheap)
DIA_MAX_DIAGONALS = 32


class DiaMatrix(eqx.Module):
    """A square matrix stored by diagonals: `H[i, i + k] = data[j, i]` for
    `k = offsets[j]` (static, sorted; entries whose column falls outside are
    zero); `data` (len(offsets), dim) is differentiable."""

    offsets: tuple[int, ...] = eqx.field(static=True)
    data: Array

    @classmethod
    def from_dense(cls, H, offsets=None) -> DiaMatrix:
        """The diagonals `offsets` of a dense H, or of a SciPy sparse one read
        as stored (default, for a concrete dense H: every nonzero one)."""
        if offsets is None:
            Hn = np.asarray(H)
            rows, cols = np.nonzero(Hn)
            offsets = tuple(int(k) for k in np.unique(cols - rows)) or (0,)
        d = H.shape[0]
        xp = np if isinstance(H, np.ndarray) or scipy_sparse(H) else jnp
        data = []
        for k in offsets:  # H[i, i + k] for the valid rows (SciPy's own, never dense)
            diag = H.diagonal(k) if scipy_sparse(H) else xp.diagonal(H, k)
            pad = (0, abs(k)) if k >= 0 else (abs(k), 0)
            data.append(xp.pad(diag, pad))
        return cls(tuple(offsets), jnp.asarray(xp.stack(data)).reshape(len(offsets), d))

    @property
    def shape(self) -> tuple[int, int]:
        d = self.data.shape[-1]
        return (d, d)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return 2

    def astype(self, dtype) -> DiaMatrix:
        return DiaMatrix(self.offsets, self.data.astype(dtype))

    def todense(self) -> Array:
        d = self.shape[0]
        out = jnp.zeros((d, d), self.data.dtype)
        rows = np.arange(d)
        for j, k in enumerate(self.offsets):
            r = rows[(rows + k >= 0) & (rows + k < d)]
            out = out.at[r, r + k].set(self.data[j, r])
        return out

    def masked(self) -> DiaMatrix:
        """The same matrix with the stored entries outside it zeroed."""
        i = np.arange(self.shape[0])
        valid = np.stack([(i + k >= 0) & (i + k < self.shape[0]) for k in self.offsets])
        return DiaMatrix(self.offsets, jnp.where(valid, self.data, 0))

    def diagonal(self) -> Array:
        if 0 in self.offsets:
            return self.data[self.offsets.index(0)]
        return jnp.zeros(self.shape[0], self.data.dtype)

    def __matmul__(self, y):
        """H @ y for y of shape (dim,) or (dim, m)."""
        y = jnp.asarray(y)
        return self.apply_rows(y) if y.ndim == 1 else self.apply_rows(y.T).T

    def apply_rows(self, v):
        """(H @ vᵀ)ᵀ for v of shape (..., dim): H along the contiguous last axis."""
        d = self.shape[0]
        p = max(abs(k) for k in self.offsets)
        vp = jnp.pad(v, [(0, 0)] * (v.ndim - 1) + [(p, p)])
        out = None
        for j, k in enumerate(self.offsets):
            term = self.data[j] * jax.lax.slice_in_dim(vp, p + k, p + k + d, axis=-1)
            out = term if out is None else out + term
        return out

    def _combine(self, other, sign) -> DiaMatrix:
        if not isinstance(other, DiaMatrix):
            return NotImplemented
        offs = tuple(sorted(set(self.offsets) | set(other.offsets)))
        dtype = jnp.result_type(self.data.dtype, other.data.dtype)
        rows = []
        for k in offs:
            a = self.data[self.offsets.index(k)] if k in self.offsets else 0.0
            b = other.data[other.offsets.index(k)] if k in other.offsets else 0.0
            rows.append(jnp.asarray(a + sign * b, dtype) * jnp.ones(self.shape[0], dtype))
        return DiaMatrix(offs, jnp.stack(rows))

    def __add__(self, other):
        return self._combine(other, 1.0)

    def __sub__(self, other):
        return self._combine(other, -1.0)

    def __neg__(self):
        return DiaMatrix(self.offsets, -self.data)

    def __mul__(self, scalar):
        if isinstance(scalar, DiaMatrix) or jnp.ndim(scalar) != 0:
            return NotImplemented
        return DiaMatrix(self.offsets, self.data * scalar)

    __rmul__ = __mul__

    def __truediv__(self, scalar):
        return self * (1.0 / scalar)

    def adjoint(self) -> DiaMatrix:
        """H† in diagonal storage: (H†)[i, i − k] = conj(H[i − k, i])."""
        d = self.shape[0]
        rows = []
        offs = []
        for j, k in sorted(enumerate(self.offsets), key=lambda jk: -jk[1]):
            shifted = jnp.roll(jnp.conj(self.data[j]), k)  # index i reads i − k
            valid = (np.arange(d) - k >= 0) & (np.arange(d) - k < d)
            rows.append(jnp.where(valid, shifted, 0))
            offs.append(-k)
        return DiaMatrix(tuple(offs), jnp.stack(rows))


def is_sparse(H) -> bool:
    return isinstance(H, DiaMatrix | jsparse.BCOO)


def todense(H):
    return H.todense() if is_sparse(H) else H


def hermitian_residual(H):
    """(max|H − H†|, max|H|) for dense or sparse H."""
    if isinstance(H, DiaMatrix) and H.offsets == (0,):  # diagonal: Hermitian iff real
        return jnp.max(jnp.abs(jnp.imag(H.data))), jnp.max(jnp.abs(H.data))
    if isinstance(H, DiaMatrix):
        H = H.masked()
        return jnp.max(jnp.abs((H - H.adjoint()).data)), jnp.max(jnp.abs(H.data))
    Hd = todense(H)
    return jnp.max(jnp.abs(Hd - jnp.conj(Hd.T))), jnp.max(jnp.abs(Hd))


def all_finite(H):
    data = H.data if is_sparse(H) else H
    return jnp.all(jnp.isfinite(data))


def structure(Hn) -> tuple[str, tuple[int, ...], int]:
    """("diagonal" | "dia" | "bcoo" | "dense", offsets, nnz) of a concrete H
    (a NumPy array or a SciPy sparse matrix, read without densifying)."""
    d = Hn.shape[0]
    if scipy_sparse(Hn):
        coo = Hn.tocoo()
        stored = coo.data != 0  # explicit zeros are not entries
        rows, cols = coo.row[stored], coo.col[stored]
    else:
        rows, cols = np.nonzero(Hn)
    nnz = rows.size
    offsets = tuple(int(k) for k in np.unique(cols - rows))
    if offsets in ((), (0,)):
        return "diagonal", (0,), nnz
    if d < SPARSE_MIN_DIM:
        return "dense", offsets, nnz
    if len(offsets) <= DIA_MAX_DIAGONALS and len(offsets) * d <= 4 * max(nnz, d):
        return "dia", offsets, nnz
    if nnz <= d * d // 10:
        return "bcoo", offsets, nnz
    return "dense", offsets, nnz


def scipy_sparse(H) -> bool:
    return type(H).__module__.startswith("scipy.sparse")


def as_operator(H):
    """H in the storage its nonzero pattern calls for: `DiaMatrix` for a
    diagonal or banded H, `BCOO` for other sparse H, else dense (also traced).
    A SciPy sparse H (a QuTiP operator's CSR or Dia data) is read as it is
    stored: O(nonzeros), never a dense d × d copy."""
    if is_sparse(H) or isinstance(H, jax.core.Tracer):
        return H
    sp = scipy_sparse(H)
    kind, offsets, _ = structure(H if sp else np.asarray(H))
    if kind in ("diagonal", "dia"):
        return DiaMatrix.from_dense(H if sp else jnp.asarray(H), offsets)
    if kind == "bcoo":
        return jsparse.BCOO.from_scipy_sparse(H) if sp else jsparse.BCOO.fromdense(jnp.asarray(H))
    return jnp.asarray(H.toarray()) if sp else H


def gershgorin(H):
    """(lo, hi) bounding the spectrum of a Hermitian H (Gershgorin discs)."""
    if isinstance(H, DiaMatrix):
        H = H.masked()
        center = jnp.real(H.diagonal())
        radius = sum(jnp.abs(H.data[j]) for j, k in enumerate(H.offsets) if k != 0)
    elif isinstance(H, jsparse.BCOO):
        r, c = H.indices[:, 0], H.indices[:, 1]
        d = H.shape[0]
        on = r == c
        center = jax.ops.segment_sum(jnp.where(on, jnp.real(H.data), 0.0), r, d)
        radius = jax.ops.segment_sum(jnp.where(on, 0.0, jnp.abs(H.data)), r, d)
    else:
        center = jnp.real(jnp.diagonal(H))
        radius = jnp.sum(jnp.abs(H), 1) - jnp.abs(jnp.diagonal(H))
    radius = radius + jnp.zeros_like(center)
    return jnp.min(center - radius), jnp.max(center + radius)


def gershgorin_numpy(Hn: np.ndarray) -> tuple[float, float]:
    center = np.real(np.diagonal(Hn))
    radius = np.sum(np.abs(Hn), 1) - np.abs(np.diagonal(Hn))
    return float(np.min(center - radius)), float(np.max(center + radius))


def chebyshev_order(halfwidth_times_s: float, tol: float = CHEB_TOL) -> int:
    """Terms K of a Chebyshev step e^{−isH}: the smallest K whose tail
    2Σ_{k≥K}|J_k(a)| is ≤ tol for a = h s (h the half-width of H's spectrum,
    s = dt/ħ), rounded up to a multiple of 4."""
    a = abs(float(halfwidth_times_s))
    n = int(a + 10 * a ** (1 / 3) + 30)
    J = _bessel_j_numpy(a, n)
    tail = 2.0 * np.cumsum(np.abs(J)[::-1])[::-1]
    K = int(np.sum(tail > tol)) + 1
    return max(4, -(-K // 4) * 4)


def chebyshev_tail(H, s, order: int):
    """The dropped tail 2Σ_{k=K}^{K+7}|J_k(h s)| of an order-K step (in-graph);
    inf when h s > K."""
    lo, hi = gershgorin(H)
    a = jax.lax.stop_gradient(0.5 * (hi - lo)) * jnp.abs(s)
    J = _bessel_j(a, order + 8)
    tail = 2.0 * jnp.sum(jnp.abs(J[order:]))
    return jnp.where(a <= order, tail, jnp.inf)


def _apply_rows(H, v):
    """(H @ vᵀ)ᵀ for v of shape (dim,) or (m, dim)."""
    if isinstance(H, DiaMatrix):
        return H.apply_rows(v)
    if v.ndim == 1:
        return H @ v
    return (H @ v.T).T if isinstance(H, jsparse.BCOO) else v @ H.T


def chebyshev_coefficients(H, s, order: int):
    """(c, h, coef) of an order-`order` step e^{−isH}: the spectrum's centre
    and half-width and coef_k = (2 − δ_k0)(−i)^k J_k(h s) (internals#sparse)."""
    lo, hi = jax.lax.stop_gradient(gershgorin(H))
    c = 0.5 * (hi + lo)
    h = jnp.maximum(0.5 * (hi - lo), jnp.finfo(lo.dtype).tiny)
    a = h * s
    J = _bessel_j(jnp.abs(a), order)
    J = jnp.where(a < 0, J * (-1.0) ** jnp.arange(order), J)  # J_k(−a) = (−1)^k J_k(a)
    ik = (-1j) ** np.arange(order)
    coef = jnp.where(jnp.arange(order) == 0, 1.0, 2.0) * J * ik
    return c, h, coef


def chebyshev_apply(H, y, s, c, h, coef):
    """e^{−isH} y = e^{−isc} Σ_k coef_k T_k((H − c)/h) y by the three-term
    recurrence; a real H on a complex y runs on (Re y, Im y) (internals#sparse)."""
    order = coef.shape[0]
    real = not jnp.iscomplexobj(H)
    v = jnp.stack([y.real, y.imag]) if real else y
    Hc = H if real else H.astype(y.dtype)
    coef = coef.astype(jnp.result_type(v.dtype, jnp.complex64))

    def X(u):
        return (_apply_rows(Hc, u) - c * u) / h

    def add(acc, k, t):
        if not real:
            return acc + coef[k] * t
        p, q = coef[k].real, coef[k].imag  # (p + iq)(tr + i ti)
        return acc + jnp.stack([p * t[0] - q * t[1], p * t[1] + q * t[0]])

    t0, t1 = v, X(v)
    acc = add(add(jnp.zeros_like(v), 0, t0), 1, t1)

    def body(k, carry):
        tm, tk, acc = carry
        tn = 2.0 * X(tk) - tm
        return tk, tn, add(acc, k, tn)

    _, _, acc = jax.lax.fori_loop(2, order, body, (t0, t1, acc), unroll=2)
    out = jax.lax.complex(acc[0], acc[1]) if real else acc
    return jnp.exp(-1j * c * s).astype(y.dtype) * out.astype(y.dtype)


def chebyshev_step(H, y, s, order: int):
    """e^{−isH} y by an order-`order` Chebyshev series; derivatives flow
    through H, y and s."""
    c, h, coef = chebyshev_coefficients(H, s, order)
    return chebyshev_apply(H, y, s, c, h, coef)
