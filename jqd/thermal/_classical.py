"""Classical FPUT chains: the anharmonic lattice that can thermalize (physics §7.5).

A chain of n unit-spaced sites with scalar displacements q_j and momenta p_j,

    H = Σ_j p_j²/2m + Σ_bonds V(r) + Σ_j (pinning/2) q_j²,
    V(r) = spring r²/2 + alpha r³/3 + beta r⁴/4,

r the stretch of a bond. Ends "fixed" (walls q_0 = q_{n+1} = 0: n + 1 bonds)
or "periodic" (q_{n+1} = q_1: n bonds). The force on site j is
f(r_j) − f(r_{j−1}) − pinning q_j with f = V' and r_j = q_{j+1} − q_j.

H = T(p) + V(q) is separable, so the step is the symplectic Störmer-Verlet
leapfrog (drift–kick–drift: one force evaluation per step, order 2; the
Strang splitting of drift and kick, `jqd.schemes.Strang()`) or Yoshida's
triple jump of it (order 4, `jqd.schemes.Yoshida4()`). Both are time-reversible and conserve a shadow Hamiltonian: |ΔE/E|
stays bounded (no drift) as long as the step resolves the fastest mode.
Linear stability of the harmonic part: ω_max dt < 2 (Verlet) and
ω_max dt < 1.573 (Yoshida-4, computed from the trace of its 2×2 transfer
matrix), with ω_max² = (4 spring + pinning)/m the harmonic band edge
(`scheme.stability`).

With alpha = beta = 0 the chain is the linear lattice of §7.4: the means of a
Gaussian state follow exactly these equations (tested to 1e-10).

A `PhaseState(q, p)` carries any number of leading trajectory axes
(q.shape = (..., n)): an ensemble is one state. An escaping α-chain (the
cubic potential is unbounded below) or a β < 0 chain runs to ±Inf and
`jqd.evolve` stops with `jqd.NonFiniteError` at the next save.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .. import _steppers
from .._guards import Check, scalar
from .._law import AbstractLaw
from .._steppers import Strang, Yoshida4

__all__ = ["PhaseState", "FPUTParams", "ClassicalLattice", "omega_max"]

BOUNDARIES = ("fixed", "periodic")
# Symplectic splittings of kick and drift (also ClassicalWell's); each carries its
# order and the largest stable ω dt of the harmonic oscillator (module docstring).
SCHEMES = (Strang, Yoshida4)


class PhaseState(eqx.Module):
    """Positions `q` and momenta `p` of equal shape.

    Chains: (..., n) with leading trajectory axes. Gases: (n_particles, dim).
    """

    q: Array
    p: Array


class FPUTParams(eqx.Module):
    """Constants of the FPUT chain (all differentiable floats).

    Attributes:
        mass: site mass m > 0.
        spring: harmonic bond stiffness > 0 (force/length).
        alpha: cubic bond coefficient (V ∋ alpha r³/3).
        beta: quartic bond coefficient (V ∋ beta r⁴/4; < 0 lets the chain escape).
        pinning: on-site stiffness >= 0 (V ∋ pinning q²/2).
    """

    mass: float | Array = 1.0
    spring: float | Array = 1.0
    alpha: float | Array = 0.0
    beta: float | Array = 0.0
    pinning: float | Array = 0.0


def omega_max(params: FPUTParams):
    """Harmonic band edge √((4 spring + pinning)/m), an upper bound on every ω_k."""
    return jnp.sqrt((4.0 * params.spring + params.pinning) / params.mass)


def _bonds(q, boundary):
    """Bond stretches r (..., n + 1) for fixed ends, (..., n) for periodic."""
    if boundary == "periodic":
        return jnp.roll(q, -1, axis=-1) - q
    zero = jnp.zeros(q.shape[:-1] + (1,), q.dtype)
    return jnp.diff(jnp.concatenate([zero, q, zero], axis=-1), axis=-1)


def check_phase_pair(x, p, names: str, last: int, axis: str) -> None:
    """Positions and momenta `names` (e.g. "y0.q and y0.p") are real arrays of
    one shape (..., last), leading axes trajectories; `axis` says what the
    last axis holds."""
    xs, ps = jnp.shape(x), jnp.shape(p)
    if xs != ps or len(xs) < 1 or xs[-1] != last:
        raise ValueError(
            f"{names} must both have shape (..., {last}) (last axis: {axis}; leading axes are "
            f"trajectories); got {xs} and {ps}."
        )
    if jnp.iscomplexobj(x) or jnp.iscomplexobj(p):
        raise ValueError(f"{names} must be real arrays.")


def check_scalar_params(params, names) -> None:
    """Each `params.<name>` is a scalar (a batch of values is for jax.vmap)."""
    for name in names:
        if jnp.ndim(getattr(params, name)) != 0:
            raise ValueError(
                f"params.{name} must be a scalar; got shape {jnp.shape(getattr(params, name))}. "
                "For several values use jax.vmap over params."
            )


def _cast(params, dtype):
    return [jnp.asarray(getattr(params, k)).astype(dtype) for k in FPUT_FIELDS]


FPUT_FIELDS = ("mass", "spring", "alpha", "beta", "pinning")


class ClassicalLattice(AbstractLaw):
    """FPUT α/β chain with pinning (physics §7.5).

    Attributes:
        n: number of mobile sites (>= 2).
        boundary: "fixed" (walls at both ends) or "periodic".
        scheme: `jqd.schemes.Strang()` (Störmer-Verlet, order 2; default) or
            `Yoshida4()` (order 4), or its name ("verlet" or "strang",
            "yoshida4"); `order` is the scheme's.

    The state is `PhaseState(q, p)`, q and p of shape (..., n); `energy`
    returns one value per trajectory. Validated against the exact harmonic
    solution (alpha = beta = 0) to 1e-10 and by its convergence orders
    (tests/test_thermal_classical.py).
    """

    n: int = eqx.field(static=True)
    boundary: str = eqx.field(static=True, default="fixed")
    scheme: Strang | Yoshida4 = _steppers.scheme_field(Strang(), SCHEMES)

    def __check_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 2:
            raise ValueError(f"n must be an integer >= 2 (the number of sites); got {self.n!r}.")
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"boundary must be one of {BOUNDARIES}; got {self.boundary!r}.")
        _steppers.check_scheme(self.scheme, SCHEMES)

    def force(self, q, params):
        """−∂V/∂q, shape of q."""
        _, k, a, b, pin = _cast(params, q.dtype)
        r = _bonds(q, self.boundary)
        f = r * (k + r * (a + b * r))  # V'(r)
        if self.boundary == "periodic":
            return f - jnp.roll(f, 1, axis=-1) - pin * q
        return f[..., 1:] - f[..., :-1] - pin * q

    def potential_energy(self, q, params):
        _, k, a, b, pin = _cast(params, q.dtype)
        r = _bonds(q, self.boundary)
        v = r * r * (k / 2 + r * (a / 3 + b * r / 4))
        return jnp.sum(v, axis=-1) + 0.5 * pin * jnp.sum(q * q, axis=-1)

    def kinetic_energy(self, p, params):
        m = jnp.asarray(params.mass).astype(p.dtype)
        return jnp.sum(p * p, axis=-1) / (2 * m)

    def energy(self, t, y, params):
        """H per trajectory, shape y.q.shape[:-1]."""
        return self.kinetic_energy(y.p, params) + self.potential_energy(y.q, params)

    def vector_field(self, t, y, params):
        m = jnp.asarray(params.mass).astype(y.p.dtype)
        return PhaseState(q=y.p / m, p=self.force(y.q, params))

    def _verlet(self, y, h, params):
        # drift-kick-drift: one force evaluation per (sub)step
        m = jnp.asarray(params.mass).astype(y.p.dtype)
        h = jnp.asarray(h).astype(y.q.dtype)
        q = y.q + 0.5 * h * y.p / m
        p = y.p + h * self.force(q, params)
        return PhaseState(q=q + 0.5 * h * p / m, p=p)

    def step(self, t, y, params, dt, key=None):
        return self.scheme.compose(lambda z, h: self._verlet(z, h, params), y, dt)

    def check(self, y, params, dt=None):
        if not isinstance(y, PhaseState):
            raise ValueError(f"y0 must be a jqd.thermal.PhaseState(q, p); got {type(y).__name__}.")
        check_phase_pair(y.q, y.p, "y0.q and y0.p", self.n, f"the n = {self.n} sites")
        check_scalar_params(params, FPUT_FIELDS)

    def checks(self, y, params, dt=None):
        """spring > 0, pinning >= 0 and the stability bound ω_max dt < 2 (Verlet) or
        < 1.573 (Yoshida-4)."""
        out = scalar(params.spring, "params.spring", positive=True, fix="e.g. spring=1.0.")
        out += scalar(params.pinning, "params.pinning", nonnegative=True, fix="e.g. pinning=0.")
        if dt is not None:
            limit = self.scheme.stability
            wdt = omega_max(params) * dt
            out.append(
                Check(
                    wdt < limit,
                    f"dt is too large: ω_max·dt = {{value}} >= {limit} (ω_max = "
                    f"√((4 spring + pinning)/mass), the highest harmonic mode; the "
                    f"{self.scheme!r} step is unstable beyond it). Use dt < "
                    f"{limit}/ω_max (a tenth of it for accurate energies).",
                    wdt,
                )
            )
        return out
