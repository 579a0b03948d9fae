"""Tau-leaping laws of the copy process (physics §5.3): a midpoint predictor, then
multinomial (count level) or categorical (member level) moves; weak order 1
(docs/internals/copy.md#tau-leap)."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .. import _guards
from .._guards import Check, round_down
from .._law import AbstractLaw, half_steps
from .._monitor import BreakdownError, Reason
from .._steppers import TauLeap
from ._binomial import binomial
from ._coupling import half_uniforms
from ._kinetics import (
    AbstractCopyRates,
    CountState,
    MemberState,
    _class_phases,
    _member_sums,
    _rates,
    check_counts,
    check_members,
    check_params,
    check_rates,
    class_phase_velocity,
    count_drift,
    count_guards,
    counts_from_members,
    hamiltonian_guards,
    member_guards,
    member_phase_velocity,
    occupation_frequencies,
    sampled,
    transfer_rates,
)

LEAP = 2  # breakdown code: a step's move probabilities exceeded 1


class TauLeapError(BreakdownError):
    """A tau-leap step's move probabilities exceeded 1 (dt too large)."""


def _midpoint_probabilities(n, phi, dt, R, delta, omega, rule):
    """`(p, n_mid, phi_mid, total)`: move probabilities p[b, a] at the dt/2
    predictor (rows rescaled to sum <= 1) and each row's total before."""
    half = 0.5 * dt
    n_mid = jnp.maximum(n + half * count_drift(n, phi, R, delta, rule), 0.0)
    n_mid = jnp.where(n > 0, n_mid, 0.0)
    phi_mid = phi + half * class_phase_velocity(n, phi, R, delta, omega, rule)
    T = transfer_rates(n_mid, phi_mid, R, delta, rule)
    occupied = n > 0
    p = dt * T / jnp.where(occupied, n, 1.0)[:, None]
    p = jnp.where(occupied[:, None], p, 0.0)
    total = jnp.sum(p, axis=1)
    p = p / jnp.maximum(total, 1.0)[:, None]  # only in a step that is then not taken
    return p, n_mid, phi_mid, total


def _totals(n, phi, params, dt, rule):
    R, delta, omega = _rates(params, jnp.asarray(phi).dtype)
    return _midpoint_probabilities(n, phi, dt, R, delta, omega, rule)[3]


def hazard_guard(n, params, dt, own=None):
    """(bound, Check): dt · the per-member hazard bound 2 max_b Σ_a R_ab √(N/n_min) <= 0.5
    (the factorized rule's, over all phases); `own`: a rates object's largest
    per-member hazard at y0 too, when larger (its rule may be faster)."""
    R = jnp.abs(params.H - jnp.diag(jnp.diag(params.H))) / params.hbar
    nmin = jnp.min(jnp.where(n > 0, n, jnp.inf))
    hazard = jnp.max(2 * jnp.sum(R, axis=0)) * jnp.sqrt(jnp.sum(n) / nmin)
    if own is not None:
        hazard = jnp.maximum(hazard, own)
    return hazard, Check(
        hazard * dt <= 0.5,
        "dt={dt} is too large for tau-leaping: the largest per-member move probability "
        "bound dt·max hazard = {bound} > 0.5 (the least occupied class has {nmin} members). "
        "Use dt <= {safe}.",
        {"dt": dt, "bound": hazard * dt, "nmin": nmin, "safe": round_down(0.5 / hazard)},
    )


def leap_guards(n, phi, params, dt, rule) -> list[Check]:
    """At t0: move probabilities <= 1 and the hazard bound."""
    if dt is None:
        return []
    n = jnp.asarray(n)
    total = _totals(n, phi, params, dt, rule)
    worst = jnp.max(total)
    prob = _guards.probabilities(total, "the tau-leap move probability Σ_a dt·T_{b→a}/n_b")[0]
    own = None  # a rates object: its own per-member hazard at y0, Σ_a T_{b→a}/n_b, too
    if isinstance(rule, AbstractCopyRates):  # (at most the bound for the factorized rule)
        R, delta, _ = _rates(params, jnp.asarray(phi).dtype)
        T = transfer_rates(n, jnp.asarray(phi), R, delta, rule)
        own = jnp.max(jnp.sum(T, axis=1) / jnp.where(n > 0, n, jnp.inf))
    hazard, hazard_check = hazard_guard(n, params, dt, own)
    b = jnp.argmax(total)
    move = Check(
        prob.ok,
        "dt = {dt} gives each member of class {b} (n = {n:g}) a move probability "
        "{worst:.3g} > 1 in one tau-leap step. Use dt <= {safe:.3g} (also within the "
        "hazard bound), or jqd.copy.copy_gillespie.",
        {
            "dt": dt,
            "b": b,
            "n": n[b],
            "worst": worst,
            "safe": round_down(jnp.minimum(dt / worst, 0.5 / hazard), 3),
        },
    )
    return [move, hazard_check]


def _multinomial_moves(key, n, p_rows):
    """moves[b, a] ~ Multinomial(n_b; p_rows[b, :], stay) by sequential conditional binomials."""
    P = p_rows.shape[1]
    keys = jax.random.split(key, P)

    def body(carry, xs):
        remaining, left = carry
        pa, k = xs
        frac = jnp.where(left > 0, pa / jnp.where(left > 0, left, 1.0), 0.0)
        frac = jnp.clip(frac, 0.0, 1.0)
        draw = binomial(k, remaining, frac)
        draw = jnp.where(frac >= 1.0, remaining, jnp.where(frac > 0.0, draw, 0.0))
        draw = jnp.clip(draw, 0.0, remaining)
        return (remaining - draw, jnp.maximum(left - pa, 0.0)), draw

    left0 = jnp.ones_like(n)
    _, draws = jax.lax.scan(body, (n, left0), (p_rows.T, keys))
    return draws.T  # [b, a]


def _leap(y, stop, new, marked, over):
    """`new`, or `stop` (the state before, overflowing classes marked) where a
    probability exceeded 1 (`over`); a state already `marked` stays."""
    pick = lambda a, b, c: jnp.where(marked, a, jnp.where(jnp.any(over), b, c))
    return jax.tree_util.tree_map(pick, y, stop, new)


class AbstractCopyTauLeap(AbstractLaw):
    """Fields: `n_states` P, `rule` ("consistent", S32, or "printed", S39) and
    `rates` (None, or an `AbstractCopyRates` replacing `rule`, count level only)."""

    n_states: int = eqx.field(static=True)
    rule: str = eqx.field(static=True, default="consistent")
    rates: AbstractCopyRates | None = None
    stochastic = True
    scheme = TauLeap()
    breakdowns = {
        LEAP: Reason(
            TauLeapError,
            "a tau-leap step's move probabilities exceeded 1 (Σ_a dt·T_{b→a}/n_b > 1: class b "
            "is too sparse for dt; the step was not taken, the saved state is the one before "
            "it with class b's count stored as −1 − n; where: the class, then the largest "
            "safe dt)",
            "Reduce dt below the last value in parentheses, or use the exact "
            "jqd.copy.copy_gillespie.",
        )
    }

    def __check_init__(self):
        check_rates(self.rates, self.rule)

    @property
    def kinetics(self):  # what the kinetics functions take as `rule`
        return self.rule if self.rates is None else self.rates

    @abc.abstractmethod
    def decoded(self, y) -> tuple:
        """(a step was refused, the overflowing class, the counts before it)."""

    def monitor(self, t, y, params, dt=None):
        """A refused step: where = (class, the largest safe dt; NaN without dt)."""
        marked, b, c = self.decoded(y)
        safe = jnp.nan
        if dt is not None:
            safe = dt / jnp.max(_totals(c.n, c.phi, params, dt, self.kinetics))
        dtype = y.phi.dtype
        where = jnp.stack([b.astype(dtype), jnp.asarray(safe, dtype)])
        return ~marked, jnp.where(marked, LEAP, 0), where

    def density(self, y):
        return occupation_frequencies(y, self.n_states)


class CopyCountsTauLeap(AbstractCopyTauLeap):
    """Tau-leaping copy process at count level (N up to ~1e15 in float64). State
    `CountState`, params `MatrixParams`. Per step: midpoint predictor, moves out
    of each class b ~ Multinomial(n_b; p_b1..p_bP, stay), φ ← φ + dt φ̇(n~, φ~)."""

    coupling = "common random numbers"

    def step(self, t, y: CountState, params, dt, key: PRNGKeyArray):
        self, y, params, dt = sampled(self, y, params, dt)
        probs = self._probabilities(y, params, dt)
        return self._moved(y, params, dt, _multinomial_moves(key, y.n, probs[0]), probs)

    def _probabilities(self, y, params, dt):
        """`(p[b, a], n_mid, φ_mid, each row's total before rescaling)`."""
        R, delta, omega = _rates(params, y.phi.dtype)
        return _midpoint_probabilities(y.n, y.phi, dt, R, delta, omega, self.kinetics)

    def _moved(self, y, params, dt, moves, probs):
        """The state after `moves[b, a]`, φ advanced at the midpoint (`probs`)."""
        R, delta, omega = _rates(params, y.phi.dtype)
        _, n_mid, phi_mid, total = probs
        n = y.n - jnp.sum(moves, axis=1) + jnp.sum(moves, axis=0)
        phi = y.phi + dt * class_phase_velocity(n_mid, phi_mid, R, delta, omega, self.kinetics)
        new = CountState(n=n.astype(y.n.dtype), phi=phi.astype(y.phi.dtype))
        over = total > 1
        stop = CountState(n=jnp.where(over, -1 - y.n, y.n), phi=y.phi)
        return _leap(y, stop, new, jnp.any(y.n < 0), over)

    def coupled_step(self, fine, t, y, y_fine, params, dt, key):
        """Common random numbers: each of the dt step's movers is, with
        probability ½ each, a mover of the first or the second half (a
        member moves to a in the first half with probability p_a/2, in the
        second, if it has not moved yet, with (p_a/2)/(1 − s/2)); in each half
        the dt run's not-yet-moved members and the dt/2 run's members draw
        their moves from one key. Where a link's binomial is drawn by
        inversion (mean <= 10) the sampler is monotone in n and p, so the two
        draws differ by about their means' difference; by rejection (larger
        means) they part where their acceptances differ (~1% of draws). Each
        run has exactly its own law; the dt run is re-drawn (its law, not
        `step`'s bits)."""
        self, y, params, dt = sampled(self, y, params, dt)
        fine, y_fine = sampled(fine, y_fine, params, dt)[:2]
        probs_c = self._probabilities(y, params, dt)
        half = 0.5 * probs_c[0]
        later = half / jnp.maximum(1.0 - jnp.sum(half, axis=1), jnp.finfo(half.dtype).tiny)[:, None]

        def half_step(carry, xs):  # a scan: the halves are one traced body
            y_fine, moves_c, left = carry  # left: the dt run's members not yet moved
            q, k = xs
            probs_f = fine._probabilities(y_fine, params, dt / 2)
            mc = _multinomial_moves(k, left, q)
            mf = _multinomial_moves(k, y_fine.n, probs_f[0])  # the same key
            y_fine = fine._moved(y_fine, params, dt / 2, mf, probs_f)
            return (y_fine, moves_c + mc, left - jnp.sum(mc, axis=1)), None

        carry = (y_fine, jnp.zeros_like(half), y.n)
        xs = (jnp.stack([half, later]), jax.random.split(key, 2))
        (y_fine, moves_c, _), _ = jax.lax.scan(half_step, carry, xs)
        return self._moved(y, params, dt, moves_c, probs_c), y_fine

    def check(self, y, params, dt=None):
        if not isinstance(y, CountState):
            raise ValueError("y0 must be a jqd.copy.CountState(n, phi).")
        check_counts(y.n, y.phi, self.n_states)
        check_params(params, self.n_states)

    def checks(self, y, params, dt=None):
        return (
            count_guards(y.n)
            + hamiltonian_guards(params)
            + leap_guards(y.n, y.phi, params, dt, self.kinetics)
        )

    def decoded(self, y):
        marked = y.n < 0
        c = CountState(n=jnp.where(marked, -1 - y.n, y.n), phi=y.phi)
        return jnp.any(marked), jnp.argmax(marked), c


class CopyMembersTauLeap(AbstractCopyTauLeap):
    """Tau-leaping copy process at member level. State `MemberState(a, phi)`,
    params `MatrixParams`. Per step: `CopyCountsTauLeap`'s move probabilities, one
    categorical draw per member; member phases by the per-member S40 (midpoint),
    a mover takes its new class's phase. No `rates` (factorized S40 only)."""

    coupling = "shared uniforms"  # jqd/copy/_coupling.py

    def __check_init__(self):
        if self.rates is not None:
            raise ValueError(
                "CopyMembersTauLeap takes no rates (its member phases follow the factorized "
                "S40); use CopyCountsTauLeap(n_states, rates=...)."
            )

    def step(self, t, y: MemberState, params, dt, key: PRNGKeyArray):
        self, y, params, dt = sampled(self, y, params, dt)
        u = jax.random.uniform(key, y.a.shape, dtype=y.phi.dtype)
        return self._advance(y, params, dt, u)[0]

    def coupled_step(self, fine, t, y, y_fine, params, dt, key):
        """The dt step's uniforms split into the half steps' (`half_uniforms`;
        a member's movers already fill [0, s), s its move probability)."""
        self, y, params, dt = sampled(self, y, params, dt)
        fine, y_fine = sampled(fine, y_fine, params, dt)[:2]
        u = jax.random.uniform(key, y.a.shape, dtype=y.phi.dtype)
        y1, s = self._advance(y, params, dt, u)
        c1, c2 = half_uniforms(jax.random.fold_in(key, 1), u, s)
        step = lambda _, y, c: fine._advance(y, params, dt / 2, c)[0]
        return y1, half_steps(step, y_fine, t, dt, jnp.stack([c1, c2]))

    def _advance(self, y: MemberState, params, dt, u):
        """(the state after one step with the members' uniforms `u`, each
        member's move probability)."""
        P = self.n_states
        dtype = y.phi.dtype
        R, delta, omega = _rates(params, dtype)
        n, zc, zs = _member_sums(y, P)
        phic = _class_phases(n, zc, zs)
        p, n_mid, phic_mid, total = _midpoint_probabilities(n, phic, dt, R, delta, omega, self.rule)
        v0 = member_phase_velocity(y.phi, y.a, n, zc, zs, R, delta, omega)
        y_mid = MemberState(a=y.a, phi=y.phi + 0.5 * dt * v0)
        _, zc_m, zs_m = _member_sums(y_mid, P)
        v1 = member_phase_velocity(y_mid.phi, y.a, n_mid, zc_m, zs_m, R, delta, omega)
        phi_new = y.phi + dt * v1
        phic_new = phic + dt * class_phase_velocity(n_mid, phic_mid, R, delta, omega)
        cum = jnp.cumsum(p, axis=1)  # (P, P)
        rows = cum[y.a]  # (N, P)
        dest = jnp.sum(u[:, None] >= rows, axis=1)  # P means stay
        moved = dest < P
        a_new = jnp.where(moved, dest, y.a).astype(y.a.dtype)
        phi_new = jnp.where(moved, phic_new[jnp.minimum(dest, P - 1)], phi_new)
        new = MemberState(a=a_new, phi=phi_new.astype(dtype))
        over = (total > 1)[y.a]
        stop = MemberState(a=jnp.where(over, -1 - y.a, y.a).astype(y.a.dtype), phi=y.phi)
        return _leap(y, stop, new, jnp.any(y.a < 0), over), rows[:, -1]

    def check(self, y, params, dt=None):
        if not isinstance(y, MemberState):
            raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
        check_members(y.a, self.n_states, y.phi)
        check_params(params, self.n_states)

    def checks(self, y, params, dt=None):
        out = member_guards(y.a, self.n_states) + hamiltonian_guards(params)
        c = counts_from_members(y, self.n_states)
        return out + leap_guards(c.n, c.phi, params, dt, self.rule)

    def decoded(self, y):
        marked = y.a < 0
        b = -1 - y.a[jnp.argmax(marked)]
        dec = MemberState(a=jnp.where(marked, -1 - y.a, y.a), phi=y.phi)
        return jnp.any(marked), b, counts_from_members(dec, self.n_states)
