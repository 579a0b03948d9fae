"""States, rates, phase flow and input checks shared by the copy laws (physics
§5.3, S39-S40; docs/internals/copy.md#kinetics)."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards
from .._guards import Check, array_module, hermitian
from ..interop import as_array

RULES = ("consistent", "printed")
MASKED_CLASSES = 32  # `_member_sums` masks up to this many classes off the CPU
EXACT_COUNTS = {np.dtype("float32"): 2**24, np.dtype("float64"): 2**53}


def hamiltonian_to_rates(H, hbar=1.0):
    """`(R, delta, omega)` of a Hermitian `H`: H_aa = ħω_a, H_ab = ħ R_ab e^(iδ_ab)
    (differentiable; zero gradients where H_ab = 0)."""
    H = as_array(H, "H")  # QuTiP/dynamiqs too
    if not _guards.is_traced(H):
        _guards.enforce(
            _guards.hermitian(np.asarray(H), "H"), caller="jqd.copy.hamiltonian_to_rates"
        )
    return _hamiltonian_to_rates(jnp.asarray(H), hbar)


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


def sampled(
    law,
    y,
    params,
    dt=None,
    instead: str = "the mean-field law jqd.copy.MeanField (its N → ∞ limit)",
):
    """`(law, y, params, dt)` for a sampler's step, unchanged, but a derivative
    through any float leaf of them (params, the state's phases and counts, dt,
    the law's own fields such as a rates object) raises `TypeError` naming
    the leaf, under jax.grad, jax.jvp, jax.jacfwd and vmap of them (rather
    than silently return 0). Call it first in `step` and `coupled_step`."""
    what = type(law).__name__
    message = (
        f"{what} samples discrete events: its classes and counts are piecewise constant in "
        "params, the state, dt and the law's fields, so a derivative (jax.grad, jax.jvp, "
        "jax.jacfwd) through {name} ({role}) would silently be 0 or wrong. Differentiate "
        f"{instead} instead, or use a score-function (REINFORCE) estimator."
    )
    guard = lambda tree, name, role: _guards.no_derivative(
        tree, message.replace("{role}", role), name
    )
    return (
        guard(law, what, "a field of the law, e.g. of its rates object"),
        guard(y, "y", "the state, from y0"),
        guard(params, "params", "the params"),
        None if dt is None else guard(dt, "dt", "the step"),
    )


def _rates(params, dtype):
    """(R, delta, omega) of `params.H` in `dtype`."""
    R, delta, omega = _hamiltonian_to_rates(jnp.asarray(params.H), params.hbar)
    return R.astype(dtype), delta.astype(dtype), omega.astype(dtype)


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
    """Occupations n_b and the class sums Σ_{J∈b} cos φ_J, Σ_{J∈b} sin φ_J
    (members of a class outside 0..P-1, as marked ones, count nowhere)."""
    dtype = y.phi.dtype
    values = (jnp.ones_like(y.phi), jnp.cos(y.phi), jnp.sin(y.phi))

    def scatter():
        return tuple(jax.ops.segment_sum(v, y.a, num_segments=P) for v in values)

    def masked():  # a GPU's atomic adds into a few addresses serialize: 10x slower
        hot = y.a[..., None] == jnp.arange(P, dtype=y.a.dtype)
        return tuple(jnp.sum(jnp.where(hot, v[..., None], 0.0), axis=-2) for v in values)

    # scatter-adds on the CPU (the member order; every claim as before) and for
    # many classes; masked sums elsewhere (benchmarks/results_gpu.md, copy-members)
    if P > MASKED_CLASSES:
        n, zc, zs = scatter()
    else:
        n, zc, zs = jax.lax.platform_dependent(cpu=scatter, default=masked)
    return n.astype(dtype), zc, zs


def _class_phases(n, zc, zs):
    """Circular mean arg Σ_{J∈a} e^{iφ_J} of each class (0 if empty)."""
    return jnp.where(n > 0, jnp.arctan2(zs, jnp.where(n > 0, zc, 1.0)), 0.0)


def counts_from_members(y: MemberState, n_states: int) -> CountState:
    """Occupations and class phases (circular mean arg Σ_{J∈a} e^{iφ_J}; 0 if empty)."""
    n, zc, zs = _member_sums(y, n_states)
    return CountState(n=n, phi=_class_phases(n, zc, zs).astype(y.phi.dtype))


def members_from_counts(y: CountState) -> MemberState:
    """Members sorted by class, each with its class phase (numpy; concrete `y`)."""
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


class AbstractCopyRates(eqx.Module):
    """Copy rates of another rule (e.g. not factorized, S16-S17) for
    `CopyCountsTauLeap(rates=...)` and `MeanField(rates=...)`; its fields are
    traced. Both methods take counts n (P,) (the mean field passes ρ), class
    phases φ and (R, δ, ω); a large-N limit (S14-S15) needs `transfer_rates`
    homogeneous of degree 1 in n, `phase_velocity` of degree 0."""

    @abc.abstractmethod
    def transfer_rates(self, n, phi, R, delta):
        """T[b, a] ≥ 0: total rate of b → a transfers (source first), zero diagonal."""

    @abc.abstractmethod
    def phase_velocity(self, n, phi, R, delta, omega):
        """φ̇_a of the aligned class phases (ω_a included)."""


def transfer_rates(n, phi, R, delta, rule: str = "consistent"):
    """T[b, a]: total rate of b → a transfers (source first), zero diagonal.

    consistent (S32): T[b, a] = 2R_ab √(n_a n_b) sin⁺(φ_a − φ_b + δ_ab);
    printed (S39 as printed): sin⁺(φ_b − φ_a + δ_ba), the opposite drift;
    an `AbstractCopyRates`: its own `transfer_rates`.
    """
    if isinstance(rule, AbstractCopyRates):
        return rule.transfer_rates(n, phi, R, delta)
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


def class_phase_velocity(n, phi, R, delta, omega, rule: str = "consistent"):
    """S40 with alignment: φ̇_a = ω_a + Σ_b R_ab √(n_b/n_a) cos(φ_a − φ_b + δ_ab)
    (ω_a for an empty class); an `AbstractCopyRates` gives its own."""
    if isinstance(rule, AbstractCopyRates):
        return rule.phase_velocity(n, phi, R, delta, omega)
    occupied = n > 0
    inv = jnp.where(occupied, 1.0 / jnp.sqrt(jnp.where(occupied, n, 1.0)), 0.0)
    sq = jnp.sqrt(jnp.maximum(n, 0.0))
    x = phi[:, None] - phi[None, :] + delta
    return omega + inv * jnp.sum(R * jnp.cos(x) * sq[None, :], axis=1)


def member_phase_velocity(phi, a, n, zc, zs, R, delta, omega):
    """S40 per member without assuming alignment (zc, zs: `_member_sums`)."""
    A, B = member_phase_coefficients(n, zc, zs, R, delta)
    return omega[a] + jnp.cos(phi) * A[a] + jnp.sin(phi) * B[a]


def member_phase_coefficients(n, zc, zs, R, delta):
    """(A_a, B_a): a member of class a has φ̇ − ω_a = A_a cos φ + B_a sin φ."""
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    W = R * inv[:, None] * inv[None, :]
    cd, sd = jnp.cos(delta), jnp.sin(delta)
    A = jnp.sum(W * (cd * zc[None, :] + sd * zs[None, :]), axis=1)
    B = jnp.sum(W * (-sd * zc[None, :] + cd * zs[None, :]), axis=1)
    return A, B


def check_params(params, n_states):
    H = getattr(params, "H", None)
    if H is None:
        raise ValueError("params must be jqd.MatrixParams(H=..., hbar=...).")
    shape = jnp.shape(H)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"params.H must be a square (P, P) matrix; got shape {shape}.")
    if n_states is not None and shape[0] != n_states:
        raise ValueError(
            f"params.H is {shape[0]}x{shape[0]} but the state has {n_states} classes; "
            "they must match."
        )


def check_rates(rates, rule="consistent"):
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    if rates is not None and not isinstance(rates, AbstractCopyRates):
        raise ValueError(
            f"rates must be None or a jqd.copy.AbstractCopyRates; got {type(rates).__name__}."
        )
    if rates is not None and rule != "consistent":
        raise ValueError(
            f"rates replaces the rule: leave rule (MeanField: convention) at its default "
            f"(got the rule {rule!r})."
        )


def hamiltonian_guards(params) -> list[Check]:
    return hermitian(jnp.asarray(params.H), "params.H")


def check_counts(n, phi, n_states):
    if jnp.ndim(n) != 1 or jnp.shape(n)[0] != n_states or jnp.shape(phi) != jnp.shape(n):
        raise ValueError(
            f"y0.n and y0.phi must have shape ({n_states},); got "
            f"{jnp.shape(n)} and {jnp.shape(phi)}. For a batch of ensembles use jax.vmap."
        )
    dtype = jnp.asarray(n).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"y0.n must be a float array (got {dtype}); use n.astype(float).")


def count_guards(n) -> list[Check]:
    """Nonnegative integer occupations, 1 <= N <= the dtype's exact range."""
    xp = array_module(n)
    n = xp.asarray(n)
    limit = EXACT_COUNTS.get(np.dtype(n.dtype), 2**53)
    total = xp.sum(n)
    integral = (n >= 0) & (n == xp.round(n))
    return [
        Check(
            xp.all(integral),
            "y0.n must hold nonnegative integers (as floats); got {value}.",
            xp.where(integral, 0, n),
        ),
        Check(
            total >= 1,
            "y0.n has no members (N = Σn = {value}): the occupation frequencies n/N "
            "are 0/0. Give the ensemble at least one member.",
            total,
        ),
        Check(
            total <= limit,
            f"y0.n holds N = {{value}} members, more than {n.dtype} counts exactly "
            f"({limit:.4g}: above it n ± 1 rounds back to n and members are lost). Use "
            "float64 counts (jax.config.update('jax_enable_x64', True)).",
            total,
        ),
    ]


def check_members(a, n_states, phi=None):
    shape = jnp.shape(a)
    if len(shape) != 1 or (phi is not None and jnp.shape(phi) != shape):
        what, got = ("y0.a", shape) if phi is None else ("y0.a and y0.phi", (shape, jnp.shape(phi)))
        raise ValueError(
            f"{what} must be 1-D of one length; got shape {got}. For a batch of ensembles "
            "use jax.vmap."
        )
    if not jnp.issubdtype(jnp.asarray(a).dtype, jnp.integer):
        raise ValueError(f"y0.a must be an integer array; got {jnp.asarray(a).dtype}.")
    if shape[0] < 1:
        raise ValueError(
            "y0.a has no members: the occupation frequencies n/N are 0/0. Give the "
            "ensemble at least one member."
        )
    if phi is not None:
        dtype = np.dtype(jnp.asarray(phi).dtype)
        limit = EXACT_COUNTS.get(dtype, 2**53)
        if shape[0] > limit:
            raise ValueError(
                f"y0 has {shape[0]} members but its {dtype} phases count class "
                f"occupations exactly only up to {limit}; use float64 phases "
                "(jax.config.update('jax_enable_x64', True)) or a CountState."
            )


def member_guards(a, n_states, name="y0.a") -> list[Check]:
    xp = array_module(a)
    a = xp.asarray(a)
    bad = (a < 0) | (a >= n_states)
    return [
        Check(
            ~xp.any(bad),
            f"{name} must lie in [0, {n_states}); got {{value}}.",
            xp.where(bad, a, 0),
        )
    ]
