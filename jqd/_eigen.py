"""All saves of a time-independent Schrödinger evolution from one
eigendecomposition, ψ(s_k) = V e^{−i s_k E} V† ψ0 (s_k = t_k/ħ), with
derivatives finite for repeated eigenvalues (Daleckii-Krein divided
differences; why and how: docs/internals/basis.md#eigen)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero


def _phases(E, s):
    """P[k, i] = e^{−i s_k E_i}."""
    cdtype = jnp.result_type(E.dtype, jnp.complex64)
    arg = s[:, None] * E[None, :]
    return jax.lax.complex(jnp.cos(arg), -jnp.sin(arg)).astype(cdtype)


def _rows_times(A, V):
    """A @ Vᵀ; for a real V one real product of A's stacked parts."""
    if jnp.iscomplexobj(V):
        return A @ V.T
    n = A.shape[0]
    R = jnp.concatenate([A.real, A.imag], 0) @ V.T
    return jax.lax.complex(R[:n], R[n:])


def _apply_vh(V, y):
    """V† y for a vector y (V real or complex)."""
    Vh = jnp.conj(V).T
    if jnp.iscomplexobj(V) or not jnp.iscomplexobj(y):
        return Vh @ y
    return jax.lax.complex(Vh @ y.real, Vh @ y.imag)


@jax.custom_jvp
def eigen_states(H, psi0, s):
    """ψ(s_k) = e^{−i s_k H} ψ0 for every real s_k = (t_k − t0)/ħ, shape
    `(len(s), dim)`, H Hermitian (real or complex). Differentiable in H, ψ0
    and s (forward and reverse mode), also when eigenvalues repeat."""
    E, V = jnp.linalg.eigh(H)
    c = _apply_vh(V, psi0)
    return _rows_times(_phases(E, s) * c[None, :], V)


def _divided_difference_apply(E, P, s, G):
    """w[k, i] = Σ_j F_ij(s_k) G_ij, F the divided differences of e^{−isE}
    (docs/internals/basis.md#eigen): linear in G."""
    rdtype = E.dtype
    eps = jnp.finfo(rdtype).eps
    smax = jnp.maximum(jnp.max(jnp.abs(s)), jnp.finfo(rdtype).tiny)
    tau = eps**0.25 / smax
    dE = E[:, None] - E[None, :]  # E_i − E_j
    near = jnp.abs(dE) < tau
    far_den = jnp.where(near, 1.0, dE)
    B = jnp.where(near, 0.0, G / far_den)
    w = P * jnp.sum(B, axis=1)[None, :] - P @ B.T
    Gn = jnp.where(near, G, 0.0)
    D = -dE  # Δ_ij = E_j − E_i (small on the near pairs)
    a0 = jnp.sum(Gn, 1)
    a1 = jnp.sum(Gn * D, 1)
    a2 = jnp.sum(Gn * D**2, 1)
    a3 = jnp.sum(Gn * D**3, 1)
    sc = s[:, None].astype(P.dtype)
    series = a0 - 0.5j * sc * a1 - (sc**2 / 6) * a2 + (1j * sc**3 / 24) * a3
    return w + (-1j * sc) * P * series


def _eigen_states_jvp(primals, tangents):
    H, psi0, s = primals
    dH, dpsi, ds = tangents
    E, V = jnp.linalg.eigh(H)
    c = _apply_vh(V, psi0)
    P = _phases(E, s)
    A = P * c[None, :]
    out = _rows_times(A, V)
    dA = jnp.zeros_like(A)
    if not isinstance(dH, SymbolicZero):
        # eigh reads the Hermitian part (H + H†)/2: differentiate that function
        dH = 0.5 * (dH + jnp.conj(dH).T)
        Vh = jnp.conj(V).T
        M = Vh @ dH.astype(jnp.result_type(dH.dtype, V.dtype)) @ V
        dA = dA + _divided_difference_apply(E, P, s, M * c[None, :])
    if not isinstance(dpsi, SymbolicZero):
        dA = dA + P * _apply_vh(V, dpsi)[None, :]
    if not isinstance(ds, SymbolicZero):
        dA = dA + (-1j * ds.astype(E.dtype))[:, None] * (E[None, :] * A)
    return out, _rows_times(dA, V)


eigen_states.defjvp(_eigen_states_jvp, symbolic_zeros=True)


def diagonal_states(E, psi0, s):
    """ψ(s_k) = e^{−i s_k E} ∘ ψ0 for a diagonal H = diag(E), 64 saves at a
    time (docs/internals/basis.md#diagonal-states)."""
    psi0 = psi0.astype(jnp.result_type(E.dtype, jnp.complex64))
    return jax.lax.map(lambda sk: _phases(E, sk[None])[0] * psi0, s, batch_size=64)
