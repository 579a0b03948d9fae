"""The sparse matrix of a local Hamiltonian H = Σ_t c_t O_t (physics §7.6).

Each term's entries are placed directly: for a product state m whose digits
on the term's sites are a, the term maps m to the state m' with those digits
replaced by a', with amplitude c_t · O_t[a', a]. This is independent of the
matrix-free contraction `SchrodingerLocal.apply` (and of Kronecker products),
so the three can check each other.
"""

from __future__ import annotations

import math

import numpy as np


def sparse_hamiltonian(dims, terms, couplings):
    """H as a `scipy.sparse` CSR matrix, D = Π dims, for concrete couplings
    `{name: value}` and `LocalTerm`s `terms`."""
    import scipy.sparse

    dims = tuple(dims)
    D = math.prod(dims)
    digits = np.unravel_index(np.arange(D), dims)
    strides = [math.prod(dims[s + 1 :]) for s in range(len(dims))]
    rows, cols, vals = [], [], []
    for t in terms:
        c = float(np.asarray(couplings[t.name]))
        op = np.asarray(t.op)
        local = [dims[s] for s in t.sites]
        a = np.ravel_multi_index([digits[s] for s in t.sites], local)
        base = np.arange(D) - sum(digits[s] * strides[s] for s in t.sites)
        for a_out in range(op.shape[0]):
            d_out = np.unravel_index(a_out, local)
            v = c * op[a_out, a]
            keep = v != 0
            rows.append(
                (base + sum(d * strides[s] for d, s in zip(d_out, t.sites, strict=True)))[keep]
            )
            cols.append(np.arange(D)[keep])
            vals.append(v[keep])
    rows, cols, vals = (np.concatenate(x) for x in (rows, cols, vals))
    return scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(D, D)).tocsr()


def local_operator(dims, sites, op, *, sparse: bool = False):
    """The operator `op` on `sites` (identity elsewhere) as a (D, D) matrix on
    ⊗ C^{d_i}: dense NumPy, or scipy.sparse CSR with `sparse=True` (e.g. σᶻ
    at the centre site, or a†a of a spin-boson mode, for ETH and ensembles)."""
    from ._local_terms import LocalTerm

    M = sparse_hamiltonian(dims, (LocalTerm(sites, op, "op"),), {"op": 1.0})
    return M if sparse else M.toarray()
