"""`method="expm"` of `HusimiGalerkin` by blocks: exp(dt L(C)) of the projected
Fokker-Planck operator, one small dense exponential per invariant block.

L(C) R = Σ_g (W0 + C W1)[g] ∘ R.ravel()[flat[g]] couples the coefficient R_o
(flat index o) only to the R_i with i = flat[g, o] and a weight that is not
zero for every C. Those couplings split the d² coefficients into connected
components that L maps into themselves: for a Hamiltonian that conserves a
number (Kerr, Bose-Hubbard) R_mn only meets R_m'n' of the same number
difference, so the d² × d² exponential (O(d⁶)) becomes ~2d exponentials of
size ≤ d (Kerr: O(d⁴)). The components are found once, from the structure's
weights (numpy, `scipy.sparse.csgraph`); the blocks' matrices are scattered
from the traced weights at every `prepare`, so C (and a scaling of W, as
experiments/husimi_kerr does for U) stay differentiable. Exact like the dense
exponential: tests/test_husimi_galerkin.py compares the two. The blocks are
exponentiated by products only (`taylor_expm`: no LU, see its docstring).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

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
        as32 = lambda x: jnp.asarray(x, jnp.int32)
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
# (Al-Mohy & Higham 2011, Table 3.1: θ_18 = 1.09; 1.0 leaves a margin).
_DEGREE, _THETA, _MAX_SQUARINGS = 18, 1.0, 24


def taylor_expm(A: Array) -> Array:
    """exp(A) of a batch (..., b, b) by scaling, a degree-18 Taylor polynomial
    (Paterson-Stockmeyer: 7 products) and squaring, each matrix scaled by its own
    power of 2 (NaN past 2^24 · θ). Products only, no LU: jaxlib 0.10's batched
    LU (`jax.scipy.linalg.expm`'s Padé solve) splits its batch over the CPU
    thread pool and waits inside it, so two independent batched LUs in one program
    deadlock a 2-thread pool (a vmapped sweep of husimi-kerr hung)."""
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
