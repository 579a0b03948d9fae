"""The faithful member copy process (physics §5.8) tau-leaped on its phase types
(members of one class with one phase): O(K) work per step for K live types
(docs/internals/copy.md#faithful-leap)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._law import AbstractLaw
from .._steppers import TauLeap
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

EXACT_MEAN_MAX = 4.0  # binomial draws by inversion up to this mean ...
INVERSION_TERMS = 24  # ... over this many terms: P(X > 24) < 1e-10 (Poisson's tail at 4 bounds it)
TWO_PI = 2 * np.pi
MAX_MOVE = 0.25  # largest dt × per-member copy rate of one (sub-)step


class FaithfulTypeState(eqx.Module):
    """State of `CopyFaithfulTauLeap`: members `n` (P, W) of class a on type slot
    l (integer valued floats; empty slots 0), type phases `phi` (P, W) in cyclic
    order per class, copy events `n_events` (a float), and `n_clipped`, the steps
    where a type's expected losses exceeded its members."""

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


def _width(count: int) -> int:
    """Type slots per class: the next power of two (one compile per halving)."""
    return max(2, 1 << int(np.ceil(np.log2(max(int(count), 1)))))


def faithful_type_state(y0: MemberState, n_states: int) -> FaithfulTypeState:
    """The members lumped into types (equal class and phase), sorted by phase in
    each class; W = the next power of two >= the largest class. `y0.a` must be
    concrete (it sets W); `y0.phi` may be traced."""
    if not isinstance(y0, MemberState):
        raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
    P = int(n_states)
    if isinstance(y0.a, jax.core.Tracer):
        raise ValueError(
            "y0.a must be concrete: the classes set the state's width W. Build the state "
            "outside jax.jit/jax.vmap of y0.a (its phases y0.phi may be traced)."
        )
    a_host = np.asarray(y0.a)
    if a_host.ndim != 1 or a_host.size == 0 or a_host.min() < 0 or a_host.max() >= P:
        raise ValueError(f"y0.a must hold classes 0 … {P - 1}, one per member; got {a_host}.")
    W = _width(np.bincount(a_host, minlength=P).max())
    phi = jnp.asarray(y0.phi)
    if not jnp.issubdtype(phi.dtype, jnp.floating):
        phi = phi.astype(float)
    phi = jnp.angle(jnp.exp(1j * phi))  # (−π, π]
    order = jnp.lexsort((phi, jnp.asarray(a_host)))
    a, phi = jnp.asarray(a_host)[order], phi[order]
    first = jnp.searchsorted(a, a)  # each member's class starts here
    new = jnp.concatenate([jnp.ones(1, bool), (a[1:] != a[:-1]) | (phi[1:] != phi[:-1])])
    types = jnp.cumsum(new) - 1
    slot = types - types[first]  # the type's rank within its class
    n = jnp.zeros((P, W), phi.dtype).at[a, slot].add(1.0)
    ph = jnp.full((P, W), jnp.pi, phi.dtype).at[a, slot].set(phi)  # empty slots last
    zero = jnp.zeros((), phi.dtype)
    return FaithfulTypeState(n=n, phi=ph, n_events=zero, n_clipped=zero)


def compact_types(*states: FaithfulTypeState, min_width: int = 2):
    """Host-side: drop the empty type slots (order kept), shrinking W to the next
    power of two >= the most live types of a class, but not below `min_width`
    (each width is one compile; at a few types a step costs little either way);
    call it between `jqd.evolve` calls (a step costs ∝ W). Several states (the
    pair of a `jqd.Coupled` run, whose slots the coupling pairs up) keep every
    slot live in any of them, and come back as a tuple."""
    alive = np.any([np.asarray(y.n) > 0 for y in states], axis=0)
    W = max(_width(alive.sum(-1).max()), int(min_width))
    if W < alive.shape[-1]:
        keep = np.argsort(~alive, axis=-1, kind="stable")[..., :W]
        take = lambda x: jax.device_put(np.take_along_axis(np.asarray(x), keep, -1))
        states = tuple(
            FaithfulTypeState(take(y.n), take(y.phi), y.n_events, y.n_clipped) for y in states
        )
    return states if len(states) > 1 else states[0]


def binomial(key, n, q):
    """Binomial(n, q) per element from one uniform each: inversion when the
    rarer outcome's mean is <= EXACT_MEAN_MAX, else the rounded normal clipped
    to [0, n] (jax.random.binomial's rejection loop was most of a step)."""
    return _binomial_from(jax.random.uniform(key, n.shape, n.dtype), n, q)


def _binomial_from(u, n, q):
    """`binomial` given its uniforms u."""
    flip = q > 0.5
    p = jnp.where(flip, 1.0 - q, q)
    m = n * p
    small = m <= EXACT_MEAN_MAX
    ps = jnp.where(small, p, 0.0)
    r = ps / (1.0 - ps)
    pk = jnp.exp(n * jnp.log1p(-ps))

    # inversion: x counts the terms whose cdf is below u; the cdf only grows,
    # so the loop stops once every u is passed (and more terms change no x)
    def term(c):
        k, cdf, x, pk = c
        pk = pk * jnp.maximum(n - k, 0.0) / (k + 1) * r
        return k + 1, cdf + pk, x + (u > cdf), pk

    more = lambda c: (c[0] < INVERSION_TERMS) & jnp.any(u > c[1])
    x = jax.lax.while_loop(more, term, (0, pk, jnp.zeros_like(n), pk))[2]
    g = jax.scipy.special.ndtri(jnp.clip(u, 1e-300, 1.0 - 1e-16))
    x = jnp.clip(jnp.where(small, x, jnp.floor(m + jnp.sqrt(m * (1.0 - p)) * g + 0.5)), 0.0, n)
    return jnp.where(flip, n - x, x)


LOOP_NODES = 64  # tree levels up to this many nodes share one loop (see `multinomial`)


def multinomial(key, total, weights):
    """Multinomial(total, weights/Σweights) by binomial splits down a binary tree
    (len(weights) = W a power of two): O(W) work, log2(W) levels. The levels
    of up to L = min(W/2, LOOP_NODES) nodes run in one loop over arrays of L
    (zero-padded: an empty node splits into zeros), the wider ones (W > 128)
    one by one: the program holds one key split, uniform draw and binomial
    loop for the narrow levels, not one per level (the compile time grew with
    W), for at most log2(L)·L padded draws. A level's uniforms are the first
    ones of L drawn from its key: with JAX's partitionable threefry the same
    draws as at the level's own size."""
    W = weights.shape[-1]
    levels = [weights]
    while levels[-1].shape[-1] > 1:
        levels.append(levels[-1].reshape(-1, 2).sum(-1))

    def ratio(w):  # the left child's share of each node's weight
        w = w.reshape(-1, 2)
        tot = w.sum(-1)
        return jnp.where(tot > 0, w[:, 0] / jnp.where(tot > 0, tot, 1.0), 0.0)

    def split(key, counts, q):
        key, sub = jax.random.split(key)
        left = _binomial_from(jax.random.uniform(sub, counts.shape, counts.dtype), counts, q)
        return key, jnp.stack([left, counts - left], -1).reshape(-1)

    L = min(W // 2, LOOP_NODES)
    narrow = [ratio(w) for w in reversed(levels[:-1]) if w.shape[-1] <= 2 * L]  # root first
    qs = jnp.stack([jnp.pad(q, (0, L - q.shape[-1])) for q in narrow])
    counts = jnp.zeros(L, weights.dtype).at[0].set(total)

    def narrow_level(i, carry):  # the first 2^i counts are level i's nodes
        key, counts = carry
        key, counts = split(key, counts, qs[i])
        return key, counts[:L]

    key, counts = jax.lax.fori_loop(0, len(narrow) - 1, narrow_level, (key, counts))
    key, counts = split(key, counts, qs[-1])  # its children fill 2L slots
    for w in reversed(levels[: -len(narrow) - 1]):  # the wide levels
        key, counts = split(key, counts, ratio(w))
    return counts


PEEL_MIN = 256  # widths from this one reuse the sizing rates (a larger program)
PAIRWISE_MAX = 32  # widths up to this sum over all type pairs: one fused loop beats the searches


def _prefix_sums(theta, w):
    """One class's phases unwrapped and doubled (ascending, 2W), and the prefix
    sums (2W + 1) of w e^{iθ} over them."""
    turns = jnp.concatenate([jnp.zeros(1, theta.dtype), jnp.cumsum(theta[1:] < theta[:-1])])
    th = theta + TWO_PI * turns  # ascending, within 2π of th[0]
    z = w * jnp.exp(1j * theta)
    th2 = jnp.concatenate([th, th + TWO_PI])
    return th2, jnp.concatenate([jnp.zeros(1, z.dtype), jnp.cumsum(jnp.concatenate([z, z]))])


def arc_sums(th2, C, x):
    """Σ_m w_m sin⁺(±(θ_m − x)) per query x, over the half circle ahead (x, x + π)
    and behind (x + π, x + 2π), from `_prefix_sums` (th2, C) of (θ, w)."""
    W = th2.shape[0] // 2
    x0 = th2[0] + jnp.mod(x - th2[0], TWO_PI)
    lo = jnp.searchsorted(th2, x0, side="right", method="scan")
    hi = jnp.searchsorted(th2, x0 + jnp.pi, side="left", method="scan")
    turn = jnp.exp(-1j * x0)
    ahead = jnp.maximum(jnp.imag(turn * (C[hi] - C[lo])), 0.0)
    return ahead, jnp.maximum(-jnp.imag(turn * (C[lo + W] - C[hi])), 0.0)


def _directed(P: int, dtype=float):
    """Ordered class pairs s → d (s ≠ d) and the one-hot sums onto classes."""
    s, d = np.nonzero(~np.eye(P, dtype=bool))
    onto = lambda i: jnp.asarray(np.arange(P)[:, None] == i[None, :], dtype)
    return s, d, onto(s), onto(d)


def flow_rates(n, phi, R, delta):
    """Copy rates per directed class pair s → d (physics §5.8): out[p, x], type
    (s, x) copying class d, and in[p, y], class s copying type (d, y), where X
    copies Y at 2R sin⁺(φ_Y − φ_X + δ_{dY,sX})/√(n_s n_d); Σ_x out[p] = Σ_y in[p].
    All type pairs up to W = PAIRWISE_MAX, else `arc_sums`."""
    s, d, _, _ = _directed(n.shape[0])
    nc = jnp.sum(n, axis=1)
    occ = nc > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, nc, 1.0)), 0.0)
    c = (2.0 * R[s, d] * inv[s] * inv[d])[:, None]
    dds = delta[d, s][:, None]
    if n.shape[1] <= PAIRWISE_MAX:  # sin(φ_Y − x_X) = sin φ_Y cos x_X − cos φ_Y sin x_X
        x = phi[s] - dds  # (pairs, W): rows X of class s, columns Y of class d
        cy, sy = jnp.cos(phi[d])[:, None, :], jnp.sin(phi[d])[:, None, :]
        pos = jnp.maximum(sy * jnp.cos(x)[:, :, None] - cy * jnp.sin(x)[:, :, None], 0.0)
        out = c * n[s] * jnp.einsum("pxy,py->px", pos, n[d])
        return out, c * n[d] * jnp.einsum("pxy,px->py", pos, n[s])
    # class s's types against class d: the half circle ahead gives their losses
    # to d, the one behind their gains from d (δ_sd = −δ_ds: H is Hermitian)
    th2, C = jax.vmap(_prefix_sums)(phi, n)  # per class, shared by its pairs
    ahead, behind = jax.vmap(arc_sums)(th2[d], C[d], phi[s] - dds)
    reverse = np.array([np.flatnonzero((s == b) & (d == a))[0] for a, b in zip(s, d)])
    out = c * n[s] * ahead
    inn = c * n[d] * behind[reverse]
    return out, inn


def phase_velocity(phi, n, R, delta, omega):
    """φ̇[a, l] = ω_a + A_a cos φ + B_a sin φ: S40 summed over the members."""
    nc = jnp.sum(n, axis=1)
    c, s = jnp.cos(phi), jnp.sin(phi)
    A, B = member_phase_coefficients(nc, jnp.sum(n * c, axis=1), jnp.sum(n * s, axis=1), R, delta)
    return omega[:, None] + A[:, None] * c + B[:, None] * s


def mean_flow_rk4(n, phi, dt, R, R_copy, delta, omega, rates=None):
    """(n, φ, ∫out, ∫in) at t + dt: one RK4 step of the types' mean flow with the
    copy rates integrated alongside; `rates`: (out, inn) at t if known. (Its
    midpoint version concentrated the types spuriously.)"""
    _, _, onto_s, onto_d = _directed(n.shape[0], n.dtype)

    def mean_flow(z, rates=None):
        n, phi, _, _ = z
        out, inn = flow_rates(n, phi, R_copy, delta) if rates is None else rates
        dn = onto_d @ inn - onto_s @ out
        return dn, phase_velocity(phi, n, R, delta, omega), out, inn

    zeros = jnp.zeros((onto_s.shape[1],) + n.shape[1:], n.dtype)
    z0 = (n, phi, zeros, zeros)
    move = lambda k, h: jax.tree.map(lambda a, b: a + h * b, z0, k)
    k1 = mean_flow(z0, rates)
    k2 = mean_flow(move(k1, dt / 2))
    k3 = mean_flow(move(k2, dt / 2))
    k4 = mean_flow(move(k3, dt))
    rk4 = lambda a, b1, b2, b3, b4: a + dt / 6 * (b1 + 2 * (b2 + b3) + b4)
    return jax.tree.map(rk4, z0, k1, k2, k3, k4)


def _when(need, f, y):
    """f(y) where `need`, else y: a loop of at most one pass, which under vmap
    runs only when some ensemble needs it (a `lax.cond` there becomes a select
    that computes f for every ensemble: the coupled step's rarely taken
    sub-stepped branches were about half its cost)."""
    body = lambda c: (jnp.zeros_like(c[0]), f(c[1]))  # noqa: E731
    return jax.lax.while_loop(lambda c: c[0], body, (need, y))[1]


def rate_scale() -> float:  # factor on every copy hazard (a seam for mutants)
    return 1.0


class CopyFaithfulTauLeap(AbstractLaw):
    """The faithful member copy process (physics §5.8) tau-leaped on its types,
    weak order 1. State `FaithfulTypeState` (`faithful_type_state`;
    `compact_types` between runs drops the extinct), params `MatrixParams`,
    `n_states` P. A step: RK4 of the mean flow, binomial losses per type on the
    integrated rates, each direction's total spread multinomially over the
    copied class's types (docs/internals/copy.md#faithful-leap). Its step error
    (`jqd.Errors`) couples the dt/2 run by common random numbers
    (`coupled_step`)."""

    n_states: int = eqx.field(static=True)
    stochastic = True
    scheme = TauLeap()

    coupling = "common random numbers"  # `coupled_step`

    def step(self, t, y: FaithfulTypeState, params, dt, key: PRNGKeyArray):
        self, y, params, dt = sampled(self, y, params, dt)
        R, delta, omega = _rates(params, y.n.dtype)
        R_copy = rate_scale() * R
        m, rates = self._substeps(y, dt, R_copy, delta)
        sub = lambda i, y, rates=None: self._leap(
            y, jax.random.fold_in(key, i), dt / m, R, R_copy, delta, omega, rates
        )
        if y.n.shape[-1] < PEEL_MIN:
            return jax.lax.fori_loop(0, m.astype(jnp.int32), sub, y)
        # wide: the first sub-step reuses these rates as its RK4 stage 1
        return jax.lax.fori_loop(1, m.astype(jnp.int32), sub, sub(0, y, rates))

    def coupled_step(self, fine, t, y, y_fine, params, dt, key):
        """Common random numbers. The dt step's copies are drawn in two stages
        (a type's losses Binomial(n, q/2), then Binomial(n − first, (q/2)/(1 −
        q/2)) for its loss probability q, each stage's losses split over the
        directions and spread over the copied types with the dt step's rates:
        in sum exactly the step's law), and stage i draws from the same key as
        the dt/2 run's step i, whose binomials and multinomials then differ by
        about their means' difference (the sampler is monotone in n and q).
        Where a step needs sub-steps (near a class's extinction, `_substeps`),
        that run takes a plain step on its own key instead. Each run has
        exactly its own law; the dt run is re-drawn (its law, not `step`'s
        bits)."""
        self, y, params, dt = sampled(self, y, params, dt)
        fine, y_fine = sampled(fine, y_fine, params, dt)[:2]
        R, delta, omega = _rates(params, y.n.dtype)
        R_copy = rate_scale() * R
        keys = jax.random.split(key, 2)
        m, rates = self._substeps(y, dt, R_copy, delta)  # the rates: RK4's stage 1

        def staged(y):
            _, phi, out, inn = mean_flow_rk4(y.n, y.phi, dt, R, R_copy, delta, omega, rates)
            out, q, over = self._losses(y.n, out)
            half = 0.5 * q
            later = half / jnp.maximum(1.0 - half, jnp.finfo(half.dtype).tiny)
            lost1, gained1 = self._moves(keys[0], y.n, half, out, inn)
            left = y.n - jnp.sum(lost1.reshape(out.shape), axis=1)
            lost2, gained2 = self._moves(keys[1], left, later, out, inn)
            return self._moved(y, phi, lost1 + lost2, gained1 + gained2, over)

        def plain(y):
            return self.step(t, y, params, dt, jax.random.fold_in(key, 2))

        y = _when(m != 1, plain, _when(m == 1, staged, y))  # as cond(m == 1, staged, plain)
        h = dt / 2
        for i, k in enumerate(keys):
            m, rates = self._substeps(y_fine, h, R_copy, delta)
            leap = lambda y, k=k, r=rates: fine._leap(y, k, h, R, R_copy, delta, omega, r)  # noqa: E731
            own = lambda y, i=i, k=k: fine.step(t + i * h, y, params, h, jax.random.fold_in(k, 3))  # noqa: E731
            y_fine = _when(m != 1, own, _when(m == 1, leap, y_fine))
        return y, y_fine

    def _substeps(self, y, dt, R_copy, delta):
        """(sub-steps of one step of dt, the copy rates at y): more than one
        while dt × a member's rate would pass MAX_MOVE (rates grow as √(N/n_a)
        near a class's extinction)."""
        rates = flow_rates(y.n, y.phi, R_copy, delta)
        _, _, onto_s, onto_d = _directed(self.n_states, y.n.dtype)
        per = (onto_s @ rates[0] + onto_d @ rates[1]) / jnp.where(y.n > 0, y.n, jnp.inf)
        return jnp.maximum(jnp.ceil(dt * jnp.max(per) / MAX_MOVE), 1.0), rates

    def _leap(self, y, key, dt, R, R_copy, delta, omega, rates=None):
        _, phi, out, inn = mean_flow_rk4(y.n, y.phi, dt, R, R_copy, delta, omega, rates)
        out, q, over = self._losses(y.n, out)
        lost, gained = self._moves(key, y.n, q, out, inn)
        return self._moved(y, phi, lost, gained, over)

    def _losses(self, n, out):
        """(the direction rates (P, P − 1, W), a type's loss probability q, where
        the integrated rate passed its count): a type's members leave at most
        once per step, so its losses are binomial on its count."""
        P = self.n_states
        out = jnp.maximum(out, 0.0).reshape(P, P - 1, -1)  # pairs are source-major
        mu = jnp.sum(out, axis=1)
        q = jnp.where(n > 0, jnp.minimum(mu / jnp.where(n > 0, n, 1.0), 1.0), 0.0)
        return out, q, mu > n

    def _moves(self, key, n, q, out, inn):
        """(members lost per direction and type, gained per direction and type):
        each type's Binomial(n, q) losses split over the directions ∝ `out`,
        each direction's total spread multinomially over the copied class's
        types ∝ `inn`."""
        pairs = self.n_states * (self.n_states - 1)  # directions, source-major
        k_loss, k_split, k_gain = jax.random.split(key, 3)
        total = binomial(k_loss, n, q)
        lost, rest = [], total
        for j, k in enumerate(jax.random.split(k_split, self.n_states - 2)):
            left = jnp.sum(out[:, j:], axis=1)
            share = jnp.where(left > 0, out[:, j] / jnp.where(left > 0, left, 1.0), 0.0)
            lost.append(binomial(k, rest, share))
            rest = rest - lost[-1]
        lost = jnp.stack(lost + [rest], axis=1).reshape(pairs, -1)
        gained = jax.vmap(multinomial)(
            jax.random.split(k_gain, pairs), jnp.sum(lost, axis=1), jnp.maximum(inn, 0.0)
        )
        return lost, gained

    def _moved(self, y, phi, lost, gained, over):
        _, _, onto_s, onto_d = _directed(self.n_states, y.n.dtype)
        return FaithfulTypeState(
            n=y.n - onto_s @ lost + onto_d @ gained,
            phi=jnp.angle(jnp.exp(1j * phi)),  # kept in (−π, π]
            n_events=y.n_events + jnp.sum(lost),
            n_clipped=y.n_clipped + jnp.any(over & (y.n > 0)).astype(y.n.dtype),
        )

    def check(self, y, params, dt=None):
        if not isinstance(y, FaithfulTypeState):
            raise ValueError(
                "y0 must be a jqd.copy.FaithfulTypeState; build it with "
                "jqd.copy.faithful_type_state(jqd.copy.MemberState(a, phi), P)."
            )
        P, shape = self.n_states, jnp.shape(y.n)
        W = shape[-1] if shape else 0
        if len(shape) != 2 or shape[0] != P or W < 2 or W & (W - 1) or jnp.shape(y.phi) != shape:
            raise ValueError(
                f"y0.n and y0.phi must have shape ({P}, W), W >= 2 a power of two; got {shape} "
                f"and {jnp.shape(y.phi)}. Build the state with jqd.copy.faithful_type_state; "
                "for a batch of ensembles use jax.vmap."
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
