"""Lattices of atoms with scalar displacements and their normal modes (physics §7.4).

The modes of a regular lattice are Kronecker products of 1-D closed-form bases
(DST-I fixed, real Fourier periodic), applied axis by axis: nothing of size N²
is built. Why two transforms per axis: docs/internals/thermal.md#lattice-transforms.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._guards import to_device

BOUNDARIES = ("fixed", "periodic")
DENSE_AXIS_MAX = 256  # axes up to this length are transformed by a dense 1-D matmul


class _Frozen:
    """A NumPy array as a hashable static field (compared by value)."""

    def __init__(self, array):
        self.array = np.asarray(array, dtype=float)
        self.array.setflags(write=False)
        self._hash = hash((self.array.shape, self.array.tobytes()))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return isinstance(other, _Frozen) and np.array_equal(self.array, other.array)


def _basis_1d(n: int, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """(U (n, n), λ (n,)) of the 1-D stiffness, closed form."""
    j = np.arange(n)[:, None]
    if boundary == "fixed":
        k = np.arange(n)[None, :]
        U = np.sqrt(2.0 / (n + 1)) * np.sin(np.pi * (j + 1) * (k + 1) / (n + 1))
        lam = 2.0 - 2.0 * np.cos(np.pi * (np.arange(n) + 1) / (n + 1))
        return U, lam
    cols, lam = [np.full(n, 1.0 / np.sqrt(n))], [0.0]
    for k in range(1, (n - 1) // 2 + 1):
        th = 2 * np.pi * j[:, 0] * k / n
        cols += [np.sqrt(2.0 / n) * np.cos(th), np.sqrt(2.0 / n) * np.sin(th)]
        lam += [2.0 - 2.0 * np.cos(2 * np.pi * k / n)] * 2
    if n % 2 == 0:
        cols.append((-1.0) ** j[:, 0] / np.sqrt(n))
        lam.append(4.0)
    return np.stack(cols, axis=1), np.asarray(lam)


def _lam_1d(n: int, boundary: str, dtype, xp=jnp) -> jnp.ndarray:
    """λ of the 1-D stiffness in mode order: the sine form on long axes, the cosine
    form on short ones (physics §7.4). `xp=np`: the bits of the eager jnp result
    (XLA divides by a scalar as a multiply by its reciprocal)."""
    div = (lambda x, c: x * (1 / c)) if xp is np else (lambda x, c: x / c)
    if boundary == "fixed":
        theta = div(xp.pi * (xp.arange(n, dtype=dtype) + 1), n + 1)
    else:
        k = (xp.arange(n) + 1) // 2  # 0, 1, 1, 2, 2, ... (and n/2 last for even n)
        theta = div(2 * xp.pi * k.astype(dtype), n)
    if n > DENSE_AXIS_MAX:
        return 4.0 * xp.sin(0.5 * theta) ** 2
    return 2.0 - 2.0 * xp.cos(theta)


def _to_modes_1d(x, boundary: str):
    """Uᵀ x along the last axis."""
    n = x.shape[-1]
    if boundary == "fixed":
        z = jnp.zeros(x.shape[:-1] + (1,), x.dtype)
        ext = jnp.concatenate([z, x, z, -x[..., ::-1]], axis=-1)
        F = jnp.fft.rfft(ext, axis=-1)
        return (-jnp.imag(F[..., 1 : n + 1]) * np.sqrt(0.5 / (n + 1))).astype(x.dtype)
    F = jnp.fft.rfft(x, axis=-1)
    m = (n - 1) // 2
    out = [jnp.real(F[..., :1]) / np.sqrt(n)]
    cs = jnp.stack([jnp.real(F[..., 1 : m + 1]), -jnp.imag(F[..., 1 : m + 1])], axis=-1)
    out.append(np.sqrt(2.0 / n) * cs.reshape(x.shape[:-1] + (2 * m,)))
    if n % 2 == 0:
        out.append(jnp.real(F[..., n // 2 : n // 2 + 1]) / np.sqrt(n))
    return jnp.concatenate(out, axis=-1).astype(x.dtype)


def _from_modes_1d(c, boundary: str):
    """U c along the last axis."""
    n = c.shape[-1]
    if boundary == "fixed":
        return _to_modes_1d(c, "fixed")  # DST-I is symmetric and orthogonal
    m = (n - 1) // 2
    cs = c[..., 1 : 2 * m + 1].reshape(c.shape[:-1] + (m, 2))
    parts = [c[..., :1] * np.sqrt(n), (cs[..., 0] - 1j * cs[..., 1]) * np.sqrt(n / 2.0)]
    if n % 2 == 0:
        parts.append(c[..., -1:] * np.sqrt(n))
    Z = jnp.concatenate([p.astype(jnp.result_type(c.dtype, jnp.complex64)) for p in parts], -1)
    return jnp.fft.irfft(Z, n=n, axis=-1).astype(c.dtype)


def squares_1d(v, boundary: str, bonds: bool = False):
    """(U∘U) v along the last axis, or with `bonds` ((DU)∘(DU)) v (D the bond
    differences): one FFT of a cosine series (docs/internals/thermal.md#squares)."""
    n = v.shape[-1]
    lam = _lam_1d(n, boundary, v.dtype) if bonds else None  # only bonds weigh by λ_k
    zero = jnp.zeros(v.shape[:-1] + (1,), v.dtype)
    cos_sum = lambda w: jnp.real(jnp.fft.fft(w, axis=-1))  # Σ_q w_q cos(2πpq/len)
    if boundary == "fixed":
        if not bonds:
            c = cos_sum(jnp.concatenate([zero, v], -1))
            return (jnp.sum(v, -1, keepdims=True) - c[..., 1 : n + 1]) / (n + 1)
        u = lam * v
        c = cos_sum(jnp.concatenate([zero, u, jnp.zeros_like(u), zero], -1))
        return (jnp.sum(u, -1, keepdims=True) + c[..., 3 : 2 * n : 2]) / (n + 1)
    m = (n - 1) // 2
    cos_k, sin_k = v[..., 1 : 2 * m + 1 : 2], v[..., 2 : 2 * m + 2 : 2]
    if not bonds:  # weight cos_k − sin_k at frequency 2k
        w = jnp.zeros_like(v).at[..., 2 : 2 * m + 1 : 2].set(cos_k - sin_k)
        return (jnp.sum(v, -1, keepdims=True) + cos_sum(w)) / n
    lam_k = lam[1 : 2 * m + 1 : 2]  # weight λ_k(sin_k − cos_k) at 2k, read at odd 2j+1
    w = jnp.zeros(v.shape[:-1] + (2 * n,), v.dtype)
    w = w.at[..., 2 : 2 * m + 1 : 2].set(lam_k * (sin_k - cos_k))
    return (jnp.sum(lam * v, -1, keepdims=True) + cos_sum(w)[..., 1 : 2 * n : 2]) / n


def add_springs(K, pairs, k: float = 1.0):
    """K += k Σ (e_i − e_j)(e_i − e_j)ᵀ over the site pairs (i, j) (in place)."""
    i, j = pairs[:, 0], pairs[:, 1]
    np.add.at(K, (i, i), k)
    np.add.at(K, (j, j), k)
    np.add.at(K, (i, j), -k)
    np.add.at(K, (j, i), -k)
    return K


class Lattice(eqx.Module):
    """Atoms on a chain, square or cubic lattice joined by unit springs (physics §7.4).

    Attributes:
        shape: atoms per axis, e.g. (64,) or (16, 16); N = prod(shape).
        boundary: "fixed" (walls beyond both ends of every axis) or "periodic"
            (every axis needs >= 3 atoms).
        spacing: equilibrium spacing (only `positions` uses it).

    Displacements u (N,) are scalar. `Lattice.from_stiffness(K)` takes any other
    symmetric K ≥ 0.
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    boundary: str = eqx.field(static=True, default="fixed")
    spacing: float = eqx.field(static=True, default=1.0)
    general: _Frozen | None = eqx.field(static=True, default=None)  # K, eigh once

    def __check_init__(self):
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"boundary must be one of {BOUNDARIES}; got {self.boundary!r}.")
        if not (1 <= len(self.shape) <= 3) or any(int(n) < 1 for n in self.shape):
            raise ValueError(
                f"shape must be 1-3 positive atom counts, e.g. (16, 16); got {self.shape}."
            )
        if self.general is None and self.boundary == "periodic" and min(self.shape) < 3:
            raise ValueError(
                f"a periodic axis needs >= 3 atoms (shape {self.shape}); use boundary='fixed' "
                "or Lattice.from_stiffness(K) for a two-atom ring."
            )

    @classmethod
    def from_stiffness(cls, K, spacing: float = 1.0) -> Lattice:
        """A lattice with a general symmetric stiffness K (N, N) ≥ 0 (modes by eigh)."""
        K = np.asarray(K, dtype=float)
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise ValueError(f"K must be a square (N, N) matrix; got shape {K.shape}.")
        if not np.allclose(K, K.T, atol=1e-12 * max(1.0, np.abs(K).max())):
            raise ValueError(
                "K must be symmetric; pass (K + K.T) / 2 if the asymmetry is round-off."
            )
        lam, U = np.linalg.eigh(K)
        if lam[0] < -1e-10 * max(1.0, abs(lam[-1])):
            raise ValueError(
                f"K must be positive semi-definite; mode 0 has eigenvalue {lam[0]:.4g}. "
                "Use a pinning term (params.pinning) for an on-site restoring force instead."
            )
        # a zero mode at ±1e-16 becomes 0 (docs/internals/thermal.md#lattice-transforms)
        lam = np.where(np.abs(lam) <= 1e-12 * max(1.0, abs(lam[-1])), 0.0, lam)
        return cls((K.shape[0],), "fixed", spacing, _Frozen(np.stack([K, U, np.diag(lam)])))

    @property
    def n_sites(self) -> int:
        return int(np.prod(self.shape))

    def positions(self) -> np.ndarray:
        """(N, ndim) equilibrium sites, spacing · index (C order)."""
        idx = np.indices(self.shape).reshape(len(self.shape), -1).T
        return self.spacing * idx.astype(float)

    def bonds(self) -> np.ndarray:
        """(n_bonds, 2) pairs of sites joined by a spring (no wall springs), axis by axis."""
        if self.general is not None:
            return np.stack(np.nonzero(np.triu(self.general.array[0], 1)), axis=1)
        site = np.arange(self.n_sites).reshape(self.shape)
        out = []
        for a, n in enumerate(self.shape):
            nb = n if self.boundary == "periodic" else n - 1
            lo = np.take(site, np.arange(nb), axis=a)
            hi = np.take(site, (np.arange(nb) + 1) % n, axis=a)
            out.append(np.stack([lo.ravel(), hi.ravel()], axis=1))
        return np.concatenate(out, axis=0).astype(int)

    def stiffness(self) -> np.ndarray:
        """Dense K (N, N) for unit springs (O(N²) memory: small lattices only)."""
        if self.general is not None:
            return self.general.array[0].copy()
        K = add_springs(np.zeros((self.n_sites, self.n_sites)), self.bonds())
        if self.boundary == "fixed":  # wall springs: each end atom of each axis
            site = np.arange(self.n_sites).reshape(self.shape)
            for a, n in enumerate(self.shape):
                for end in (0, n - 1):
                    ends = np.take(site, end, axis=a).ravel()
                    np.add.at(K, (ends, ends), 1.0)
        return K

    def modes(self) -> tuple[np.ndarray, np.ndarray]:
        """(U (N, N) orthogonal, λ (N,)) with K = U diag(λ) Uᵀ (dense; small N)."""
        if self.general is not None:
            return self.general.array[1].copy(), np.diag(self.general.array[2]).copy()
        U, lam = np.ones((1, 1)), np.zeros(1)
        for n in self.shape:
            Ua, la = _basis_1d(n, self.boundary)
            U, lam = np.kron(U, Ua), (lam[:, None] + la[None, :]).ravel()
        return U, lam

    def eigenvalues(self, dtype=jnp.float64, xp=jnp) -> jnp.ndarray:
        """λ (N,) in mode order, built in-graph (O(N), no N-sized constant); with
        `xp=np` in NumPy, bit for bit the eager jnp result (no program)."""
        if self.general is not None:
            return xp.asarray(np.diag(self.general.array[2]), dtype)
        lam = xp.zeros((), dtype)
        for n in self.shape:
            lam = (lam[..., None] + _lam_1d(n, self.boundary, dtype, xp)).reshape(-1)
        return lam

    def to_modes(self, x):
        """Uᵀ x: atom-basis displacements (…, N) -> mode coordinates (…, N)."""
        return self._apply(to_device(x), inverse=False)

    def to_atoms(self, c):
        """U c: mode coordinates (…, N) -> atom-basis displacements (…, N)."""
        return self._apply(to_device(c), inverse=True)

    def _apply(self, x, inverse: bool):
        if x.shape[-1:] != (self.n_sites,):
            raise ValueError(f"the last axis must have length N = {self.n_sites}; got {x.shape}.")
        if self.general is not None:
            U = to_device(self.general.array[1], x.dtype)
            return x @ (U.T if inverse else U)
        lead = x.shape[:-1]
        y = x.reshape(lead + self.shape)
        f = _from_modes_1d if inverse else _to_modes_1d
        last = len(lead) + len(self.shape) - 1
        move = lambda y, a, b: y if a == b else jnp.moveaxis(y, a, b)  # noqa: E731
        for a, n in enumerate(self.shape):
            ax = len(lead) + a
            y = move(y, ax, last)
            if n <= DENSE_AXIS_MAX:  # a small matmul beats XLA's CPU FFT here
                Ua = to_device(_basis_1d(n, self.boundary)[0], y.dtype)
                y = y @ (Ua.T if inverse else Ua)
            else:
                y = f(y, self.boundary)
            y = move(y, last, ax)
        return y.reshape(x.shape)
