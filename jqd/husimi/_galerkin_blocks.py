"""`scheme=jqd.schemes.Exact()` of `HusimiGalerkin`: exp(dt L(C)) as one small dense exponential
per invariant block of L. why: docs/internals/husimi.md#expm
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._guards import to_device
from .._law import AbstractLaw


class ExpmBlocks(eqx.Module):
    """Invariant blocks of L: `index` (B, b) flat R indices of each block
    (padded with d², a zero slot), and the coupling list: weight (g, o) of
    L's groups goes to block `blk`, row `row`, column `col`."""

    index: Array
    g: Array
    o: Array
    blk: Array
    row: Array
    col: Array

    @staticmethod
    def from_structure(flat: np.ndarray, W: np.ndarray) -> ExpmBlocks:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        G, d, _ = flat.shape
        live = (np.abs(W[0]) + np.abs(W[1])).reshape(G, d * d) > 0
        g, o = np.nonzero(live)
        src = flat.reshape(G, d * d)[g, o]
        graph = coo_matrix((np.ones(g.size), (o, src)), shape=(d * d, d * d))
        n_blocks, label = connected_components(graph, directed=False)
        sizes = np.bincount(label, minlength=n_blocks)
        order = np.argsort(label, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        pos = np.empty(d * d, dtype=np.int64)
        pos[order] = np.arange(d * d) - np.repeat(starts, sizes)
        index = np.full((n_blocks, int(sizes.max())), d * d, dtype=np.int32)
        index[label[order], pos[order]] = order
        as32 = lambda x: to_device(x, np.int32)  # no program per shape
        return ExpmBlocks(
            as32(index), as32(g), as32(o), as32(label[o]), as32(pos[o]), as32(pos[src])
        )

    def exponential(self, W0, W1, C, dt, dtype) -> Array:
        """exp(dt L(C)) block by block, shape (B, b, b)."""
        G = W0.shape[0]
        w = (W0.astype(dtype) + jnp.asarray(C).astype(dtype) * W1.astype(dtype)).reshape(G, -1)
        B, b = self.index.shape
        S = jnp.zeros((B, b, b), dtype).at[self.blk, self.row, self.col].add(w[self.g, self.o])
        return taylor_expm(S * jnp.asarray(dt).astype(dtype))


# Taylor degree and the 1-norm below which it is accurate to double precision
_DEGREE, _THETA, _MAX_SQUARINGS = 18, 1.0, 24


def taylor_expm(A: Array) -> Array:
    """exp(A) of a batch (..., b, b) by scaling, a degree-18 Taylor polynomial and
    squaring (NaN past 2^24 · θ). Products only, no LU: why:
    docs/internals/husimi.md#expm"""
    norm = jnp.max(jnp.sum(jnp.abs(A), axis=-2), axis=-1)  # 1-norm per matrix
    s = jax.lax.stop_gradient(jnp.maximum(0.0, jnp.ceil(jnp.log2(norm / _THETA))))
    X = A / (2.0**s).astype(A.dtype)[..., None, None]
    eye = jnp.broadcast_to(jnp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    powers = [eye, X, X @ X]
    powers.append(powers[2] @ X)
    X4 = powers[2] @ powers[2]
    c = [1.0 / math.factorial(k) for k in range(_DEGREE + 1)]
    # T = Σ_j (Σ_i c_{4j+i} X^i) X4^j, Horner in X4
    block = lambda j: sum(c[4 * j + i] * powers[i] for i in range(4) if 4 * j + i <= _DEGREE)
    T = block(_DEGREE // 4)
    for j in range(_DEGREE // 4 - 1, -1, -1):
        T = T @ X4 + block(j)

    def square(i, R):  # undo the scaling (static trip count: reverse-differentiable)
        todo = i < s
        return jax.lax.cond(
            jnp.any(todo), lambda R: jnp.where(todo[..., None, None], R @ R, R), lambda R: R, R
        )

    T = jax.lax.fori_loop(0, _MAX_SQUARINGS, square, T)
    return jnp.where((s > _MAX_SQUARINGS)[..., None, None], jnp.nan, T)


class _ExpmStep(AbstractLaw):
    """One step R -> exp(dt L) R with the blocks' exponentials `M` (B, b, b)."""

    M: Array
    index: Array

    def step(self, t, y, params, dt, key=None):
        r = jnp.concatenate([y.reshape(-1), jnp.zeros((1,), y.dtype)])
        out = jnp.einsum("bij,bj->bi", self.M.astype(y.dtype), r[self.index])
        # padded slots all write the zero slot (last), which is dropped
        return jnp.zeros_like(r).at[self.index].set(out)[:-1].reshape(y.shape)
