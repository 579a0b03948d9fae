"""Exact propagators: eigendecomposition of a time-independent H; the dense grid Hamiltonian."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._eigen import eigen_states
from .._grid import Grid
from .._guards import arguments
from .._sparse import todense
from ..interop import as_array


def propagate(H, psi0, ts, hbar=1.0):
    """Exact ψ(t) = V e^{−iEt/ħ} V† ψ0 for time-independent Hermitian H, all
    `ts` at once (shape `(len(ts), dim)`): one eigendecomposition, no stepping.

    Compiled once per shape (a plain call with new values reuses it) and
    differentiable in H, ψ0, ts and ħ, also when eigenvalues repeat (the
    Kerr ladder): see `jqd._eigen.eigen_states`. `H` and `psi0` may be QuTiP
    or dynamiqs objects (see `jqd.interop`) or a sparse H (densified).
    """
    H, psi0 = todense(as_array(H, "H")), as_array(psi0, "psi0")
    arguments("jqd.reference.propagate", hbar=hbar)
    if jnp.ndim(H) != 2 or H.shape[0] != H.shape[1] or jnp.shape(psi0)[-1:] != H.shape[-1:]:
        raise ValueError(
            f"jqd.reference.propagate: H must be square (dim, dim) and psi0 (dim,); got H "
            f"{jnp.shape(H)}, psi0 {jnp.shape(psi0)}. Build both on the same basis."
        )
    return _propagate(H, psi0, ts, hbar)


@jax.jit
def _propagate(H, psi0, ts, hbar):
    ts = jnp.asarray(ts)
    s = ts / jnp.asarray(hbar, ts.dtype)
    cdtype = jnp.result_type(H.dtype, psi0.dtype, jnp.complex64)
    return eigen_states(H, psi0.astype(cdtype), s).astype(cdtype)


def grid_hamiltonian(grid: Grid, V, hbar=1.0, mass=1.0):
    """Dense H = F⁻¹ (ħ²k²/2m) F + diag(V) on a grid (for exact diagonalization
    of the same discretization the split-step law uses). Size grid.size²."""
    arguments("jqd.reference.grid_hamiltonian", hbar=hbar, mass=mass)
    n = grid.size
    if np.size(V) != n:
        raise ValueError(
            f"jqd.reference.grid_hamiltonian: V must hold one value per grid point, shape "
            f"{grid.shape}; got shape {np.shape(V)}. Evaluate V on grid.mesh()."
        )
    k2 = np.asarray(grid.k_squared(np.float64)).reshape(-1)
    eye = np.eye(n).reshape((n,) + grid.shape)
    axes = tuple(range(1, grid.ndim + 1))
    Fe = np.fft.fftn(eye, axes=axes).reshape(n, n)
    T = np.fft.ifftn((Fe * (hbar**2 * k2 / (2 * mass))).reshape((n,) + grid.shape), axes=axes)
    T = T.reshape(n, n).T
    return T + np.diag(np.asarray(V).reshape(-1))
