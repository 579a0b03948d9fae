"""Is the projected Husimi Fokker-Planck operator a generator of bounded growth?
(physics §4.11): numerical and spectral abscissae of the Galerkin operator, whose
compressions to Fock levels ≤ n0 hold the exact operator's entries.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._galerkin import HusimiGalerkin
from ._ops import Ops, a, ad, num

_DENSE_MAX = 2500  # largest d² for which the dense Hermitian part is formed


def _block(law: HusimiGalerkin, n0: int | None) -> np.ndarray:
    """Basis indices with total Fock number ≤ n0 (all when n0 is None)."""
    if n0 is None:
        return np.arange(law.dim)
    n0 = int(n0)
    if n0 < 0:
        raise ValueError(f"n0 must be >= 0; got {n0}.")
    idx = np.flatnonzero(law.basis.sum(axis=1) <= n0)
    if len(idx) != math.comb(n0 + law.n_modes, law.n_modes):
        raise ValueError(
            f"n0 = {n0}: the law's basis does not hold every Fock pattern with total number "
            f"<= n0; build the law with a larger cutoff (cutoffs= or max_total=)."
        )
    return idx


def sparse_superoperator(law: HusimiGalerkin, C=1.0) -> sp.csr_matrix:
    """L(C) as a sparse d² × d² matrix on R.reshape(-1) (row-major), read off the
    law's gather structure: (L R)[i, j] = Σ_g W_g[i, j] R.flat[flat_g[i, j]]."""
    W = np.asarray(law.W)
    flat = np.asarray(law.flat)
    vals = (W[0] + complex(C) * W[1]).reshape(-1)
    d2 = law.dim**2
    rows = np.broadcast_to(np.arange(d2), (flat.shape[0], d2)).reshape(-1)
    S = sp.coo_matrix((vals, (rows, flat.reshape(-1))), shape=(d2, d2)).tocsr()
    S.eliminate_zeros()
    return S


def compressed_superoperator(law: HusimiGalerkin, C=1.0, n0: int | None = None) -> sp.csr_matrix:
    """P L(C) P on the row-major block vector `R[idx][:, idx]` (idx: basis states
    with total Fock number ≤ n0), a sparse (b², b²) matrix."""
    return _compress(sparse_superoperator(law, C), law.dim, _block(law, n0))


def _compress(S, d: int, idx: np.ndarray):
    flat = (idx[:, None] * d + idx[None, :]).reshape(-1)
    return S[flat][:, flat]


def husimi_gram(basis: np.ndarray) -> np.ndarray:
    """Gram matrix G[(m,n),(k,l)] = ∫ conj(f_mn) f_kl of the Husimi functions
    f_mn(α) = ⟨α|m⟩⟨n|α⟩/π^N in L²(d^{2N}α) (Gaussian moments, in closed form)."""
    basis = np.asarray(basis, dtype=int)
    b = len(basis)
    m = basis[:, None, None, None, :]
    n = basis[None, :, None, None, :]
    k = basis[None, None, :, None, :]
    l_ = basis[None, None, None, :, :]
    lf = np.vectorize(math.lgamma)
    p = m + l_
    logv = lf(p + 1.0) - (p + 1) * np.log(2.0) - np.log(np.pi)
    logv = logv - 0.5 * (lf(m + 1.0) + lf(n + 1.0) + lf(k + 1.0) + lf(l_ + 1.0))
    val = np.where(m + l_ == n + k, np.exp(logv), 0.0).prod(axis=-1)
    return val.reshape(b * b, b * b)


def numerical_abscissa(law: HusimiGalerkin, C=1.0, n0=None, inner: str = "hs"):
    """Numerical abscissa of the projected operator L(C) of `law`, compressed to
    the coefficients with both total Fock numbers ≤ n0 (None: the whole basis;
    a sequence: one value each, as an array). Units of H.

    inner="hs" (default): λ_max((S + S†)/2), the Hilbert-Schmidt inner product
    (ω = 0 for every exact case, F64). inner="husimi_l2": the largest μ with
    ((G S + S† G)/2) v = μ G v, G = `husimi_gram` (dense, small blocks only)."""
    if inner not in ("hs", "husimi_l2"):
        raise ValueError(f"inner must be 'hs' or 'husimi_l2'; got {inner!r}.")
    many = n0 is not None and np.ndim(n0) == 1
    idxs = [_block(law, n) for n in (np.atleast_1d(n0) if many else [n0])]
    S_full = sparse_superoperator(law, C)
    out = []
    for idx in idxs:
        S = _compress(S_full, law.dim, idx)
        if inner == "hs":
            out.append(_top_eigenvalue((S + S.conj().T) / 2))
            continue
        if S.shape[0] > _DENSE_MAX:
            raise ValueError(f"inner='husimi_l2' is dense: the block exceeds {_DENSE_MAX} rows.")
        S = S.toarray()
        G = husimi_gram(law.basis[idx])
        w, V = np.linalg.eigh(G)  # G = V w V†, positive definite on the block
        Gih = (V / np.sqrt(w)) @ V.conj().T
        A = Gih @ ((G @ S + S.conj().T @ G) / 2) @ Gih
        out.append(float(np.linalg.eigvalsh((A + A.conj().T) / 2).max()))
    return np.array(out) if many else out[0]


def _top_eigenvalue(Hs) -> float:
    """λ_max of a sparse Hermitian matrix: dense below 65 rows, else Lanczos."""
    Hs = Hs.tocsr()
    Hs.eliminate_zeros()
    if Hs.nnz == 0:
        return 0.0
    if Hs.shape[0] <= 64:
        return float(np.linalg.eigvalsh(Hs.toarray()).max())
    # real symmetric embedding [[Re, −Im], [Im, Re]] (same spectrum, each doubled):
    # ARPACK's real Lanczos converges in far fewer iterations than its complex path
    re, im = Hs.real, Hs.imag
    big = sp.bmat([[re, -im], [im, re]], format="csr")
    v0 = np.random.default_rng(0).standard_normal(big.shape[0])
    return float(spla.eigsh(big, k=1, which="LA", v0=v0, tol=1e-13)[0][0])


def spectral_abscissa(law: HusimiGalerkin, C=1.0, n0: int | None = None) -> float:
    """max Re λ over the eigenvalues of the (compressed) projected operator L(C):
    the asymptotic growth rate e^{t max Re λ} of the Galerkin solutions (dense)."""
    S = compressed_superoperator(law, C, n0).toarray()
    return float(np.linalg.eigvals(S).real.max())


def complex_phi4_mode(m=1.0, lam=0.1) -> Ops:
    """Single complex φ⁴ mode of F70-F72: m(a†a + b†b) + (λ/4)(φ̂†φ̂)²,
    φ̂ = (a + b†)/√(2m), on modes a = 0, b = 1 (non-truncating; conserves the
    charge a†a − b†b)."""
    phi = (a(0) + ad(1)) / np.sqrt(2.0 * m)
    phid = (ad(0) + a(1)) / np.sqrt(2.0 * m)
    return m * (num(0) + num(1)) + 0.25 * lam * (phid * phi) ** 2
