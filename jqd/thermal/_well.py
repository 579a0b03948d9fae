"""Classical point particles in a smooth n-D well (physics §7.9).

H = |p|²/2m + V(x), with V a smooth callable `V(x, params)` (default
`coupled_quartic`: ½ Σ k_i x_i² + λ Σ_{i<j} x_i² x_j²). The force −∇V is
taken by autodiff of Σ_trajectories V, so any smooth potential works and
the force is exactly the gradient of the energy that is monitored.

Schemes (`jqd.schemes`; both symplectic and time-reversible, so the energy
error stays bounded instead of drifting):

- `Strang()` ("verlet"): kick(h/2) · drift(h) · kick(h/2), order 2
  (Störmer-Verlet, the Strang splitting of kick and drift);
- `Yoshida4()` ("yoshida4"): Yoshida's triple jump of Verlet steps, order 4.

For V harmonic (λ = 0) the Verlet map is a linear symplectic map that rotates
each (x_i, p_i) with frequency ω̃_i, cos(ω̃_i h) = 1 − (ω_i h)²/2: it is stable
only for ω_i h < 2, the bound `guards` enforces (for the harmonic part).

State: `WellState(x, p)`, both of shape (..., n): any leading axes are
independent trajectories (an ensemble), the last axis the coordinates.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _steppers
from .._guards import Check
from .._law import AbstractLaw
from .._steppers import Strang, Yoshida4
from ._classical import SCHEMES, check_phase_pair, check_scalar_params
from ._well_params import WellParams, coupled_quartic

__all__ = ["WellState", "ClassicalWell"]


class WellState(eqx.Module):
    """Positions `x` and momenta `p`, each of shape (..., n): leading axes are
    trajectories, the last axis the n coordinates."""

    x: Array
    p: Array


def _force(potential, x, params):
    """−∇V at every trajectory (autodiff of the summed energy: trajectories
    are independent, so the gradient of the sum is each one's force). A test
    hook (tests/mutants_thermal_well.py)."""
    return -jax.grad(lambda z: jnp.sum(potential(z, params)))(x)


class ClassicalWell(AbstractLaw):
    """Point particles of mass m in a smooth n-D potential V(x, params).

    ẋ = p/m, ṗ = −∇V(x). `step` is Störmer-Verlet (`scheme=jqd.schemes.Strang()`,
    order 2) or Yoshida's fourth-order triple jump of it (`Yoshida4()`, the
    default); both are symplectic and time-reversible.

    Validated against (tests/test_thermal_well.py): the closed-form
    harmonic flow at λ = 0 (1e-10), bounded energy error, convergence orders
    2 and 4, time reversal to round-off.

    Attributes:
        dim: number of coordinates n (the last axis of x and p).
        potential: `V(x, params) -> (...)` for x of shape (..., n); default
            `coupled_quartic` (uses `params.curvature` and `params.lam`).
        scheme: `jqd.schemes.Yoshida4()` (default) or `Strang()`, or its name
            ("yoshida4", "verlet" or "strang"); `order` is the scheme's.
    """

    dim: int = eqx.field(static=True, default=2)
    potential: Callable = eqx.field(static=True, default=coupled_quartic)
    scheme: Strang | Yoshida4 = _steppers.scheme_field(Yoshida4(), SCHEMES)

    def __check_init__(self):
        _steppers.check_scheme(self.scheme, SCHEMES)
        if not callable(self.potential):
            raise TypeError("potential must be a function V(x, params).")
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"dim must be a positive int; got {self.dim!r}.")

    # -- dynamics ----------------------------------------------------------------
    def vector_field(self, t, y, params):
        m = jnp.asarray(params.mass, y.p.dtype)
        return WellState(x=y.p / m, p=_force(self.potential, y.x, params).astype(y.p.dtype))

    def _verlet(self, y, h, params):
        m = jnp.asarray(params.mass, y.p.dtype)
        h = jnp.asarray(h, y.p.dtype)
        p = y.p + (h / 2) * _force(self.potential, y.x, params).astype(y.p.dtype)
        x = y.x + h * p / m
        p = p + (h / 2) * _force(self.potential, x, params).astype(y.p.dtype)
        return WellState(x=x, p=p)

    def step(self, t, y, params, dt, key=None):
        return self.scheme.compose(lambda z, h: self._verlet(z, h, params), y, dt)

    def energy(self, t, y, params):
        """|p|²/2m + V(x) per trajectory (shape: the leading axes)."""
        m = jnp.asarray(params.mass, y.p.dtype)
        return jnp.sum(y.p * y.p, axis=-1) / (2 * m) + self.potential(y.x, params)

    # -- validation ----------------------------------------------------------------
    def check(self, y, params, dt=None):
        if not isinstance(y, WellState):
            raise ValueError(
                f"y0 must be a jqd.thermal.WellState(x, p); got {type(y).__name__}. "
                "Build one with WellState(x=positions, p=momenta), each of shape (..., dim)."
            )
        check_phase_pair(y.x, y.p, "y0.x and y0.p", self.dim, "the coordinates")
        well = isinstance(params, WellParams)
        check_scalar_params(params, ("mass", "lam") if well else ("mass",))
        if well and self.potential is coupled_quartic:
            k = jnp.shape(params.curvature)
            if k != (self.dim,):
                raise ValueError(
                    f"params.curvature must have shape ({self.dim},) for dim = {self.dim}; got {k}."
                )

    def checks(self, y, params, dt=None):
        """k_i > 0 and λ >= 0 (else the default well is unbounded and
        trajectories escape), and the stability bound of the harmonic part,
        ω_max dt < 2 (Verlet) or < 1.573 (Yoshida-4, the triple jump's own bound:
        |tr M| <= 2 of its one-step matrix; larger than 2 over its largest
        sub-step, 1.70 dt)."""
        if not (isinstance(params, WellParams) and self.potential is coupled_quartic):
            return []
        k = jnp.asarray(params.curvature)
        out = [
            Check(
                jnp.all(k > 0),
                "params.curvature (spring constants k_i) must all be positive; got "
                "{value}. Pass a positive stiffness on every axis.",
                k,
            ),
            Check(
                jnp.asarray(params.lam) >= 0,
                "params.lam must be >= 0 (a negative x²y² coupling makes the well "
                "unbounded: trajectories escape); got {value}.",
                jnp.asarray(params.lam),
            ),
        ]
        if dt is not None:
            limit = self.scheme.stability  # the composite step's bound, as for the chain
            omega_h = jnp.sqrt(jnp.max(k) / params.mass) * jnp.abs(dt)
            out.append(
                Check(
                    omega_h < limit,
                    f"dt is beyond the stability bound of {self.scheme!r}: ω_max·dt = {{value}} "
                    f">= {limit} (ω_max = √(max k / m)). Reduce dt below {limit}/ω_max (and "
                    "well below it for accuracy).",
                    omega_h,
                )
            )
        return out
