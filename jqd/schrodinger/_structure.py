"""`MatrixParams`, and the storage and propagator a plain `jqd.evolve` call
picks for a concrete H.

For `SchrodingerBasis` with `MatrixParams` and a concrete, time-independent H:

- diagonal H → diagonal storage: every save is elementwise phases;
- H of dimension >= 128 with few nonzero diagonals (`DiaMatrix`) or few
  nonzeros (`BCOO`) → Chebyshev steps with a sparse product, when their cost
  n_steps · K · 6 · (stored entries) is below the eigendecomposition's 12 d³
  (a flop count of each; K from the Gershgorin bounds and dt);
- otherwise H stays dense (all saves from one eigendecomposition).

The nonzero pattern of a `jax.Array` H (immutable) is cached per object:
the entry is dropped by a `weakref.finalize` when H is collected, so an id
is never reused while its entry exists. NumPy H (mutable) are re-read each
call.
"""

from __future__ import annotations

import dataclasses
import weakref

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse as jsparse
from jaxtyping import Array

from .. import _sparse
from .._guards import is_traced
from ..interop import as_array


class MatrixParams(eqx.Module):
    """A Hamiltonian matrix given directly: `H` (energy units) and `hbar`.

    `H` may be a dense array, a QuTiP `Qobj` or a dynamiqs `QArray` (see
    `jqd.interop`), or sparse: a `jqd.fock.DiaMatrix` (diagonal storage) or a
    `jax.experimental.sparse.BCOO`. A plain `jqd.evolve` call picks the
    storage of a concrete dense H by itself (see `SchrodingerBasis`)."""

    H: Array = eqx.field(converter=lambda H: as_array(H, "MatrixParams.H"))
    hbar: float | Array = 1.0


def _matrix_from_params(t, params):
    """`SchrodingerBasis`'s default Hamiltonian: `params.H`."""
    return params.H


_PATTERNS: dict[int, tuple] = {}


def _pattern(H):
    """(kind, offsets, nnz, lo, hi, operator-or-None, {hbar: MatrixParams}) of
    a concrete dense H."""
    cacheable = isinstance(H, jax.Array)
    if cacheable:
        hit = _PATTERNS.get(id(H))
        if hit is not None:
            return hit
    Hn = np.asarray(H)
    kind, offsets, nnz = _sparse.structure(Hn)
    lo = hi = float("nan")
    op = None
    if kind == "diagonal":
        op = _sparse.DiaMatrix.from_dense(jnp.asarray(H), (0,))
    elif kind in ("dia", "bcoo"):
        lo, hi = _sparse.gershgorin_numpy(Hn)
        op = _sparse_operator(H, kind, offsets)
    info = (kind, offsets, nnz, lo, hi, op, {})
    if cacheable:
        _PATTERNS[id(H)] = info
        weakref.finalize(H, _PATTERNS.pop, id(H), None)
    return info


def _sparse_operator(H, kind, offsets):
    if kind == "dia":
        return _sparse.DiaMatrix.from_dense(jnp.asarray(H), offsets)
    return jsparse.BCOO.fromdense(jnp.asarray(H))


def _params(cls, op, hbar, made: dict):
    """MatrixParams(op, hbar), reused for a repeated Python-float ħ."""
    if not isinstance(hbar, float | int):
        return cls(op, hbar)
    hit = made.get(hbar)
    if hit is None:
        hit = made[hbar] = cls(op, hbar)
    return hit


def specialize(law, params, dt, n_steps: int):
    """(law, params) to run: see the module docstring. Anything traced, a
    user's `hamiltonian`, a time-dependent H or `method` "eigen"/"step" is
    returned unchanged."""
    if (
        law.time_dependent
        or law.method in ("eigen", "step")
        or law.hamiltonian is not _matrix_from_params
        or not isinstance(params, MatrixParams)
        or is_traced(params, dt)
    ):
        return law, params
    H, hbar = params.H, params.hbar
    if not (np.ndim(hbar) == 0 and float(hbar) > 0 and np.isfinite(float(hbar))):
        return law, params  # the value checks name a bad ħ
    s = float(dt) / float(hbar)
    if _sparse.is_sparse(H):
        if law.chebyshev_order is not None or (
            isinstance(H, _sparse.DiaMatrix) and H.offsets == (0,)
        ):
            return law, params
        lo, hi = (float(x) for x in _sparse.gershgorin(H))
        K = _sparse.chebyshev_order(0.5 * (hi - lo) * s)
        return dataclasses.replace(law, chebyshev_order=K), params
    if not hasattr(H, "shape") or len(H.shape) != 2:
        return law, params  # law.check names the problem
    kind, offsets, nnz, lo, hi, op, made = _pattern(H)
    if kind == "diagonal":
        return law, _params(MatrixParams, op, hbar, made)
    if kind == "dense":
        if law.method == "chebyshev" and law.chebyshev_order is None:
            lo, hi = _sparse.gershgorin_numpy(np.asarray(H))
            K = _sparse.chebyshev_order(0.5 * (hi - lo) * s)
            return dataclasses.replace(law, chebyshev_order=K), params
        return law, params
    K = law.chebyshev_order or _sparse.chebyshev_order(0.5 * (hi - lo) * s)
    d = H.shape[0]
    stored = len(offsets) * d if kind == "dia" else 3 * nnz
    if law.method == "auto" and n_steps * K * 6 * stored > 12 * d**3:
        return law, params  # the eigendecomposition is cheaper
    law = law if law.chebyshev_order == K else dataclasses.replace(law, chebyshev_order=K)
    return law, _params(MatrixParams, op, hbar, made)
