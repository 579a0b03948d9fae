"""Validation read-outs of the Husimi Galerkin law (physics §4): how far the
projected Fokker-Planck operator is from the quantum Liouvillian, and the
least-squares coefficients of its two terms on exact data."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._galerkin import HusimiGalerkin

__all__ = ["galerkin_closure_error", "galerkin_commutator_error", "fp_coefficients"]


@eqx.filter_jit  # one program per shape, not one per op
def galerkin_closure_error(law: HusimiGalerkin, R, C=1.0) -> Array:
    """‖L(C) R + i[H_P, R]‖ / ‖i[H_P, R]‖: how far the projected Fokker-Planck
    operator is from the quantum Liouvillian on R (≈ 1e-15 for C = 1 and a
    truncating H; O(|C − 1|) or the truncation error otherwise)."""
    H = law.H.astype(R.dtype)
    comm = -1j * (H @ R - R @ H)
    return jnp.linalg.norm(law.fp_operator(R, C) - comm) / jnp.linalg.norm(comm)


@eqx.filter_jit
def galerkin_commutator_error(law: HusimiGalerkin, R) -> Array:
    """Consistency of the gather-form commutator terms with the dense H_P:
    ‖Σ c_ham A R B + i[H_P, R]‖ / ‖[H_P, R]‖."""
    H = law.H.astype(R.dtype)
    comm = -1j * (H @ R - R @ H)
    return jnp.linalg.norm(law._apply(R, law.W[2]) - comm) / jnp.linalg.norm(comm)


@eqx.filter_jit
def fp_coefficients(law: HusimiGalerkin, R, Rdot) -> Array:
    """Least-squares (a, b) in dR/dt = a · Liouville(R) + b · Diffusion(R) over a
    stack of states R (..., d, d) with known time derivatives Rdot (same shape),
    the two parts from `law.fp_parts`. On exact quantum data the Fokker-Planck
    equation of F65-66 with C = 1 requires (a, b) = (1, 1): a test of the drift
    and diffusion terms that does not integrate anything."""
    R = jnp.asarray(R).reshape((-1,) + law.H.shape)
    Rdot = jnp.asarray(Rdot).reshape(R.shape)
    liou, diff = jax.vmap(law.fp_parts)(R)
    A = jnp.stack([liou.ravel(), diff.ravel()], axis=1)
    A = jnp.concatenate([A.real, A.imag])  # real coefficients
    b = jnp.concatenate([Rdot.ravel().real, Rdot.ravel().imag])
    return jnp.linalg.lstsq(A, b)[0]
