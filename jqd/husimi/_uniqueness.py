"""Helpers for F's uniqueness statements (physics §4.3-§4.4; issue 53 items 5-7):
the C7 mode length scales (F59), holomorphic derivative tensors of a symbol (the
truncation condition F64), an SU(2) gauge-boson mode Hamiltonian (F73-F75), and
the linear constraints C2, C4, C5 and symmetry covariances on a local diffusion
D = T[H''] (F §III), whose solution space is found by SVD.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import jax.numpy as jnp
import numpy as np

from ._ops import Ops, a, ad
from ._symbols import symplectic_J

# ---------------------------------------------------------------------------
# C7 (F57-F59)


def mode_length_scales(omega, kappa=1.0):
    """ℓ_k = √(κ/ω_k) (F59): with Q = q/ℓ, P = ℓp/κ the scaled Hessian of the free
    mode ½(p² + ω²q²) is ω·I, which commutes with J, so D = 0 (C7)."""
    return jnp.sqrt(kappa / jnp.asarray(omega))


# ---------------------------------------------------------------------------
# F64: holomorphic derivatives of a symbol


def holomorphic_tensor(poly, order: int, alpha=None) -> np.ndarray:
    """∂ⁿH/∂α_{i1}…∂α_{in} (α, α* independent, Wirtinger) of the polynomial
    symbol `poly` (`jqd.husimi.Polynomial`) at `alpha` (complex, shape (N,);
    default the origin), as an array of shape (N,)*order, exactly (monomial by
    monomial). F64 holds iff the order-3 tensor vanishes everywhere."""
    N = poly.n_modes
    alpha = np.zeros(N, complex) if alpha is None else np.asarray(alpha, complex)
    out = np.zeros((N,) * order, complex)
    for (p, q), c in poly.coeffs:
        if sum(p) < order:
            continue
        support = [j for j in range(N) if p[j]]
        for m in itertools.combinations_with_replacement(support, order):
            cnt = Counter(m)
            if any(k > p[j] for j, k in cnt.items()):
                continue
            value = complex(c)
            for j, k in cnt.items():
                value *= math.perm(p[j], k)
            for j in range(N):
                value *= alpha[j] ** (p[j] - cnt.get(j, 0)) * np.conj(alpha[j]) ** q[j]
            if value == 0:
                continue
            for idx in set(itertools.permutations(m)):
                out[idx] += value
    return out


# ---------------------------------------------------------------------------
# F73-F75: SU(2) gauge bosons in a few modes


def su2_structure_constants() -> np.ndarray:
    """f^{abc} of su(2): the Levi-Civita symbol ε_abc (shape (3, 3, 3))."""
    eps = np.zeros((3, 3, 3))
    for i, j, k in itertools.permutations(range(3)):
        eps[i, j, k] = np.linalg.det(np.eye(3)[[i, j, k]])
    return eps


def gauge_mode_index(color: int, comp: int, n: int, n_k: int) -> int:
    """Mode number of a^{color}_{comp, k_n} in `su2_gauge_modes` (comp 0 = x, 1 = y;
    n = −n_k..n_k)."""
    return (2 * color + comp) * (2 * n_k + 1) + n + n_k


def gauge_mode_frequencies(mass, L, n_k) -> np.ndarray:
    """ω of every mode of `su2_gauge_modes`: m for A_x, √(k² + m²) for A_y."""
    ks = 2 * np.pi * np.arange(-n_k, n_k + 1) / L
    om = np.zeros(6 * (2 * n_k + 1))
    for color in range(3):
        for comp in range(2):
            for n in range(-n_k, n_k + 1):
                w = mass if comp == 0 else math.sqrt(ks[n + n_k] ** 2 + mass**2)
                om[gauge_mode_index(color, comp, n, n_k)] = w
    return om


def _field(color, comp, mass, L, n_k, derivative=False) -> dict:
    """A^{color}_{comp}(x) (or ∂_x of it) as Fourier components {q: Ops}, q the integer
    of e^{2πiqx/L}: Σ_n (a e^{ik_n x} + a† e^{−ik_n x})/√(2ωL) (F75)."""
    om = gauge_mode_frequencies(mass, L, n_k)
    out: dict = {}
    for n in range(-n_k, n_k + 1):
        j = gauge_mode_index(color, comp, n, n_k)
        amp = 1 / math.sqrt(2 * om[j] * L)
        k = 2 * np.pi * n / L
        for q, op, kk in ((n, a(j), k), (-n, ad(j), -k)):
            c = amp * (1j * kk if derivative else 1.0)
            out[q] = out.get(q, Ops()) + c * op
    return out


def _product(f, g) -> dict:
    out: dict = {}
    for q1, o1 in f.items():
        for q2, o2 in g.items():
            out[q1 + q2] = out.get(q1 + q2, Ops()) + o1 * o2
    return out


def _integral(f, L) -> Ops:
    """∫_0^L dx of a Fourier-component field: L times its q = 0 component."""
    return L * f.get(0, Ops())


def _cross(mass, L, n_k) -> list:
    """G^a = f^{abc} A^b_x A^c_y (the non-Abelian part of F^a_xy, F74) per color."""
    f = su2_structure_constants()
    A = [[_field(c, i, mass, L, n_k) for i in range(2)] for c in range(3)]
    out = []
    for col in range(3):
        G: dict = {}
        for b in range(3):
            for c in range(3):
                if f[col, b, c] != 0:
                    for q, o in _product(A[b][0], A[c][1]).items():
                        G[q] = G.get(q, Ops()) + f[col, b, c] * o
        out.append(G)
    return out


def _cubic_vertex(g, mass, L, n_k) -> Ops:
    """g ∫ (∂_x A^a_y) G^a dx, the cross term of ½(F^a_xy)²."""
    dA = [_field(c, 1, mass, L, n_k, derivative=True) for c in range(3)]
    G = _cross(mass, L, n_k)
    return g * sum((_integral(_product(dA[c], G[c]), L) for c in range(3)), Ops())


def _quartic_vertex(g, mass, L, n_k) -> Ops:
    """(g²/2) ∫ G^a G^a dx, the square of the non-Abelian part of F^a_xy."""
    G = _cross(mass, L, n_k)
    return 0.5 * g**2 * sum((_integral(_product(Gc, Gc), L) for Gc in G), Ops())


def su2_gauge_modes(g=1.0, mass=1.0, L=2 * np.pi, n_k: int = 1) -> Ops:
    """SU(2) gauge bosons (F73-F75) in temporal gauge, fields A^a_x, A^a_y depending on
    x ∈ [0, L) only, mass m (a regulator that gives every mode a frequency), modes
    k_n = 2πn/L, n = −n_k..n_k:

        H = ∫dx [½E² + ½m²A² + ½ Σ_a (F^a_xy)²],   F^a_xy = ∂_x A^a_y + g ε_abc A^b_x A^c_y,

    i.e. Σ ω a†a (ω = m for A_x, √(k² + m²) for A_y) plus the cubic vertex
    g∫(∂_xA^a_y)ε_abc A^b_x A^c_y and the quartic (g²/2)∫(ε_abc A^b_x A^c_y)². Modes
    numbered by `gauge_mode_index`; 6(2n_k + 1) of them."""
    om = gauge_mode_frequencies(mass, L, n_k)
    free = sum((float(w) * ad(j) * a(j) for j, w in enumerate(om)), Ops())
    return free + _cubic_vertex(g, mass, L, n_k) + _quartic_vertex(g, mass, L, n_k)


# ---------------------------------------------------------------------------
# F §III: the space of local diffusions D = T[H''] allowed by C2-C6


def sym_basis(dim: int) -> np.ndarray:
    """An orthonormal basis (Frobenius) of the real symmetric dim × dim matrices,
    shape (dim(dim + 1)/2, dim, dim)."""
    out = []
    for i in range(dim):
        for j in range(i, dim):
            E = np.zeros((dim, dim))
            E[i, j] = E[j, i] = 1.0 if i == j else 1 / math.sqrt(2)
            out.append(E)
    return np.array(out)


def time_reversal(n_modes: int) -> np.ndarray:
    """R = diag(I, −I): (Q, P) → (Q, −P), i.e. α → α* (F19-F20)."""
    return np.diag(np.r_[np.ones(n_modes), -np.ones(n_modes)])


def _as_map(B, f) -> np.ndarray:
    """Matrix of the linear map S ↦ f(S) on Sym in the basis B."""
    return np.array([[np.sum(Ek * f(El)) for El in B] for Ek in B])


def diffusion_constraints(n_modes: int) -> dict:
    """Linear constraints on T (a d × d matrix, d = N(2N + 1), in an orthonormal basis
    of Sym(2N): D = T[H''] is symmetric by construction (C2), local in H and without
    products of derivatives (C3, C6), ∝ the stochasticity parameter (C1)). Each
    entry is a matrix M with M vec(T) = 0:

    - "C5": ⟨S, T[S]⟩ = tr(H''D) = 0 for all S (energy conservation, F36-F39),
    - "C4": R T[RSR] R = −T[S] (time reversal for H(Q, P) = H(Q, −P), F23-F28),
    - "U(1)^N": covariance under each mode's phase rotation α_j → e^{iθ}α_j,
    - "DJ = -JD": D^{αα*} = 0 (F35, the paper's reading of C3),
    - "S_N": covariance under mode permutations,
    - "U(N)": covariance under all passive mode mixings α → Uα.

    Also "basis" (B) and "commutator" (the matrix of S ↦ [S, J])."""
    N, n = n_modes, 2 * n_modes
    B = sym_basis(n)
    d = len(B)
    J = np.asarray(symplectic_J(N), np.float64)
    R = time_reversal(N)
    I = np.eye(d)

    def lin(left, right):  # vec(L T R) = (L ⊗ Rᵀ) vec(T), row-major vec
        return np.kron(left, right.T)

    def covariant(X):  # generator S ↦ XS + SXᵀ; [G, T] = 0
        G = _as_map(B, lambda S: X @ S + S @ X.T)
        return lin(G, I) - lin(I, G)

    def invariant(O):  # finite S ↦ OSOᵀ; G T Gᵀ = T
        G = _as_map(B, lambda S: O @ S @ O.T)
        return lin(G, G.T) - np.eye(d * d)

    Rm = _as_map(B, lambda S: R @ S @ R)
    out = {
        "C5": lin(I, I) + lin(I, I)[:, _transpose_perm(d)],
        "C4": lin(Rm, Rm) + np.eye(d * d),
    }
    phases = []
    for j in range(N):
        X = np.zeros((n, n))
        X[j, N + j], X[N + j, j] = -1.0, 1.0
        phases.append(covariant(X))
    out["U(1)^N"] = np.vstack(phases)
    # D J + J D = 0 for D = Σ_k T_kl E_k: rows over (entries of DJ + JD, l)
    anti = np.array([(Ek @ J + J @ Ek).ravel() for Ek in B])  # (d, n²)
    out["DJ = -JD"] = np.kron(anti.T, I)
    perms = []
    for j in range(N - 1):
        p = np.arange(N)
        p[j], p[j + 1] = p[j + 1], p[j]
        P = np.eye(N)[p]
        perms.append(invariant(np.block([[P, np.zeros((N, N))], [np.zeros((N, N)), P]])))
    out["S_N"] = np.vstack(perms) if perms else np.zeros((0, d * d))
    mix = []
    for i in range(N):
        for j in range(N):
            A = np.zeros((N, N))
            Bm = np.zeros((N, N))
            if i < j:
                A[i, j], A[j, i] = 1.0, -1.0
            Bm[i, j] = Bm[j, i] = 1.0
            for Xa, Xb in ((A, np.zeros((N, N))), (np.zeros((N, N)), Bm)):
                if np.any(Xa) or np.any(Xb):
                    mix.append(covariant(np.block([[Xa, -Xb], [Xb, Xa]])))
    out["U(N)"] = np.vstack(mix)
    out["basis"] = B
    out["commutator"] = _as_map(B, lambda S: S @ J - J @ S)
    return out


def _transpose_perm(d: int) -> np.ndarray:
    """Column permutation taking vec(T) to vec(Tᵀ) (row-major)."""
    return np.arange(d * d).reshape(d, d).T.ravel()


def null_space_chain(blocks, rtol=1e-10) -> list[dict]:
    """Impose the constraint matrices `blocks` (each acting on the same unknown vector)
    one after another; after each, the null space by SVD of the block restricted to
    the previous null space, with rank tolerance rtol·σ_max. Returns, per step,
    `dim`, `basis` (columns), `sigma_null` (largest singular value counted as 0) and
    `sigma_kept` (smallest counted as nonzero)."""
    basis = np.eye(blocks[0].shape[1])
    out = []
    for M in blocks:
        sigma_null, sigma_kept = 0.0, np.inf
        if M.shape[0] and basis.shape[1]:
            A = M @ basis
            _, s, Vt = np.linalg.svd(A, full_matrices=A.shape[0] < A.shape[1])
            smax = s.max() if s.size else 0.0
            tol = rtol * max(smax, 1.0)
            rank = int(np.sum(s > tol))
            sigma_kept = float(s[rank - 1]) if rank else np.inf
            sigma_null = float(s[rank]) if rank < s.size else 0.0
            basis = basis @ Vt[rank:].T
        out.append(
            dict(
                dim=basis.shape[1],
                basis=basis,
                sigma_null=sigma_null,
                sigma_kept=sigma_kept,
            )
        )
    return out
