"""The constants of the copy laws from a Hamiltonian and back (physics §5): a
Hermitian H (energy units) with H_aa = ħω_a and H_ab = ħ R_ab e^(iδ_ab) gives
the copy-rate amplitudes R_ab, the phase offsets δ_ab and the bare
frequencies ω_a shared by the mean-field law (`MeanFieldParams`) and the
stochastic copy process (`CopyParams`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..interop import as_array

__all__ = ["hamiltonian_to_rates", "rates_to_hamiltonian"]


def hamiltonian_to_rates(H, hbar=1.0):
    """`(R, delta, omega)` of a Hermitian `H`: H_aa = ħω_a, H_ab = ħ R_ab e^(iδ_ab).

    Differentiable in H; where H_ab = 0 it returns R_ab = δ_ab = 0 with finite
    (zero) gradients through a double `where`.
    """
    return _hamiltonian_to_rates(jnp.asarray(as_array(H, "H")), hbar)  # QuTiP/dynamiqs too


@jax.jit  # one program, not one per op
def _hamiltonian_to_rates(H, hbar):
    if not jnp.iscomplexobj(H):
        H = H.astype(jnp.result_type(H.dtype, jnp.complex64))
    n = H.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    nonzero = off & (H != 0)
    Hs = jnp.where(nonzero, H, 1.0)
    R = jnp.where(nonzero, jnp.abs(Hs), 0.0) / hbar
    delta = jnp.where(nonzero, jnp.angle(Hs), 0.0)
    omega = jnp.real(jnp.diagonal(H, axis1=-2, axis2=-1)) / hbar
    return R, delta, omega


def rates_to_hamiltonian(R, delta, omega, hbar=1.0):
    """The Hermitian H with H_aa = ħω_a, H_ab = ħ R_ab e^(iδ_ab) (a ≠ b)."""
    R, delta, omega = jnp.asarray(R), jnp.asarray(delta), jnp.asarray(omega)
    n = omega.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    Hoff = jnp.where(off, hbar * R * jnp.exp(1j * delta), 0.0)
    return Hoff + jnp.eye(n) * (hbar * omega)[..., None, :]
