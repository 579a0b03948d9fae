"""The maths of `CopyMembersFaithfulMobius` (physics §5.8): one Möbius map per
class, class sums from power moments, class membership as bit sets
(docs/internals/copy.md#mobius)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
