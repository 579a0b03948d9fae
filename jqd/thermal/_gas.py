"""Soft-sphere gas in a periodic box: the chaotic classical reference (physics §7.5).

U(r) = κ(σ − r)²/2 for r < σ. Neighbours come from a sort-based cell list
rebuilt every force evaluation or, with `skin`, from a Verlet neighbour list
(`GasState`) rebuilt when a particle has moved skin/2; either way a pair is
never dropped silently (an overflow stops the run in-graph, naming the fix).
Costs and layout: docs/internals/thermal.md#gas.
"""

from __future__ import annotations

import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._guards import Check, scalar
from .._law import AbstractLaw
from .._steppers import Strang
from ._classical import PhaseState, check_scalar_params, leapfrog, step_bound


class GasParams(eqx.Module):
    """Constants of the soft-sphere gas (differentiable floats).

    Attributes:
        mass: particle mass m > 0.
        kappa: contact stiffness κ > 0 (energy/length²).
        sigma: contact distance σ > 0 (the diameter), at most the cell side.
    """

    mass: float | Array = 1.0
    kappa: float | Array = 1.0
    sigma: float | Array = 1.0


class NeighborList(eqx.Module):
    """Pairs (i, j), i < j, within σ + skin of each other at `reference`.

    Attributes:
        pairs: (max_pairs, 2) int32 particle indices; rows past `count` are (0, 0).
        count: number of listed pairs (may exceed max_pairs: then an overflow).
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


class SoftSphereGas(AbstractLaw):
    """Harmonic soft spheres in a periodic box, Störmer-Verlet (physics §7.5).

    Attributes:
        n_particles: N >= 2.
        box: side L of the periodic square/cube.
        dim: 2 or 3.
        cell_size: smallest cell side (>= sigma); L/cell_size must be >= 3.
        max_occupancy: slots per cell (None: from the mean occupancy; an
            overflow raises in-graph, naming the fix).
        skin: None (a cell-list search every force evaluation, state
            `PhaseState`) or the skin > 0 of a Verlet neighbour list (pairs
            within sigma + skin; state `GasState` from `with_neighbors`;
            needs cell_size >= sigma + skin).
        max_pairs: rows of the neighbour list (None: twice the ideal-gas pair
            count within cell_size, plus margin; more pairs raise in-graph).

    `jqd.evolve` refuses ω_c dt > 0.5 (ω_c = √(2κ/m)). q and p are (N, dim).
    Validated against an O(N²) NumPy reference to 1e-10, with `skin` to 1e-12
    (tests/test_thermal_classical.py).
    """

    n_particles: int = eqx.field(static=True)
    box: float = eqx.field(static=True)
    dim: int = eqx.field(static=True, default=2)
    cell_size: float = eqx.field(static=True, default=1.0)
    max_occupancy: int | None = eqx.field(static=True, default=None)
    skin: float | None = eqx.field(static=True, default=None)
    max_pairs: int | None = eqx.field(static=True, default=None)

    scheme = Strang()  # velocity Verlet between the neighbor-list refreshes

    def __check_init__(self):
        n = self.n_particles
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"n_particles must be an int >= 2; got {n!r}.")
        if self.dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3; got {self.dim!r}.")
        if not (self.cell_size > 0 and self.box > 0):
            raise ValueError(
                f"box and cell_size must be > 0; got {self.box!r}, {self.cell_size!r}."
            )
        if self.skin is not None and not self.skin > 0:
            raise ValueError(f"skin must be None or > 0 (e.g. 0.3 sigma); got {self.skin!r}.")
        if not (self.max_pairs is None or isinstance(self.max_pairs, int) and self.max_pairs >= 1):
            raise ValueError(f"max_pairs must be None or an int >= 1; got {self.max_pairs!r}.")
        if self.n_side < 3:
            raise ValueError(
                f"box = {self.box:g} holds {self.n_side} < 3 cells of side {self.cell_size:g} per "
                f"axis: use box >= {3 * self.cell_size:g}, or a smaller cell_size (>= sigma)."
            )

    @property
    def n_side(self) -> int:
        return int(math.floor(self.box / self.cell_size + 1e-12))

    @property
    def cell_length(self) -> float:
        return self.box / self.n_side

    @property
    def slots(self) -> int:
        if self.max_occupancy is not None:
            return int(self.max_occupancy)
        mean = self.n_particles / self.n_side**self.dim
        # a cell of side >= σ holds at most 2^dim non-overlapping spheres (its corners)
        return max(2**self.dim + 1, math.ceil(mean + 5 * math.sqrt(mean) + 2))

    @property
    def pairs_capacity(self) -> int:
        if self.max_pairs is not None:
            return int(self.max_pairs)
        # twice the ideal-gas pair count within sigma + skin <= cell_size, plus margin
        c = self.cell_size
        ball = math.pi * c**2 if self.dim == 2 else 4.0 / 3.0 * math.pi * c**3
        mean = 0.5 * self.n_particles * (self.n_particles / self.box**self.dim) * ball
        return int(math.ceil(2.0 * mean + 10.0 * math.sqrt(mean) + 64))

    def with_neighbors(self, y, params) -> GasState:
        """`y` (a `PhaseState`) with a neighbour list built at y.q (needs `skin`)."""
        if self.skin is None:
            raise ValueError("with_neighbors needs a SoftSphereGas(..., skin=...), e.g. skin=0.3.")
        q = jnp.asarray(y.q)
        return GasState(q, jnp.asarray(y.p), self._build_neighbors(q, params))

    def candidates(self, q):
        """Candidate partners from the cell list: (`at` (N, K) positions in the
        cell-sorted list, `hit` (N, K) valid mask without self, `order` the sort
        permutation, overflow flag), K = 3^dim max_occupancy."""
        N, M, ns = self.n_particles, self.slots, self.n_side
        strides = jnp.asarray([ns**d for d in range(self.dim)], jnp.int32)
        c = jnp.floor(q / self.cell_length).astype(jnp.int32) % ns
        flat = c @ strides
        order = jnp.argsort(flat).astype(jnp.int32)
        counts = jnp.zeros(ns**self.dim, jnp.int32).at[flat].add(1)
        overflow = jnp.any(counts > M)
        first = jnp.cumsum(counts) - counts  # where each cell starts in the sorted list
        offsets = jnp.asarray(list(itertools.product((-1, 0, 1), repeat=self.dim)), jnp.int32)
        neigh = ((c[:, None, :] + offsets[None]) % ns) @ strides  # (N, 3^dim)
        slot = jnp.arange(M, dtype=jnp.int32)
        at = first[neigh][..., None] + slot  # (N, 3^dim, M)
        rank = jnp.zeros(N, jnp.int32).at[order].set(jnp.arange(N, dtype=jnp.int32))
        # slot k of a cell is taken when the cell holds more than k particles (a
        # gather of the (N, 3^dim) counts, not of the (N, 3^dim, M) sorted cell ids)
        hit = (slot < counts[neigh][..., None]) & (at != rank[:, None, None])
        at = jnp.where(hit, at, 0)
        return at.reshape(N, -1), hit.reshape(N, -1), order, overflow

    @eqx.filter_jit  # called on the host between runs: one program
    def _build_neighbors(self, q, params, builds=None) -> NeighborList:
        """All pairs within σ + skin from the cell list (one cell-list pass)."""
        at, hit, order, cell_overflow = self.candidates(q)
        j = order[at]  # original index of every candidate, (N, K)
        d = q[:, None, :] - q[j]
        d = d - self.box * jnp.round(d / self.box)
        cutoff = jnp.asarray(params.sigma).astype(q.dtype) + self.skin
        i = jnp.arange(q.shape[0], dtype=jnp.int32)[:, None]
        keep = hit & (i < j) & (jnp.sum(d * d, axis=-1) < cutoff * cutoff)
        count = jnp.sum(keep, dtype=jnp.int32)
        (flat,) = jnp.nonzero(keep.ravel(), size=self.pairs_capacity, fill_value=0)
        K = at.shape[1]
        pairs = jnp.stack([(flat // K).astype(jnp.int32), j.ravel()[flat]], axis=1)
        valid = jnp.arange(self.pairs_capacity) < count
        pairs = jnp.where(valid[:, None], pairs, 0)
        # a full cell would have dropped candidates: flag it as an overflow as well
        count = jnp.where(cell_overflow, jnp.iinfo(jnp.int32).max, count)
        builds = jnp.zeros((), jnp.int32) if builds is None else builds + 1
        return NeighborList(pairs, count, q, builds)

    def _refresh(self, nl: NeighborList, q, params) -> NeighborList:
        """The list, rebuilt at q if a particle has moved more than skin/2
        (minimum image) since its build."""
        d = q - nl.reference
        d = d - self.box * jnp.round(d / self.box)
        stale = jnp.max(jnp.sum(d * d, axis=-1)) > (0.5 * self.skin) ** 2
        return jax.lax.cond(stale, lambda: self._build_neighbors(q, params, nl.builds), lambda: nl)

    def _pairs(self, q, params, nl):
        """(i, j, d, r, touch, checked) over the cell list's candidates (i = j =
        None, rows are particles) or over the listed pairs of `nl`; `checked(x)`
        stops the run if a cell or the list overflowed."""
        if nl is None:
            at, valid, order, overflow = self.candidates(q)
            i = j = None
            d = q[:, None, :] - q[order][at]
            full = f"a cell holds more than max_occupancy = {self.slots} particles"
            fix = "max_occupancy"
        else:
            i, j = nl.pairs[:, 0], nl.pairs[:, 1]
            d = q[i] - q[j]
            valid = jnp.arange(self.pairs_capacity) < nl.count
            overflow = nl.count > self.pairs_capacity
            full = (
                f"more than max_pairs = {self.pairs_capacity} pairs within sigma + skin, or a "
                f"cell with more than max_occupancy = {self.slots} particles"
            )
            fix = "max_pairs (or max_occupancy)"
        d = d - self.box * jnp.round(d / self.box)
        r2 = jnp.sum(d * d, axis=-1)
        sigma = jnp.asarray(params.sigma).astype(q.dtype)
        touch = valid & (r2 < sigma * sigma)
        r = jnp.sqrt(jnp.where(touch, r2, 1.0))  # double where: finite gradients
        message = (
            f"SoftSphereGas: {full} (pairs would be dropped). Pass a larger {fix}, or check the "
            "state for collapsed particles."
        )
        return i, j, d, r, touch, lambda x: eqx.error_if(x, overflow, message)

    def force(self, q, params, neighbors=None):
        """Forces (N, dim) from every touching pair (from `neighbors`, a
        `NeighborList` valid at q, if given; else from the cell list)."""
        i, j, d, r, touch, checked = self._pairs(q, params, neighbors)
        kappa = jnp.asarray(params.kappa).astype(q.dtype)
        sigma = jnp.asarray(params.sigma).astype(q.dtype)
        mag = jnp.where(touch, kappa * (sigma - r) / r, 0.0)
        if neighbors is None:
            return checked(jnp.sum(mag[..., None] * d, axis=1))
        f = mag[:, None] * d  # each listed pair adds ±f to i and j
        return checked(jnp.zeros_like(q).at[i].add(f).at[j].add(-f))

    def potential_energy(self, q, params, neighbors=None):
        _, _, _, r, touch, checked = self._pairs(q, params, neighbors)
        kappa = jnp.asarray(params.kappa).astype(q.dtype)
        sigma = jnp.asarray(params.sigma).astype(q.dtype)
        u = jnp.where(touch, 0.5 * kappa * (sigma - r) ** 2, 0.0)
        return checked(0.5 * jnp.sum(u) if neighbors is None else jnp.sum(u))

    def kinetic_energy(self, p, params):
        return jnp.sum(p * p) / (2 * jnp.asarray(params.mass).astype(p.dtype))

    def energy(self, t, y, params):
        nl = self.neighbors_at(y, params)
        return self.kinetic_energy(y.p, params) + self.potential_energy(y.q, params, nl)

    def neighbors_at(self, y, params):
        """A `GasState`'s neighbour list, rebuilt if stale at y.q; None for a `PhaseState`."""
        return self._refresh(y.neighbors, y.q, params) if isinstance(y, GasState) else None

    def contacts(self, y, params):
        """Number of contacts of each particle (N,)."""
        nl = self.neighbors_at(y, params)
        i, j, _, _, touch, checked = self._pairs(y.q, params, nl)
        if nl is None:
            return checked(jnp.sum(touch, axis=1))
        t = touch.astype(jnp.int32)
        return checked(jnp.zeros(y.q.shape[0], jnp.int32).at[i].add(t).at[j].add(t))

    def vector_field(self, t, y, params):
        if isinstance(y, GasState):  # its list is refreshed between steps, not along an ODE
            raise ValueError(
                "y0 is a GasState: its neighbor list is refreshed at each step of jqd.evolve, "
                "which jqd.evolve_adaptive does not take. Use jqd.evolve, or pass "
                "jqd.thermal.PhaseState(y0.q, y0.p) (all pairs) to evolve_adaptive."
            )
        m = jnp.asarray(params.mass).astype(y.p.dtype)
        return PhaseState(q=y.p / m, p=self.force(y.q, params))

    def step(self, t, y, params, dt, key=None):
        """Störmer-Verlet, drift-kick-drift: one force evaluation per step."""
        m = jnp.asarray(params.mass).astype(y.p.dtype)
        h = jnp.asarray(dt).astype(y.q.dtype)
        if isinstance(y, GasState):  # the leapfrog, the list refreshed at the kick
            q = y.q + 0.5 * h * y.p / m
            nl = self._refresh(y.neighbors, q, params)
            p = y.p + h * self.force(q, params, nl)
            return GasState(jnp.mod(q + 0.5 * h * p / m, self.box), p, nl)
        y = leapfrog(lambda q: self.force(q, params), y, h, m)
        return PhaseState(q=jnp.mod(y.q, self.box), p=y.p)

    def check(self, y, params, dt=None):
        if self.skin is not None and not isinstance(y, GasState):
            raise ValueError(
                f"y0 must be a GasState for a law with skin = {self.skin:g}; got "
                f"{type(y).__name__}. Build it with law.with_neighbors(PhaseState(q, p), params)."
            )
        if self.skin is None and not isinstance(y, PhaseState):
            raise ValueError(f"y0 must be a jqd.thermal.PhaseState(q, p); got {type(y).__name__}.")
        want = (self.n_particles, self.dim)
        if jnp.shape(y.q) != want or jnp.shape(y.p) != want:
            raise ValueError(
                f"y0.q and y0.p must have shape (n_particles, dim) = {want}; got "
                f"{jnp.shape(y.q)} and {jnp.shape(y.p)}. Use jax.vmap for an ensemble."
            )
        check_scalar_params(params, ("mass", "kappa", "sigma"))

    def checks(self, y, params, dt=None):
        """κ, σ > 0; σ (+ skin) <= cell side; no initial overlaps; ω_c dt <= 0.5
        (why: docs/internals/thermal.md#accuracy-bounds)."""
        out = scalar(params.kappa, "params.kappa", positive=True, fix="e.g. kappa=100.")
        out += scalar(params.sigma, "params.sigma", positive=True, fix="e.g. sigma=1.")
        reach, what = jnp.asarray(params.sigma), "sigma"
        if self.skin is not None:  # the neighbour list reaches sigma + skin
            reach, what = reach + self.skin, "sigma + skin"
        missed = (
            f"params.{what} = {{value}} exceeds the cell side {self.cell_length:g} "
            f"(box/⌊box/cell_size⌋): pairs would be missed. Build the law with cell_size >= {what}."
        )
        worst = jnp.max(_contacts(self, y, params))  # compiled: fast on concrete input
        overlap = (
            "y0 has overlapping particles (a particle touches {value} others at t0): start "
            "from non-overlapping positions, e.g. a lattice, or a smaller sigma."
        )
        out += [Check(reach <= self.cell_length, missed, reach), Check(worst == 0, overlap, worst)]
        if dt is not None:
            wdt = jnp.sqrt(2 * jnp.asarray(params.kappa) / jnp.asarray(params.mass)) * dt
            omega = "ω = ω_c = √(2κ/m), the contact frequency of a pair"
            out.append(step_bound(Strang(), wdt, omega))
        return out


@eqx.filter_jit  # called eagerly: one program, not one per op
def _contacts(law, y, params):
    return law.contacts(y, params)
