"""The faithful member copy process (physics §5.8) at a cost per unit time
independent of N: members lumped into L phase types per class (exact after the
binned start), copy events tau-leaped between type pairs (weak order 1).
Details and calibration: docs/internals/copy.md#faithful-leap.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .. import _steppers
from .._law import AbstractLaw
from ._kinetics import (
    MemberState,
    _rates,
    check_params,
    count_guards,
    hamiltonian_guards,
    member_phase_coefficients,
    sampled,
)
from ._tau_leap import hazard_guard

POISSON_EXACT_MAX = 4.0  # inversion up to this mean ...
POISSON_TERMS = 24  # ... over this many terms: P(X > 24 | μ = 4) < 1e-10


class FaithfulTypeState(eqx.Module):
    """State of `CopyFaithfulTauLeap`: members `n` (P, L) of class a on type l
    (integer valued floats), the type phases `phi` (P, L), copy events so far
    `n_events` (a float: ~0.08 N² by alignment), and `n_clipped`, the steps
    where a type was asked for more members than it had."""

    n: Array
    phi: Array
    n_events: Array
    n_clipped: Array

    def class_sums(self):
        """(n_a, S_a = Σ_{J∈a} e^{iφ_J}) per class."""
        return jnp.sum(self.n, axis=-1), jnp.sum(self.n * jnp.exp(1j * self.phi), axis=-1)

    def circular_variance(self):
        """V = 1 − Σ_a |S_a|/N (`jqd.copy.circular_variance` of the members)."""
        nc, S = self.class_sums()
        return 1.0 - jnp.sum(jnp.abs(S), axis=-1) / jnp.sum(nc, axis=-1)


def faithful_type_state(y0: MemberState, n_states: int, n_types: int) -> FaithfulTypeState:
    """Members (a, φ) binned onto `n_types` phases per class, θ_a + 2πl/L with
    θ_a the class's first member's phase (0 if empty). jit- and vmap-able."""
    if not isinstance(y0, MemberState):
        raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
    if int(n_types) < 2:
        raise ValueError(f"n_types must be >= 2; got {n_types}.")
    P, L = int(n_states), int(n_types)
    a, phi = jnp.asarray(y0.a), jnp.asarray(y0.phi)
    if not jnp.issubdtype(phi.dtype, jnp.floating):
        phi = phi.astype(float)
    cls = jnp.arange(P)
    first = jnp.argmax(a[None, :] == cls[:, None], axis=1)
    theta = jnp.where(jnp.any(a[None, :] == cls[:, None], axis=1), phi[first], 0.0)
    rel = (phi - theta[a]) * (L / (2 * jnp.pi))
    l = jnp.mod(jnp.round(rel), L).astype(jnp.int32)
    n = jax.ops.segment_sum(jnp.ones_like(phi), a * L + l, num_segments=P * L).reshape(P, L)
    zero = jnp.zeros((), phi.dtype)
    types = (theta[:, None] + (2 * jnp.pi / L) * jnp.arange(L)[None, :]).astype(phi.dtype)
    return FaithfulTypeState(n=n, phi=types, n_events=zero, n_clipped=zero)


def poisson(key, mu):
    """Poisson(μ) per element from one uniform each: inversion for μ <=
    POISSON_EXACT_MAX, the rounded normal above (docs/internals/copy.md)."""
    u = jax.random.uniform(key, mu.shape, mu.dtype)
    small = mu <= POISSON_EXACT_MAX
    m = jnp.where(small, mu, 0.0)
    p = jnp.exp(-m)
    cdf, x = p, jnp.zeros_like(mu)
    for k in range(1, POISSON_TERMS + 1):
        x = x + (u > cdf)
        p = p * m / k
        cdf = cdf + p
    g = jax.scipy.special.ndtri(jnp.clip(u, 1e-300, 1.0 - 1e-16))
    big = jnp.maximum(jnp.floor(mu + jnp.sqrt(mu) * g + 0.5), 0.0)
    return jnp.where(small, x, big)


def _pairs(P: int):
    """Class pairs a < b as two static index lists."""
    pa, pb = np.triu_indices(P, 1)
    return jnp.asarray(pa), jnp.asarray(pb)


def pair_hazards(n, z, R, delta):
    """Signed hazards h[p, l, m] of the type pairs (a_p, l), (b_p, m), a_p < b_p
    (> 0: (a, l) copies (b, m); docs/internals/copy.md#faithful-leap)."""
    pa, pb = _pairs(n.shape[0])
    nc = jnp.sum(n, axis=1)
    occ = nc > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, nc, 1.0)), 0.0)
    rot = jnp.exp(1j * delta[pb, pa])
    s = jnp.imag(z[pb][:, None, :] * jnp.conj(z[pa])[:, :, None] * rot[:, None, None])
    scale = 2.0 * R[pa, pb] * inv[pa] * inv[pb]
    return scale[:, None, None] * n[pa][:, :, None] * n[pb][:, None, :] * s


def type_flows(k, P: int):
    """Per type (P, L): members out and in, from moves or rates k signed as
    `pair_hazards`."""
    fwd, bwd = jnp.maximum(k, 0.0), jnp.maximum(-k, 0.0)
    pa, pb = _pairs(P)
    oa = (pa[:, None] == jnp.arange(P)).astype(k.dtype)  # (pairs, P) one-hot
    ob = (pb[:, None] == jnp.arange(P)).astype(k.dtype)
    fl, fm = jnp.sum(fwd, axis=2), jnp.sum(fwd, axis=1)  # (pairs, L)
    bl, bm = jnp.sum(bwd, axis=2), jnp.sum(bwd, axis=1)
    out = oa.T @ fl + ob.T @ bm
    inn = ob.T @ fm + oa.T @ bl
    return out, inn


def phase_velocity(phi, n, R, delta, omega):
    """φ̇[a, l] = ω_a + A_a cos φ + B_a sin φ: S40 summed over the members."""
    nc = jnp.sum(n, axis=1)
    c, s = jnp.cos(phi), jnp.sin(phi)
    A, B = member_phase_coefficients(nc, jnp.sum(n * c, axis=1), jnp.sum(n * s, axis=1), R, delta)
    return omega[:, None] + A[:, None] * c + B[:, None] * s


def _advance(phi, n, R, delta, omega, h, t):
    return _steppers.rk4(lambda s, p: phase_velocity(p, n, R, delta, omega), t, phi, h)


def rate_scale() -> float:  # factor on every copy hazard (a seam for mutants)
    return 1.0


class CopyFaithfulTauLeap(AbstractLaw):
    """The faithful member copy process (physics §5.8) lumped into L phase types
    per class and tau-leaped: O(P²L²) per step, independent of N. State
    `FaithfulTypeState` (`faithful_type_state`), params `CopyParams`, `n_states`
    P. Approximations: the L-type start, tau-leaping (weak order 1), RK4 of the
    type phases, rounded normal draws for Poisson means > 4. Validated against
    `CopyMembersFaithfulMobius` at N ≤ 1e4 (two-sample KS tests).
    """

    n_states: int = eqx.field(static=True)
    stochastic = True
    order = 1

    def step(self, t, y: FaithfulTypeState, params, dt, key: PRNGKeyArray):
        params = sampled(params, self)
        dtype = y.n.dtype
        R, delta, omega = _rates(params, dtype)
        h = 0.5 * jnp.asarray(dt, dtype)
        # predictor: counts by the mean drift, phases by RK4, both over dt/2
        scale = rate_scale()
        haz0 = scale * pair_hazards(y.n, jnp.exp(1j * y.phi), R, delta)
        out0, in0 = type_flows(haz0, self.n_states)
        n_mid = jnp.where(y.n > 0, jnp.maximum(y.n + h * (in0 - out0), 0.0), 0.0)
        phi_mid = _advance(y.phi, y.n, R, delta, omega, h, t)
        haz = scale * pair_hazards(n_mid, jnp.exp(1j * phi_mid), R, delta)
        k = poisson(key, 2.0 * h * jnp.abs(haz)) * jnp.sign(haz)
        out, _ = type_flows(k, self.n_states)
        # a source type gives at most what it holds (draws scaled down, floor)
        over = out > y.n
        frac = jnp.where(over, y.n / jnp.where(out > 0, out, 1.0), 1.0)
        pa, pb = _pairs(self.n_states)
        src = jnp.where(k > 0, frac[pa][:, :, None], frac[pb][:, None, :])
        k = jnp.where(jnp.any(over), jnp.trunc(k * src), k)
        out, inn = type_flows(k, self.n_states)
        phi = _advance(phi_mid, n_mid, R, delta, omega, h, t + h)
        return FaithfulTypeState(
            n=y.n - out + inn,
            phi=jnp.angle(jnp.exp(1j * phi)).astype(dtype),  # kept in (−π, π]
            n_events=y.n_events + jnp.sum(out),
            n_clipped=y.n_clipped + jnp.any(over).astype(dtype),
        )

    def check(self, y, params, dt=None):
        if not isinstance(y, FaithfulTypeState):
            raise ValueError(
                "y0 must be a jqd.copy.FaithfulTypeState; build it with "
                "jqd.copy.faithful_type_state(jqd.copy.MemberState(a, phi), P, L)."
            )
        P, shape = self.n_states, jnp.shape(y.n)
        if len(shape) != 2 or shape[0] != P or shape[1] < 2 or jnp.shape(y.phi) != shape:
            raise ValueError(
                f"y0.n and y0.phi must have shape ({P}, L) with L >= 2 types; got {shape} and "
                f"{jnp.shape(y.phi)}. For a batch of ensembles use jax.vmap."
            )
        if not jnp.issubdtype(jnp.asarray(y.n).dtype, jnp.floating):
            raise ValueError(f"y0.n must be a float array; got {jnp.asarray(y.n).dtype}.")
        check_params(params, P)

    def checks(self, y, params, dt=None):
        n = jnp.asarray(y.n)
        out = count_guards(n) + hamiltonian_guards(params)
        return out if dt is None else out + [hazard_guard(jnp.sum(n, axis=1), params, dt)[1]]

    def density(self, y):
        nc = jnp.sum(y.n, axis=-1)
        return nc / jnp.sum(nc, axis=-1, keepdims=True)
