"""Tau-leaping laws of the copy process (physics §5, S39-S40), for `jqd.evolve`.

One step of length dt is an explicit-midpoint (RK2) step of the mean-field
pair (n, φ): a deterministic predictor (n~, φ~) at dt/2, then each member of
class b moves to a with probability p_ba = dt T_{b→a}(n~, φ~)/n_b
(binomial/multinomial at count level, one categorical draw per member at
member level; the two are equal in distribution), and φ ← φ + dt φ̇(n~, φ~)
(`_kinetics.py` for T and φ̇). Error: the mean of n/N follows the RK2 scheme
of the mean field, bias O(dt²) (measured in the tests and in
`experiments/copy_finite_N`); the fluctuations are those of the exact
process up to O(dt), so the declared (weak) order is 1. If Σ_a p_ba > 1 the
probabilities are rescaled to 1 (dt too large; `check` refuses
dt·max rate > 0.5).

Gradients: the copy events are discrete (binomial and categorical draws);
n(t) is piecewise constant in every parameter, so `jax.grad` of count means
through these samplers is not defined (it returns zeros or garbage). Use the
mean-field law for gradients.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .. import _steppers
from .._checks import is_concrete
from .._law import AbstractLaw
from ._kinetics import (
    CountState,
    MemberState,
    _class_phases,
    _member_sums,
    _rates,
    check_counts,
    check_members,
    check_params,
    class_phase_velocity,
    count_drift,
    member_phase_velocity,
    occupation_frequencies,
    transfer_rates,
)

__all__ = ["CopyCountsTauLeap", "CopyMembersTauLeap"]


def _midpoint_probabilities(n, phi, dt, R, delta, omega, rule):
    """Predictor at dt/2 and the per-member move probabilities p[b, a]."""
    half = 0.5 * dt
    n_mid = jnp.maximum(n + half * count_drift(n, phi, R, delta, rule), 0.0)
    n_mid = jnp.where(n > 0, n_mid, 0.0)
    phi_mid = phi + half * class_phase_velocity(n, phi, R, delta, omega)
    T = transfer_rates(n_mid, phi_mid, R, delta, rule)
    occupied = n > 0
    p = dt * T / jnp.where(occupied, n, 1.0)[:, None]
    p = jnp.where(occupied[:, None], p, 0.0)
    total = jnp.sum(p, axis=1, keepdims=True)
    p = p / jnp.maximum(total, 1.0)  # only if dt is too large (check refuses)
    return p, n_mid, phi_mid


def _check_leap(params, dt, n):
    """Refuse steps whose largest per-member move probability exceeds 0.5."""
    if dt is None or not is_concrete(params.H, dt, n):
        return
    H = np.asarray(params.H)
    hbar = float(np.asarray(params.hbar))
    R = np.abs(H - np.diag(np.diag(H))) / hbar
    n = np.asarray(n, dtype=float)
    occ = n > 0
    if not occ.any():
        return
    nmin = n[occ].min()
    # per-member hazard out of b: Σ_a 2 R_ab √(n_a/n_b) ≤ 2 Σ_a R_ab √(N/n_min)
    worst = float(np.max(2 * R.sum(axis=0)) * np.sqrt(n.sum() / nmin) * float(dt))
    if worst > 0.5:
        raise ValueError(
            f"dt={float(dt):g} is too large for tau-leaping: the largest per-member move "
            f"probability bound dt·max hazard = {worst:.3g} > 0.5 (the least occupied class "
            f"has {nmin:g} members). Reduce dt, or use jqd.copy.copy_gillespie."
        )


def _multinomial_moves(key, n, p_rows):
    """moves[b, a] ~ Multinomial(n_b; p_rows[b, :], stay) for every source b, by
    sequential conditional binomials over the categories (a = 0..P−1, then
    stay), one category after the other (`_steppers.sequential`, so that the
    binomial sampler compiles once)."""
    P = p_rows.shape[1]
    keys = jax.random.split(key, P)

    def body(carry, xs):
        remaining, left = carry
        pa, k = xs
        frac = jnp.where(left > 0, pa / jnp.where(left > 0, left, 1.0), 0.0)
        frac = jnp.clip(frac, 0.0, 1.0)
        draw = jax.random.binomial(k, remaining, frac, dtype=remaining.dtype)
        draw = jnp.where(frac >= 1.0, remaining, jnp.where(frac > 0.0, draw, 0.0))
        draw = jnp.clip(draw, 0.0, remaining)
        return (remaining - draw, jnp.maximum(left - pa, 0.0)), draw

    left0 = jnp.ones_like(n)
    _, draws = _steppers.sequential(body, (n, left0), (p_rows.T, keys))
    return draws.T  # [b, a]


class CopyCountsTauLeap(AbstractLaw):
    """Tau-leaping copy process at count level (occupations n_a in float, N up
    to ~1e15 in float64). State `CountState`; params `CopyParams`.

    One step (see the module docstring): explicit-midpoint predictor, then
    the moves out of each class b are Multinomial(n_b; p_b1..p_bP, stay)
    (sequential conditional binomials), then φ ← φ + dt φ̇(n~, φ~).
    Occupations stay integer valued and nonnegative; Σn is conserved exactly;
    n_a(0) = 0 stays 0 (nothing to copy). Bias of the mean O(dt²); weak
    order 1 (fluctuations).

    Validated against: exact Schrödinger evolution of the same H (N^(−1/2)
    fluctuations, second-order bias) and the exact process `copy_gillespie`
    (two-sample KS).

    Attributes:
        n_states: P.
        rule: "consistent" (S32, default) or "printed" (S39 as printed).
    """

    n_states: int = eqx.field(static=True)
    rule: str = eqx.field(static=True, default="consistent")
    stochastic = True
    order = 1

    def step(self, t, y: CountState, params, dt, key: PRNGKeyArray):
        R, delta, omega = _rates(params, y.phi.dtype)
        p, n_mid, phi_mid = _midpoint_probabilities(y.n, y.phi, dt, R, delta, omega, self.rule)
        moves = _multinomial_moves(key, y.n, p)  # [b, a]
        n = y.n - jnp.sum(moves, axis=1) + jnp.sum(moves, axis=0)
        phi = y.phi + dt * class_phase_velocity(n_mid, phi_mid, R, delta, omega)
        return CountState(n=n.astype(y.n.dtype), phi=phi.astype(y.phi.dtype))

    def check(self, y, params, dt=None):
        if not isinstance(y, CountState):
            raise ValueError("y0 must be a jqd.copy.CountState(n, phi).")
        check_counts(y.n, y.phi, self.n_states)
        check_params(params, self.rule, self.n_states)
        _check_leap(params, dt, y.n)

    def density(self, y):
        """Occupation frequencies n_a/N."""
        return occupation_frequencies(y)


class CopyMembersTauLeap(AbstractLaw):
    """Tau-leaping copy process at member level. State `MemberState(a, phi)`
    (arrays of length N; 1e7 members fit a GPU); params `CopyParams`.

    Per step: class sums Z_b = Σ_{J∈b} e^{−iφ_J} and n_b (segment sums); the
    same midpoint move probabilities p[b, a] as `CopyCountsTauLeap` (computed
    from n and the class phases arg Z_b*), then each member draws one
    categorical variable (move to a with probability p[a_I, a], else stay),
    so the occupations have exactly the count-level distribution. Member
    phases advance by the per-member S40 velocity (midpoint), and a member
    that copies takes the new phase of its destination class (φ_X ← φ_Y,
    Y aligned). Copy rates use the class phases, exact under alignment.
    Weak order 1, like `CopyCountsTauLeap`.
    """

    n_states: int = eqx.field(static=True)
    rule: str = eqx.field(static=True, default="consistent")
    stochastic = True
    order = 1

    def step(self, t, y: MemberState, params, dt, key: PRNGKeyArray):
        P = self.n_states
        dtype = y.phi.dtype
        R, delta, omega = _rates(params, dtype)
        n, zc, zs = _member_sums(y, P)
        phic = _class_phases(n, zc, zs)
        p, n_mid, phic_mid = _midpoint_probabilities(n, phic, dt, R, delta, omega, self.rule)
        # member phases: explicit midpoint with per-member S40
        v0 = member_phase_velocity(y.phi, y.a, n, zc, zs, R, delta, omega)
        y_mid = MemberState(a=y.a, phi=y.phi + 0.5 * dt * v0)
        _, zc_m, zs_m = _member_sums(y_mid, P)
        v1 = member_phase_velocity(y_mid.phi, y.a, n_mid, zc_m, zs_m, R, delta, omega)
        phi_new = y.phi + dt * v1
        phic_new = phic + dt * class_phase_velocity(n_mid, phic_mid, R, delta, omega)
        # one categorical draw per member: destination a with prob p[a_I, a]
        cum = jnp.cumsum(p, axis=1)  # (P, P)
        u = jax.random.uniform(key, y.a.shape, dtype=dtype)
        rows = cum[y.a]  # (N, P)
        dest = jnp.sum(u[:, None] >= rows, axis=1)  # P means stay
        moved = dest < P
        a_new = jnp.where(moved, dest, y.a).astype(y.a.dtype)
        phi_new = jnp.where(moved, phic_new[jnp.minimum(dest, P - 1)], phi_new)
        return MemberState(a=a_new, phi=phi_new.astype(dtype))

    def check(self, y, params, dt=None):
        if not isinstance(y, MemberState):
            raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
        check_members(y.a, self.n_states, y.phi)
        check_params(params, self.rule, self.n_states)
        if is_concrete(y.a):
            _check_leap(params, dt, np.bincount(np.asarray(y.a), minlength=self.n_states))

    def density(self, y):
        """Occupation frequencies n_a/N."""
        return occupation_frequencies(y, self.n_states)
