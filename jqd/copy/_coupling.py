"""Coupling a member's categorical jump over dt with its two jumps over dt/2
(the step error of `jqd.Errors`; docs/errors.md#coupling).

A law draws each member's move by inverse CDF: one uniform u against the
cumulative probabilities of its column (or row), where one interval means
"stay". In *canonical* coordinates the movers fill [0, s) (s the move
probability, destinations in their order) and the stayers [s, 1): a
measure-preserving relabelling of [0, 1), so a uniform stays uniform.

`half_uniforms` turns the dt step's uniform into the two half steps'
uniforms, independent and uniform (so the dt/2 run has exactly its own law),
such that the dt step's movers are, half of them each, the first or second
half step's movers in canonical coordinates at the same relative place: a
half step whose move probabilities are near half the dt step's moves the
same members to the same classes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def canonical(u, lo, hi):
    """u in canonical coordinates, for a stay interval [lo, hi)."""
    s = 1.0 - (hi - lo)
    return jnp.where(u < lo, u, jnp.where(u >= hi, u - (hi - lo), s + (u - lo)))


def layout(c, lo, hi):
    """The inverse of `canonical`: a canonical c back to the interval layout."""
    s = 1.0 - (hi - lo)
    return jnp.where(c < lo, c, jnp.where(c < s, c + (hi - lo), lo + (c - s)))


def half_uniforms(key, c, s):
    """(c1, c2), canonical uniforms of the two half steps, from the dt step's
    canonical uniform `c` and move probability `s` (arrays of one shape).

    A dt mover (c < s) is a first-half mover with probability ½ (c1 = c/2)
    or a second-half one (c1 uniform on [s/2, 1), c2 = (c/s)·h, h the
    conditional probability (s/2)/(1 − s/2)); a stayer has c1 on [s/2, 1)
    and c2 on [h, 1). Each region has the area of its probability, so c1 and
    c2 are independent uniforms."""
    # one uniform v gives both the half (v < ½) and w = 2v mod 1, uniform and
    # independent of the half: one draw per member, not two (the draws are
    # most of the coupled step's cost on a CPU)
    v = 2.0 * jax.random.uniform(key, c.shape, c.dtype)
    first = v < 1.0
    w = jnp.where(first, v, v - 1.0)
    half = 0.5 * s
    h = half / jnp.maximum(1.0 - half, jnp.finfo(c.dtype).tiny)
    later = half + (1.0 - half) * w  # uniform on [s/2, 1)
    mover = c < s
    rel = c / jnp.where(s > 0, s, 1.0)  # a mover's place among the movers
    stay = (c - s) / jnp.where(s < 1, 1.0 - s, 1.0)  # a stayer's place among the stayers
    c1 = jnp.where(mover & first, 0.5 * c, later)
    c2 = jnp.where(mover, jnp.where(first, w, rel * h), h + (1.0 - h) * stay)
    return c1, jnp.minimum(c2, jnp.nextafter(jnp.ones((), c.dtype), 0))
