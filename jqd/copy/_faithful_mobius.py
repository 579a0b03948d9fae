"""The faithful member copy process (physics §5.8) at O(P·K) per thinning
candidate: one Möbius map per class instead of one RK4 step per member.

Between events every member of class a obeys the same equation (S40 summed
over members, `_faithful.py`), φ̇ = ω_a + A_a cos φ + B_a sin φ, with A_a,
B_a functions of the counts and the class sums S_b = Σ_{J∈b} e^{iφ_J} only.
On z = e^{iφ} this is the Riccati equation

    ż = η_a z² + iω_a z − η̄_a,    η_a = (B_a + iA_a)/2,

whose flow over any interval is a Möbius map of the unit disc common to the
whole class (Watanabe-Strogatz): z = G_a(w) = (α w + β)/(β̄ w + ᾱ),
|α|² − |β|² = 1, with (homogeneous coordinates z = u/v, (u, v)˙ = L (u, v))

    d/dt [[α, β], [β̄, ᾱ]] = L_a [[α, β], [β̄, ᾱ]],   L_a = [[iω_a/2, −η̄_a], [−η_a, −iω_a/2]],

i.e. α̇ = (iω_a/2) α − η̄_a β̄, β̇ = (iω_a/2) β − η̄_a ᾱ (`mobius_rate`). So each
member keeps a fixed pulled-back point w_J (|w_J| = 1; z_J = G_{a_J}(w_J)),
each class carries (α_a, β_a) and the power moments M_{a,k} = Σ_{J∈a} w_J^k,
k = 0..K, and with c = β̄/ᾱ (|c| < 1)

    S_a = Σ_J G_a(w_J) = (α/ᾱ) Σ_{k<K} (−c)^k M_{k+1} + (β/ᾱ) Σ_{k<K} (−c)^k M_k

up to a truncation of at most n_a (1 + |c|)|c|^K/(1 − |c|) (`class_sums`).
The law keeps |c| ≤ c_max, the root of (1 + c)c^K/(1 − c) = `series_tol`
(`series_radius`): before a substep of length h, if some class could pass
c_max (|ċ| ≤ |η|(1 + |c|²) ≤ 2η̂_a, η̂_a = Σ_b R_ab √(n_b/n_a) ≥ |η_a|),
every member is re-based, w_J ← G_{a_J}(w_J), G_a ← identity and the moments
recomputed (O(N K)); substeps are also capped at c_max/(4 η̂) so that one
substep from the identity stays inside. A copy X ← Y moves X to Y's class
b with w_X ← w_Y (then z_X = G_b(w_Y) = z_Y) and updates two moment rows,
O(K). Uniform members of a class are picked in index order, as
`CopyMembersFaithful` does, through bit sets of the classes' members and
prefix counts of their words (`pick_member_bits`, O(N/64)).

The event loop (`_faithful_mobius_loop.py`) uses the random numbers as
`CopyMembersFaithful` does (the extra c_max/(4η̂) substeps use none), so with
one key both laws make the same events as long as their phases, which differ
by the two RK4 errors and the series truncation, agree within the decisions'
margins (tests/test_copy_faithful_mobius.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def series_radius(n_terms: int, tol: float) -> float:
    """The largest |c| with (1 + c)c^K/(1 − c) ≤ tol (bisection): the class-sum
    series of K terms is then accurate to tol·n_a."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (1 + mid) * mid**n_terms / (1 - mid) <= tol:
            lo = mid
        else:
            hi = mid
    return lo


def powers(x, n: int):
    """x^0 … x^{n−1} along a new last axis (baby steps x^j, j < 8, times giant
    steps x^{8i}: few sequential products, all fusible)."""
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
    """Class sums S_a = Σ_{J∈a} G_a(w_J) of Möbius-mapped points from their
    power moments (physics §5.8, `CopyMembersFaithfulMobius`).

    With G_a(w) = (α w + β)/(β̄ w + ᾱ), c = β̄/ᾱ (|c| < 1) and x = −c,
    G_a(w) = (α w + β) Σ_k x^k w^k / ᾱ, so with H = Σ_{k<K} x^k M_{k+1}
    (Horner, in real arithmetic) S = (α H + β (M_0 + x H))/ᾱ, truncated after
    x^K: error ≤ n_a (1 + |c|)|c|^K/(1 − |c|) (`series_radius`).

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
    """Q[a, b] = −(i/2) R_ab e^{−iδ_ab}/√(n_a n_b) (0 for an empty class), so that
    η̄_a = Σ_b Q_ab S_b: from `member_phase_coefficients`,
    B_a − iA_a = −i Σ_b R_ab/√(n_a n_b) e^{−iδ_ab} S_b."""
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    return -0.5j * R * jnp.exp(-1j * delta) * inv[:, None] * inv[None, :]


def mobius_rate(G, M, Q, omega):
    """(α̇, β̇) of every class (module docstring), Q = `coupling_matrix`."""
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
    """Class membership as bit sets: bits[c, j] has bit i set iff member jW + i
    is in class c (W = 64 with x64, else 32); and cum[c, j], the members of c
    among indices < (j + 1)W (inclusive prefix counts of the words)."""
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
    """The ⌊u n_cls⌋-th member (index order) of class `cls`: the same member as
    `_faithful.pick_member`, in O(N/W) (one compare-and-count over the words,
    then a popcount bisection inside the word). Classes are selected by masks
    (P is small), so that under vmap only the word column is gathered."""
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
