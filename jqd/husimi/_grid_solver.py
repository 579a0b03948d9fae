"""Pseudo-spectral grid solver for the Husimi Fokker-Planck equation (SPEC §4).

    ∂ρ/∂t = −∇·(ρ J∇H) + ½ Σ_ab ∂_a ∂_b (D_ab ρ),   D = (C/2) [H'', J],

on a periodic hypercube in z = (Q_1..Q_N, P_1..P_N) (units of ħ: α = (Q+iP)/√2,
ρ = Q_H / 2^N, ∫ρ dz = 1). H is the anti-Wick symbol, given as a plain callable
`hamiltonian(z, args) -> scalar` (a frequency); the drift J∇H and D come from
`jax.grad` / `jax.hessian` of it, never hand-coded per model. For H whose symbol
does not truncate (SPEC §4, F64) this is the Fokker-Planck truncation of F §V D.

Why regularize. D is indefinite, so the forward problem is a backward heat
equation along half the directions: for the Kerr mode the angular Fourier mode m
with log-radial wavenumber q grows like exp(C U |m q| t / 2), and round-off or
truncation errors at large |k| grow without bound (SPEC §4 records that plain
RK4 + Fourier blows up before Ut = 0.1). The solver uses two documented devices:

1. Coefficient window. v = J∇H and D are multiplied by
   w(z) = ½ erfc((|z| − R)/width), R = `window` × L/2, so the r³ drift and r²
   diffusion are switched off near the box edge where ρ is negligible (and
   the periodic box sees smooth coefficients). Set `window=None` to disable.
2. Projection onto convex sets that contain every exact Husimi function
   (`regularization="project"`, the default), after each RK4 step:
   (a) the spectral envelope |ρ̂(k)| ≤ m e^{−|k|²/4} (m = ∫ρ; ρ is the
       Wigner function smoothed by the vacuum Gaussian, SPEC §4), applied by
       clipping the modulus of each Fourier coefficient;
   (b) 0 ≤ ρ ≤ (2π)^{−N} (Q_H = ⟨α|ρ̂|α⟩/π^N ∈ [0, π^{−N}]).
   Both sets are convex and contain the exact solution, so in L² each
   projection never moves the numerical solution away from it; the distance
   it removes is a lower bound on the L² error of the step it corrects.

Monitor. The state carries the cumulative L¹ norm of what the projections
removed (`removed`; with `regularization="none"`, the L¹ norm of the negative
part is accumulated instead, nothing is changed), and the mass drift. When
`removed > tol`, `|mass − mass0| > tol` or the state turns non-finite, the
solver records the time and the reason, freezes the state there, and
`evolve_grid` raises `EnvelopeError` saying when and what was violated,
instead of returning garbage. `removed` is an error indicator calibrated on
the Kerr mode (see tests/test_husimi_grid.py and benchmarks); it is not a
bound on the L¹ error.

Measured limits (Kerr α0 = 2, L = 22, benchmarks/results_husimi_grid.md): the L¹
error to the exact Husimi function stays below 1e-3 up to Ut ≈ 0.055 (64²) and
0.0625 (96², 128²), and reaches 1e-2 at Ut ≈ 0.086-0.0875 on all three grids (the
breakdown is the physical anti-diffusive amplification, not a resolution limit);
`removed` tracked the true L¹ error within a factor 1-2, so with tol = 1e-2 the
monitor stops at Ut ≈ 0.072-0.080. For long times use a Galerkin solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._checks import is_concrete
from .._evolve import Solution, evolve
from .._law import AbstractLaw

__all__ = [
    "PhaseSpaceGrid",
    "HusimiGridParams",
    "HusimiGridState",
    "HusimiGrid",
    "EnvelopeError",
    "evolve_grid",
    "drift_and_diffusion",
]

_REASONS = {
    1: "the cumulative L1 norm removed by the envelope/positivity projections "
    "(the monitor's error indicator) exceeded tol",
    2: "the mass ∫ρ dz drifted from its initial value by more than tol (mass reached "
    "the coefficient window or the box edge)",
    3: "the state became NaN or Inf",
}


class EnvelopeError(FloatingPointError):
    """The grid solution left its accuracy envelope (see `HusimiGrid`)."""


class PhaseSpaceGrid(eqx.Module):
    """A periodic hypercube [−L/2, L/2)^(2N) in z = (Q_1..Q_N, P_1..P_N).

    Attributes:
        n_modes: N, the number of bosonic modes (dimension d = 2N).
        points: grid points per axis (even, >= 8).
        length: box length L per axis (units of the dimensionless Q, P).
    """

    n_modes: int = eqx.field(static=True)
    points: int = eqx.field(static=True)
    length: float = eqx.field(static=True)

    def __init__(self, n_modes: int, points: int, length: float):
        self.n_modes = int(n_modes)
        self.points = int(points)
        self.length = float(length)

    def __check_init__(self):
        if self.n_modes < 1:
            raise ValueError(f"n_modes must be >= 1; got {self.n_modes}.")
        if self.points < 8 or self.points % 2:
            raise ValueError(f"points must be even and >= 8; got {self.points}.")
        if not self.length > 0:
            raise ValueError(f"length must be positive; got {self.length}.")

    @property
    def ndim(self) -> int:
        return 2 * self.n_modes

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.points,) * self.ndim

    @property
    def spacing(self) -> float:
        return self.length / self.points

    @property
    def cell_volume(self) -> float:
        return self.spacing**self.ndim

    def axis(self, dtype=None):
        return jnp.asarray(-self.length / 2 + self.spacing * np.arange(self.points), dtype)

    def mesh(self, dtype=None) -> tuple[Array, ...]:
        """Coordinate arrays of shape `self.shape` (ij indexing), z order."""
        return tuple(jnp.meshgrid(*([self.axis(dtype)] * self.ndim), indexing="ij"))

    def points_array(self, dtype=None) -> Array:
        """All grid points as an array of shape (points^d, d)."""
        return jnp.stack([m.reshape(-1) for m in self.mesh(dtype)], axis=-1)

    def alpha(self, dtype=None) -> tuple[Array, ...]:
        """α_j = (Q_j + i P_j)/√2 on the mesh, one array per mode."""
        m = self.mesh(dtype)
        N = self.n_modes
        return tuple((m[j] + 1j * m[N + j]) / np.sqrt(2) for j in range(N))

    def rfft_wavenumbers(self, dtype=None) -> tuple[Array, ...]:
        """Angular wavenumbers broadcastable to the rfftn output, one per axis."""
        full = 2 * np.pi * np.fft.fftfreq(self.points, self.spacing)
        half = 2 * np.pi * np.fft.rfftfreq(self.points, self.spacing)
        out = []
        for i in range(self.ndim):
            k = half if i == self.ndim - 1 else full
            shape = [1] * self.ndim
            shape[i] = -1
            out.append(jnp.asarray(k.reshape(shape), dtype))
        return tuple(out)

    def integrate(self, f) -> Array:
        axes = tuple(range(-self.ndim, 0))
        return jnp.sum(f, axis=axes) * jnp.asarray(self.cell_volume, jnp.real(f).dtype)

    def rfft(self, f):
        return jnp.fft.rfftn(f, axes=tuple(range(-self.ndim, 0)))

    def irfft(self, f):
        return jnp.fft.irfftn(f, s=self.shape, axes=tuple(range(-self.ndim, 0)))


class HusimiGridParams(eqx.Module):
    """Constants of the Husimi Fokker-Planck law (differentiable, vmappable).

    Attributes:
        C: diffusion strength (C = 1 is quantum mechanics).
        args: pytree passed to `hamiltonian(z, args)` (couplings such as U).
    """

    C: float | Array = 1.0
    args: object = None


class HusimiGridState(eqx.Module):
    """Grid state: the density and the monitor's bookkeeping.

    Attributes:
        rho: ρ on the grid, shape `grid.shape` (real).
        removed: cumulative L¹ norm removed by the projections (error indicator);
            after a stop, the value that violated the tolerance.
        mass0: ∫ρ dz at the start.
        stop_time: time at which the monitor stopped the run (−1 while running;
            jqd.evolve treats any non-finite leaf as a failure).
        reason: 0 while running, else a code (see `HusimiGrid.reason_message`).
    """

    rho: Array
    removed: Array
    mass0: Array
    stop_time: Array
    reason: Array


def drift_and_diffusion(hamiltonian: Callable, z, args, C):
    """(v, D) at one point z (shape (2N,)): v = J∇H, D = (C/2)(H''J − JH''), by autodiff."""
    d = z.shape[-1]
    N = d // 2
    eye = jnp.eye(N, dtype=z.dtype)
    zero = jnp.zeros((N, N), z.dtype)
    J = jnp.block([[zero, eye], [-eye, zero]])
    g = jax.grad(hamiltonian)(z, args)
    h = jax.hessian(hamiltonian)(z, args)
    C = jnp.asarray(C, z.dtype)
    return J @ g, 0.5 * C * (h @ J - J @ h)


class HusimiGrid(AbstractLaw):
    """Pseudo-spectral RK4 solver of the Husimi Fokker-Planck equation (SPEC §4).

    Equation, units and regularization: see the module docstring of
    `jqd.husimi._grid_solver`. State: `HusimiGridState` (build it with
    `law.initial_state(rho0)`); params: `HusimiGridParams(C, args)`.
    Validated against the exact Kerr Husimi function (`jqd.reference.kerr_husimi`)
    and, for quadratic H with D = 0 (constraint C7), exact phase-space rotation.

    Attributes:
        grid: a `PhaseSpaceGrid`.
        hamiltonian: `H(z, args) -> scalar`, the anti-Wick symbol in units of ħ,
            z of shape (2N,).
        regularization: "project" (envelope + positivity projections, default)
            or "none" (plain RK4 + Fourier; the monitor then accumulates the
            L¹ norm of the negative part).
        window: coefficient window radius as a fraction of L/2 (None: off).
        window_width: width of the window's erfc edge (units of Q).
        tol: monitor tolerance on `removed` and on the mass drift.
    """

    grid: PhaseSpaceGrid
    hamiltonian: Callable = eqx.field(static=True)
    regularization: str = eqx.field(static=True, default="project")
    window: float | None = eqx.field(static=True, default=0.75)
    window_width: float = eqx.field(static=True, default=1.0)
    tol: float = eqx.field(static=True, default=1e-2)
    coefficients: tuple | None = None

    def __check_init__(self):
        if self.regularization not in ("project", "none"):
            raise ValueError(
                f"regularization must be 'project' or 'none'; got {self.regularization!r}."
            )
        if self.window is not None and not 0 < self.window <= 2:
            raise ValueError(
                f"window must be in (0, 2] (fraction of L/2) or None; got {self.window}."
            )
        if not self.tol > 0:
            raise ValueError(f"tol must be positive; got {self.tol}.")

    # ---- set-up -----------------------------------------------------------
    def initial_state(self, rho0) -> HusimiGridState:
        """Wrap a density on the grid into a `HusimiGridState`."""
        rho0 = jnp.asarray(rho0)
        dtype = rho0.dtype
        return HusimiGridState(
            rho=rho0,
            removed=jnp.zeros((), dtype),
            mass0=self.grid.integrate(rho0),
            stop_time=jnp.asarray(-1.0, dtype),
            reason=jnp.zeros((), jnp.int32),
        )

    def _window(self, dtype):
        if self.window is None:
            return None
        r = jnp.sqrt(sum(m**2 for m in self.grid.mesh(dtype)))
        R = self.window * self.grid.length / 2
        return 0.5 * jax.scipy.special.erfc((r - R) / jnp.asarray(self.window_width, dtype))

    def compute_coefficients(self, params, dtype):
        """(v, D_pairs): drift components (d arrays) and the d(d+1)/2 entries
        D_ab, a <= b, on the grid, windowed; all in `dtype`."""
        zs = self.grid.points_array(dtype)
        v, D = jax.vmap(lambda z: drift_and_diffusion(self.hamiltonian, z, params.args, params.C))(
            zs
        )
        shape = self.grid.shape
        w = self._window(dtype)
        d = self.grid.ndim
        vs = tuple(v[:, a].reshape(shape).astype(dtype) for a in range(d))
        Ds = tuple(D[:, a, b].reshape(shape).astype(dtype) for a in range(d) for b in range(a, d))
        if w is not None:
            vs = tuple(x * w for x in vs)
            Ds = tuple(x * w for x in Ds)
        return vs, Ds

    def prepare(self, params, dt):
        dtype = jnp.asarray(dt).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            dtype = jnp.result_type(float)
        return eqx.tree_at(
            lambda s: s.coefficients,
            self,
            self.compute_coefficients(params, dtype),
            is_leaf=lambda x: x is None,
        )

    def _coeffs(self, params, dtype):
        if self.coefficients is None:
            return self.compute_coefficients(params, dtype)
        vs, Ds = self.coefficients
        return tuple(x.astype(dtype) for x in vs), tuple(x.astype(dtype) for x in Ds)

    # ---- dynamics ---------------------------------------------------------
    def rhs(self, rho, params, coeffs=None):
        """∂ρ/∂t (unregularized) on the grid."""
        vs, Ds = self._coeffs(params, rho.dtype) if coeffs is None else coeffs
        g = self.grid
        ks = g.rfft_wavenumbers(rho.dtype)
        d = g.ndim
        out = 0.0
        for a in range(d):
            out = out - 1j * ks[a] * g.rfft(rho * vs[a])
        i = 0
        for a in range(d):
            for b in range(a, d):
                factor = 0.5 if a == b else 1.0
                out = out - factor * ks[a] * ks[b] * g.rfft(Ds[i] * rho)
                i += 1
        return g.irfft(out).astype(rho.dtype)

    def project(self, rho):
        """Project onto the spectral envelope, then onto 0 <= ρ <= (2π)^(−N)."""
        g = self.grid
        dtype = rho.dtype
        rh = g.rfft(rho)
        dV = jnp.asarray(g.cell_volume, dtype)
        mass = jnp.real(rh.reshape(-1)[0]) * dV
        k2 = sum(k**2 for k in g.rfft_wavenumbers(dtype))
        env = jnp.abs(mass) * jnp.exp(-k2 / 4) / dV
        mod = jnp.abs(rh)
        scale = jnp.where(mod > env, env / jnp.where(mod > 0, mod, 1), 1)
        rho_env = g.irfft(rh * scale).astype(dtype)
        top = jnp.asarray((2 * np.pi) ** (-g.n_modes), dtype)
        return jnp.clip(rho_env, 0, top)

    def step(self, t, y: HusimiGridState, params, dt, key=None):
        rho = y.rho
        dtype = rho.dtype
        coeffs = self._coeffs(params, dtype)
        f = lambda r: self.rhs(r, params, coeffs)
        dt = jnp.asarray(dt, dtype)
        k1 = f(rho)
        k2 = f(rho + 0.5 * dt * k1)
        k3 = f(rho + 0.5 * dt * k2)
        k4 = f(rho + dt * k3)
        new = rho + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        if self.regularization == "project":
            proj = self.project(new)
            removed = y.removed + self.grid.integrate(jnp.abs(proj - new))
            new = proj
        else:
            removed = y.removed + self.grid.integrate(jnp.maximum(-new, 0))
        mass = self.grid.integrate(new)
        tol = jnp.asarray(self.tol, dtype)
        finite = jnp.all(jnp.isfinite(new))
        reason_now = jnp.where(
            ~finite,
            3,
            jnp.where(removed > tol, 1, jnp.where(jnp.abs(mass - y.mass0) > tol, 2, 0)),
        ).astype(jnp.int32)
        running = y.reason == 0
        stop_now = running & (reason_now > 0)
        keep = ~running | stop_now
        return HusimiGridState(
            rho=jnp.where(keep, rho, new),
            # at the stopping step keep the violating value (the message reports it)
            removed=jnp.where(running, removed, y.removed),
            mass0=y.mass0,
            stop_time=jnp.where(stop_now, jnp.asarray(t, dtype) + dt, y.stop_time),
            reason=jnp.where(running, reason_now, y.reason),
        )

    def vector_field(self, t, y: HusimiGridState, params):
        """Unregularized ∂ρ/∂t (projections and the monitor act only in `step`)."""
        zero = jnp.zeros((), y.rho.dtype)
        return HusimiGridState(
            rho=self.rhs(y.rho, params),
            removed=zero,
            mass0=zero,
            stop_time=zero,
            reason=jnp.zeros((), jnp.int32),
        )

    def density(self, y: HusimiGridState):
        return y.rho

    def energy(self, t, y: HusimiGridState, params):
        """⟨H⟩ = ∫ H ρ dz (anti-Wick symbol against the Husimi density)."""
        zs = self.grid.points_array(y.rho.dtype)
        Hz = jax.vmap(lambda z: self.hamiltonian(z, params.args))(zs).reshape(self.grid.shape)
        return self.grid.integrate(Hz.astype(y.rho.dtype) * y.rho)

    def check(self, y, params, dt=None):
        if not isinstance(y, HusimiGridState):
            raise ValueError("y0 must be a HusimiGridState; build it with law.initial_state(rho0).")
        if not is_concrete(y.rho):
            return
        rho = np.asarray(y.rho)
        if rho.shape != self.grid.shape:
            raise ValueError(f"y0.rho has shape {rho.shape}; the grid needs {self.grid.shape}.")
        if not np.issubdtype(rho.dtype, np.floating):
            raise ValueError(f"y0.rho must be real floating point; got {rho.dtype}.")
        if not np.all(np.isfinite(rho)):
            raise ValueError("y0.rho contains NaN or Inf.")
        mass = float(np.sum(rho) * self.grid.cell_volume)
        if abs(mass - 1) > 1e-6:
            raise ValueError(
                f"y0.rho must be normalized (∫ρ dz = {mass:.6g}); divide by its integral, and "
                "make sure the box holds the density (increase grid length)."
            )
        if dt is not None and is_concrete(dt):
            dtv = float(np.asarray(dt))
            limit = self.stable_dt(params)
            if limit is not None and dtv > limit:
                raise ValueError(
                    f"dt = {dtv:g} exceeds the explicit RK4 limit ≈ {limit:.3g} for this grid "
                    "and Hamiltonian (fastest drift/diffusion inside the window); reduce dt."
                )

    def stable_dt(self, params):
        """Rough RK4 step limit max over the grid of 2.8/(|v| k_max + ½|D| k_max²)."""
        if not is_concrete(params):
            return None
        vs, Ds = self.compute_coefficients(
            params, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        )
        kmax = math.pi / self.grid.spacing
        vmax = float(max(jnp.max(jnp.abs(v)) for v in vs))
        dmax = float(sum(jnp.max(jnp.abs(x)) for x in Ds)) if Ds else 0.0
        rate = vmax * kmax * math.sqrt(self.grid.ndim) + 0.5 * dmax * kmax**2 * self.grid.ndim
        return math.inf if rate == 0 else 2.8 / rate

    @staticmethod
    def reason_message(code: int) -> str:
        return _REASONS.get(int(code), "running")


def evolve_grid(
    law: HusimiGrid, y0: HusimiGridState, params, *, dt, n_save, on_violation="raise", **kwargs
) -> Solution:
    """`jqd.evolve` for `HusimiGrid`, raising `EnvelopeError` when the monitor stopped.

    The message states the time and what was violated; the states saved after
    that time are frozen copies of the last accepted one. Pass
    `on_violation="ignore"` to get the solution anyway (read
    `sol.y_final.stop_time` and `.reason`). Other keyword arguments go to
    `jqd.evolve`.
    """
    if on_violation not in ("raise", "ignore"):
        raise ValueError(f"on_violation must be 'raise' or 'ignore'; got {on_violation!r}.")
    sol = evolve(law, y0, params, dt=dt, n_save=n_save, **kwargs)
    if on_violation == "ignore":
        return sol
    final = sol.y_final
    if is_concrete(final.reason):
        code = np.asarray(final.reason)
        if np.any(code > 0):
            idx = np.unravel_index(np.argmax(code > 0), code.shape) if code.ndim else ()
            t_stop = float(np.asarray(final.stop_time)[idx])
            removed = float(np.asarray(final.removed)[idx])
            c = int(code[idx])
            raise EnvelopeError(
                f"HusimiGrid left its accuracy envelope at t = {t_stop:.6g}: "
                f"{HusimiGrid.reason_message(c)} (tol = {law.tol:g}; removed = {removed:.3g}). "
                "The state is frozen at that time. Refine the grid, enlarge the box, shorten "
                "the run, or use a Galerkin solver for long times; pass on_violation='ignore' "
                "to get the partial result."
            )
        return sol
    rho = eqx.error_if(
        final.rho,
        jnp.any(final.reason > 0),
        "HusimiGrid left its accuracy envelope (monitor stopped the run); rerun with "
        "on_violation='ignore' and read y_final.stop_time / y_final.reason.",
    )
    return eqx.tree_at(lambda s: s.y_final.rho, sol, rho)
