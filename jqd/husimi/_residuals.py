"""Structural checks of the Husimi Fokker-Planck equation (physics §4.2-§4.4), by
autodiff of the symbol H(z) and of a density ρ(z); and read-outs of the
Galerkin law's projected operator (`galerkin_closure_error`, `fp_coefficients`).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._guards import is_traced
from ._galerkin import HusimiGalerkin
from ._states import alphas_from_z, husimi
from ._symbols import diffusion_matrix, drift, symplectic_J


def fp_rhs(H: Callable, rho: Callable, C=1.0) -> Callable:
    """z ↦ RHS of the Fokker-Planck equation for the density function `rho`
    (scalar function of z, shape (2N,)), by forward-mode autodiff."""
    v = drift(H)
    D = diffusion_matrix(H, C)

    def f(z):
        flux = lambda x: rho(x) * v(x)
        liou = -jnp.trace(jax.jacfwd(flux)(z))
        g = lambda x: D(x) * rho(x)
        d2 = jax.jacfwd(jax.jacfwd(g))(z)  # [a, b, c, e] = ∂_c ∂_e g_ab
        return liou + 0.5 * jnp.einsum("abab->", d2)

    return f


def diffusion_structure(H: Callable, z, C=1.0) -> dict:
    """Largest violations of the structure of D = (C/2)[H'', J] (physics §4.3) at
    points `z` (n, 2N), relative to max|D|: `symmetric`, `traceless`,
    `anticommutes_J`, `pm_pairs` (± eigenvalue pairs); and `max_abs` (max|D|:
    0 for a free field in its mode basis, C7)."""
    z = jnp.atleast_2d(z) if is_traced(z) else jax.device_put(np.atleast_2d(np.asarray(z)))
    Ds = jax.jit(jax.vmap(diffusion_matrix(H, C)))(z)  # one program per call, not one per op
    names = ("symmetric", "traceless", "anticommutes_J", "pm_pairs", "max_abs")
    return dict(zip(names, (float(x) for x in _structure_violations(Ds)), strict=True))


@jax.jit  # one program, not one per op
def _structure_violations(Ds):
    Jm = symplectic_J(Ds.shape[-1] // 2, Ds.dtype)
    scale = jnp.maximum(jnp.max(jnp.abs(Ds)), jnp.finfo(Ds.dtype).tiny)
    ev = jnp.sort(jnp.linalg.eigvalsh(0.5 * (Ds + jnp.swapaxes(Ds, -1, -2))), axis=-1)
    return (
        jnp.max(jnp.abs(Ds - jnp.swapaxes(Ds, -1, -2))) / scale,
        jnp.max(jnp.abs(jnp.trace(Ds, axis1=-2, axis2=-1))) / scale,
        jnp.max(jnp.abs(Ds @ Jm + Jm @ Ds)) / scale,
        jnp.max(jnp.abs(ev + ev[..., ::-1])) / scale,
        jnp.max(jnp.abs(Ds)),
    )


def exact_husimi_density(H_matrix, psi0, basis) -> Callable:
    """(z, t) ↦ ρ(z, t) = |⟨α|ψ(t)⟩|²/(π 2)^N for ψ(t) = e^{−iHt} ψ0 (H in
    units of ħ, on the Fock set `basis`): the exact reference, differentiable
    in z and t."""
    E, V = jnp.linalg.eigh(jnp.asarray(H_matrix))
    V = V.astype(complex)
    c0 = jnp.conj(V).T @ jnp.asarray(psi0, complex)
    N = np.asarray(basis).shape[1]

    def rho(z, t):
        psi = V @ (jnp.exp(-1j * E * t) * c0)
        return husimi(psi, alphas_from_z(z), basis=basis) / 2.0**N

    return rho


def instantaneous_residual(H: Callable, rho_zt: Callable, t, z, C=1.0) -> dict:
    """∂ρ/∂t of an exact Husimi density vs the FP right-hand side at points `z`
    (n, 2N), both by autodiff: `relative_residual` ‖∂tρ − RHS‖/‖∂tρ‖,
    `liouville_only` (the same without diffusion) and the least-squares
    `coefficients` (a, b) of ∂tρ ≈ a·Liouville + b·diffusion."""
    z = jnp.atleast_2d(jnp.asarray(z))

    @jax.jit  # one program per call, not one per op
    def parts(z, t, C):
        dt_rho = jax.vmap(lambda x: jax.grad(lambda s: rho_zt(x, s))(t))(z)
        rho_t = lambda x: rho_zt(x, t)
        liou = jax.vmap(fp_rhs(H, rho_t, 0.0))(z)
        full = jax.vmap(fp_rhs(H, rho_t, C))(z)
        return dt_rho, liou, full

    dt_rho, liou, full = parts(z, jnp.asarray(t, z.dtype), jnp.asarray(C, z.dtype))
    diff = full - liou
    nrm = jnp.linalg.norm(dt_rho)
    coef, *_ = np.linalg.lstsq(
        np.stack([np.asarray(liou), np.asarray(diff)], 1), np.asarray(dt_rho), rcond=None
    )
    return {
        "relative_residual": float(jnp.linalg.norm(dt_rho - full) / nrm),
        "liouville_only": float(jnp.linalg.norm(dt_rho - liou) / nrm),
        "coefficients": tuple(float(c) for c in coef),
    }


def time_reversal_residual(H: Callable, rho: Callable, z, C=1.0) -> float:
    """Time-reversal invariance (P → −P, t → −t) at the level of the equation:
    for an H with H(Q, −P) = H(Q, P), `RHS[ρ∘T](z) = −RHS[ρ](Tz)` with
    T(Q, P) = (Q, −P). Returns `max|RHS[ρ∘T](z) + RHS[ρ](Tz)| / max|RHS[ρ]|`."""
    z = jnp.atleast_2d(jnp.asarray(z))
    N = z.shape[-1] // 2
    flip = jnp.concatenate([jnp.ones(N), -jnp.ones(N)]).astype(z.dtype)
    rho_T = lambda x: rho(x * flip)
    a = jax.jit(jax.vmap(fp_rhs(H, rho_T, C)))(z)  # one program per call, not one per op
    b = jax.jit(jax.vmap(fp_rhs(H, rho, C)))(z * flip)  # the same
    return float(jnp.max(jnp.abs(a + b)) / jnp.max(jnp.abs(b)))


@eqx.filter_jit  # one program per shape, not one per op
def galerkin_closure_error(law: HusimiGalerkin, R, C=1.0) -> Array:
    """‖L(C) R + i[H_P, R]‖ / ‖i[H_P, R]‖: how far the projected Fokker-Planck
    operator is from the quantum Liouvillian on R (≈ 1e-15 for C = 1 and a
    truncating H; O(|C − 1|) or the truncation error otherwise)."""
    H = law.H.astype(R.dtype)
    comm = -1j * (H @ R - R @ H)
    return jnp.linalg.norm(law.fp_operator(R, C) - comm) / jnp.linalg.norm(comm)


@eqx.filter_jit  # one program per shape, not one per op
def fp_coefficients(law: HusimiGalerkin, R, Rdot) -> Array:
    """Least-squares (a, b) in dR/dt = a · Liouville(R) + b · Diffusion(R) over
    states R (..., d, d) with known Rdot (same shape), the parts from
    `law.fp_parts`; exact quantum data at C = 1 give (1, 1) (F65-66)."""
    R = jnp.asarray(R).reshape((-1,) + law.H.shape)
    Rdot = jnp.asarray(Rdot).reshape(R.shape)
    liou, diff = jax.vmap(law.fp_parts)(R)
    A = jnp.stack([liou.ravel(), diff.ravel()], axis=1)
    A = jnp.concatenate([A.real, A.imag])  # real coefficients
    b = jnp.concatenate([Rdot.ravel().real, Rdot.ravel().imag])
    return jnp.linalg.lstsq(A, b)[0]
