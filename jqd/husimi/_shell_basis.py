"""An orthonormal basis of the Fock-shell space V_n sampled on the phase-space
grid, and the coefficient transforms of the projection onto it.

The Husimi function of a state with at most n quanta per mode is e^{−|α|²}
times a polynomial in α_j, α_j* of degree ≤ n in each, so it lies in

    V_n = span{α^j α*^k e^{−|α|²} : 0 ≤ j, k ≤ n}   per mode

(tensor product over modes). Per mode the basis is ordered by shell
s = max(j, k) and built from the continuum-orthonormal functions
e^{−|α|²} α^ℓ L_{s−|ℓ|}^{|ℓ|}(2|α|²) (angular momentum ℓ = j − k, as cos/sin
pairs), then orthonormalized in the grid inner product Σ f g dx² by two
Cholesky-QR passes. The passes are lower-triangular, so the first (s+1)²
columns span V_s: the basis is shell-nested.

The projection onto V_n of a density on the 2N-dimensional grid is the
Kronecker product of the per-mode projectors: one contraction per mode to
coefficients, one back.
"""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
import numpy as np

from ._phase_space_grid import PhaseSpaceGrid

__all__ = ["shell_basis", "to_coefficients", "from_coefficients", "truncate", "fit_n_max"]


@functools.lru_cache(maxsize=8)
def shell_basis(points: int, length: float, n_max: int) -> np.ndarray:
    """Grid-orthonormal basis of V_{n_max} on one mode's (Q, P) plane.

    Shape (points², (n_max+1)²), float64, columns ordered by shell s = max(j, k):
    the first (s+1)² columns span V_s (and equal `shell_basis(.., s)`).
    Orthonormal in Σ f g dx². The sampled functions are continuum-orthonormal
    (Gram matrix ≈ I on a grid that resolves them), so two Cholesky-QR passes
    (lower-triangular, hence shell-nested) orthonormalize them to round-off.
    """
    from scipy.linalg import cholesky, solve_triangular
    from scipy.special import eval_genlaguerre, gammaln

    dx = length / points
    x = -length / 2 + dx * np.arange(points)
    Q, P = np.meshgrid(x, x, indexing="ij")
    u = (Q**2 + P**2).reshape(-1) / 2  # |α|²
    theta = np.arctan2(P, Q).reshape(-1)
    logu = np.log(np.maximum(u, 1e-300))
    cols = []
    for s in range(n_max + 1):
        for ell in range(s + 1):
            p = s - ell
            # e^{−|α|²} |α|^ℓ L_p^ℓ(2|α|²), unit norm in ∫ dQ dP
            lognorm = 0.5 * (
                gammaln(p + ell + 1) - gammaln(p + 1) - (ell + 1) * np.log(2.0) + np.log(2 * np.pi)
            )
            radial = np.exp(-u + 0.5 * ell * logu - lognorm) * eval_genlaguerre(p, ell, 2 * u)
            if ell == 0:
                cols.append(radial)
            else:
                cols.append(np.sqrt(2) * radial * np.cos(ell * theta))
                cols.append(np.sqrt(2) * radial * np.sin(ell * theta))
    B = np.stack(cols, axis=1) * dx
    for _ in range(2):
        R = cholesky(B.T @ B, lower=False)
        B = solve_triangular(R, B.T, trans="T", lower=False).T
    B = B / dx
    B.setflags(write=False)
    return B


def _plane_order(n_modes: int) -> list[int]:
    """Axis permutation grouping each mode's (Q_j, P_j) plane."""
    return [a for j in range(n_modes) for a in (j, n_modes + j)]


def to_coefficients(rho, B, grid: PhaseSpaceGrid):
    """Coefficients of ρ in the per-mode basis B (shape (points², K)): shape (K,)*N."""
    N, p = grid.n_modes, grid.points
    c = jnp.transpose(rho, _plane_order(N)).reshape((p * p,) * N)
    for _ in range(N):  # contract the leading plane axis; its K axis goes last
        c = jnp.tensordot(c, B, axes=([0], [0]))
    return c * jnp.asarray(grid.cell_volume, rho.dtype)


def from_coefficients(c, B, grid: PhaseSpaceGrid):
    """Inverse of `to_coefficients` on V: Σ c B ⊗ ... ⊗ B on the grid."""
    N, p = grid.n_modes, grid.points
    x = c
    for _ in range(N):
        x = jnp.tensordot(x, B, axes=([0], [1]))
    x = x.reshape((p,) * (2 * N))
    return jnp.transpose(x, np.argsort(_plane_order(N)))


def truncate(c, k: int, n_modes: int):
    """Zero the coefficients with any per-mode index >= k (keep V_s for k = (s+1)²)."""
    K = c.shape[0]
    if k >= K:
        return c
    keep = jnp.arange(K) < k
    mask = keep
    for _ in range(n_modes - 1):
        mask = mask[..., None] & keep
    return jnp.where(mask, c, 0)


def fit_n_max(grid: PhaseSpaceGrid, rho0: np.ndarray, cap: int, rtol: float) -> tuple[int, float]:
    """The smallest n <= cap with ∫|ρ0 − P_n ρ0| dz <= rtol ∫|ρ0| dz (else cap),
    and that L¹ residual."""
    B = jnp.asarray(shell_basis(grid.points, grid.length, cap))
    c = to_coefficients(jnp.asarray(rho0), B, grid)
    norm = float(np.sum(np.abs(rho0)) * grid.cell_volume)
    err = math.inf
    for n in range(cap + 1):
        approx = from_coefficients(truncate(c, (n + 1) ** 2, grid.n_modes), B, grid)
        err = float(jnp.sum(jnp.abs(approx - rho0))) * grid.cell_volume
        if err <= rtol * norm:
            return n, err
    return cap, err
