"""Observables of Gaussian lattice states (physics §7.4).

Atom-basis second moments come from the mode covariance through u = U Q:
Cov(u) = U Σ_QQ Uᵀ. For a mode-diagonal covariance on a regular lattice,
U_jk² and the bond differences (U_ik − U_jk)² are Kronecker products of 1-D
factors, so atom and bond variances cost O(N Σ_a n_a) without any N×N
matrix; a dense covariance costs O(N² log N).

Energies (H = ½ zᵀAz, z = (Q, P), A = diag(mω², 1/m), symmetrized Σ, mean μ):

    ⟨H⟩ = ½Tr(AΣ) + ½μᵀAμ,
    Var H = ½Tr(AΣAΣ) + (ħ²/8)Tr(AJAJ) + μᵀAΣAμ     (jqd.reference.gaussian_energy_variance)

with Tr(AJAJ) = −2 Σ_k A_QkA_Pk = −2 Σ_k ω_k². Mode occupation
n_k = E_k/(ħω_k) − ½ (E_k the mode's mean energy; undefined, NaN, for a free
mode); the symplectic occupation ν_k = √(qq·pp − qp²)/ħ − ½ is the thermal
(incoherent) part of that mode's reduced state: 0 for any pure Gaussian
single-mode state, n̄ for a thermal one; a displacement or squeezing adds to
n_k but not to ν_k.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._harmonic import DenseCovariance, HarmonicLattice, ModeCovariance, mode_energy_terms

DENSE_U_MAX = 2048  # dense atom variances through the full U up to this N

__all__ = [
    "atom_variance",
    "atom_covariance",
    "bond_variance",
    "cm_variance",
    "mode_occupation",
    "symplectic_occupation",
    "kinetic_energy",
    "potential_energy",
    "local_energy",
    "energy_variance",
    "mode_energies",
]


def _blocks(state):
    """(QQ, QP, PP) diagonals for mode covariance, or the dense blocks."""
    if isinstance(state.cov, ModeCovariance):
        return state.cov.qq, state.cov.qp, state.cov.pp
    n = state.q.shape[-1]
    M = state.cov.matrix
    return M[:n, :n], M[:n, n:], M[n:, n:]


def _separable(lattice, mats, v):
    """(⊗_a mats[a]) v for v over the modes (C order); mats[a] is (m_a, n_a)."""
    y = v.reshape(lattice.shape)
    for a, M in enumerate(mats):
        y = jnp.moveaxis(jnp.tensordot(jnp.asarray(M, v.dtype), y, axes=([1], [a])), 0, a)
    return y.reshape(-1)


def _diff(n, periodic):
    nb = n if periodic else n - 1
    D = np.zeros((nb, n))
    D[np.arange(nb), np.arange(nb)] = 1.0
    D[np.arange(nb), (np.arange(nb) + 1) % n] = -1.0
    return D


def atom_covariance(law: HarmonicLattice, state):
    """Cov(u_i, u_j) (N, N) of the atom displacements (dense; small N)."""
    QQ = _blocks(state)[0]
    if isinstance(state.cov, ModeCovariance):
        QQ = jnp.diag(QQ)
    to = law.lattice.to_atoms
    return to(to(QQ).T)


def atom_variance(law: HarmonicLattice, state):
    """Var u_j (N,) of every atom's displacement."""
    lat = law.lattice
    if isinstance(state.cov, DenseCovariance):
        QQ = _blocks(state)[0]
        if lat.n_sites <= DENSE_U_MAX:  # diag(U QQ Uᵀ) = rowsum(U ∘ (U QQ)): one matmul
            U = jnp.asarray(lat.modes()[0], QQ.dtype)
            return jnp.sum(U * (U @ QQ), axis=1)
        return jnp.diagonal(atom_covariance(law, state))
    if lat.general is not None:
        U = jnp.asarray(lat.general.array[1], state.q.dtype)
        return (U * U) @ state.cov.qq
    return _separable(lat, [U * U for U in lat.axis_bases()], state.cov.qq)


def bond_variance(law: HarmonicLattice, state):
    """Var(u_i − u_j) for every bond (i, j) of `law.lattice.bonds()` (same order)."""
    lat = law.lattice
    bonds = lat.bonds()
    if isinstance(state.cov, DenseCovariance):
        C = atom_covariance(law, state)
        i, j = bonds[:, 0], bonds[:, 1]
        return C[i, i] + C[j, j] - 2 * C[i, j]
    if lat.general is not None:
        U = jnp.asarray(lat.general.array[1], state.q.dtype)
        d = U[bonds[:, 0]] - U[bonds[:, 1]]
        return (d * d) @ state.cov.qq
    bases = lat.axis_bases()
    sq = [U * U for U in bases]
    out = []
    for a, (n, U) in enumerate(zip(lat.shape, bases, strict=True)):
        DU = _diff(n, lat.boundary == "periodic") @ U
        mats = sq[:a] + [DU * DU] + sq[a + 1 :]
        out.append(_separable(lat, mats, state.cov.qq))
    return jnp.concatenate(out)


def cm_variance(law: HarmonicLattice, params, state):
    """Var X_cm, X_cm = (1/N) Σ_j u_j."""
    n = law.n_modes
    w = law.lattice.to_modes(jnp.full(n, 1.0 / n, state.q.dtype))
    QQ = _blocks(state)[0]
    if isinstance(state.cov, ModeCovariance):
        return jnp.sum(w * w * QQ)
    return w @ QQ @ w


def mode_energies(law: HarmonicLattice, params, state):
    """E_k = ⟨P_k²⟩/2m + ½mω_k²⟨Q_k²⟩ (N,): conserved by every harmonic evolution."""
    kinetic, potential = mode_energy_terms(law, params, state)
    return kinetic + potential


def kinetic_energy(law: HarmonicLattice, params, state):
    """⟨Σ_j p_j²/2m⟩."""
    return jnp.sum(mode_energy_terms(law, params, state)[0])


def potential_energy(law: HarmonicLattice, params, state):
    """⟨(spring/2) uᵀKu + (pinning/2) Σ u_j²⟩."""
    return jnp.sum(mode_energy_terms(law, params, state)[1])


def local_energy(law: HarmonicLattice, params, state):
    """ε_j (N,): the energy at atom j, ⟨p_j²⟩/2m + ½ Σ_k A_jk ⟨u_j u_k⟩ with
    A = spring·K + pinning·1 (the symmetric split ½ u_j (Au)_j of the potential),
    so that Σ_j ε_j = ⟨H⟩. Dense second moments: small N."""
    QQ, _, PP = _blocks(state)
    if isinstance(state.cov, ModeCovariance):
        QQ, PP = jnp.diag(QQ), jnp.diag(PP)
    to = law.lattice.to_atoms
    u, p = to(state.q), to(state.p)
    uu = to(to(QQ).T) + jnp.outer(u, u)
    pp_diag = jnp.diagonal(to(to(PP).T)) + p * p
    dtype = state.q.dtype
    A = jnp.asarray(params.spring, dtype) * jnp.asarray(law.lattice.stiffness(), dtype)
    A = A + jnp.asarray(params.pinning, dtype) * jnp.eye(law.n_modes, dtype=dtype)
    return pp_diag / (2 * jnp.asarray(params.mass, dtype)) + 0.5 * jnp.sum(A * uu, axis=1)


def mode_occupation(law: HarmonicLattice, params, state):
    """n_k = E_k/(ħω_k) − ½ (N,); NaN for a free mode (ω_k = 0)."""
    w = law.frequencies(params, state.q.dtype)
    E = mode_energies(law, params, state)
    hw = jnp.asarray(params.hbar, state.q.dtype) * jnp.where(w > 0, w, 1.0)
    return jnp.where(w > 0, E / hw - 0.5, jnp.nan)


def symplectic_occupation(law: HarmonicLattice, params, state):
    """ν_k = √(⟨δQ_k²⟩⟨δP_k²⟩ − ⟨δQ_kδP_k⟩²)/ħ − ½ (N,): the incoherent
    (thermal) occupation of each mode's reduced state (0 when pure)."""
    QQ, QP, PP = _blocks(state)
    if isinstance(state.cov, DenseCovariance):
        QQ, QP, PP = (jnp.diagonal(x) for x in (QQ, QP, PP))
    det = jnp.maximum(QQ * PP - QP * QP, 0.0)
    return jnp.sqrt(det) / jnp.asarray(params.hbar, state.q.dtype) - 0.5


def energy_variance(law: HarmonicLattice, params, state):
    """Var H = ⟨H²⟩ − ⟨H⟩² (see the module docstring; exact for Gaussian states)."""
    dtype = state.q.dtype
    m = jnp.asarray(params.mass, dtype)
    hbar = jnp.asarray(params.hbar, dtype)
    aq = law.omega_squared(params, dtype) * m  # A_Q = mω²
    ap = jnp.full_like(aq, 1.0) / m  # A_P = 1/m
    QQ, QP, PP = _blocks(state)
    q, p = state.q, state.p
    trace_j = -(hbar**2 / 4) * jnp.sum(aq * ap)  # (ħ²/8) Tr(AJAJ)
    if isinstance(state.cov, ModeCovariance):
        half = 0.5 * jnp.sum(aq * aq * QQ**2 + 2 * aq * ap * QP**2 + ap * ap * PP**2)
        mean = jnp.sum(aq * aq * q * q * QQ + 2 * aq * ap * q * p * QP + ap * ap * p * p * PP)
        return half + trace_j + mean
    A = jnp.concatenate([aq, ap])
    M = state.cov.matrix
    half = 0.5 * jnp.sum(A[:, None] * A[None, :] * M * M)
    Amu = A * jnp.concatenate([q, p])
    return half + trace_j + Amu @ M @ Amu
