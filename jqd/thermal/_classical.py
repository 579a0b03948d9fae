"""Classical FPUT chains and their read-outs (physics §7.5): the Störmer-Verlet
leapfrog (`Strang()`) or Yoshida's triple jump of it (`Yoshida4()`), refused
above the scheme's accuracy bound (`ACCURACY`)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _steppers
from .._guards import Check, scalar
from .._law import AbstractLaw
from .._steppers import Strang, Yoshida4
from ._lattice import BOUNDARIES, _to_modes_1d

SCHEMES = (Strang, Yoshida4)  # symplectic splittings (also ClassicalWell's)

# largest ω dt per splitting and its energy error there (docs/internals/thermal.md#accuracy-bounds)
ACCURACY = {Strang: (0.5, "6 %"), Yoshida4: (0.8, "5 %")}


def step_bound(scheme, omega_dt, omega: str) -> Check:
    """ω·dt <= the scheme's accuracy bound; `omega` says which ω (e.g. "ω_max = √(max k / m)")."""
    bound, error = ACCURACY[type(scheme)]
    return Check(
        omega_dt <= bound,
        f"dt is too large: ω·dt = {{value}} > {bound} ({omega}): the {scheme!r} step's energy "
        f"error exceeds {error} there (it is unstable at ω·dt = {scheme.stability}). Use dt <= "
        f"{bound}/ω (0.1/ω for energies to 0.25 %), or check=False to run it anyway.",
        omega_dt,
    )


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


def _bonds(q, boundary):
    """Bond stretches r (..., n + 1) for fixed ends, (..., n) for periodic."""
    if boundary == "periodic":
        return jnp.roll(q, -1, axis=-1) - q
    zero = jnp.zeros(q.shape[:-1] + (1,), q.dtype)
    return jnp.diff(jnp.concatenate([zero, q, zero], axis=-1), axis=-1)


def check_phase_pair(x, p, names: str, last: int, axis: str) -> None:
    """Positions and momenta `names` are real arrays of one shape (..., last)."""
    xs, ps = jnp.shape(x), jnp.shape(p)
    if xs != ps or len(xs) < 1 or xs[-1] != last:
        raise ValueError(f"{names} must both have shape (..., {last}) ({axis}); got {xs} and {ps}.")
    if jnp.iscomplexobj(x) or jnp.iscomplexobj(p):
        raise ValueError(f"{names} must be real arrays.")


def check_scalar_params(params, names) -> None:
    """Each `params.<name>` is a scalar (a batch of values is for jax.vmap)."""
    for name in names:
        if (shape := jnp.shape(getattr(params, name))) != ():
            raise ValueError(f"params.{name} must be a scalar; got shape {shape}. Use jax.vmap.")


FPUT_FIELDS = ("mass", "spring", "alpha", "beta", "pinning")


def _cast(params, dtype):
    return [jnp.asarray(getattr(params, k)).astype(dtype) for k in FPUT_FIELDS]


def leapfrog(force, y, h, m):
    """Drift-kick-drift (position Verlet): one `force(q)` per step (also the gas's)."""
    q = y.q + 0.5 * h * y.p / m
    p = y.p + h * force(q)
    return PhaseState(q=q + 0.5 * h * p / m, p=p)


class ClassicalLattice(AbstractLaw):
    """FPUT α/β chain with pinning (physics §7.5), H = T(p) + V(q) stepped by `scheme`.

    Attributes:
        n: number of mobile sites (>= 2).
        boundary: "fixed" (walls at both ends) or "periodic".
        scheme: `jqd.schemes.Strang()` (Störmer-Verlet, order 2; default) or
            `Yoshida4()` (order 4), or its name ("verlet" or "strang",
            "yoshida4"); `order` is the scheme's.

    State `PhaseState(q, p)`, each (..., n). Validated against the exact harmonic
    solution to 1e-10 and by its orders (tests/test_thermal_classical.py).
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

    def sample_axes(self, y):
        """A batch of chains (leading axes) is an ensemble of samples."""
        return PhaseState(q=0, p=0) if jnp.ndim(y.q) >= 2 else None

    def step(self, t, y, params, dt, key=None):
        m = jnp.asarray(params.mass).astype(y.p.dtype)
        force = lambda q: self.force(q, params)
        return self.scheme.compose(
            lambda z, h: leapfrog(force, z, jnp.asarray(h).astype(z.q.dtype), m), y, dt
        )

    def check(self, y, params, dt=None):
        if not isinstance(y, PhaseState):
            raise ValueError(f"y0 must be a jqd.thermal.PhaseState(q, p); got {type(y).__name__}.")
        check_phase_pair(y.q, y.p, "y0.q and y0.p", self.n, f"the n = {self.n} sites")
        check_scalar_params(params, FPUT_FIELDS)

    def checks(self, y, params, dt=None):
        """spring > 0, pinning >= 0 and ω_max dt within the scheme's accuracy bound."""
        out = scalar(params.spring, "params.spring", positive=True, fix="e.g. spring=1.0.")
        out += scalar(params.pinning, "params.pinning", nonnegative=True, fix="e.g. pinning=0.")
        if dt is not None:
            w_max = jnp.sqrt((4.0 * params.spring + params.pinning) / params.mass)  # band edge
            omega = "ω = ω_max = √((4 spring + pinning)/mass), the highest harmonic mode"
            out.append(step_bound(self.scheme, w_max * dt, omega))
        return out


def mode_eigenvalues(n: int, boundary: str, dtype=float):
    """λ_k of the unit-spring chain in the order `fput_mode_energies` uses."""
    if boundary == "fixed":
        k = jnp.arange(1, n + 1, dtype=dtype)
        return 4.0 * jnp.sin(jnp.pi * k / (2 * (n + 1))) ** 2
    k = jnp.arange(n, dtype=dtype)
    return 4.0 * jnp.sin(jnp.pi * k / n) ** 2


def fput_mode_energies(law, params, y):
    """Harmonic normal-mode energies E_k (physics §7.5), shape y.q.shape.

    Fixed ends: k = 1..n (lowest first). Periodic: FFT order k = 0..n−1.
    """
    m = jnp.asarray(params.mass).astype(y.q.dtype)
    lam = mode_eigenvalues(law.n, law.boundary, y.q.dtype)
    w2m = jnp.asarray(params.spring) * lam + jnp.asarray(params.pinning)
    if law.boundary == "fixed":
        Q2, P2 = _to_modes_1d(y.q, "fixed") ** 2, _to_modes_1d(y.p, "fixed") ** 2
    else:
        Q2 = jnp.abs(jnp.fft.fft(y.q, axis=-1, norm="ortho")) ** 2
        P2 = jnp.abs(jnp.fft.fft(y.p, axis=-1, norm="ortho")) ** 2
    return 0.5 * (P2 / m + w2m * Q2)


@functools.partial(jax.jit, static_argnames="axis")  # one program, not one per op
def spectral_entropy(energies, axis: int = -1):
    """S = −Σ e_k ln e_k with e_k = E_k/Σ E_k (0 ln 0 = 0)."""
    e = energies / jnp.sum(energies, axis=axis, keepdims=True)
    safe = jnp.where(e > 0, e, 1.0)
    return -jnp.sum(jnp.where(e > 0, e * jnp.log(safe), 0.0), axis=axis)


@functools.partial(jax.jit, static_argnames="axis")  # one program, not one per op
def effective_mode_fraction(energies, axis: int = -1):
    """n_eff = exp(S)/n: 1 at equipartition, 1/n with one mode occupied."""
    return jnp.exp(spectral_entropy(energies, axis)) / energies.shape[axis]


def velocity_kurtosis(p):
    """⟨δv⁴⟩/⟨δv²⟩² of the Cartesian velocity components, pooled over particles
    and components (p: (..., n_particles, dim); the mass cancels). 3 for a
    Maxwell–Boltzmann gas; 1.5 in 2-D for one speed with random directions."""
    v = p - jnp.mean(p, axis=-2, keepdims=True)
    m2 = jnp.mean(v**2, axis=(-2, -1))
    return jnp.mean(v**4, axis=(-2, -1)) / m2**2


@functools.partial(jax.jit, static_argnames="bins")  # one program, not one per op
def speed_histogram(p, mass, bins: int, v_max):
    """Normalized histogram of speeds |p|/m on [0, v_max]: (density (bins,), edges)."""
    speed = jnp.linalg.norm(p, axis=-1).ravel() / mass
    return jnp.histogram(speed, bins=bins, range=(0.0, v_max), density=True)


def contact_fraction(law, params, y):
    """Fraction of particles of a `SoftSphereGas` state touching at least one
    other (some pair distance < sigma)."""
    return jnp.mean((law.contacts(y, params) > 0).astype(y.q.dtype))
