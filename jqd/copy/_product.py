"""Copy dynamics on a product beable space A ⊗ B (physics §5.10): a pair of
beables (i, j), i < P_A, j < P_B, is one class a = i·P_B + j of a P_A·P_B class
space, so every copy law of jqd runs on it unchanged with the Hamiltonian
H = H_A ⊗ 1 + 1 ⊗ H_B + coupling. These helpers build that H and read the
joint and marginal occupations back; they add no dynamics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array


def _xp(*xs):
    """jax.numpy if any input is a jax array (traced or not), else NumPy: host
    inputs give host results and compile no program (eager jnp compiles one per op)."""
    return jnp if any(isinstance(x, jax.Array) for x in xs) else np


def product_hamiltonian(H_A, H_B, coupling=None) -> Array:
    """H = H_A ⊗ 1_B + 1_A ⊗ H_B (+ `coupling`, a (P_A P_B)² Hermitian matrix) on
    the classes a = i·P_B + j (A's beable the slow index, as `jnp.kron`). A NumPy
    array for NumPy inputs, a jax array if any input is one.

    With no coupling, H connects two classes only when they differ in one factor:
    (i, j) ↔ (i', j) through (H_A)_{ii'} and (i, j) ↔ (i, j') through (H_B)_{jj'}."""
    xp = _xp(H_A, H_B, coupling)
    H_A, H_B = xp.asarray(H_A), xp.asarray(H_B)
    for name, h in (("H_A", H_A), ("H_B", H_B)):
        if h.ndim != 2 or h.shape[0] != h.shape[1]:
            raise ValueError(f"{name} must be a square matrix; got shape {h.shape}.")
    dtype = xp.result_type(H_A.dtype, H_B.dtype, xp.complex64)
    P_A, P_B = H_A.shape[0], H_B.shape[0]
    H = xp.kron(H_A.astype(dtype), xp.eye(P_B, dtype=dtype)) + xp.kron(
        xp.eye(P_A, dtype=dtype), H_B.astype(dtype)
    )
    if coupling is not None:
        coupling = xp.asarray(coupling)
        if coupling.shape != H.shape:
            raise ValueError(
                f"coupling must have shape {H.shape} (P_A·P_B = {P_A}·{P_B} classes); "
                f"got {coupling.shape}."
            )
        H = H + coupling.astype(dtype)
    return H


def joint_counts(n, P_A: int, P_B: int) -> Array:
    """n[..., a] (a = i·P_B + j) as n[..., i, j]."""
    n = _xp(n).asarray(n)
    if n.shape[-1] != P_A * P_B:
        raise ValueError(
            f"the last axis of n must have P_A·P_B = {P_A * P_B} classes; got {n.shape[-1]}."
        )
    return n.reshape(*n.shape[:-1], P_A, P_B)


def marginal_counts(n, P_A: int, P_B: int) -> tuple[Array, Array]:
    """(n_A[..., i] = Σ_j n_ij, n_B[..., j] = Σ_i n_ij): the occupations of A's and
    B's beables alone (a probability density's marginals when n is one); NumPy
    arrays for a NumPy n."""
    m = joint_counts(n, P_A, P_B)
    return m.sum(-1), m.sum(-2)
