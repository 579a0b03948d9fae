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
exponential: tests/test_husimi_galerkin.py compares the two.
"""

from __future__ import annotations

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
        return jax.scipy.linalg.expm(S * jnp.asarray(dt).astype(dtype))


class _ExpmStep(AbstractLaw):
    """One step R -> exp(dt L) R with the blocks' exponentials `M` (B, b, b)."""

    M: Array
    index: Array

    def step(self, t, y, params, dt, key=None):
        r = jnp.concatenate([y.reshape(-1), jnp.zeros((1,), y.dtype)])
        out = jnp.einsum("bij,bj->bi", self.M.astype(y.dtype), r[self.index])
        # padded slots all write the zero slot (last), which is dropped
        return jnp.zeros_like(r).at[self.index].set(out)[:-1].reshape(y.shape)
