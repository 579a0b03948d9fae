"""Observables `obs(t, y, params)`, each an `eqx.Module` built from the law
it reads (its grid or basis); pass one, or a dict of them, as `observe=` to
`jqd.evolve` / `jqd.evolve_adaptive`. Laws supply `density(y)` and, where
defined, `energy(t, y, params)`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ._law import AbstractLaw
from ._sparse import as_operator
from .interop import _library, as_array

__all__ = [
    "Norm",
    "Density",
    "PositionMoments",
    "MomentumMoments",
    "Energy",
    "Overlap",
    "Fidelity",
    "Expect",
    "NormDrift",
    "EnergyDrift",
]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)


def _integrate(law: AbstractLaw, f):
    grid = getattr(law, "grid", None)
    return jnp.sum(f, axis=-1) if grid is None else grid.integrate(f)


class Norm(eqx.Module):
    """∫ density (grid laws) or Σ populations (basis laws)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        return _integrate(self.law, self.law.density(y))


class Density(eqx.Module):
    """The position density (|ψ|², ρ, ...) or basis populations."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        return self.law.density(y)


class PositionMoments(eqx.Module):
    """⟨x_i^p⟩ for each axis i and each power p in `powers`, shape (ndim,
    len(powers)); central moments (p >= 2 about the mean) if `central=True`."""

    law: AbstractLaw
    powers: tuple[int, ...] = eqx.field(static=True, default=(1, 2))
    central: bool = eqx.field(static=True, default=False)

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        norm = grid.integrate(rho)
        rows = []
        for x in grid.mesh(jnp.real(rho).dtype):
            mean = grid.integrate(x * rho) / norm
            xc = x - mean if self.central else x
            moments = [grid.integrate((xc if p >= 2 else x) ** p * rho) / norm for p in self.powers]
            rows.append(jnp.stack(moments))
        return jnp.stack(rows)


class MomentumMoments(eqx.Module):
    """⟨p_i⟩ and ⟨p_i²⟩ of a grid wavefunction (p = ħk); shape (ndim, 2)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        pk = jnp.abs(grid.fft(y)) ** 2
        pk = pk / jnp.sum(pk)
        rows = []
        for i, k in enumerate(grid.wavenumbers(jnp.real(y).dtype)):
            p = params.hbar * grid._along(k, i)
            rows.append(jnp.stack([jnp.sum(p * pk), jnp.sum(p**2 * pk)]))
        return jnp.stack(rows)


class Energy(eqx.Module):
    """⟨H⟩ as the law defines it."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        return self.law.energy(t, y, params)


class Overlap(eqx.Module):
    """⟨ref|ψ⟩ (complex) on the law's grid or basis; `ref` may be a QuTiP or
    dynamiqs ket."""

    law: AbstractLaw
    ref: Array = eqx.field(converter=lambda r: as_array(r, "Overlap.ref"))

    def __call__(self, t, y, params):
        return _integrate(self.law, jnp.conj(self.ref) * y)


class Fidelity(eqx.Module):
    """|⟨ref|ψ⟩|² (`ref` as for `Overlap`)."""

    law: AbstractLaw
    ref: Array = eqx.field(converter=lambda r: as_array(r, "Fidelity.ref"))

    def __call__(self, t, y, params):
        return jnp.abs(Overlap(self.law, self.ref)(t, y, params)) ** 2


def _operator(a):
    """`a` as an array, kept in the storage its nonzero pattern calls for
    (diagonal or banded `DiaMatrix`, BCOO; `as_operator`), read once here
    where it is concrete, so that a user's own `jax.jit` keeps it; a QuTiP
    operator stored sparse (CSR, Dia) is read from its own data."""
    data = getattr(a, "data", None)
    if _library(a) == "qutip" and getattr(a, "isoper", False) and hasattr(data, "as_scipy"):
        return as_operator(data.as_scipy())
    return as_operator(as_array(a, "Expect.op"))


class Expect(eqx.Module):
    """⟨ψ|A|ψ⟩ for a basis operator `A` (complex; take `.real` for Hermitian
    A); `op` may be a QuTiP `Qobj` or a dynamiqs `QArray`. A diagonal,
    banded or sparse `A` (d ≥ 128 for the latter two) is stored so: each
    save then costs O(nonzeros), not O(d²)."""

    op: Array = eqx.field(converter=_operator)

    def __call__(self, t, y, params):
        return jnp.vdot(y, self.op.astype(y.dtype) @ y)


class NormDrift(eqx.Module):
    """norm(t) − 1: the conservation diagnostic for unit-norm states."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        return Norm(self.law)(t, y, params) - 1.0


class EnergyDrift(eqx.Module):
    """E(t) − E0 for a reference energy `e0` (usually the initial energy)."""

    law: AbstractLaw
    e0: Array

    def __call__(self, t, y, params):
        return self.law.energy(t, y, params) - self.e0
