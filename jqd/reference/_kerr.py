"""Kerr-mode references, H = (U/2) a†²a² (SPEC §4): ⟨a(t)⟩, the state, the Husimi function."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def kerr_mean_a(t, alpha0, U=1.0, hbar=1.0):
    """⟨a(t)⟩ = α0 exp[|α0|²(e^{−iUt/ħ} − 1)] for H = (U/2) a†²a², start |α0⟩ (SPEC §4)."""
    return alpha0 * jnp.exp(jnp.abs(alpha0) ** 2 * (jnp.exp(-1j * U * t / hbar) - 1))


def kerr_state(t, alpha0, cutoff: int, U=1.0, hbar=1.0):
    """Fock coefficients of the Kerr-evolved coherent state: c_n(0) e^{−iU n(n−1) t/2ħ}."""
    from ..fock import coherent_state

    n = jnp.arange(cutoff)
    c0 = coherent_state(alpha0, cutoff)
    return c0 * jnp.exp(-0.5j * U * n * (n - 1) * t / hbar)


def kerr_husimi(alpha, t, alpha0, U=1.0, n_max: int | None = None, hbar=1.0):
    """Exact Q_H(α, t) = π⁻¹ e^{−|α|²−|α0|²} |Σ_n (α*α0)ⁿ/n! e^{−iUt n(n−1)/2ħ}|² (SPEC §4)."""
    alpha = jnp.asarray(alpha)
    if n_max is None:
        # the terms |z|^n/n! (z = α*α0) peak at n ≈ |z| and fall off factorially beyond
        zmax = abs(alpha0) * float(jnp.max(jnp.abs(alpha)))
        n_max = int(zmax + 12 * np.sqrt(zmax) + 40)
    n = jnp.arange(n_max)
    logfact = jax.scipy.special.gammaln(n + 1.0)
    z = jnp.conj(alpha)[..., None] * alpha0
    zero = z == 0
    # (z^n / n!) computed in log form for stability (z = 0 handled apart: 0^0 = 1)
    log_z = jnp.log(jnp.where(zero, 1.0, z) + 0j)
    terms = jnp.exp(n * log_z - logfact - 0.5j * U * t * n * (n - 1) / hbar)
    terms = jnp.where(n == 0, 1.0 + 0j, jnp.where(zero, 0.0j, terms))
    s = jnp.sum(terms, axis=-1)
    return jnp.exp(-(jnp.abs(alpha) ** 2) - abs(alpha0) ** 2) * jnp.abs(s) ** 2 / np.pi
