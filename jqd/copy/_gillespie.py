"""The exact, event-driven copy process (physics §5.3, S39-S40): thinning with
the bound Λ = Σ_{a<b} 2R_ab √(n_a n_b), phases by RK4 between candidates
(docs/internals/copy.md#thinning)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .. import _guards, _steppers
from .._evolve import Solution, evolve
from .._guards import Check, array_module, count
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ._kinetics import (
    CountState,
    MemberState,
    _rates,
    check_counts,
    check_members,
    check_params,
    check_rates,
    class_phase_velocity,
    count_guards,
    counts_from_members,
    hamiltonian_guards,
    member_guards,
    sampled,
    transfer_rates,
)

STEP_CAP = 2  # breakdown code: a step hit max_steps before its end time
MAX_EVENTS = 10**8  # copy_gillespie's default budget of thinning candidates


class StepCapError(BreakdownError):
    """A step of the event-driven copy process hit `max_steps` before its end time."""


class AbstractThinningState(eqx.Module):
    """Phases `phi`, accepted events `n_events`, candidates `n_proposals`, and
    `capped` (a step stopped at `max_steps`)."""

    phi: Array
    n_events: Array
    n_proposals: Array
    capped: Array


class AbstractThinningCopy(AbstractLaw):
    """A copy process simulated exactly by thinning: `step` runs every candidate
    from t to t + dt, phases by RK4 over waits capped at `max_substep`, at most
    `max_steps` iterations (then `StepCapError`); a dt expected to need more
    than `max_events_per_step` candidates or substeps (None: no bound) is refused."""

    n_states: int = eqx.field(static=True)
    max_substep: float = eqx.field(static=True, default=0.02, converter=float)
    max_steps: int = eqx.field(static=True, default=2**31 - 1, converter=int)
    max_events_per_step: int | None = eqx.field(static=True, default=MAX_EVENTS)
    stochastic = True
    breakdowns = {
        STEP_CAP: Reason(
            StepCapError,
            "a step of the copy process hit its iteration cap (max_steps) before its end "
            "time, so the state stopped short",
            "Raise max_steps (the law's, or copy_gillespie(max_steps=...)) or shorten the "
            "step (more save times ts, or a smaller dt).",
        )
    }

    def __check_init__(self):
        if not self.max_substep > 0:
            raise ValueError(f"max_substep must be positive; got {self.max_substep}.")
        if not 1 <= self.max_steps <= 2**31 - 1:
            raise ValueError(f"max_steps must be in [1, 2**31 - 1]; got {self.max_steps}.")

    def thin(self, t, dt, key, R, y, n, z, draw, event):
        """Every thinning candidate from t to t + dt (Λ = Σ_{a<b} `candidate_weights`)
        from occupations n, phases z and beables y.a, continuing y's counters.
        `draw(key, i) -> (key, e ~ Exp(1), rest)` gives iteration i's random
        numbers; `event(t, h, candidate, n, z, a, W, Λ, rest) -> (z, a, accept,
        src, dst)` advances the phases by h, then makes the candidate's copy.
        Returns `(capped, n, z, a, n_events, n_proposals, iterations)`."""
        dtype = y.phi.dtype
        P = self.n_states
        iu = jnp.triu(jnp.ones((P, P), dtype=bool), 1)
        t_start = jnp.asarray(t, dtype)
        t_target = t_start + jnp.asarray(dt, dtype)
        h_max = jnp.asarray(self.max_substep, dtype)

        def running(c):
            t, *_, steps = c
            return (t < t_target) & (steps < self.max_steps)

        def body(c):
            t, n, z, a, k, n_ev, n_prop, steps = c
            k, e, rest = draw(k, steps)
            w = jnp.where(iu, candidate_weights(R, n), 0.0)
            lam = jnp.sum(w)
            # a candidate after e/Λ if within min(h_max, t_target − t), else a capped substep
            tau = jnp.where(lam > 0, e / jnp.where(lam > 0, lam, 1.0), jnp.inf)
            room = jnp.minimum(h_max, t_target - t)
            candidate = tau <= room
            h = jnp.where(candidate, tau, room)
            t_new = jnp.where(candidate, t + tau, jnp.where(room == t_target - t, t_target, t + h))
            z, a, accept, src, dst = event(t, h, candidate, n, z, a, w, lam, rest)
            one = jnp.where(accept, 1.0, 0.0).astype(n.dtype)
            n = n.at[src].add(-one).at[dst].add(one)
            n_ev = n_ev + accept.astype(jnp.int32)
            n_prop = n_prop + candidate.astype(jnp.int32)
            return t_new, n, z, a, k, n_ev, n_prop, steps + 1

        zero = jnp.zeros((), jnp.int32)
        carry = (t_start, n, z, y.a, key, y.n_events, y.n_proposals, zero)
        t_end, n, z, a, _, n_ev, n_prop, steps = jax.lax.while_loop(running, body, carry)
        return t_end < t_target, n, z, a, n_ev, n_prop, steps

    def monitor(self, t, y, params, dt=None):
        return ~y.capped, STEP_CAP, jnp.zeros((0,), y.phi.dtype)

    def check_counters(self, y, params) -> None:
        if jnp.ndim(y.n_events) != 0:
            raise ValueError(
                f"y0's counters must be scalars; got shape {jnp.shape(y.n_events)}. "
                "For a batch of ensembles use jax.vmap."
            )
        check_params(params, self.n_states)

    def budget_guards(self, n, params, dt) -> list[Check]:
        """At most `max_events_per_step` candidates or substeps per step."""
        if dt is None or self.max_events_per_step is None:
            return []
        cap = self.max_events_per_step
        events = candidate_rate(n, params) * dt
        substeps = dt / self.max_substep
        fix = (
            f"more than max_events_per_step = {cap:.0e}. Use a smaller dt, fewer members, a "
            "larger max_substep or tau-leaping (jqd.copy.CopyCountsTauLeap); "
            "max_events_per_step=None runs it anyway."
        )
        return [
            Check(events <= cap, f"dt: ~{{value}} thinning candidates per step, {fix}", events),
            Check(
                substeps <= cap,
                f"dt / max_substep = {{value}} phase substeps per step, {fix}",
                substeps,
            ),
        ]


def candidate_weights(R, n):
    """[a, b]: 2R_ab √(n_a n_b), the candidate rate of class pair (a, b)."""
    return 2.0 * R * jnp.sqrt(n[:, None] * n[None, :])


def candidate_rate(n, params):
    """Λ = Σ_{a<b} 2R_ab √(n_a n_b) (concrete or traced), ≥ the copy event rate."""
    xp = array_module(n, params)
    n = xp.asarray(n)
    H = xp.asarray(params.H)
    P = n.shape[-1]
    R = xp.abs(xp.where(xp.eye(P, dtype=bool), 0, H)) / params.hbar
    iu = xp.triu(xp.ones((P, P), dtype=bool), 1)
    return xp.sum(xp.where(iu, 2.0 * R * xp.sqrt(xp.maximum(n[:, None] * n[None, :], 0)), 0))


def budget_guards(n, params, span, max_events) -> list[Check]:
    """The expected thinning candidates of a run may not exceed `max_events`."""
    max_events = count(max_events, "max_events")
    rate = candidate_rate(n, params)
    expected = rate * span

    message = (
        "the run is expected to take ~{expected:.3g} thinning candidates (Λ = {rate:.3g} per "
        f"unit time at y0 over t = {{span:.3g}}), more than max_events = {max_events:.3g}: "
        "{seconds:.3g} s or more in a loop that Ctrl-C cannot interrupt. Pass "
        "max_events={suggest:.3g} (or None) to run it anyway, shorten the time span, or use "
        "tau-leaping for large N (jqd.copy.CopyCountsTauLeap)."
    )
    values = {"expected": expected, "rate": rate, "span": span}
    values |= {"seconds": expected * 1e-6, "suggest": expected * 2}
    return [Check(expected <= max_events, message, values)]


def pick_pair(W, v):
    """(row, column) where the row-major running sum of W ≥ 0 first exceeds v."""
    P = W.shape[0]
    flat = W.ravel()
    idx = jnp.minimum(jnp.sum(jnp.cumsum(flat) <= v), P * P - 1)
    # guard against landing on a zero-weight entry through round-off
    idx = jnp.where(flat[idx] > 0, idx, jnp.argmax(flat))
    return idx // P, idx % P


class GillespieState(AbstractThinningState):
    """State of `CopyGillespie`: occupations `n` (P,), class phases `phi` (P,),
    beables `a` (N,) int32 (None at count level), loop iterations `n_iterations`."""

    n: Array
    a: Array | None
    n_iterations: Array

    def counts(self) -> CountState:
        """The count-level state (n, φ)."""
        return CountState(n=self.n, phi=self.phi)

    def members(self) -> MemberState:
        """The member-level state (a, φ_{a_I}) (aligned phases)."""
        return MemberState(a=self.a, phi=self.phi[self.a].astype(self.phi.dtype))


def gillespie_state(y0: CountState | MemberState, n_states: int | None = None) -> GillespieState:
    """The `CopyGillespie` state of a `CountState` or a `MemberState` (needs
    `n_states`; the class phase is the members' circular mean)."""
    if isinstance(y0, GillespieState):
        return y0
    if isinstance(y0, MemberState):
        if n_states is None:
            raise ValueError("n_states is required when y0 is a MemberState.")
        check_members(y0.a, int(n_states), y0.phi)
        c = counts_from_members(y0, int(n_states))
        n, phi, a = c.n, c.phi, y0.a
    elif isinstance(y0, CountState):
        P = int(np.shape(y0.n)[-1])
        if n_states is not None and int(n_states) != P:
            raise ValueError(f"n_states={n_states} but y0.n has {P} classes.")
        check_counts(y0.n, y0.phi, P)
        n, phi, a = jnp.asarray(y0.n), jnp.asarray(y0.phi), None
    else:
        raise ValueError("y0 must be a jqd.copy.CountState or jqd.copy.MemberState.")
    zero = np.zeros((), np.int32)  # NumPy: no program for a constant
    return GillespieState(
        n=n.astype(phi.dtype),
        phi=phi,
        a=a,
        n_events=zero,
        n_proposals=zero,
        n_iterations=zero,
        capped=np.zeros((), bool),
    )


def _pick_member(key, a, cls, N, active):
    """A uniform member of class `cls` by rejection; none unless `active` (a
    vmapped cond must not loop on an empty class)."""

    def cond(c):
        _, idx = c
        return active & (a[idx] != cls)

    def body(c):
        k, _ = c
        k, sub = jax.random.split(k)
        return k, jax.random.randint(sub, (), 0, N)

    k, sub = jax.random.split(key)
    _, idx = jax.lax.while_loop(cond, body, (k, jax.random.randint(sub, (), 0, N)))
    return idx


class CopyGillespie(AbstractThinningCopy):
    """The exact event-driven copy process (physics §5.3). State `GillespieState`
    (`gillespie_state`), params `MatrixParams(H, hbar)`, `rule` "consistent" (S32)
    or "printed" (S39); member level adds one uniform copier per event."""

    rule: str = eqx.field(static=True, default="consistent")

    def __check_init__(self):
        check_rates(None, self.rule)

    def step(self, t, y: GillespieState, params, dt, key: PRNGKeyArray) -> GillespieState:
        self, y, params, dt = sampled(self, y, params, dt)
        dtype = y.phi.dtype
        R, delta, omega = _rates(params, dtype)

        def draw(k, steps):
            k, k_tau, *rest = jax.random.split(k, 5)
            return k, jax.random.exponential(k_tau, (), dtype=dtype), rest

        def event(t, h, candidate, n, phi, a, w, lam, keys):
            k_acc, k_pair, k_mem = keys
            flow = lambda s, p: class_phase_velocity(n, p, R, delta, omega)
            phi = _steppers.rk4(flow, t, phi, h)
            T = transfer_rates(n, phi, R, delta, self.rule)
            total = jnp.sum(T)
            u = jax.random.uniform(k_acc, (), dtype=dtype)
            accept = candidate & (u * lam < total)
            src, dst = pick_pair(T, jax.random.uniform(k_pair, (), dtype=dtype) * total)
            if a is not None:
                X = _pick_member(k_mem, a, src, a.shape[0], accept)
                # one-element scatter (in place in the loop), no O(N) select
                a = a.at[X].set(jnp.where(accept, dst.astype(a.dtype), a[X]))
            return phi, a, accept, src, dst

        capped, n, phi, a, n_ev, n_prop, steps = self.thin(
            t, dt, key, R, y, y.n, y.phi, draw, event
        )
        return GillespieState(
            n=n,
            phi=phi,
            a=a,
            n_events=n_ev,
            n_proposals=n_prop,
            n_iterations=y.n_iterations + steps,
            capped=y.capped | capped,
        )

    def check(self, y, params, dt=None):
        if not isinstance(y, GillespieState):
            raise ValueError(
                "y0 must be a jqd.copy.GillespieState; build it with "
                "jqd.copy.gillespie_state(CountState(n, phi)) or gillespie_state(MemberState(a, "
                "phi), n_states)."
            )
        check_counts(y.n, y.phi, self.n_states)
        if y.a is not None:
            check_members(y.a, self.n_states)
        self.check_counters(y, params)

    def checks(self, y, params, dt=None):
        out = count_guards(y.n) + hamiltonian_guards(params)
        if y.a is not None:
            out += member_guards(y.a, self.n_states)
        return out + self.budget_guards(y.n, params, dt)

    def density(self, y):
        return y.n / jnp.sum(y.n, axis=-1, keepdims=True)


_observe_counts = lambda t, y, params: y.counts()  # module level: one program per run kind
_observe_members = lambda t, y, params: y.members()


def copy_gillespie(
    y0: CountState | MemberState | GillespieState,
    params,
    ts,
    key: PRNGKeyArray,
    *,
    n_states: int | None = None,
    max_substep: float = 0.02,
    max_steps: int = 2**31 - 1,
    max_events: int | None = MAX_EVENTS,
    rule: str = "consistent",
    observe=None,
    on_breakdown: str = "raise",
) -> Solution:
    """Exact event-driven copy process saved at the times `ts` (`jqd.evolve`
    of `CopyGillespie`, one step per save interval).

    Args:
        y0: `CountState(n, phi)`, `MemberState(a, phi)` (aligned phases; the
            class phase is their circular mean), or a `GillespieState` to continue.
        params: `MatrixParams(H, hbar)`.
        ts: uniformly spaced increasing save times; `ts[0]` is the initial time.
        key: PRNG key.
        n_states: P (required for a MemberState; else read from y0.n).
        max_substep: largest RK4 step of the phase flow between candidates.
        max_steps: loop iterations allowed per save interval; hitting it raises
            `StepCapError` (or, with `on_breakdown="flag"`, stops the run).
        max_events: the expected thinning candidates Λ(y0)·(ts[-1] − ts[0])
            may not exceed it (default 1e8, a minute or two on a CPU). None: no bound.
        rule: "consistent" (S32) or "printed" (S39 as printed).
        observe: `f(t, y, params)` of the `GillespieState`, as for `jqd.evolve`.
            Default: the `CountState`, or the `MemberState` at member level.
        on_breakdown: "raise" or "flag", as for `jqd.evolve`.

    Returns:
        A `jqd.Solution` (`y_final` the `GillespieState`); `stats` adds this
        run's `n_events`, `n_proposals` and `n_iterations`. vmap over `key` (and
        `y0`) for independent ensembles.
    """
    state = gillespie_state(y0, n_states)
    law = CopyGillespie(
        int(np.shape(state.n)[-1]),
        rule=rule,
        max_substep=max_substep,
        max_steps=max_steps,
        max_events_per_step=None if max_events is None else max(int(max_events), MAX_EVENTS),
    )
    ts = ts if _guards.is_traced(ts) else np.asarray(ts)  # (jnp.asarray: a program per shape)
    if ts.ndim != 1 or ts.shape[0] < 2:
        raise ValueError(
            f"ts must be a 1-D array of at least two save times; got shape {ts.shape}."
        )
    n_save = ts.shape[0] - 1
    if not _guards.is_traced(ts):  # host arithmetic: eager jnp would compile a program per op
        t_np = np.asarray(ts, float)
        step = np.diff(t_np)
        if np.any(step <= 0) or not np.allclose(step, step.mean(), rtol=1e-9, atol=0):
            raise ValueError(
                "ts must be increasing and uniformly spaced (save times of jqd.evolve); "
                "use jnp.linspace(t0, t1, n_save + 1)."
            )
        t0, span = t_np[0], t_np[-1] - t_np[0]
        dt = span * (1.0 / n_save)  # as XLA divides by a constant: the same bits
    else:
        t0, span = ts[0], ts[-1] - ts[0]
        dt = span / n_save
    if max_events is not None:
        state = _guards.enforce(
            budget_guards(state.n, params, span, max_events), state, "copy_gillespie"
        )
    if observe is None:
        observe = _observe_counts if state.a is None else _observe_members
    sol = evolve(
        law,
        state,
        params,
        dt=dt,
        n_save=n_save,
        t0=t0,
        observe=observe,
        key=key,
        checkpoint=False,
        on_breakdown=on_breakdown,
    )
    end = sol.y_final
    stats = dict(sol.stats)
    host = not _guards.is_traced(end, state)
    for name in ("n_events", "n_proposals", "n_iterations"):
        a, b = getattr(end, name), getattr(state, name)
        stats[name] = np.asarray(a) - np.asarray(b) if host else a - b
    return Solution(ts=sol.ts, observables=sol.observables, y_final=end, stats=stats)
