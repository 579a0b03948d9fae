"""Kinetics of the stochastic copy process (physics §5, Smolin S39-S40): states,
transfer rates and the aligned phase flow shared by its laws.

Each member I carries a beable a_I ∈ {0..P−1} and a phase φ_I. With phase
alignment (φ_I = φ_{a_I}) the copy rule used here is the one consistent with
S32 (physics §5):

    member X copies member Y at rate 2 R_{a_Y a_X} sin⁺(φ_Y − φ_X + δ_{a_Y a_X}) / √(n_X n_Y),

where n_X = n_{a_X} is the occupation of X's state. Copying sets
(a_X, φ_X) ← (a_Y, φ_Y). Summing over the n_b n_a ordered pairs (X in b,
Y in a), the total rate of b → a transfers is

    T_{b→a} = n_a n_b · 2R_ab sin⁺(φ_a − φ_b + δ_ab)/√(n_a n_b)
            = 2 R_ab √(n_a n_b) sin⁺(φ_a − φ_b + δ_ab),

so the mean drift is ṅ_a = Σ_b (T_{b→a} − T_{a→b}); since δ_ba = −δ_ab and
sin⁺(x) − sin⁺(−x) = sin x, dividing by N gives S32 exactly:
ρ̇_a = Σ_b 2R_ab √(ρ_a ρ_b) sin(φ_a − φ_b + δ_ab) (the q = 1/2 mean field).
The rule as printed in S39 ("I copies J at rate ∝ sin⁺(φ_I − φ_J + δ)")
swaps the sign of the drift; it is available as `rule="printed"` so that
tests can show it.

Between copy events the phases follow S40,

    φ̇_I = ω_{a_I} + Σ_{J≠I} R_{a_I a_J} cos(φ_I − φ_J + δ_{a_I a_J}) / √(n_I n_J),

which, aligned, is φ̇_a = ω_a + Σ_{b≠a} R_ab √(n_b/n_a) cos(φ_a − φ_b + δ_ab)
(r = −1/2). The constants come from a Hermitian H (energy units):
H_aa = ħω_a, H_ab = ħR_ab e^{iδ_ab}; ψ_a = √(n_a/N) e^{−iφ_a} then follows
iħψ̇ = Hψ as N → ∞.

Representations:
    `CountState(n, phi)`: occupations n_a (float, integer valued; N up to
        ~1e15 in float64) and class phases φ_a.
    `MemberState(a, phi)`: each member's beable (int32, length N) and phase.

The laws: `CopyCountsTauLeap`, `CopyMembersTauLeap` (fixed-step
tau-leaping, `_tau_leap.py`) and `CopyGillespie` (exact, event driven,
`_gillespie.py`). Params: `CopyParams(H, hbar)`, the same module as
`jqd.MatrixParams` (a Hamiltonian matrix and ħ).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..schrodinger import MatrixParams
from ._rates import hamiltonian_to_rates

__all__ = [
    "CopyParams",
    "CountState",
    "MemberState",
    "transfer_rates",
    "count_drift",
    "class_phase_velocity",
    "counts_from_members",
    "members_from_counts",
    "occupation_frequencies",
]

RULES = ("consistent", "printed")

# The copy process is specified by a Hermitian matrix and ħ, which is exactly
# what `jqd.MatrixParams` holds (fields `H`, `hbar`): one class, two names.
CopyParams = MatrixParams


def _rates(params, dtype):
    """(R, delta, omega) of `params.H` in the real dtype `dtype`."""
    R, delta, omega = hamiltonian_to_rates(params.H, params.hbar)
    return R.astype(dtype), delta.astype(dtype), omega.astype(dtype)


# -------------------------------------------------------------------- states


class CountState(eqx.Module):
    """Count-level state: occupations `n` (P,) (integer valued floats) and
    class phases `phi` (P,)."""

    n: Array
    phi: Array


class MemberState(eqx.Module):
    """Member-level state: beables `a` (N,) int32 in [0, P) and phases `phi` (N,)."""

    a: Array
    phi: Array


def _member_sums(y: MemberState, P: int):
    """Occupations n_b and the class sums Σ_{J∈b} cos φ_J, Σ_{J∈b} sin φ_J."""
    dtype = y.phi.dtype
    n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=P)
    zc = jax.ops.segment_sum(jnp.cos(y.phi), y.a, num_segments=P)
    zs = jax.ops.segment_sum(jnp.sin(y.phi), y.a, num_segments=P)
    return n.astype(dtype), zc, zs


def _class_phases(n, zc, zs):
    """Circular mean arg Σ_{J∈a} e^{iφ_J} of each class (0 if empty)."""
    return jnp.where(n > 0, jnp.arctan2(zs, jnp.where(n > 0, zc, 1.0)), 0.0)


def counts_from_members(y: MemberState, n_states: int) -> CountState:
    """Occupations and class phases (circular mean arg Σ_{J∈a} e^{iφ_J}; 0 if empty)."""
    n, zc, zs = _member_sums(y, n_states)
    return CountState(n=n, phi=_class_phases(n, zc, zs).astype(y.phi.dtype))


def members_from_counts(y: CountState) -> MemberState:
    """Members sorted by class (numpy; concrete `y` only): n_a members in class a,
    each with its class phase."""
    n = np.asarray(y.n)
    counts = np.rint(n).astype(np.int64)
    if np.any(np.abs(n - counts) > 0) or np.any(counts < 0):
        raise ValueError("y.n must hold nonnegative integers to build members.")
    a = np.repeat(np.arange(n.shape[-1], dtype=np.int32), counts)
    phi = np.asarray(y.phi)[a]
    return MemberState(a=jnp.asarray(a), phi=jnp.asarray(phi))


def occupation_frequencies(y, n_states: int | None = None) -> Array:
    """n_a/N for a `CountState` or a `MemberState` (then `n_states` is needed)."""
    if isinstance(y, MemberState):
        if n_states is None:
            raise ValueError("n_states is required for a MemberState.")
        y = counts_from_members(y, n_states)
    return y.n / jnp.sum(y.n, axis=-1, keepdims=True)


# ------------------------------------------------------------------ kinetics


def transfer_rates(n, phi, R, delta, rule: str = "consistent"):
    """T[b, a]: total rate of b → a transfers (source first), zero diagonal.

    consistent (S32): T[b, a] = 2R_ab √(n_a n_b) sin⁺(φ_a − φ_b + δ_ab);
    printed (S39 as printed): sin⁺(φ_b − φ_a + δ_ba), the opposite drift.
    """
    theta = phi[None, :] - phi[:, None] + delta.T  # [b, a] = φ_a − φ_b + δ_ab
    if rule == "printed":
        theta = -theta
    s = jnp.maximum(jnp.sin(theta), 0.0)
    nn = jnp.sqrt(jnp.maximum(n[:, None] * n[None, :], 0.0))
    return 2.0 * R.T * nn * s


def count_drift(n, phi, R, delta, rule: str = "consistent"):
    """Mean drift ṅ_a = Σ_b T[b, a] − Σ_b T[a, b]."""
    T = transfer_rates(n, phi, R, delta, rule)
    return jnp.sum(T, axis=0) - jnp.sum(T, axis=1)


def class_phase_velocity(n, phi, R, delta, omega):
    """S40 with alignment: φ̇_a = ω_a + Σ_b R_ab √(n_b/n_a) cos(φ_a − φ_b + δ_ab);
    ω_a for an empty class (its phase never matters: nothing can copy from it)."""
    occupied = n > 0
    inv = jnp.where(occupied, 1.0 / jnp.sqrt(jnp.where(occupied, n, 1.0)), 0.0)
    sq = jnp.sqrt(jnp.maximum(n, 0.0))
    x = phi[:, None] - phi[None, :] + delta
    return omega + inv * jnp.sum(R * jnp.cos(x) * sq[None, :], axis=1)


def member_phase_velocity(phi, a, n, zc, zs, R, delta, omega):
    """S40 per member without assuming alignment, in O(N + P²):
    Ω_I = ω_{a_I} + Σ_b R_{a_I b}/√(n_{a_I} n_b) Re[e^{i(φ_I + δ_{a_I b})} Z_b],
    Z_b = Σ_{J∈b} e^{−iφ_J} = zc_b − i zs_b (class sums of `_member_sums`)."""
    A, B = member_phase_coefficients(n, zc, zs, R, delta)
    return omega[a] + jnp.cos(phi) * A[a] + jnp.sin(phi) * B[a]


def member_phase_coefficients(n, zc, zs, R, delta):
    """(A_a, B_a) with Σ_b R_ab/√(n_a n_b) Re[e^{i(φ + δ_ab)} Z_b] = A_a cos φ + B_a sin φ
    for a member of class a (empty classes contribute nothing)."""
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    W = R * inv[:, None] * inv[None, :]
    cd, sd = jnp.cos(delta), jnp.sin(delta)
    A = jnp.sum(W * (cd * zc[None, :] + sd * zs[None, :]), axis=1)
    B = jnp.sum(W * (-sd * zc[None, :] + cd * zs[None, :]), axis=1)
    return A, B
