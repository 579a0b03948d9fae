"""Classical point particles in a smooth n-D well (physics §7.9).

H = |p|²/2m + V(x), with V a smooth callable `V(x, params)` (default
`coupled_quartic`: ½ Σ k_i x_i² + λ Σ_{i<j} x_i² x_j²). The force −∇V is
taken by autodiff of Σ_trajectories V, so any smooth potential works and
the force is exactly the gradient of the energy that is monitored.

Integrators (both symplectic and time-reversible, so the energy error stays
bounded instead of drifting):

- "verlet": kick(h/2) · drift(h) · kick(h/2), order 2 (Störmer-Verlet);
- "yoshida4": Yoshida's triple jump of Verlet steps, order 4.

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
from .._guards import Guard
from .._law import AbstractLaw
from ._classical import STABILITY
from ._well_params import WellParams, coupled_quartic

__all__ = ["WellState", "ClassicalWell"]

_ORDERS = {"verlet": 2, "yoshida4": 4}


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

    ẋ = p/m, ṗ = −∇V(x). `step` is Störmer-Verlet (`method="verlet"`, order
    2) or Yoshida's fourth-order triple jump of it (`"yoshida4"`); both are
    symplectic and time-reversible.

    Validated against (tests/test_thermal_well.py): the closed-form
    harmonic flow at λ = 0 (1e-10), bounded energy error, convergence orders
    2 and 4, time reversal to round-off.

    Attributes:
        dim: number of coordinates n (the last axis of x and p).
        potential: `V(x, params) -> (...)` for x of shape (..., n); default
            `coupled_quartic` (uses `params.curvature` and `params.lam`).
        method: "verlet" or "yoshida4".
    """

    dim: int = eqx.field(static=True, default=2)
    potential: Callable = eqx.field(static=True, default=coupled_quartic)
    method: str = eqx.field(static=True, default="yoshida4")

    def __check_init__(self):
        if self.method not in _ORDERS:
            raise ValueError(f"method must be one of {sorted(_ORDERS)}; got {self.method!r}.")
        if not callable(self.potential):
            raise TypeError("potential must be a function V(x, params).")
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"dim must be a positive int; got {self.dim!r}.")

    @property
    def order(self) -> int:
        return _ORDERS[self.method]

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
        verlet = lambda z, h: self._verlet(z, h, params)
        if self.method == "verlet":
            return verlet(y, dt)
        return _steppers.yoshida4(verlet, y, dt)

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
        xs, ps = jnp.shape(y.x), jnp.shape(y.p)
        if xs != ps or len(xs) < 1 or xs[-1] != self.dim:
            raise ValueError(
                f"y0.x and y0.p must both have shape (..., {self.dim}) (last axis: the "
                f"coordinates); got {xs} and {ps}."
            )
        if jnp.iscomplexobj(y.x) or jnp.iscomplexobj(y.p):
            raise ValueError("y0.x and y0.p must be real arrays.")
        names = ("mass", "lam") if isinstance(params, WellParams) else ("mass",)
        for name in names:
            if jnp.ndim(getattr(params, name)) != 0:
                raise ValueError(
                    f"params.{name} must be a scalar; got shape "
                    f"{jnp.shape(getattr(params, name))}. For several values use jax.vmap "
                    "over params."
                )
        if isinstance(params, WellParams) and self.potential is coupled_quartic:
            k = jnp.shape(params.curvature)
            if k != (self.dim,):
                raise ValueError(
                    f"params.curvature must have shape ({self.dim},) for dim = {self.dim}; got {k}."
                )

    def guards(self, y, params, dt=None):
        """k_i > 0 and λ >= 0 (else the default well is unbounded and
        trajectories escape), and the stability bound of the harmonic part,
        ω_max dt < 2 (Verlet) or < 1.573 (Yoshida-4, the triple jump's own bound:
        |tr M| <= 2 of its one-step matrix; larger than 2 over its largest
        sub-step, 1.70 dt)."""
        if not (isinstance(params, WellParams) and self.potential is coupled_quartic):
            return []
        k = jnp.asarray(params.curvature)
        out = [
            Guard(
                jnp.all(k > 0),
                "params.curvature (spring constants k_i) must all be positive; got "
                "{value}. Pass a positive stiffness on every axis.",
                k,
            ),
            Guard(
                jnp.asarray(params.lam) >= 0,
                "params.lam must be >= 0 (a negative x²y² coupling makes the well "
                "unbounded: trajectories escape); got {value}.",
                jnp.asarray(params.lam),
            ),
        ]
        if dt is not None:
            limit = STABILITY[self.method]  # the composite step's bound, as for the chain
            omega_h = jnp.sqrt(jnp.max(k) / params.mass) * jnp.abs(dt)
            out.append(
                Guard(
                    omega_h < limit,
                    f"dt is beyond the {self.method} stability bound: ω_max·dt = {{value}} >= "
                    f"{limit} (ω_max = √(max k / m)). Reduce dt below {limit}/ω_max (and well "
                    "below it for accuracy).",
                    omega_h,
                )
            )
        return out
