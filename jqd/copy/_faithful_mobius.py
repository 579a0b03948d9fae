"""`CopyMembersFaithfulMobius` (physics §5.8): one Möbius map per class, class
sums from power moments, class membership as bit sets, and the batched event
loop (docs/internals/copy.md#mobius)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .. import _steppers
from . import _gillespie
from ._faithful import AbstractCopyMembersFaithful, FaithfulState, copy_direction
from ._kinetics import _rates, sampled

RNG_BLOCK = 128  # iterations of random numbers drawn at once


def series_radius(n_terms: int, tol: float) -> float:
    """The largest |c| with (1 + c)c^K/(1 − c) ≤ tol (bisection)."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (1 + mid) * mid**n_terms / (1 - mid) <= tol:
            lo = mid
        else:
            hi = mid
    return lo


def powers(x, n: int):
    """x^0 … x^{n−1} along a new last axis (baby steps x^j, j < 8, giant x^{8i})."""
    baby = [jnp.ones_like(x)]
    for _ in range(7):
        baby.append(baby[-1] * x)
    x8 = baby[-1] * x
    giant = [jnp.ones_like(x)]
    for _ in range(-(-n // 8) - 1):
        giant.append(giant[-1] * x8)
    out = jnp.stack(giant, -1)[..., :, None] * jnp.stack(baby, -1)[..., None, :]
    return out.reshape(*x.shape, -1)[..., :n]


def mobius(al, be, w):
    """G(w) = (α w + β)/(β̄ w + ᾱ)."""
    return (al * w + be) / (jnp.conj(be) * w + jnp.conj(al))


def class_sums(al, be, M):
    """Class sums S_a = Σ_{J∈a} G_a(w_J) of Möbius-mapped points from their power
    moments (physics §5.8; docs/internals/copy.md#mobius).

    Args:
        al: (..., P) complex α_a of each class's map.
        be: (..., P) complex β_a.
        M: (..., P, K+1) moments M_{a,k} = Σ_{J∈a} w_J^k, k = 0..K (|w_J| = 1).

    Returns:
        (..., P) complex S_a.
    """
    K = M.shape[-1] - 1
    x = -jnp.conj(be) / jnp.conj(al)
    xr, xi = x.real, x.imag
    hr, hi = M[..., K].real, M[..., K].imag
    for k in range(K - 1, 0, -1):
        hr, hi = hr * xr - hi * xi + M[..., k].real, hr * xi + hi * xr + M[..., k].imag
    h = jax.lax.complex(hr, hi)
    return (al * h + be * (M[..., 0] + x * h)) / jnp.conj(al)


def coupling_matrix(n, R, delta):
    """Q[a, b] = −(i/2) R_ab e^{−iδ_ab}/√(n_a n_b) (0 for an empty class):
    η̄_a = Σ_b Q_ab S_b."""
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    return -0.5j * R * jnp.exp(-1j * delta) * inv[:, None] * inv[None, :]


def mobius_rate(G, M, Q, omega):
    """(α̇, β̇) of every class, Q = `coupling_matrix`."""
    al, be = G
    S = class_sums(al, be, M)
    eta_c = sum(Q[:, b] * S[b] for b in range(S.shape[0]))  # η̄ (P small: unrolled)
    rot = 0.5j * omega
    return rot * al - eta_c * jnp.conj(be), rot * be - eta_c * jnp.conj(al)


def moments(w, a, P: int, K: int):
    """M[a, k] = Σ_{J∈a} w_J^k, k = 0..K."""

    def body(k, c):
        wk, M = c
        return wk * w, M.at[:, k].set(jax.ops.segment_sum(wk, a, num_segments=P))

    M0 = jnp.zeros((P, K + 1), w.dtype)
    return jax.lax.fori_loop(0, K + 1, body, (jnp.ones_like(w), M0))[1]


def member_bits(a, P: int):
    """Class membership as bit sets: bit i of bits[c, j] iff member jW + i is in c
    (W = 64 with x64, else 32); cum[c, j] counts c's members below (j + 1)W."""
    wd = jnp.uint64 if jax.config.jax_enable_x64 else jnp.uint32
    W = jnp.iinfo(wd).bits
    N = a.shape[0]
    nb = -(-N // W)
    idx = jnp.arange(N)
    one = jnp.left_shift(jnp.ones((N,), wd), (idx % W).astype(wd))
    bits = jax.ops.segment_sum(one, a * nb + idx // W, num_segments=P * nb).reshape(P, nb)
    cum = jnp.cumsum(jax.lax.population_count(bits).astype(jnp.int32), axis=1)
    return bits, cum


def members_of_bits(bits, N: int):
    """The beables a (N,) of bit sets `bits` (P, nb)."""
    W = jnp.iinfo(bits.dtype).bits
    idx = jnp.arange(N)
    word = bits[:, idx // W]  # (P, N)
    on = (jnp.right_shift(word, (idx % W).astype(bits.dtype)) & 1) > 0
    return jnp.argmax(on, axis=0).astype(jnp.int32)


def _column(x, blk):
    """x[:, blk] as one dynamic slice (P,)."""
    return jax.lax.dynamic_slice_in_dim(x, blk, 1, axis=1)[:, 0]


def pick_member_bits(u, bits, cum, cls, n_cls):
    """`_faithful.pick_member` in O(N/W): words, then a popcount bisection in one."""
    W = jnp.iinfo(bits.dtype).bits
    P, nb = cum.shape
    rank = jnp.minimum(jnp.floor(u * n_cls), n_cls - 1).astype(jnp.int32)
    oh = jnp.arange(P) == cls
    cc = jnp.sum(jnp.where(oh[:, None], cum, 0), axis=0)
    blk = jnp.minimum(jnp.sum(cc <= rank), nb - 1)
    word = jnp.sum(jnp.where(oh, _column(bits, blk), jnp.zeros((), bits.dtype)))
    below = jnp.sum(jnp.where(oh, _column(cum, blk), 0))
    r = rank - (below - jax.lax.population_count(word).astype(jnp.int32))
    pos = jnp.zeros((), jnp.int32)
    width = W // 2
    while width >= 1:
        mask = jnp.asarray((1 << width) - 1, bits.dtype)
        low = jax.lax.population_count(word & mask).astype(jnp.int32)
        go = r >= low
        r = jnp.where(go, r - low, r)
        word = jnp.where(go, jnp.right_shift(word, jnp.asarray(width, bits.dtype)), word)
        pos = pos + jnp.where(go, width, 0)
        width //= 2
    return blk * W + pos


def move_member_bits(bits, cum, j, src, dst, do):
    """Member j leaves class src for class dst where `do`."""
    W = jnp.iinfo(bits.dtype).bits
    P, nb = cum.shape
    j = jnp.asarray(j)
    blk = j // W
    bit = jnp.left_shift(jnp.asarray(1, bits.dtype), (j % W).astype(bits.dtype))
    bit = jnp.where(do, bit, jnp.asarray(0, bits.dtype))
    cls = jnp.arange(P)
    col = _column(bits, blk)
    col = jnp.where(cls == src, col & ~bit, jnp.where(cls == dst, col | bit, col))
    bits = jax.lax.dynamic_update_slice_in_dim(bits, col[:, None], blk, axis=1)
    step = (cls == dst).astype(jnp.int32) - (cls == src).astype(jnp.int32)
    cum = cum + jnp.where(do & (jnp.arange(nb)[None, :] >= blk), step[:, None], 0)
    return bits, cum


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
    wts = jnp.where(iu, _gillespie.candidate_weights(R, n), 0.0).ravel()  # 2R √(n n), a < b
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

    # jitted: traced once per shape (vmap of `jqd.evolve` calls `rule` twice, for
    # its scan's batching fixpoint; each trace of the event loop costs ~0.3 s)
    run = jax.jit(functools.partial(_run_batch, static, impl))

    @jax.custom_batching.custom_vmap
    def f(*args):
        return run(*args)

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
        self, y, params, dt = sampled(self, y, params, dt)
        return run_mobius(self, t, y, params, dt, key)[0]
