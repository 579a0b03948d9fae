"""Schrödinger's equation on a periodic grid: split-step Fourier (physics §1.1)."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from .. import _guards, _steppers
from .._evolve import check_values
from .._grid import Grid
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from .._steppers import Strang, Yoshida4


class TimeStepError(BreakdownError, ValueError):
    """The time step is too large for the potential where the state is."""


TIME_STEP_REASON = Reason(
    TimeStepError,
    "the potential phase V dt/ħ varies by more than π over the region the state now "
    "occupies (the split step aliases the potential there)",
    "Reduce dt below the value in parentheses (π ħ / (V_max − V_min) over that region; "
    "also in solution.stats['breakdown_where']).",
)


SCHEMES = (Strang, Yoshida4)


class SchrodingerParams(eqx.Module):
    """Constants of the grid Schrödinger law: `hbar`, `mass`, and `potential`,
    the arguments of the law's potential function (None if it takes none)."""

    hbar: float | Array = 1.0
    mass: float | Array = 1.0
    potential: PyTree = None


class SchrodingerGrid(AbstractLaw):
    """iħ ∂ψ/∂t = −(ħ²/2m)∇²ψ + V(x, t)ψ on a periodic `Grid` (1-3 D; physics §1.1).

    State: complex, shape `grid.shape`, ∫|ψ|² dx = 1; ħ, m from
    `SchrodingerParams`. Split-step Fourier, exact for V = 0; a time-dependent
    V is kicked at both ends of each sub-step (symmetric, so the order holds).

    Attributes:
        grid: the periodic box.
        potential: `V(x, t, args) -> array`, `x` the mesh tuple (`x[0]` in
            1-D), `args = params.potential`; None for a free particle.
        time_dependent: whether `V` depends on `t` (else evaluated once).
        scheme: `jqd.schemes.Strang()` (default, order 2) or `Yoshida4()`,
            or its name ("strang", "yoshida4").
    """

    grid: Grid
    potential: Callable | None = eqx.field(static=True, default=None)
    time_dependent: bool = eqx.field(static=True, default=False)
    scheme: Strang | Yoshida4 = _steppers.scheme_field(Strang(), SCHEMES)

    def __check_init__(self):
        _steppers.check_scheme(self.scheme, SCHEMES)
        if self.potential is not None and not callable(self.potential):
            raise TypeError("potential must be a function V(x, t, args) or None.")

    def potential_values(self, t, params: SchrodingerParams, dtype) -> Array:
        return potential_values(self.grid, self.potential, t, params, dtype)

    def _kinetic_phase(self, params, h, rdtype):
        k2 = self.grid.k_squared(rdtype)
        return jnp.exp(-0.5j * (params.hbar / params.mass) * h * k2)

    def _kick(self, t, params, h, rdtype):
        return jnp.exp(-1j * self.potential_values(t, params, rdtype) * (h / params.hbar))

    def step(self, t, y, params, dt, key=None):
        rdtype = jnp.real(y).dtype
        for w in self.scheme.weights:
            h = w * dt
            kin = self._kinetic_phase(params, h, rdtype).astype(y.dtype)
            start = self._kick(t, params, h / 2, rdtype).astype(y.dtype)
            end = self._kick(t + h, params, h / 2, rdtype).astype(y.dtype)
            y = self.grid.ifft(self.grid.fft(y * start) * kin) * end
            t = t + h
        return y

    def prepare(self, params, dt):
        if self.time_dependent:
            return self
        return _StaticSplitStep(self, params, dt)

    def vector_field(self, t, y, params):
        """−(i/ħ) H ψ with the spectral Laplacian (for adaptive solvers)."""
        return (-1j / params.hbar) * self.apply_hamiltonian(t, y, params)

    def apply_hamiltonian(self, t, y, params):
        rdtype = jnp.real(y).dtype
        kinetic = self.grid.ifft(
            self.grid.fft(y) * (params.hbar**2 / (2 * params.mass)) * self.grid.k_squared(rdtype)
        )
        return kinetic + self.potential_values(t, params, rdtype) * y

    def density(self, y):
        return jnp.abs(y) ** 2

    def energy(self, t, y, params):
        """⟨ψ|H|ψ⟩ (kinetic part exact in Fourier space)."""
        rdtype = jnp.real(y).dtype
        yk = self.grid.fft(y)
        axes = tuple(range(-self.grid.ndim, 0))
        kin = jnp.sum(jnp.abs(yk) ** 2 * self.grid.k_squared(rdtype), axis=axes)
        kin = kin * params.hbar**2 / (2 * params.mass) * self.grid.cell_volume / self.grid.size
        pot = self.grid.integrate(self.potential_values(t, params, rdtype) * jnp.abs(y) ** 2)
        return kin + pot

    breakdowns = {2: TIME_STEP_REASON}

    def check(self, y, params, dt=None):
        check_psi0(y, self.grid.shape, f"the grid has shape {self.grid.shape}")

    def checks(self, y, params, dt=None):
        """Normalized; resolved (<= 1e-10 of the spectral power above 2/3 of the
        Nyquist wavenumber per axis, which split step would alias); the
        potential guards."""
        grid = self.grid
        out = _guards.normalized(jnp.sum(jnp.abs(y) ** 2) * grid.cell_volume, "psi0")
        power = jnp.abs(jnp.fft.fftn(y)) ** 2
        total = jnp.sum(power)
        for axis, (n, L) in enumerate(zip(grid.shape, grid.lengths, strict=True)):
            k = np.abs(2 * np.pi * np.fft.fftfreq(n, L / n))
            high = np.expand_dims(
                k > (2.0 / 3.0) * np.pi * n / L, [a for a in range(grid.ndim) if a != axis]
            )
            frac = jnp.sum(power * high) / total
            out.append(
                _guards.Check(
                    frac <= 1e-10,
                    f"psi0: grid too coarse on axis {axis}: a fraction {{value}} of the state's "
                    f"momentum content lies above 2/3 of the Nyquist wavenumber "
                    f"(k_max = {np.pi * n / L:.4g}). Increase grid points on that axis "
                    f"(shape {grid.shape}) or lower the state's momentum.",
                    frac,
                )
            )
        if grid.ndim == 1:
            where, at = grid.mesh(jnp.real(y).dtype)[0], "x = {value}"
        else:
            where, at = jnp.arange(grid.size).reshape(grid.shape), "flat grid index {value}"
        return out + potential_guards(self, y, params, dt, where, at)

    def monitor(self, t, y, params, dt=None):
        return potential_phase_monitor(self, t, y, params, dt)


def potential_values(grid: Grid, potential, t, params, dtype) -> Array:
    """V(x, t, params.potential) on the mesh of `grid` (zeros for None); V must
    have the grid's shape or broadcast to it."""
    if potential is None:
        return jnp.zeros(grid.shape, dtype)
    V = jnp.asarray(potential(grid.mesh(dtype), t, params.potential), dtype)
    try:  # shapes are static, so this holds under jit too
        broadcasts = np.broadcast_shapes(V.shape, grid.shape) == grid.shape
    except ValueError:
        broadcasts = False
    if not broadcasts:
        raise ValueError(
            f"the potential returned shape {V.shape}; V(x, t, p) gets x = grid.mesh() "
            f"(one array of shape {grid.shape} per axis) and must return that shape "
            "(or a scalar)."
        )
    return jnp.broadcast_to(V, grid.shape)


class _StaticSplitStep(AbstractLaw):
    """`SchrodingerGrid` with its phase factors precomputed for one (params, dt)."""

    law: SchrodingerGrid
    kinetic: tuple[Array, ...]
    kicks: tuple[Array, ...]

    def __init__(self, law, params, dt):
        self.law = law
        rdtype = jnp.asarray(dt).dtype
        cdtype = jnp.result_type(rdtype, jnp.complex64)
        weights = law.scheme.weights
        self.kinetic = tuple(
            law._kinetic_phase(params, w * dt, rdtype).astype(cdtype) for w in weights
        )
        # Adjacent half kicks merge: kick(w1/2), drift, kick((w1+w0)/2), ... kick(wn/2).
        halves = [weights[0] / 2]
        halves += [(a + b) / 2 for a, b in zip(weights[:-1], weights[1:], strict=True)]
        halves += [weights[-1] / 2]
        V = law.potential_values(0.0, params, rdtype)
        self.kicks = tuple(jnp.exp(-1j * V * (h * dt / params.hbar)).astype(cdtype) for h in halves)

    def step(self, t, y, params, dt, key=None):
        grid = self.law.grid
        y = y * self.kicks[0]
        for kin, kick in zip(self.kinetic, self.kicks[1:], strict=True):
            y = grid.ifft(grid.fft(y) * kin) * kick
        return y


def check_psi0(y, shape, where: str) -> None:
    """Shape and dtype of a grid or ring state (known even for tracers)."""
    if tuple(jnp.shape(y)) != tuple(shape):
        raise ValueError(
            f"psi0 has shape {jnp.shape(y)} but {where}; "
            "for a batch of states use jax.vmap over the leading axis."
        )
    if not jnp.iscomplexobj(y):
        raise ValueError("psi0 must be complex (e.g. psi.astype(jnp.complex128)).")


def potential_guards(law, psi, params, dt, where, at: str) -> list:
    """V(x, t=0) finite (`where` the points, `at` how the message shows one),
    checked before dt, which a non-finite V would be blamed on; for fixed
    steps, `potential_phase_monitor` at t = 0."""
    V = law.potential_values(0.0, params, jnp.real(psi).dtype)
    out = [
        _guards.Check(
            jnp.isfinite(V),
            f"the potential V(x, t=0) is not finite at {at}: keep it finite everywhere (e.g. "
            "soften 1/|x| to 1/sqrt(x² + ε²), or shift the grid off the singularity).",
            where,
        )
    ]
    if dt is None:
        return out
    ok, _, safe = potential_phase_monitor(law, 0.0, psi, params, dt)
    return out + [
        _guards.Check(
            ok,
            "dt = {dt} is too large for this potential: over the region psi0 occupies, "
            "V dt/ħ varies by more than π and the potential phase aliases. "
            "Use dt < {safe} (and much smaller for accuracy).",
            {"dt": dt, "safe": safe[0]},
        )
    ]


def potential_phase_monitor(law, t, psi, params, dt):
    """V dt/ħ varies by at most π over where the state is now (ρ > 1e-8 max ρ);
    where = (safe dt,)."""
    if dt is None:
        return True, 0, jnp.zeros((0,))
    V = law.potential_values(t, params, jnp.real(psi).dtype)
    rho = jnp.abs(psi) ** 2
    occupied = rho > 1e-8 * jnp.max(rho)
    spread = jnp.max(jnp.where(occupied, V, -jnp.inf)) - jnp.min(jnp.where(occupied, V, jnp.inf))
    ok = spread * dt / params.hbar <= jnp.pi
    return ok, jnp.where(ok, 0, 2), jnp.atleast_1d(jnp.pi * params.hbar / spread)


def ground_state(
    law: SchrodingerGrid,
    psi0,
    params: SchrodingerParams,
    *,
    dtau: float = 1e-3,
    tol: float = 1e-13,
    max_steps: int = 200_000,
    check_every: int = 200,
):
    """Ground state `(psi, energy, n_steps)` by imaginary-time Strang split-step
    with renormalization, until the energy changes by less than `tol` over
    `check_every` steps (physics §1.1: O(dτ²) from the true ground state)."""
    if law.time_dependent:
        raise ValueError("ground_state needs a static potential (time_dependent=False).")
    law.check(psi0, params)
    check_values(law, psi0, params, None, "ground_state")
    rdtype = jnp.real(psi0).dtype
    grid = law.grid
    kin = jnp.exp(-0.5 * (params.hbar / params.mass) * dtau * grid.k_squared(rdtype))
    half = jnp.exp(-0.5 * law.potential_values(0.0, params, rdtype) * dtau / params.hbar)

    def one(psi):
        psi = half * grid.ifft(grid.fft(half * psi) * kin)
        return psi / jnp.sqrt(grid.integrate(jnp.abs(psi) ** 2))

    def cond(state):
        _, e_old, e_new, n = state
        return (jnp.abs(e_new - e_old) > tol) & (n < max_steps)

    def body(state):
        psi, _, e_new, n = state
        psi = jax.lax.scan(lambda p, _: (one(p), None), psi, None, length=check_every)[0]
        return psi, e_new, law.energy(0.0, psi, params), n + check_every

    @jax.jit  # the convergence loop: one program per call
    def run(psi):
        e0 = law.energy(0.0, psi, params)
        return jax.lax.while_loop(cond, body, (psi, e0 + 1.0, e0, 0))

    psi, _, energy, n = run(psi0)
    if int(n) >= max_steps:
        raise RuntimeError(
            f"ground_state did not converge to tol={tol:g} in {max_steps} steps; "
            "raise max_steps or dtau (or loosen tol)."
        )
    return psi, energy, int(n)
