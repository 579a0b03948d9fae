"""Kerr-mode references, H = (U/2) a†²a² (physics §4.6): the anti-Wick symbol,
⟨a(t)⟩, the state, the Husimi function."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from .._guards import arguments
from ..fock import coherent_state


def kerr_symbol(z, U=1.0):
    """Anti-Wick symbol (U/2)(|α|⁴ − 4|α|² + 2), α = (Q + iP)/√2, of
    H = (U/2) a†²a² in units of ħ (physics §4.1): the function whose Husimi
    average is ⟨H⟩. On z = (Q_1..Q_N, P_1..P_N), shape (..., 2N), the sum over
    N independent modes. Signature `H(z, args)`, `args = U`, as the Husimi
    laws expect."""
    z = jnp.asarray(z)
    if z.ndim == 0 or z.shape[-1] % 2:
        raise ValueError(
            f"z must have last axis 2N (Q_1..Q_N, P_1..P_N); got shape {jnp.shape(z)}."
        )
    N = z.shape[-1] // 2
    n = (z[..., :N] ** 2 + z[..., N:] ** 2) / 2
    return jnp.sum(U / 2 * (n**2 - 4 * n + 2), axis=-1)


def kerr_mean_a(t, alpha0, U=1.0, hbar=1.0):
    """⟨a(t)⟩ = α0 exp[|α0|²(e^{−iUt/ħ} − 1)] for H = (U/2) a†²a², start |α0⟩ (physics §4)."""
    arguments("jqd.reference.kerr_mean_a", hbar=hbar)
    return alpha0 * jnp.exp(jnp.abs(alpha0) ** 2 * (jnp.exp(-1j * U * t / hbar) - 1))


def kerr_state(t, alpha0, cutoff: int, U=1.0, hbar=1.0):
    """Fock coefficients of the Kerr-evolved coherent state: c_n(0) e^{−iU n(n−1) t/2ħ}."""
    cutoff = _guards.count(cutoff, "cutoff")
    arguments("jqd.reference.kerr_state", hbar=hbar)
    n = jnp.arange(cutoff)
    c0 = coherent_state(alpha0, cutoff)
    return c0 * jnp.exp(-0.5j * U * n * (n - 1) * t / hbar)


def kerr_cat_state(alpha0, cutoff: int):
    """The Kerr state at Ut = π from |α0⟩ (physics §4), in closed form: the cat
    (e^{−iπ/4}|iα0⟩ + e^{iπ/4}|−iα0⟩)/√2 on `cutoff` Fock levels, normalised."""
    cutoff = _guards.count(cutoff, "cutoff")
    plus = coherent_state(1j * alpha0, cutoff)
    minus = coherent_state(-1j * alpha0, cutoff)
    cat = np.exp(-1j * np.pi / 4) * plus + np.exp(1j * np.pi / 4) * minus
    return cat / jnp.linalg.norm(cat)


def kerr_husimi(alpha, t, alpha0, U=1.0, n_max: int | None = None, hbar=1.0):
    """Exact Q_H(α, t) = π⁻¹ e^{−|α|²−|α0|²} |Σ_n (α*α0)ⁿ/n! e^{−iUt n(n−1)/2ħ}|² (physics §4)."""
    arguments("jqd.reference.kerr_husimi", hbar=hbar)
    alpha = jnp.asarray(alpha)
    if n_max is None:
        # the terms |z|^n/n! (z = α*α0) peak at n ≈ |z| and fall off factorially beyond
        zmax = abs(alpha0) * float(jnp.max(jnp.abs(alpha)))
        n_max = int(zmax + 12 * np.sqrt(zmax) + 40)
    return _kerr_husimi(alpha, t, alpha0, U, _guards.count(n_max, "n_max"), hbar)


@functools.partial(jax.jit, static_argnums=4)  # one program per n_max, not one per op
def _kerr_husimi(alpha, t, alpha0, U, n_max, hbar):
    n = jnp.arange(n_max)
    logfact = jax.scipy.special.gammaln(n + 1.0)
    z = jnp.conj(alpha)[..., None] * alpha0
    zero = z == 0
    # (z^n / n!) computed in log form for stability (z = 0 handled apart: 0^0 = 1)
    log_z = jnp.log(jnp.where(zero, 1.0, z) + 0j)
    terms = jnp.exp(n * log_z - logfact - 0.5j * U * t * n * (n - 1) / hbar)
    terms = jnp.where(n == 0, 1.0 + 0j, jnp.where(zero, 0.0j, terms))
    s = jnp.sum(terms, axis=-1)
    return jnp.exp(-(jnp.abs(alpha) ** 2) - jnp.abs(alpha0) ** 2) * jnp.abs(s) ** 2 / np.pi


def kerr_log_density(z, t, alpha0, U=1.0, n_max: int = 50, hbar=1.0):
    """ln ρ(z, t), ρ = Q_H(α, t)/2 with α = (Q + iP)/√2, of the exact Kerr Husimi
    density at one point z = (Q, P) (physics §4.6; `n_max` = 50 suffices for
    |α α0| ≲ 10). Differentiable in z and t, for `jqd.husimi.flow_trajectories`."""
    a = (z[0] + 1j * z[1]) / np.sqrt(2)
    return jnp.log(kerr_husimi(a, t, alpha0, U, n_max=n_max, hbar=hbar) / 2)


def kerr_husimi_marginals(x, t, alpha0, U=1.0, n_max: int = 60, hbar=1.0):
    """The exact Kerr Husimi density ρ(Q, P) = Q_H(α, t)/2 on the grid x × x
    ("ij") and its Q and P marginals (Riemann sums): NumPy arrays
    (rho (len(x), len(x)), marginals (2, len(x)))."""
    x = np.asarray(x)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(
            f"jqd.reference.kerr_husimi_marginals: x must be a 1-D grid of at least 2 points; "
            f"got shape {x.shape}. Pass e.g. np.linspace(-6, 6, 121)."
        )
    dx = x[1] - x[0]
    Q, P = np.meshgrid(x, x, indexing="ij")
    alpha = _guards.to_device((Q + 1j * P) / np.sqrt(2) + 1e-30)  # kerr_husimi is NaN at α = 0
    rho = np.asarray(kerr_husimi(alpha, t, alpha0, U, n_max=n_max, hbar=hbar)) / 2
    return rho, np.stack([rho.sum(axis=1 - ax) * dx for ax in (0, 1)])
