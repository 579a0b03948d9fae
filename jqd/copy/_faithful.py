"""The faithful member-level copy process (physics §5.8): every member keeps its
own phase (from an aligned start it is `CopyGillespie`); docs/internals/copy.md#thinning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .. import _steppers
from ._gillespie import (
    AbstractThinningCopy,
    AbstractThinningState,
    pick_pair,
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
    """State of `CopyMembersFaithful`: beables `a` (N,) int32 and each member's
    phase `phi` (N,)."""

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
    """V = Σ_a (n_a/N)(1 − |⟨e^{iφ}⟩_a|) of a `MemberState` or `FaithfulState`
    (0 when every class is aligned)."""
    n, zc, zs = _member_sums(MemberState(a=y.a, phi=y.phi), n_states)
    return 1.0 - jnp.sum(jnp.hypot(zc, zs)) / jnp.sum(n)


def member_flow(z, onehot, n, R, delta, omega):
    """S40 per member on the unit circle: (ċ, ṡ) = (−s, c) φ̇ of z = (c, s) =
    (cos φ, sin φ); `onehot` (N, P) the classes."""
    c, s = z
    zc, zs = jnp.sum(c[:, None] * onehot, axis=0), jnp.sum(s[:, None] * onehot, axis=0)
    A, B = member_phase_coefficients(n, zc, zs, R, delta)
    at = lambda v: jnp.sum(onehot * v[None, :], axis=1)  # v[a_I]
    v = at(omega) + c * at(A) + s * at(B)
    return (-s * v, c * v)


def pick_member(u, a, cls, n_cls):
    """The ⌊u n_cls⌋-th member (index order) of class `cls`, O(N)."""
    rank = jnp.minimum(jnp.floor(u * n_cls), n_cls - 1)
    return jnp.argmax(jnp.cumsum(a == cls) > rank)


def copy_direction(s, u):
    """+1 (X copies Y) with prob. sin⁺θ, −1 (Y copies X) with sin⁺(−θ), else 0; s = sin θ."""
    fwd = u < jnp.maximum(s, 0.0)
    back = (~fwd) & (u < jnp.abs(s))
    return jnp.where(fwd, 1, jnp.where(back, -1, 0))


class AbstractCopyMembersFaithful(AbstractThinningCopy):
    """The faithful member-level copy process but its `step` (iteration i draws
    uniform(fold_in(key, i), (5,)))."""

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
        n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=self.n_states)
        return n / jnp.sum(n)


class CopyMembersFaithful(AbstractCopyMembersFaithful):
    """The faithful member-level copy process (physics §5.8), reference form:
    each candidate integrates every member's phase (O(NP)). State `FaithfulState`
    (`faithful_state`), params `MatrixParams(H, hbar)`."""

    def step(self, t, y: FaithfulState, params, dt, key: PRNGKeyArray) -> FaithfulState:
        self, y, params, dt = sampled(self, y, params, dt)
        P = self.n_states
        dtype = y.phi.dtype
        R, delta, omega = _rates(params, dtype)
        n0 = jax.ops.segment_sum(jnp.ones(y.a.shape, dtype), y.a, num_segments=P)

        def draw(k, steps):
            sub = jax.random.fold_in(k, steps)  # iteration i: fold_in(key, i)
            u_tau, *rest = jax.random.uniform(sub, (5,), dtype=dtype)
            return k, -jnp.log1p(-u_tau), rest  # Exp(1)

        def event(t, h, candidate, n, z, a, w, lam, u):
            u_pair, u_x, u_y, u_dir = u
            onehot = (a[:, None] == jnp.arange(P)).astype(dtype)
            flow = lambda s, p: member_flow(p, onehot, n, R, delta, omega)
            cz, sz = _steppers.rk4(flow, t, z, h)
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
            put = lambda x: x.at[copier].set(jnp.where(d != 0, x[model], x[copier]))
            return (put(cz), put(sz)), put(a), d != 0, src, dst  # one-element scatters

        z0 = (jnp.cos(y.phi), jnp.sin(y.phi))
        capped, _, (cz, sz), a, n_ev, n_prop, _ = self.thin(t, dt, key, R, y, n0, z0, draw, event)
        # phases returned in (−π, π]; the state is defined modulo 2π
        phi = jnp.arctan2(sz, cz).astype(dtype)
        return FaithfulState(
            a=a, phi=phi, n_events=n_ev, n_proposals=n_prop, capped=y.capped | capped
        )
