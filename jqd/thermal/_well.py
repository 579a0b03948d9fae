"""Classical point particles in a smooth n-D well (physics §7.9): H = |p|²/2m +
V(x), the force −∇V by autodiff (exactly the gradient of the monitored energy),
stepped by a symplectic splitting of `jqd.thermal._classical.SCHEMES`."""

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
from ._classical import SCHEMES, check_phase_pair, check_scalar_params, step_bound


class WellParams(eqx.Module):
    """Constants of a particle in a smooth well (all differentiable).

    Attributes:
        mass: particle mass m > 0.
        lam: coupling λ >= 0 of the default potential `coupled_quartic`.
        curvature: (n,) spring constants k_i > 0 of its harmonic part
            (V ⊃ ½ Σ k_i x_i², so ω_i = √(k_i/m)); its length is the dimension.
    """

    mass: float | Array = 1.0
    lam: float | Array = 0.0
    curvature: Array = eqx.field(default_factory=lambda: jnp.asarray([1.0, 1.69]))


def coupled_quartic(x, params: WellParams):
    """V(x) = ½ Σ_i k_i x_i² + λ Σ_{i<j} x_i² x_j² for x of shape (..., n).

    In 2-D with k = (1, 1.69): V = ½(x² + 1.69 y²) + λ x² y², the chaotic
    well of physics §7.9 (integrable at λ = 0)."""
    x2 = x * x
    k = jnp.asarray(params.curvature, x.dtype)
    harmonic = 0.5 * jnp.sum(k * x2, axis=-1)
    s = jnp.sum(x2, axis=-1)
    pairs = 0.5 * (s * s - jnp.sum(x2 * x2, axis=-1))  # Σ_{i<j} x_i² x_j²
    return harmonic + jnp.asarray(params.lam, x.dtype) * pairs


class WellState(eqx.Module):
    """Positions `x` and momenta `p`, each (..., n): leading axes are trajectories."""

    x: Array
    p: Array


def _force(potential, x, params):
    """−∇V at every trajectory (a test hook: tests/mutants_thermal_well.py)."""
    return -jax.grad(lambda z: jnp.sum(potential(z, params)))(x)


EXACT_HESSIAN_DIM = 16  # up to this many coordinates the Hessian is built whole


def curvature_frequency(potential, x, params, iterations: int = 100):
    """ω = √(max |eigenvalue of ∇²V(x)| / m) over the trajectories (leading
    axes) of x: the harmonic frequency the accuracy bound of a step needs,
    estimated from a user's V at the initial positions (larger anharmonic
    amplitudes later stiffen it further). Hessian-vector products of the
    force, so V is called as the step calls it; the whole (n, n) Hessian
    for n <= 16 coordinates, else `iterations` of power iteration."""
    x = jnp.asarray(x)
    m = jnp.asarray(params.mass, x.dtype)
    force = lambda z: _force(potential, z, params).astype(x.dtype)
    hvp = lambda v: -jax.jvp(force, (x,), (v,))[1]  # per trajectory: V is summed over them
    n = x.shape[-1]
    if n <= EXACT_HESSIAN_DIM:
        eye = jnp.eye(n, dtype=x.dtype).reshape((n,) + (1,) * (x.ndim - 1) + (n,))
        eye = jnp.broadcast_to(eye, (n, *x.shape))
        columns = jax.vmap(hvp)(eye)  # (n, ..., n): column i is ∇²V e_i
        hess = jnp.moveaxis(columns, 0, -1)
        hess = 0.5 * (hess + jnp.swapaxes(hess, -1, -2))
        top = jnp.max(jnp.abs(jnp.linalg.eigvalsh(hess)))
    else:
        v = jnp.ones_like(x) + 0.1 * jnp.cos(jnp.arange(n, dtype=x.dtype))

        def power(_, v):
            w = hvp(v)
            return w / jnp.maximum(jnp.linalg.norm(w, axis=-1, keepdims=True), 1e-300)

        v = jax.lax.fori_loop(0, iterations, power, v / jnp.linalg.norm(v, axis=-1, keepdims=True))
        top = jnp.max(jnp.linalg.norm(hvp(v), axis=-1))
    return jnp.sqrt(top / m)


class ClassicalWell(AbstractLaw):
    """Point particles of mass m in a smooth n-D potential V(x, params).

    ẋ = p/m, ṗ = −∇V(x), stepped by `scheme` (kick-drift-kick Verlet or its
    Yoshida triple jump). Validated against the harmonic flow at λ = 0 (1e-10),
    by its orders and time reversal (tests/test_thermal_well.py).

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

    def vector_field(self, t, y, params):
        m = jnp.asarray(params.mass, y.p.dtype)
        return WellState(x=y.p / m, p=_force(self.potential, y.x, params).astype(y.p.dtype))

    def sample_axes(self, y):
        """A batch of trajectories (leading axes) is an ensemble of samples."""
        return WellState(x=0, p=0) if jnp.ndim(y.x) >= 2 else None

    def step(self, t, y, params, dt, key=None):
        def verlet(y, h):  # kick-drift-kick
            m, h = jnp.asarray(params.mass, y.p.dtype), jnp.asarray(h, y.p.dtype)
            force = lambda x: _force(self.potential, x, params).astype(y.p.dtype)
            p = y.p + (h / 2) * force(y.x)
            x = y.x + h * p / m
            return WellState(x=x, p=p + (h / 2) * force(x))

        return self.scheme.compose(verlet, y, dt)

    def energy(self, t, y, params):
        """|p|²/2m + V(x) per trajectory (shape: the leading axes)."""
        m = jnp.asarray(params.mass, y.p.dtype)
        return jnp.sum(y.p * y.p, axis=-1) / (2 * m) + self.potential(y.x, params)

    def check(self, y, params, dt=None):
        if not isinstance(y, WellState):
            raise ValueError(f"y0 must be a jqd.thermal.WellState(x, p); got {type(y).__name__}.")
        check_phase_pair(y.x, y.p, "y0.x and y0.p", self.dim, "the coordinates")
        well = isinstance(params, WellParams)
        check_scalar_params(params, ("mass", "lam") if well else ("mass",))
        k = jnp.shape(params.curvature) if well else (self.dim,)
        if self.potential is coupled_quartic and k != (self.dim,):
            raise ValueError(f"params.curvature must have shape ({self.dim},); got {k}.")

    def checks(self, y, params, dt=None):
        """k_i > 0, λ >= 0 (else the default well is unbounded) and ω_max dt
        within the scheme's accuracy bound (docs/internals/thermal.md#accuracy-bounds);
        for a user's V, ω² from its Hessian at y0.x (`curvature_frequency`)."""
        if not (isinstance(params, WellParams) and self.potential is coupled_quartic):
            if dt is None:
                return []
            omega = curvature_frequency(self.potential, y.x, params)
            undefined = (
                "the curvature of the potential at y0.x is not finite ({value}), so the step's "
                "accuracy bound cannot be estimated: start where V is twice differentiable, or "
                "pass check=False to run it unchecked."
            )
            what = "ω = √(max |eig ∇²V(y0.x)| / m), the user potential's curvature at y0"
            return [
                Check(jnp.isfinite(omega), undefined, omega),
                step_bound(self.scheme, omega * jnp.abs(dt), what),
            ]
        k = jnp.asarray(params.curvature)
        lam = jnp.asarray(params.lam)
        unbounded = "params.lam must be >= 0 (else the well is unbounded); got {value}."
        out = [
            Check(jnp.all(k > 0), "params.curvature (the k_i) must all be > 0; got {value}.", k),
            Check(lam >= 0, unbounded, lam),
        ]
        if dt is not None:
            omega_h = jnp.sqrt(jnp.max(k) / params.mass) * jnp.abs(dt)
            out.append(step_bound(self.scheme, omega_h, "ω = ω_max = √(max k / m)"))
        return out
