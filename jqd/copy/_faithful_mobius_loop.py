"""`CopyMembersFaithfulMobius`: the batched event loop of the Möbius form of the
faithful member copy process (docs/internals/copy.md#mobius)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .. import _steppers
from . import _faithful as faithful
from ._faithful import AbstractCopyMembersFaithful, FaithfulState, copy_direction
from ._faithful_mobius import (
    coupling_matrix,
    member_bits,
    members_of_bits,
    mobius,
    mobius_rate,
    moments,
    move_member_bits,
    pick_member_bits,
    powers,
    series_radius,
)
from ._kinetics import _rates, sampled

RNG_BLOCK = 128  # iterations of random numbers drawn at once


def _limits(c, cons, c_max, h_max):
    """η̂ (P,), the substep bound `room`, and whether a class could pass c_max in it."""
    t, n, G = c["t"], c["n"], c["G"]
    R, t_target = cons["R"], cons["t_target"]
    occ = n > 0
    root = jnp.sqrt(n)
    eta_hat = jnp.where(occ, jnp.sum(R * root[None, :], axis=1) / jnp.where(occ, root, 1.0), 0.0)
    h_c = c_max / (4.0 * jnp.maximum(jnp.max(eta_hat), 1e-300))
    room = jnp.minimum(jnp.minimum(h_max, h_c), t_target - t)
    cabs = jnp.abs(G[1]) / jnp.abs(G[0])
    return eta_hat, room, jnp.any(cabs + 2.0 * room * eta_hat > c_max), cabs


def copied_point(w_copier, w_model):  # the copier's new pulled-back point (a mutant seam)
    return w_model


def _iteration(c, cons, u, static):
    """One thinning iteration of one ensemble, masked where it is not running."""
    P, K, c_max, h_max, max_steps = static
    R, omega, t_target = cons["R"], cons["omega"], cons["t_target"]
    t, n, G, w, M = c["t"], c["n"], c["G"], c["w"], c["M"]
    active = (t < t_target) & (c["steps"] < max_steps)
    dtype = t.dtype
    u_tau, u_pair, u_x, u_y, u_dir = u
    t_i = c["t_draw"]  # when this row of random numbers was drawn (as in CopyMembersFaithful)
    iu = jnp.triu(jnp.ones((P, P), dtype=bool), 1)
    wts = jnp.where(iu, faithful.candidate_weights(R, n), 0.0).ravel()  # 2R √(n n), a < b
    cw = [wts[0]]
    for i in range(1, P * P):
        cw.append(cw[-1] + wts[i])
    lam = cw[-1]
    tau = jnp.where(lam > 0, -jnp.log1p(-u_tau) / jnp.where(lam > 0, lam, 1.0), jnp.inf)
    eta_hat, room, _, cabs = _limits(c, cons, c_max, h_max)
    # the reference's interval for this row: to the candidate, or capped at h_max / t_target
    room_ref = jnp.minimum(h_max, t_target - t_i)
    candidate = tau <= room_ref
    t_row = jnp.where(
        candidate, t_i + tau, jnp.where(room_ref == t_target - t_i, t_target, t_i + room_ref)
    )
    # integrate towards t_row in substeps <= room (which also holds the series bound);
    # the row is used (candidate decided, next row drawn) once t_row is reached
    reached = t_row - t <= room
    h = jnp.where(reached, t_row - t, room)
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    Q = cons["Q0"] * (inv[:, None] * inv[None, :])  # coupling_matrix(n, R, delta)
    flow = lambda s, g: mobius_rate(g, M, Q, omega)
    al, be = _steppers.rk4(flow, t, G, h.astype(G[0].dtype))
    norm = jnp.sqrt(jnp.abs(al) ** 2 - jnp.abs(be) ** 2)  # back onto SU(1,1)
    G_new = (al / norm, be / norm)
    # class pair (ca < cb) ∝ 2R √(n n), then one member of each (as CopyMembersFaithful)
    idx = jnp.minimum(sum((x <= u_pair * lam).astype(jnp.int32) for x in cw), P * P - 1)
    at = lambda v, i: jnp.sum(jnp.where(jnp.arange(v.shape[0]) == i, v, 0))  # v[i], P small
    idx = jnp.where(at(wts, idx) > 0, idx, jnp.argmax(wts))
    ca, cb = idx // P, idx % P
    X = pick_member_bits(u_x, c["bits"], c["cum"], ca, at(n, ca))
    Y = pick_member_bits(u_y, c["bits"], c["cum"], cb, at(n, cb))
    # one gather for every read of w, so that the in-place write below is ordered after it
    wx, wy = w[jnp.stack([X, Y])]
    zx = mobius(at(G_new[0], ca), at(G_new[1], ca), wx)
    zy = mobius(at(G_new[0], cb), at(G_new[1], cb), wy)
    zx, zy = zx / jnp.abs(zx), zy / jnp.abs(zy)
    sin_yx = zy.imag * zx.real - zy.real * zx.imag
    cos_yx = zy.real * zx.real + zy.imag * zx.imag
    cd, sd = at(cons["cd"].ravel(), cb * P + ca), at(cons["sd"].ravel(), cb * P + ca)
    d = copy_direction(sin_yx * cd + cos_yx * sd, u_dir)
    do = (d != 0) & candidate & reached & active
    src, dst = jnp.where(d > 0, ca, cb), jnp.where(d > 0, cb, ca)
    w_copier, w_model = jnp.where(d > 0, wx, wy), jnp.where(d > 0, wy, wx)
    w_new = copied_point(w_copier, w_model)
    copier = jnp.where(d > 0, X, Y)
    one = jnp.where(do, 1.0, 0.0).astype(dtype)
    pw = powers(jnp.stack([w_copier, w_new]), K + 1)
    oh_src, oh_dst = (jnp.arange(P) == src).astype(dtype), (jnp.arange(P) == dst).astype(dtype)
    M = M + one * (oh_dst[:, None] * pw[1] - oh_src[:, None] * pw[0])
    bits, cum = move_member_bits(c["bits"], c["cum"], copier, src, dst, do)
    w = w.at[jnp.where(do, copier, w.shape[0])].set(w_new, mode="drop")
    t_new = jnp.where(reached, t_row, t + h)
    used = reached & active
    keep = lambda new, old: jnp.where(active, new, old)
    return dict(
        t=keep(t_new, t),
        t_draw=jnp.where(used, t_row, t_i),
        n=n + one * (oh_dst - oh_src),
        G=jax.tree_util.tree_map(keep, G_new, G),
        w=w,
        M=M,
        bits=bits,
        cum=cum,
        n_ev=c["n_ev"] + do.astype(jnp.int32),
        n_prop=c["n_prop"] + (candidate & used).astype(jnp.int32),
        steps=c["steps"] + used.astype(jnp.int32),
        rebases=c["rebases"],
        max_c=keep(jnp.maximum(c["max_c"], jnp.max(cabs + 2.0 * h * eta_hat)), c["max_c"]),
    )


def _rebase(c, static):
    """w_J ← G_{a_J}(w_J), G ← identity, moments recomputed (one ensemble)."""
    P, K = static[0], static[1]
    N = c["w"].shape[0]
    a = members_of_bits(c["bits"], N)
    z = mobius(c["G"][0][a], c["G"][1][a], c["w"])
    z = z / jnp.abs(z)
    ident = (jnp.ones_like(c["G"][0]), jnp.zeros_like(c["G"][1]))
    return dict(c, G=ident, w=z, M=moments(z, a, P, K), rebases=c["rebases"] + 1)


def _uniforms(key_data, start, impl, dtype):
    """uniform(fold_in(key, start + j), (5,)) for j < RNG_BLOCK: (RNG_BLOCK, 5)."""
    key = jax.random.wrap_key_data(key_data, impl=impl)
    one = lambda i: jax.random.uniform(jax.random.fold_in(key, i), (5,), dtype=dtype)
    return jax.vmap(one)(start + jnp.arange(RNG_BLOCK, dtype=jnp.int32))


def _run_batch(static, impl, t, a, phi, n_ev, n_prop, key_data, dt, R, delta, omega):
    """B ensembles (leading axis of every argument) from t to t + dt."""
    P, K, c_max, h_max, max_steps = static
    B, N = a.shape
    dtype = phi.dtype
    ctype = jnp.result_type(dtype, jnp.complex64)

    def init(a, phi):
        w = jnp.exp(1j * phi.astype(ctype))
        bits, cum = member_bits(a, P)
        n = jax.ops.segment_sum(jnp.ones((N,), dtype), a, num_segments=P)
        G = (jnp.ones((P,), ctype), jnp.zeros((P,), ctype))
        return dict(n=n, G=G, w=w, M=moments(w, a, P, K), bits=bits, cum=cum)

    zero = jnp.zeros((B,), jnp.int32)
    c = dict(jax.vmap(init)(a, phi), t=t, t_draw=t, n_ev=n_ev, n_prop=n_prop, steps=zero)
    c.update(rebases=zero, max_c=jnp.zeros((B,), dtype))
    Q0 = jax.vmap(coupling_matrix)(jnp.ones((B, P), dtype), R, delta)
    cons = dict(R=R, omega=omega, t_target=t + dt, cd=jnp.cos(delta), sd=jnp.sin(delta), Q0=Q0)
    vlimits = jax.vmap(lambda c, cons: _limits(c, cons, c_max, h_max)[2])
    small = lambda c: {k: v for k, v in c.items() if k not in ("w", "M", "bits", "cum")}

    def running(c):
        return (c["t"] < cons["t_target"]) & (c["steps"] < max_steps)

    def inner_cond(s):
        c, U, start = s
        run = running(c)
        fresh = c["steps"] - start < RNG_BLOCK
        return jnp.any(run) & ~jnp.any(run & (vlimits(small(c), cons) | ~fresh))

    def inner_body(s):
        c, U, start = s
        j = jnp.clip(c["steps"] - start, 0, RNG_BLOCK - 1)
        u = jnp.take_along_axis(U, j[:, None, None], axis=1)[:, 0]
        it = jax.vmap(lambda c, cons, u: _iteration(c, cons, tuple(u), static))
        return it(c, cons, u), U, start

    def outer_body(c):
        need = running(c) & vlimits(small(c), cons)

        def rebase_where_needed(c):
            r = jax.vmap(lambda c: _rebase(c, static))(c)
            pick = lambda x, y: jnp.where(need.reshape((B,) + (1,) * (x.ndim - 1)), x, y)
            return jax.tree_util.tree_map(pick, r, c)

        c = jax.lax.cond(jnp.any(need), rebase_where_needed, lambda c: c, c)
        start = c["steps"]
        U = jax.vmap(lambda kd, s: _uniforms(kd, s, impl, dtype))(key_data, start)
        return jax.lax.while_loop(inner_cond, inner_body, (c, U, start))[0]

    c = jax.lax.while_loop(lambda c: jnp.any(running(c)), outer_body, c)

    def finish(c):
        a = members_of_bits(c["bits"], N)
        return a, jnp.angle(mobius(c["G"][0][a], c["G"][1][a], c["w"])).astype(dtype)

    a, phi = jax.vmap(finish)(c)
    capped = c["t"] < cons["t_target"]
    return a, phi, c["n_ev"], c["n_prop"], capped, c["rebases"], c["max_c"]


@functools.cache
def _batched(static, impl):
    """`_run_batch` as a custom_vmap function: vmap merges into the leading axis."""

    @jax.custom_batching.custom_vmap
    def f(*args):
        return _run_batch(static, impl, *args)

    @f.def_vmap
    def rule(axis_size, in_batched, *args):
        args = [
            x if b else jnp.broadcast_to(x, (axis_size, *x.shape))
            for x, b in zip(args, in_batched, strict=True)
        ]
        out = f(*[x.reshape(-1, *x.shape[2:]) for x in args])
        out = tuple(o.reshape(axis_size, -1, *o.shape[1:]) for o in out)
        return out, (True,) * len(out)

    return f


def run_mobius(law, t, y: FaithfulState, params, dt, key):
    """One step of `law` for one ensemble: (state, diagnostics: re-bases, the
    largest |c| a substep could reach, its series truncation bound)."""
    P, K = law.n_states, law.n_terms
    c_max = series_radius(K, law.series_tol)
    static = (P, K, c_max, float(law.max_substep), int(law.max_steps))
    dtype = y.phi.dtype
    if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
        impl, kd = str(jax.random.key_impl(key)), jax.random.key_data(key)
    else:
        impl, kd = "threefry2x32", jnp.asarray(key)
    R, delta, omega = _rates(params, dtype)
    one = lambda x: jnp.asarray(x)[None]
    args = (one(jnp.asarray(t, dtype)), one(y.a), one(y.phi), one(y.n_events), one(y.n_proposals))
    args += (one(kd), one(jnp.asarray(dt, dtype)), one(R), one(delta), one(omega))
    a, phi, n_ev, n_prop, capped, reb, max_c = (x[0] for x in _batched(static, impl)(*args))
    state = FaithfulState(a=a, phi=phi, n_events=n_ev, n_proposals=n_prop, capped=y.capped | capped)
    bound = (1 + max_c) * max_c**K / (1 - max_c)
    return state, {"rebases": reb, "max_c": max_c, "truncation_bound": bound}


class CopyMembersFaithfulMobius(AbstractCopyMembersFaithful):
    """`CopyMembersFaithful` (same process, state, random numbers and checks)
    with each class's phase flow one Möbius map over power moments (physics
    §5.8): O(P·K + N/64) per candidate; `jax.vmap` over keys runs one batched
    loop. `n_terms` K (4..256) series terms, kept below `series_tol` relative
    error by re-basing."""

    n_terms: int = eqx.field(static=True, default=32, converter=int)
    series_tol: float = eqx.field(static=True, default=1e-14, converter=float)

    def __check_init__(self):
        if not 4 <= self.n_terms <= 256:
            raise ValueError(f"n_terms must be in [4, 256]; got {self.n_terms}.")
        if not 0 < self.series_tol < 1e-3:
            raise ValueError(f"series_tol must be in (0, 1e-3); got {self.series_tol}.")

    def step(self, t, y: FaithfulState, params, dt, key: PRNGKeyArray) -> FaithfulState:
        params = sampled(params, self)
        return run_mobius(self, t, y, params, dt, key)[0]
