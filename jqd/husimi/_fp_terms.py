"""The Husimi Fokker-Planck operator on Galerkin coefficient matrices R (physics
§4.8), built once per law in NumPy: Σ_i A_i R B_i with ladder words from the
symbol's derivative polynomials (α_j ρ ↦ R a_j, α_j* ρ ↦ a_j† R, ∂_{α_j} ρ ↦
R a_j† − a_j† R, ∂_{α_j*} ρ ↦ a_j R − R a_j), formed on a padded Fock set and
projected (P L P). Derivation and cost: docs/internals/husimi.md#fp-terms
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._ops import Ops, a, anti_normal_order
from ._states import fock_basis
from ._symbols import Polynomial


def _letter(mode, dag):
    return ((int(mode), bool(dag)),)


def fp_terms(poly: Polynomial) -> tuple[dict, dict]:
    """The Fokker-Planck operator as two superoperators on the coefficient
    matrix: `(liouville, diffusion)`, each `{(left_word, right_word): coeff}`
    meaning R ↦ Σ coeff · A(left_word) R B(right_word); the full operator is
    liouville + C · diffusion.
    """
    N = poly.n_modes

    def mult(p, q):
        left = tuple((j, True) for j in range(N) for _ in range(q[j]))
        right = tuple((j, False) for j in range(N) for _ in range(p[j]))
        return left, right

    def add(d, key, c):
        d[key] = d.get(key, 0) + c

    def deriv(terms, j, conj):
        """Apply ∂_{α_j} (conj=False) or ∂_{α_j*} to a term dict."""
        out: dict = {}
        for (L, Rw), c in terms.items():
            if not conj:  # R a† − a† R
                add(out, (L, Rw + _letter(j, True)), c)
                add(out, (_letter(j, True) + L, Rw), -c)
            else:  # a R − R a
                add(out, (_letter(j, False) + L, Rw), c)
                add(out, (L, Rw + _letter(j, False)), -c)
        return out

    def times(polyx: Polynomial, c0):
        out: dict = {}
        for (p, q), c in polyx.coeffs:
            add(out, mult(p, q), c0 * c)
        return out

    liou: dict = {}
    diff: dict = {}
    for j in range(N):
        adot = poly.d_alpha(j, conj=True)  # α̇_j = −i ∂H/∂α_j*
        adot_c = poly.d_alpha(j, conj=False)  # α̇_j* = +i ∂H/∂α_j
        for k, v in deriv(times(adot, -1j), j, conj=False).items():
            add(liou, k, -v)
        for k, v in deriv(times(adot_c, 1j), j, conj=True).items():
            add(liou, k, -v)
        for k in range(N):
            Hss = poly.d_alpha(j, conj=True).d_alpha(k, conj=True)
            Hnn = poly.d_alpha(j, conj=False).d_alpha(k, conj=False)
            t1 = deriv(deriv(times(Hss, 0.5j), k, conj=False), j, conj=False)
            t2 = deriv(deriv(times(Hnn, -0.5j), k, conj=True), j, conj=True)
            for kk, v in list(t1.items()) + list(t2.items()):
                add(diff, kk, v)
    clean = lambda d: {k: v for k, v in d.items() if abs(v) > 1e-15}
    return clean(liou), clean(diff)


def _word_matrix(word, ladders) -> np.ndarray:
    dim = ladders[0][0].shape[0]
    M = np.eye(dim, dtype=complex)
    for m, d in word:
        M = M @ ladders[m][1 if d else 0]
    return M


def _monomial(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A product of ladder operators has at most one nonzero per row and per
    column. Return (src, w, dst, v): (M R)[i] = w[i] R[src[i]],
    (R M)[:, l] = v[l] R[:, dst[l]]."""
    if np.any(np.count_nonzero(M, axis=1) > 1) or np.any(np.count_nonzero(M, axis=0) > 1):
        raise AssertionError("ladder word is not a monomial matrix")
    src = np.argmax(np.abs(M), axis=1)
    w = M[np.arange(len(M)), src]
    dst = np.argmax(np.abs(M), axis=0)
    v = M[dst, np.arange(len(M))]
    return src, w, dst, v


def _build_terms(liou: dict, diff: dict, ham: dict, ladders, emb):
    """Terms R ↦ (c_liou + C c_diff + c_ham) A(L) R B(Rw), merged by their index
    maps (src, dst) into W ∘ R[src][:, dst]: (flat (G, d, d) int32 gather indices
    src d + dst, W (3, G, d, d): Liouville, diffusion per unit C, −i[H, ·])."""
    cache: dict = {}

    def mono(w):
        if w not in cache:
            cache[w] = _monomial(emb.T @ _word_matrix(w, ladders) @ emb)
        return cache[w]

    groups: dict = {}
    for key in sorted(set(liou) | set(diff) | set(ham)):
        L, Rw = key
        s_, w_, _, _ = mono(L)
        _, _, d_, v_ = mono(Rw)
        g = groups.setdefault((s_.tobytes(), d_.tobytes()), [s_, d_, None])
        c = np.array([liou.get(key, 0), diff.get(key, 0), ham.get(key, 0)], complex)
        W = c[:, None, None] * np.outer(w_, v_)[None]
        g[2] = W if g[2] is None else g[2] + W
    d = emb.shape[1]
    flat = np.stack([g[0][:, None] * d + g[1][None, :] for g in groups.values()])
    W = np.stack([g[2] for g in groups.values()], axis=1)
    return flat.astype(np.int32), W


def apply_groups(flat, W, R):
    """Σ_g W[g] ∘ R[src_g][:, dst_g], flat[g] = src_g[:, None] d + dst_g[None, :]:
    one gather and a weighted sum."""
    return jnp.sum(W * R.reshape(-1)[flat], axis=0)


def galerkin_structure(
    hamiltonian: Ops, poly: Polynomial, basis: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What `HusimiGalerkin` precomputes on the Fock `basis` ("cutoffs" or "total"):
    `flat`, `W` (`_build_terms`), the projected Hamiltonian (d, d) and
    annihilators (N, d, d)."""
    N = basis.shape[1]
    pad = max(poly.degree, 2) + 2
    if kind == "total":
        big = fock_basis(max_total=int(basis.sum(1).max()) + pad, n_modes=N)
    else:
        big = fock_basis(tuple(int(c) + 1 + pad for c in basis.max(0)))
    index = {tuple(o): i for i, o in enumerate(big)}
    emb = np.zeros((len(big), len(basis)))
    for i, o in enumerate(basis):
        emb[index[tuple(o)], i] = 1.0
    ladders = [(lo, lo.conj().T) for lo in (a(j).matrix(big) for j in range(N))]
    liou, diff = fp_terms(poly)
    ham: dict = {}
    for word, c in anti_normal_order(hamiltonian).terms.items():
        ham[(word, ())] = ham.get((word, ()), 0) - 1j * c  # −i H R
        ham[((), word)] = ham.get(((), word), 0) + 1j * c  # +i R H
    flat, W = _build_terms(liou, diff, ham, ladders, emb)
    H = emb.T @ hamiltonian.matrix(big) @ emb
    lowered = np.stack([emb.T @ lo @ emb for lo, _ in ladders])
    return flat, W, H, lowered
