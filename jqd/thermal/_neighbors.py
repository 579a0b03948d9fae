"""Verlet neighbour lists for `SoftSphereGas` (physics §7.5).

The list holds every pair (i < j) closer than σ + skin at the positions it
was built from (`reference`), found once by the gas's cell list (cells of side
>= σ + skin) and compacted into `max_pairs` rows. While no particle has moved
more than skin/2 from its reference position (minimum image), no pair outside
the list can have come closer than σ, so the forces from the list equal the
all-pairs forces; the step rebuilds it (`lax.cond`) as soon as one has. Per
step: O(P) for the P listed pairs (about N n π(σ + skin)²/2 in 2-D), against
the cell list's O(N 3^dim max_occupancy) gathers; a rebuild costs one cell-list
pass. More pairs than `max_pairs` stop the run (`eqx.error_if`, naming it):
a pair is never dropped silently.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array


class NeighborList(eqx.Module):
    """Pairs (i, j), i < j, within σ + skin of each other at `reference`.

    Attributes:
        pairs: (max_pairs, 2) int32 particle indices; rows past `count` are (0, 0).
        count: number of listed pairs (may exceed max_pairs: then `overflow`).
        reference: (N, dim) positions the list was built at.
        builds: how many times the list has been built (a diagnostic).
    """

    pairs: Array
    count: Array
    reference: Array
    builds: Array


class GasState(eqx.Module):
    """`PhaseState` of a gas with its `NeighborList` (build it with
    `SoftSphereGas.with_neighbors`)."""

    q: Array
    p: Array
    neighbors: NeighborList


def default_max_pairs(n_particles: int, box: float, dim: int, cutoff: float) -> int:
    """Room for twice the ideal-gas pair count within `cutoff`, plus margin."""
    ball = math.pi * cutoff**2 if dim == 2 else 4.0 / 3.0 * math.pi * cutoff**3
    mean = 0.5 * n_particles * (n_particles / box**dim) * ball
    return int(math.ceil(2.0 * mean + 10.0 * math.sqrt(mean) + 64))


def build(law, q, params, builds=None) -> NeighborList:
    """All pairs within σ + skin from the cell list (one O(N 3^dim M) pass)."""
    at, hit, order, cell_overflow = law.candidates(q)
    j = order[at]  # original index of every candidate, (N, K)
    d = q[:, None, :] - q[j]
    d = d - law.box * jnp.round(d / law.box)
    cutoff = jnp.asarray(params.sigma).astype(q.dtype) + law.skin
    i = jnp.arange(q.shape[0], dtype=jnp.int32)[:, None]
    keep = hit & (i < j) & (jnp.sum(d * d, axis=-1) < cutoff * cutoff)
    count = jnp.sum(keep, dtype=jnp.int32)
    (flat,) = jnp.nonzero(keep.ravel(), size=law.pairs_capacity, fill_value=0)
    K = at.shape[1]
    pairs = jnp.stack([(flat // K).astype(jnp.int32), j.ravel()[flat]], axis=1)
    valid = jnp.arange(law.pairs_capacity) < count
    pairs = jnp.where(valid[:, None], pairs, 0)
    # a full cell would have dropped candidates: flag it as an overflow as well
    count = jnp.where(cell_overflow, jnp.iinfo(jnp.int32).max, count)
    builds = jnp.zeros((), jnp.int32) if builds is None else builds + 1
    return NeighborList(pairs, count, q, builds)


def stale(law, nl: NeighborList, q):
    """Has a particle moved more than skin/2 (minimum image) since the build?"""
    d = q - nl.reference
    d = d - law.box * jnp.round(d / law.box)
    return jnp.max(jnp.sum(d * d, axis=-1)) > (0.5 * law.skin) ** 2


def refresh(law, nl: NeighborList, q, params) -> NeighborList:
    """The list, rebuilt at q if it is stale there."""
    return jax.lax.cond(
        stale(law, nl, q),
        lambda: build(law, q, params, nl.builds),
        lambda: NeighborList(nl.pairs, nl.count, nl.reference, nl.builds),
    )


def checked(law, x, nl: NeighborList):
    """x, or an in-graph error if the list or a cell overflowed."""
    return eqx.error_if(
        x,
        nl.count > law.pairs_capacity,
        f"SoftSphereGas: more than max_pairs = {law.pairs_capacity} pairs within sigma + "
        f"skin, or a cell with more than max_occupancy = {law.slots} particles (pairs "
        "would be dropped). Pass a larger max_pairs (or max_occupancy), or check the state "
        "for collapsed particles.",
    )


def pair_terms(law, q, params, nl: NeighborList):
    """(i, j, d = q_i − q_j (minimum image), r, touch) over the listed pairs."""
    i, j = nl.pairs[:, 0], nl.pairs[:, 1]
    d = q[i] - q[j]
    d = d - law.box * jnp.round(d / law.box)
    r2 = jnp.sum(d * d, axis=-1)
    sigma = jnp.asarray(params.sigma).astype(q.dtype)
    valid = jnp.arange(law.pairs_capacity) < nl.count
    touch = valid & (r2 < sigma * sigma)
    r = jnp.sqrt(jnp.where(touch, r2, 1.0))  # double where: finite gradients
    return i, j, d, r, touch


def force(law, q, params, nl: NeighborList):
    """Forces (N, dim): each touching pair adds ±κ(σ − r) d/r to i and j."""
    i, j, d, r, touch = pair_terms(law, q, params, nl)
    kappa = jnp.asarray(params.kappa).astype(q.dtype)
    sigma = jnp.asarray(params.sigma).astype(q.dtype)
    f = jnp.where(touch, kappa * (sigma - r) / r, 0.0)[:, None] * d
    return checked(law, jnp.zeros_like(q).at[i].add(f).at[j].add(-f), nl)


def potential_energy(law, q, params, nl: NeighborList):
    _, _, _, r, touch = pair_terms(law, q, params, nl)
    kappa = jnp.asarray(params.kappa).astype(q.dtype)
    sigma = jnp.asarray(params.sigma).astype(q.dtype)
    return checked(law, jnp.sum(jnp.where(touch, 0.5 * kappa * (sigma - r) ** 2, 0.0)), nl)


def contacts(law, q, params, nl: NeighborList):
    i, j, _, _, touch = pair_terms(law, q, params, nl)
    t = touch.astype(jnp.int32)
    return checked(law, jnp.zeros(q.shape[0], jnp.int32).at[i].add(t).at[j].add(t), nl)
