"""Closed forms for Gaussian states of harmonic systems (physics §7.3, §7.4).

Independent of `jqd.thermal` (plain linear algebra), so tests can check the
lattice code against them.

Energy variance of a Gaussian state. Let H = ½ zᵀAz with z = (x_1..x_n,
p_1..p_n), A real symmetric (Weyl-ordered: the symbol of H is the classical
½ zᵀAz), [z_i, z_j] = iħJ_ij, J = [[0, I], [−I, 0]]. Let the state have mean
μ = ⟨z⟩ and symmetrized covariance Σ_ij = ½⟨{δz_i, δz_j}⟩. Writing
z = μ + δz, H = ½μᵀAμ + μᵀAδz + ½δzᵀAδz; the linear and quadratic parts are
uncorrelated (odd moments of a Gaussian vanish), Var(μᵀAδz) = μᵀAΣAμ, and
for the quadratic part Wick's theorem with the ordered two-point function
⟨δz_i δz_j⟩ = Σ_ij + (iħ/2)J_ij gives

    Var(½δzᵀAδz) = ½ Tr(A(Σ + iħJ/2)A(Σ − iħJ/2))
                 = ½Tr(AΣAΣ) + (ħ²/8)Tr(AJAJ)

(the cross terms cancel since Tr(AΣAJ) = 0 for symmetric A, Σ). Hence

    Var H = ½Tr(AΣAΣ) + (ħ²/8)Tr(AJAJ) + μᵀAΣAμ.

Check: one oscillator (m = ω = 1) in its ground state, A = I, Σ = (ħ/2)I,
μ = 0: ½·ħ²/2 + (ħ²/8)(−2) = 0, as for an eigenstate.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._guards import arguments

__all__ = [
    "gaussian_energy_variance",
    "product_state_cm_variance",
    "fock_mode_atom_variance",
]


def gaussian_energy_variance(A, Sigma, mu, hbar=1.0):
    """Var H of a Gaussian state for H = ½ zᵀAz, z = (x..., p...) (2n,).

    Args:
        A: (2n, 2n) real symmetric Hamiltonian matrix.
        Sigma: (2n, 2n) symmetrized covariance ½⟨{δz_i, δz_j}⟩.
        mu: (2n,) mean ⟨z⟩.
        hbar: ħ.

    Returns ½Tr(AΣAΣ) + (ħ²/8)Tr(AJAJ) + μᵀAΣAμ (derivation: module docstring).
    """
    A, Sigma, mu = jnp.asarray(A), jnp.asarray(Sigma), jnp.asarray(mu)
    arguments("jqd.reference.gaussian_energy_variance", hbar=hbar)
    n2 = A.shape[-1] if A.ndim == 2 else 0
    if n2 % 2 or n2 == 0 or A.shape != (n2, n2) or Sigma.shape != A.shape or mu.shape != (n2,):
        raise ValueError(
            "jqd.reference.gaussian_energy_variance: A and Sigma must be (2n, 2n) and mu (2n,) "
            f"over z = (x..., p...); got A {A.shape}, Sigma {Sigma.shape}, mu {mu.shape}."
        )
    n = n2 // 2
    eye, zero = jnp.eye(n, dtype=A.dtype), jnp.zeros((n, n), A.dtype)
    J = jnp.block([[zero, eye], [-eye, zero]])
    AS, AJ = A @ Sigma, A @ J
    return 0.5 * jnp.trace(AS @ AS) + hbar**2 / 8 * jnp.trace(AJ @ AJ) + mu @ A @ Sigma @ A @ mu


def product_state_cm_variance(n, mass, width, t, hbar=1.0):
    """Var X_cm(t) = d²/2N + ħ²t²/(2N m² d²) for Ψ ∝ Π_j exp(−(x_j − R_j)²/2d²)
    of N atoms of mass m whose centre of mass is free (physics §7.3).

    Each atom has Var x = d²/2, Var p = ħ²/(2d²), no x-p correlation; the
    total momentum is conserved, so X_cm(t) = X_cm(0) + P t/(Nm).
    """
    arguments("jqd.reference.product_state_cm_variance", n=n, mass=mass, width=width, hbar=hbar)
    return width**2 / (2 * n) + (hbar * t) ** 2 / (2 * n * mass**2 * width**2)


def fock_mode_atom_variance(weight, n, mass, omega, hbar=1.0):
    """Variance of an atom's displacement added, over the ground state, by
    the Fock state |n⟩ of one normal mode: n ħ U_jk²/(mω_k).

    With u_j = Σ_k U_jk Q_k and ⟨n|Q²|n⟩ = (ħ/2mω)(2n + 1), the mode
    contributes U_jk² (ħ/mω)(n + ½) to Var u_j (the paper's a_k² = ħ/mω_k:
    U_jk² a_k²(n + ½)). The excess n ħU_jk²/(mω) equals A_j²/2, the
    time-averaged squared displacement of the classical vibration of the
    same energy nħω, whose amplitude at atom j is A_j = U_jk √(2nħ/(mω)).

    Args:
        weight: U_jk, the atom's entry of the normalized mode vector.
        n: the mode's occupation.
        mass: m > 0.
        omega: ω_k > 0.
        hbar: ħ > 0.
    """
    arguments(
        "jqd.reference.fock_mode_atom_variance", ("n",), n=n, mass=mass, omega=omega, hbar=hbar
    )
    return n * hbar * weight**2 / (mass * omega)
