"""Finite bases (physics §1.2): Fock-space operators, Bose-Hubbard sectors
and lattices, built in NumPy and returned as JAX arrays, and the sparse
storage of H."""

from __future__ import annotations

import functools
import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import gammainc

from . import _guards
from ._sparse import DiaMatrix, as_operator, chebyshev_order
from ._sparse import gershgorin_numpy as _gershgorin_numpy

__all__ = [
    "destroy",
    "create",
    "number",
    "coherent_state",
    "coherent_cutoff",
    "kerr_hamiltonian",
    "fock_state",
    "BoseHubbard",
    "tight_binding",
    "random_hermitian",
    "DiaMatrix",
    "as_operator",
    "spectral_bounds",
    "chebyshev_order",
]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)


def spectral_bounds(H) -> tuple[float, float]:
    """(lo, hi) containing the spectrum of a concrete Hermitian H (dense or
    sparse), by Gershgorin's discs."""
    if hasattr(H, "todense"):  # DiaMatrix or BCOO
        H = H.todense()
    return _gershgorin_numpy(np.asarray(H))


def _embed(op: np.ndarray, cutoffs: tuple[int, ...], mode: int) -> np.ndarray:
    mats = [np.eye(c) for c in cutoffs]
    mats[mode] = op
    return functools.reduce(np.kron, mats)


def _cutoffs(cutoff) -> tuple[int, ...]:
    cutoffs = (int(cutoff),) if np.ndim(cutoff) == 0 else tuple(int(c) for c in cutoff)
    if any(c < 2 for c in cutoffs):
        raise ValueError(f"cutoff must be >= 2 per mode; got {cutoffs}.")
    return cutoffs


def destroy(cutoff, mode: int = 0, dtype=None) -> jnp.ndarray:
    """Annihilation operator `a` (of `mode`) on Fock space(s) truncated at
    `cutoff`: an int, or a tuple of per-mode cutoffs (the Kronecker product,
    mode 0 slowest)."""
    cutoffs = _cutoffs(cutoff)
    if not 0 <= mode < len(cutoffs):
        raise ValueError(f"mode must be in [0, {len(cutoffs)}); got {mode}.")
    a = np.diag(np.sqrt(np.arange(1, cutoffs[mode])), k=1)
    return jax.device_put(np.asarray(_embed(a, cutoffs, mode), dtype))


def create(cutoff, mode: int = 0, dtype=None) -> jnp.ndarray:
    """Creation operator `a†` (see `destroy`)."""
    return jax.device_put(np.asarray(destroy(cutoff, mode, dtype)).conj().T.copy())


def number(cutoff, mode: int = 0, dtype=None) -> jnp.ndarray:
    """Number operator `a†a` (see `destroy`)."""
    cutoffs = _cutoffs(cutoff)
    return jax.device_put(
        np.asarray(_embed(np.diag(np.arange(cutoffs[mode], dtype=float)), cutoffs, mode), dtype)
    )


def fock_state(cutoff, occupations, dtype=complex) -> jnp.ndarray:
    """The basis vector |n_0, n_1, ...⟩ of the (multi-mode) truncated Fock space."""
    cutoffs = _cutoffs(cutoff)
    occ = (int(occupations),) if np.ndim(occupations) == 0 else tuple(occupations)
    if len(occ) != len(cutoffs) or any(not 0 <= n < c for n, c in zip(occ, cutoffs, strict=True)):
        raise ValueError(f"occupations {occ} do not fit cutoffs {cutoffs}.")
    v = np.zeros(math.prod(cutoffs), dtype=dtype)
    v[np.ravel_multi_index(occ, cutoffs)] = 1.0
    return jax.device_put(v)


def coherent_cutoff(alpha, tol: float = 1e-14) -> int:
    """Smallest cutoff whose truncated |alpha⟩ misses at most `tol` of the
    probability."""
    mean = float(np.abs(alpha)) ** 2
    if not np.isfinite(mean):
        raise ValueError(f"alpha must be finite; got {alpha}.")
    if mean == 0:
        return 2
    tail = lambda n: gammainc(n, mean)  # P(N >= n) for N ~ Poisson(mean), decreasing in n
    lo = max(2, int(mean))
    if tail(lo) <= tol:
        return lo
    step = max(1, int(np.sqrt(mean)))
    hi = lo + step
    while tail(hi) > tol:  # gallop: the tail needs O(sqrt(mean)) levels, not O(mean) steps
        lo, step = hi, 2 * step
        hi = lo + step
    while hi - lo > 1:  # bisect for the smallest n with tail(n) <= tol
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if tail(mid) > tol else (lo, mid)
    return hi


def coherent_state(alpha, cutoff: int, tol: float = 1e-10, check: bool = True) -> jnp.ndarray:
    """Coherent state |alpha⟩ truncated at `cutoff` and renormalized; raises
    if the truncation drops more than `tol` of the norm, unless `check=False`."""
    psi, lost = _coherent(_guards.to_device(alpha), int(cutoff))
    if not check:
        return psi
    if _guards.is_traced(lost):  # under an outer jit/vmap/grad: checked in-graph
        fix = "pass a larger cutoff (jqd.fock.coherent_cutoff(alpha, tol))"
        return eqx.error_if(
            psi, lost > tol, f"cutoff={cutoff} truncates |alpha⟩ by > {tol:g}; {fix}."
        )
    if float(lost) > tol and coherent_cutoff(alpha, tol) <= cutoff:  # round-off, not truncation
        eps = float(jnp.finfo(psi.real.dtype).eps)
        raise ValueError(
            f"coherent_state: cutoff={cutoff} suffices for tol={tol:g}, but in {psi.real.dtype} "
            f"(JAX's default without float64) the dropped norm is only resolved to ~{eps:.0e}: "
            'enable float64 first, jax.config.update("jax_enable_x64", True), or pass '
            f"tol >= {10 * eps:.0e}."
        )
    if float(lost) > tol:
        raise ValueError(
            f"cutoff={cutoff} truncates |alpha={complex(alpha):.3g}⟩ by {float(lost):.2e} > "
            f"tol={tol:g}; use cutoff >= {coherent_cutoff(alpha, tol)}."
        )
    return psi


@functools.partial(jax.jit, static_argnums=1)  # one program per cutoff, not one per op
def _coherent(alpha, cutoff: int):
    """(the normalized coefficients, the norm the truncation drops)."""
    n = jnp.arange(cutoff)
    log_mag = n * jnp.log(jnp.maximum(jnp.abs(alpha), 1e-300)) - 0.5 * jax.scipy.special.gammaln(
        n + 1.0
    )
    coeff = jnp.exp(log_mag - jnp.abs(alpha) ** 2 / 2) * jnp.exp(1j * n * jnp.angle(alpha))
    coeff = jnp.where((n == 0) | (jnp.abs(alpha) > 0), coeff, 0.0)
    norm2 = jnp.sum(jnp.abs(coeff) ** 2)
    return coeff / jnp.sqrt(norm2), 1.0 - norm2


def kerr_hamiltonian(cutoff: int, U=1.0) -> jnp.ndarray:
    """H = (U/2) a†² a² = (U/2) n(n−1) on one truncated mode (diagonal)."""
    n = jnp.arange(cutoff, dtype=jnp.result_type(float))
    return jnp.diag(0.5 * U * n * (n - 1))


class BoseHubbard:
    """Bose-Hubbard model in the fixed-particle-number sector (physics §1.2)
    on a chain of `n_sites` (open, or `periodic`) with `n_particles` bosons;
    `self.basis` holds the occupation patterns in lexicographic order.
    """

    def __init__(self, n_sites: int, n_particles: int, periodic: bool = False):
        if n_sites < 2 or n_particles < 0:
            raise ValueError("BoseHubbard needs n_sites >= 2 and n_particles >= 0.")
        self.n_sites, self.n_particles, self.periodic = n_sites, n_particles, periodic
        basis = [
            occ
            for occ in itertools.product(range(n_particles, -1, -1), repeat=n_sites)
            if sum(occ) == n_particles
        ]
        self.basis = np.array(basis, dtype=int)
        index = {occ: i for i, occ in enumerate(basis)}
        dim = len(basis)
        bonds = [(i, i + 1) for i in range(n_sites - 1)]
        if periodic and n_sites > 2:
            bonds.append((n_sites - 1, 0))
        hop = np.zeros((dim, dim))
        for col, occ in enumerate(basis):
            for i, j in bonds:
                for src, dst in ((j, i), (i, j)):  # b_dst† b_src
                    if occ[src] == 0:
                        continue
                    new = list(occ)
                    amp = np.sqrt(occ[src]) * np.sqrt(occ[dst] + 1)
                    new[src] -= 1
                    new[dst] += 1
                    hop[index[tuple(new)], col] += amp
        # NumPy until use: `jax.device_put`, unlike jnp.asarray, compiles nothing
        self._hopping = hop  # Σ_<ij> (b_i† b_j + h.c.)
        n = self.basis.astype(float)
        self._interaction = np.diag(np.sum(n * (n - 1), axis=1))  # Σ n(n−1)
        self._numbers = n

    @property
    def hopping(self) -> jnp.ndarray:
        return jax.device_put(self._hopping)

    @property
    def interaction(self) -> jnp.ndarray:
        return jax.device_put(self._interaction)

    @property
    def dim(self) -> int:
        return len(self.basis)

    def number(self, site: int) -> jnp.ndarray:
        """n_site as a (diagonal) matrix on the sector."""
        return jax.device_put(np.diag(self._numbers[:, site]))

    def hamiltonian(self, J, U, mu=None) -> jnp.ndarray:
        """−J Σ_<ij>(b_i† b_j + h.c.) + (U/2) Σ n(n−1) − Σ μ_i n_i on the sector."""
        xp = _guards.array_module(J, U, mu)
        H = -J * self._hopping + 0.5 * U * self._interaction
        if mu is not None:
            H = H - xp.diag(self._numbers @ xp.asarray(mu))
        return H if xp is jnp else jax.device_put(H)

    def state(self, occupations, dtype=complex) -> jnp.ndarray:
        """The basis vector of one occupation pattern."""
        occ = tuple(int(n) for n in occupations)
        matches = np.where((self.basis == np.array(occ)).all(axis=1))[0]
        if len(matches) != 1:
            raise ValueError(f"{occ} is not in the N={self.n_particles} sector.")
        v = np.zeros(self.dim, dtype=dtype)
        v[matches[0]] = 1.0
        return jax.device_put(v)


def tight_binding(n_sites: int, periodic: bool = True) -> jnp.ndarray:
    """Nearest-neighbour hopping matrix Σ_<ij>(|i⟩⟨j| + h.c.) on a chain/ring."""
    if n_sites < 2:
        raise ValueError("tight_binding needs n_sites >= 2.")
    T = np.eye(n_sites, k=1) + np.eye(n_sites, k=-1)
    if periodic and n_sites > 2:
        T[0, -1] = T[-1, 0] = 1.0
    return jax.device_put(T)


@functools.partial(jax.jit, static_argnames=("n", "dtype"))  # one program per size, not one per op
def random_hermitian(key, n: int, scale: float = 1.0, dtype=complex) -> jnp.ndarray:
    """A GUE-like random Hermitian n×n matrix with spectral scale ~ `scale`."""
    k1, k2 = jax.random.split(key)
    A = jax.random.normal(k1, (n, n)) + 1j * jax.random.normal(k2, (n, n))
    return (scale / (2 * np.sqrt(n)) * (A + jnp.conj(A.T))).astype(dtype)
