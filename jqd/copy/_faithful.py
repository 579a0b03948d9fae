"""The faithful member-level copy process (physics §5.8): every member keeps its
own phase; no phase alignment is assumed.

The copy rule of `_kinetics.py` with the two members' own phases (R_aa = 0:
members of one class never copy each other); between events every phase
follows S40 literally, as a sum over the members J:

    φ̇_I = ω_{a_I} + Σ_J R_{a_I a_J} cos(φ_I − φ_J + δ_{a_I a_J}) / √(n_I n_J)
         = ω_{a_I} + Σ_b R_{a_I b}/√(n_{a_I} n_b) Re[e^{i(φ_I + δ_{a_I b})} Z_b],

Z_b = Σ_{J∈b} e^{−iφ_J} (`member_flow`). Aligned (φ_I = φ_{a_I}), |Z_b| = n_b:
this is the class law of `CopyGillespie`, and aligned members stay aligned,
so from an aligned start this process *is* `CopyGillespie`
(tests/test_copy_faithful.py). Misaligned, |Z_b| < n_b: diverse classes
couple more weakly.

Exact simulation by thinning. For any two members X ∈ a, Y ∈ b (a ≠ b) the
two directed rates sum to 2R_ab |sin θ|/√(n_a n_b) ≤ 2R_ab/√(n_a n_b),
θ = φ_Y − φ_X + δ_ba. So candidates arrive at Λ = Σ_{a<b} 2R_ab √(n_a n_b)
(the bound of `CopyGillespie`); a candidate picks the class pair a < b ∝
2R_ab √(n_a n_b), one uniform member of each, then X copies Y with
probability sin⁺θ, Y copies X with probability sin⁺(−θ), else nothing.
Phases are integrated by RK4 over each waiting time (capped at
`max_substep`) as points (cos φ, sin φ) on the unit circle (no sin/cos per
member in the loop); this RK4 error is the only approximation. Cost O(NP)
per candidate; `CopyMembersFaithfulMobius` is the same process at O(P·K +
N/64). Iteration i of a step (a candidate or a capped substep) uses
uniform(fold_in(key, i), (5,)) in both forms: one key, the same events.
"""

from __future__ import annotations

import abc

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .. import _steppers
from ._gillespie import (
    STEP_CAP,
    AbstractThinningCopy,
    AbstractThinningState,
    candidate_weights,
    next_candidate,
    pick_pair,
    step_cap_reason,
)
from ._kinetics import (
    MemberState,
    _member_sums,
    _rates,
    check_members,
    hamiltonian_guards,
    member_guards,
    member_phase_coefficients,
    sampled,
)


class FaithfulState(AbstractThinningState):
    """State of `CopyMembersFaithful`.

    Attributes:
        a: (N,) int32 beable of each member.
        phi: (N,) each member's own phase.
        n_events, n_proposals, capped: as in `AbstractThinningState`.
    """

    a: Array

    def members(self) -> MemberState:
        return MemberState(a=self.a, phi=self.phi)


def faithful_state(y0: MemberState) -> FaithfulState:
    """The `CopyMembersFaithful` state of a `MemberState(a, phi)` (any phases)."""
    if isinstance(y0, FaithfulState):
        return y0
    if not isinstance(y0, MemberState):
        raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
    zero = jnp.zeros((), jnp.int32)
    phi = jnp.asarray(y0.phi)
    if not jnp.issubdtype(phi.dtype, jnp.floating):
        phi = phi.astype(float)
    return FaithfulState(
        a=jnp.asarray(y0.a), phi=phi, n_events=zero, n_proposals=zero, capped=jnp.zeros((), bool)
    )


def circular_variance(y, n_states: int) -> Array:
    """V = Σ_a (n_a/N)(1 − |⟨e^{iφ}⟩_a|) = 1 − Σ_a |Σ_{J∈a} e^{iφ_J}|/N for a
    `MemberState` or `FaithfulState`: 0 when every class is aligned."""
    y = MemberState(a=y.a, phi=y.phi)
    n, zc, zs = _member_sums(y, n_states)
    return 1.0 - jnp.sum(jnp.hypot(zc, zs)) / jnp.sum(n)


def member_flow(z, onehot, n, R, delta, omega):
    """S40 per member (module docstring) on the unit circle: z = (cos φ, sin φ),
    returns (ċ, ṡ) = (−sin φ, cos φ) φ̇ with φ̇ = ω_a + A_a cos φ + B_a sin φ
    (no trigonometric function per member: float64 sin/cos dominate the cost
    otherwise). `onehot` (N, P) is the members' class indicator. φ̇ equals
    `_kinetics.member_phase_velocity`."""
    c, s = z
    zc, zs = jnp.sum(c[:, None] * onehot, axis=0), jnp.sum(s[:, None] * onehot, axis=0)
    A, B = member_phase_coefficients(n, zc, zs, R, delta)
    at = lambda v: jnp.sum(onehot * v[None, :], axis=1)  # v[a_I]
    v = at(omega) + c * at(A) + s * at(B)
    return (-s * v, c * v)


def pick_member(u, a, cls, n_cls):
    """The ⌊u n_cls⌋-th member (in index order) of class `cls`: uniform for
    u ~ U(0, 1), O(N) without a loop."""
    rank = jnp.minimum(jnp.floor(u * n_cls), n_cls - 1)
    return jnp.argmax(jnp.cumsum(a == cls) > rank)


def copy_direction(s, u):
    """Given s = sin θ: +1: X copies Y (prob. sin⁺θ); −1: Y copies X (prob.
    sin⁺(−θ)); 0: none."""
    fwd = u < jnp.maximum(s, 0.0)
    back = (~fwd) & (u < jnp.abs(s))
    return jnp.where(fwd, 1, jnp.where(back, -1, 0))


def copy_member(a, c, s, copier, model, do):
    """The copy event: (a, φ)_copier ← (a, φ)_model where `do` (one-element
    scatters, in place inside the event loop); φ is held as (c, s) = (cos φ, sin φ)."""
    put = lambda x: x.at[copier].set(jnp.where(do, x[model], x[copier]))
    return put(a), put(c), put(s)


class AbstractCopyMembersFaithful(AbstractThinningCopy):
    """The faithful member-level copy process (module docstring), everything
    but `step`: state `FaithfulState` (from `faithful_state(MemberState(a,
    phi))`), params `CopyParams(H, hbar)`, checks and monitor. Attributes as
    in `AbstractThinningCopy` (jqd/copy/_gillespie.py)."""

    breakdowns = {
        STEP_CAP: step_cap_reason(
            "faithful copy process",
            "Raise CopyMembersFaithful(max_steps=...) or shorten the step (smaller dt).",
        )
    }

    @abc.abstractmethod
    def step(self, t, y: FaithfulState, params, dt, key: PRNGKeyArray) -> FaithfulState:
        """Every thinning candidate from t to t + dt; iteration i (a candidate
        or a capped substep) uses uniform(fold_in(key, i), (5,))."""

    def check(self, y, params, dt=None):
        if not isinstance(y, FaithfulState):
            raise ValueError(
                "y0 must be a jqd.copy.FaithfulState; build it with "
                "jqd.copy.faithful_state(jqd.copy.MemberState(a, phi))."
            )
        check_members(y.a, self.n_states, y.phi)
        if not jnp.issubdtype(jnp.asarray(y.phi).dtype, jnp.floating):
            raise ValueError(f"y0.phi must be a float array; got {jnp.asarray(y.phi).dtype}.")
        self.check_counters(y, params)

    def checks(self, y, params, dt=None):
        """Beables in range and a Hermitian H; a step expected to need more
        than `max_events_per_step` candidates is refused up front."""
        out = member_guards(y.a, self.n_states) + hamiltonian_guards(params)
        if dt is None or self.max_events_per_step is None:
            return out
        n = jax.ops.segment_sum(
            jnp.ones(jnp.shape(y.a), jnp.asarray(y.phi).dtype),
            jnp.clip(y.a, 0, self.n_states - 1),
            num_segments=self.n_states,
        )
        return out + self.budget_guards(n, params, dt)

    def density(self, y):
        """Occupation frequencies n_a/N."""
        n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=self.n_states)
        return n / jnp.sum(n)


class CopyMembersFaithful(AbstractCopyMembersFaithful):
    """The faithful member-level copy process, the reference form (module
    docstring): each thinning candidate integrates every member's phase
    (O(NP)). State `FaithfulState`, params `CopyParams(H, hbar)`; `step` runs
    every candidate from t to t + dt (exact in dt but for the RK4 phase
    flow). Attributes as in `AbstractThinningCopy`. vmap over keys for
    ensembles.

    Validated against: `CopyGillespie` from an aligned start (same law,
    tests/test_copy_faithful.py), and the aligned reduction of S40.
    """

    def step(self, t, y: FaithfulState, params, dt, key: PRNGKeyArray) -> FaithfulState:
        params = sampled(params, self)
        P = self.n_states
        dtype = y.phi.dtype
        N = y.a.shape[0]
        R, delta, omega = _rates(params, dtype)
        iu = jnp.triu(jnp.ones((P, P), dtype=bool), 1)
        t_start, t_target, h_max, running = self.loop_bounds(t, dt, dtype)
        n0 = jax.ops.segment_sum(jnp.ones((N,), dtype), y.a, num_segments=P)

        def body(c):
            t, n, (cz, sz), a, k, n_ev, n_prop, steps = c
            sub = jax.random.fold_in(key, steps)  # iteration i: fold_in(key, i)
            u_tau, u_pair, u_x, u_y, u_dir = jax.random.uniform(sub, (5,), dtype=dtype)
            w = jnp.where(iu, candidate_weights(R, n), 0.0)
            lam = jnp.sum(w)
            e = -jnp.log1p(-u_tau)  # Exp(1)
            candidate, h, t_new = next_candidate(e, lam, t, t_target, h_max)
            onehot = (a[:, None] == jnp.arange(P)).astype(dtype)
            flow = lambda s, p: member_flow(p, onehot, n, R, delta, omega)
            cz, sz = _steppers.rk4(flow, t, (cz, sz), h)
            norm = jnp.sqrt(cz * cz + sz * sz)  # back onto the circle (RK4 drift O(h⁵))
            cz, sz = cz / norm, sz / norm
            # class pair (ca < cb) ∝ 2R √(n n), then one member of each
            ca, cb = pick_pair(w, u_pair * lam)
            X = pick_member(u_x, a, ca, n[ca])
            Y = pick_member(u_y, a, cb, n[cb])
            # sin θ, θ = φ_Y − φ_X + δ_ba (sin and cos of a difference)
            sin_yx, cos_yx = sz[Y] * cz[X] - cz[Y] * sz[X], cz[Y] * cz[X] + sz[Y] * sz[X]
            cd, sd = jnp.cos(delta[cb, ca]), jnp.sin(delta[cb, ca])
            d = copy_direction(sin_yx * cd + cos_yx * sd, u_dir)
            d = jnp.where(candidate, d, 0)
            copier, model = jnp.where(d > 0, X, Y), jnp.where(d > 0, Y, X)
            src, dst = a[copier], a[model]
            one = jnp.where(d != 0, 1.0, 0.0).astype(dtype)
            n = n.at[src].add(-one).at[dst].add(one)
            a, cz, sz = copy_member(a, cz, sz, copier, model, d != 0)
            n_ev = n_ev + (d != 0).astype(jnp.int32)
            n_prop = n_prop + candidate.astype(jnp.int32)
            return t_new, n, (cz, sz), a, k, n_ev, n_prop, steps + 1

        zero = jnp.zeros((), jnp.int32)
        z0 = (jnp.cos(y.phi), jnp.sin(y.phi))
        carry = (t_start, n0, z0, y.a, key, y.n_events, y.n_proposals, zero)
        t_end, _, (cz, sz), a, _, n_ev, n_prop, _ = jax.lax.while_loop(running, body, carry)
        # phases returned in (−π, π]; the state is defined modulo 2π
        phi = jnp.arctan2(sz, cz).astype(dtype)
        return FaithfulState(
            a=a, phi=phi, n_events=n_ev, n_proposals=n_prop, capped=y.capped | (t_end < t_target)
        )
