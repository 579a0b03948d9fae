"""Madelung hydrodynamics on a periodic grid: the (ρ, S) form of Schrödinger's
equation (SPEC §2, Z7-Z11), with explicit small-density handling and a
breakdown detector.

Conventions shared with `CanonicalDQM` (jqd/dqm/_canonical.py):

* State `MadelungState(rho, S, momentum)`: the phase is
  `S_total(x) = momentum · x + S(x)` with `S` periodic on the box and
  `momentum` a constant vector (the linear part is never differentiated
  spectrally, so a packet with net momentum is represented without the jump
  that `p0 x` would have at the box edge). ψ = √ρ exp(i S_total/ħ).
* Small densities. Spectral derivatives are global, so the values of S and
  of the quantum potential where ρ has underflowed would pollute the whole
  box. Both laws use one documented regularization, with
  ε = `floor` · max ρ (`floor` = 1e-10 in float64, 1e-5 in float32):
    - the quantum potential is Q_ε = −(ħ²/2m) ∇²√(ρ+ε) / √(ρ+ε)
      (∇² = ∇·∇ with the spectral gradient), i.e. the Fisher term of the
      functional is evaluated on ρ + ε;
    - the phase equation is damped by χ = ρ/(ρ+ε) and measured from the
      ρ-weighted mean: ∂S/∂t = −χ (E_loc − ⟨E_loc⟩_ρ) with
      E_loc = (∇S_total)²/2m + V + Q_ε. The mean is a global phase (it does
      not change ρ); subtracting it keeps S bounded where χ → 0, where S
      simply freezes instead of accumulating −V t (which is not periodic).
  Where ρ ≫ ε both changes are relative O(ε/ρ); where ρ ≲ ε the law is not
  the Madelung law (it carries no information there). The mass in the
  floored region is reported by `MadelungValidity` (`floored_mass`).
* Breakdown. Near a node (ρ → 0 inside the support) Q and ∇S diverge and the
  flow variables lose the quantization of ∮∇S (SPEC §2, Wallstrom).
  `MadelungValidity` measures, at every save, the node depth
  min ρ(x)/min(max_{left} ρ, max_{right} ρ) along each axis (1 for a
  unimodal density, → 0 at a node between two humps) and the largest speed
  in the support relative to the largest the grid resolves, (2/3)ħk_max/m;
  `evolve_madelung` runs `jqd.evolve` with it and reports (or raises) the
  first time and place where either criterion fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from .._checks import check_finite, check_normalized, check_positive, is_concrete
from .._evolve import Solution, evolve
from .._grid import Grid
from .._law import AbstractLaw

__all__ = [
    "DQMParams",
    "MadelungState",
    "Madelung",
    "MadelungValidity",
    "MadelungBreakdownError",
    "Breakdown",
    "FickVelocity",
    "UncertaintyProduct",
    "evolve_madelung",
    "find_breakdown",
    "state_from_psi",
    "state_to_psi",
    "gaussian_state",
]

_FORDER = int(__import__("os").environ.get("JQD_FORDER", "0"))
_TOP = float(__import__("os").environ.get("JQD_TOP", "0.5"))
DEFAULT_FLOOR = {np.dtype("float64"): 1e-15, np.dtype("float32"): 1e-6}


class DQMParams(eqx.Module):
    """Constants of the Madelung and canonical DQM laws.

    Attributes:
        hbar: reduced Planck constant.
        mass: particle mass.
        D: diffusion coefficient of the canonical functional H_D (SPEC §2).
            None means D = ħ/2m (quantum mechanics). The Madelung law is the
            D = ħ/2m case by construction and rejects any other value.
        potential: the pytree of arguments passed to the law's potential
            function `V(x, t, args)`; None if it takes none.
    """

    hbar: float | Array = 1.0
    mass: float | Array = 1.0
    D: float | Array | None = None
    potential: PyTree = None

    def diffusion(self):
        """D, or ħ/2m when D is None."""
        return self.hbar / (2 * self.mass) if self.D is None else self.D


class MadelungState(eqx.Module):
    """Hydrodynamic state: density ρ, periodic phase S, constant momentum p.

    The full phase is S_total = p·x + S (see the module docstring); ψ =
    √ρ exp(i S_total/ħ). `momentum` has shape `(ndim,)` and defaults to 0.
    """

    rho: Array
    S: Array
    momentum: Array

    def __init__(self, rho, S, momentum=None):
        rho = jnp.asarray(rho)
        self.rho = rho
        self.S = jnp.asarray(S, rho.dtype)
        if momentum is None:
            momentum = jnp.zeros((rho.ndim,), rho.dtype)
        self.momentum = jnp.asarray(momentum, rho.dtype)


# -- shared numerics (used by Madelung and CanonicalDQM) ---------------------------
def _default_floor(rho):
    return DEFAULT_FLOOR.get(np.dtype(rho.dtype), 1e-15)


def _floor(rho, floor):
    """ε = floor · max ρ."""
    f = _default_floor(rho) if floor is None else floor
    return jnp.asarray(f, rho.dtype) * jnp.max(rho)


def _bshape(grid: Grid, i: int):
    shape = [1] * grid.ndim
    shape[i] = -1
    return shape


def deriv(grid: Grid, f, i: int):
    """Spectral ∂f/∂x_i of a real periodic field (one axis only)."""
    k = jnp.reshape(grid.wavenumbers(f.dtype)[i], _bshape(grid, i))
    fk = jnp.fft.fft(f, axis=i - grid.ndim)
    return jnp.real(jnp.fft.ifft(1j * k * fk, axis=i - grid.ndim))


def divergence(grid: Grid, fields):
    return sum(deriv(grid, f, i) for i, f in enumerate(fields))


def phase_gradient(grid: Grid, y: MadelungState):
    """∇S_total = p + ∇S, a tuple of arrays (one per axis)."""
    gs = grid.gradient(y.S)
    return tuple(y.momentum[i] + g for i, g in enumerate(gs))


def potential_values(grid: Grid, potential, t, params, dtype):
    if potential is None:
        return jnp.zeros(grid.shape, dtype)
    V = potential(grid.mesh(dtype), t, params.potential)
    return jnp.broadcast_to(jnp.asarray(V, dtype), grid.shape)


def quantum_potential(grid: Grid, rho, hbar, mass, eps):
    """Q_ε = −(ħ²/2m) ∇·∇√(ρ+ε) / √(ρ+ε) with the spectral gradient."""
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    lap = divergence(grid, grid.gradient(R))
    return -(hbar**2 / (2 * mass)) * lap / R


def _smooth_step(z):
    """C∞ step: 0 for z <= 0, 1 for z >= 1 (exp(-1/z) construction)."""
    z = jnp.clip(z, 0, 1)
    f = lambda u: jnp.where(u > 0, jnp.exp(-1 / jnp.where(u > 0, u, 1)), 0)
    return f(z) / (f(z) + f(1 - z))


def vacuum_mask(rho, floor):
    """χ(ρ): 0 where ρ < floor·max ρ, 1 where ρ > √floor·max ρ, C∞ in ln ρ between."""
    f = _default_floor(rho) if floor is None else floor
    rel = rho / jnp.max(rho)
    tiny = jnp.asarray(f, rho.dtype)
    z = jnp.log(jnp.maximum(rel, tiny) / tiny) / (-(1 - _TOP) * jnp.log(tiny))
    return _smooth_step(z)


def spectral_filter(grid: Grid, f, order=_FORDER):
    """Exponential filter exp(−36 (|k|/k_max)^order) per axis (real field)."""
    if order == 0:
        return f
    fk = grid.fft(f)
    for i, (k, kmax) in enumerate(zip(grid.wavenumbers(f.dtype), grid.k_max, strict=True)):
        fk = fk * jnp.reshape(jnp.exp(-36.0 * (jnp.abs(k) / kmax) ** order), _bshape(grid, i))
    return jnp.real(grid.ifft(fk))


def phase_rate(rho, e_loc, floor):
    """∂S/∂t = −χ (E_loc − ⟨E_loc⟩_ρ), χ = `vacuum_mask` (module docstring)."""
    mean = jnp.sum(rho * e_loc) / jnp.sum(rho)
    return -vacuum_mask(rho, floor) * (e_loc - mean)


def fisher_energy(grid: Grid, rho, eps):
    """Σ 4|∇√(ρ+ε)|² dV = ∫ (∇ ln ρ_ε)² ρ_ε dx (the Fisher term without mD²/2)."""
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    return grid.integrate(sum(g**2 for g in grid.gradient(R))) * 4


def hd_functional(grid: Grid, potential, t, rho, S, momentum, params, eps):
    """The discretized H_D[ρ, S] (SPEC §2), with the Fisher term on ρ + ε:

    Σ_x [ (p + ∇S)²/2m ρ + (m D²/2) 4|∇√(ρ+ε)|² + V ρ ] dV.
    """
    m = params.mass
    D = params.diffusion()
    gS = tuple(momentum[i] + g for i, g in enumerate(grid.gradient(S)))
    kin = grid.integrate(sum(g**2 for g in gS) * rho) / (2 * m)
    V = potential_values(grid, potential, t, params, rho.dtype)
    return kin + (m * D**2 / 2) * fisher_energy(grid, rho, eps) + grid.integrate(V * rho)


def rk4(f, t, y, dt):
    """One classical Runge-Kutta step of dy/dt = f(t, y) on a pytree."""
    add = lambda a, b, c: jax.tree_util.tree_map(lambda u, v: u + c * v, a, b)
    k1 = f(t, y)
    k2 = f(t + dt / 2, add(y, k1, dt / 2))
    k3 = f(t + dt / 2, add(y, k2, dt / 2))
    k4 = f(t + dt, add(y, k3, dt))
    return jax.tree_util.tree_map(
        lambda y0, a, b, c, d: y0 + (dt / 6) * (a + 2 * b + 2 * c + d), y, k1, k2, k3, k4
    )


def check_madelung_state(grid: Grid, y, name="y0") -> None:
    if not isinstance(y, MadelungState):
        raise TypeError(
            f"{name} must be a jqd.dqm MadelungState(rho, S, momentum); got {type(y).__name__}. "
            "Build one with state_from_psi(grid, psi) or gaussian_state(grid, ...)."
        )
    if not is_concrete(y):
        return
    rho, S = np.asarray(y.rho), np.asarray(y.S)
    for arr, what in ((rho, "rho"), (S, "S")):
        if arr.shape != grid.shape:
            raise ValueError(
                f"{name}.{what} has shape {arr.shape} but the grid has shape {grid.shape}; "
                "for a batch of states use jax.vmap over the leading axis."
            )
        if np.iscomplexobj(arr):
            raise ValueError(f"{name}.{what} must be real; got dtype {arr.dtype}.")
    if np.shape(y.momentum) != (grid.ndim,):
        raise ValueError(
            f"{name}.momentum must have shape ({grid.ndim},); got {np.shape(y.momentum)}."
        )
    check_finite((rho, S, np.asarray(y.momentum)), name)
    if rho.min() < -1e-8 * rho.max():
        raise ValueError(
            f"{name}.rho has negative values (min {rho.min():.3g}); a density must be >= 0."
        )
    check_normalized(rho.sum() * grid.cell_volume, f"{name}.rho")


def check_dqm_params(params, name="params", madelung=False) -> None:
    if not isinstance(params, DQMParams):
        raise TypeError(f"{name} must be jqd.dqm DQMParams; got {type(params).__name__}.")
    if not is_concrete(params):
        return
    check_positive(params.hbar, f"{name}.hbar")
    check_positive(params.mass, f"{name}.mass")
    if params.D is not None:
        check_positive(params.D, f"{name}.D", "D is a diffusion coefficient (default ħ/2m).")
        if madelung:
            d0 = np.asarray(params.hbar) / (2 * np.asarray(params.mass))
            if not np.allclose(np.asarray(params.D), d0, rtol=1e-12):
                raise ValueError(
                    f"{name}.D = {params.D} but the Madelung law is the D = ħ/2m = {d0} case; "
                    "leave D=None, or use CanonicalDQM for other values of D."
                )


def check_dqm_step(grid: Grid, y, params, dt) -> None:
    """RK4 on the Madelung dispersion ω = D k² (D = ħ/2m) is stable for ω dt < 2.8."""
    if dt is None or not is_concrete(y, params, dt):
        return
    k2 = float(np.asarray(grid.k_squared(np.float64)).max())
    D = float(np.asarray(params.diffusion()))
    D = max(D, float(np.asarray(params.hbar) / (2 * np.asarray(params.mass))))
    limit = 2.5 / (D * k2)
    if float(dt) > limit:
        raise ValueError(
            f"dt = {float(dt):.4g} is above the RK4 stability limit {limit:.3g} of this grid "
            f"(D k_max² dt < 2.5 with k_max² = {k2:.4g}); reduce dt or coarsen the grid."
        )


class Madelung(AbstractLaw):
    """Madelung equations on a periodic `Grid` (1-3 D), SPEC §2 (Z7-Z11):

        ∂ρ/∂t = −∇·(ρ ∇S_total/m)
        ∂S/∂t = −[(∇S_total)²/2m + V + Q],   Q = −(ħ²/2m) ∇²√ρ/√ρ

    with S_total = p·x + S, the small-density regularization of the module
    docstring (Q on ρ + ε, the phase equation damped by ρ/(ρ+ε) and taken
    relative to its ρ-weighted mean), spectral derivatives, and classical RK4
    stepping (`step`). Units: ħ, m from `DQMParams` (D must be None or ħ/2m).

    The law is valid only away from nodes: run it through `evolve_madelung`
    (or observe `MadelungValidity`) to get the time and place where it
    breaks down. Validated against grid Schrödinger and the exact oscillator
    Gaussian (tests/test_dqm_madelung.py); its vector field equals
    `CanonicalDQM`'s (D = ħ/2m) to round-off.

    Attributes:
        grid: the periodic box.
        potential: `V(x, t, args)`, `x` the tuple of mesh arrays; None = free.
        floor: relative density floor ε/max ρ (None: 1e-10 in float64,
            1e-5 in float32).
    """

    grid: Grid
    potential: Callable | None = eqx.field(static=True, default=None)
    floor: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.potential is not None and not callable(self.potential):
            raise TypeError("potential must be a function V(x, t, args) or None.")
        if self.floor is not None and not 0 < self.floor < 1:
            raise ValueError(f"floor must be in (0, 1); got {self.floor}.")

    def vector_field(self, t, y: MadelungState, params: DQMParams) -> MadelungState:
        grid = self.grid
        rho = y.rho
        m, hbar = params.mass, params.hbar
        eps = _floor(rho, self.floor)
        gS = phase_gradient(grid, y)
        flux = [rho * g / m for g in gS]
        drho = -divergence(grid, flux)
        V = potential_values(grid, self.potential, t, params, rho.dtype)
        e_loc = sum(g**2 for g in gS) / (2 * m) + V + quantum_potential(grid, rho, hbar, m, eps)
        dS = phase_rate(rho, e_loc, self.floor)
        drho, dS = spectral_filter(grid, drho), spectral_filter(grid, dS)
        return MadelungState(drho, dS, jnp.zeros_like(y.momentum))

    def step(self, t, y, params, dt, key=None):
        return rk4(lambda s, u: self.vector_field(s, u, params), t, y, dt)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """H_D at D = ħ/2m: ⟨H⟩ of the corresponding wavefunction (up to ε)."""
        eps = _floor(y.rho, self.floor)
        return hd_functional(
            self.grid, self.potential, t, y.rho, y.S, y.momentum, params, eps
        )

    def check(self, y, params, dt=None):
        check_madelung_state(self.grid, y)
        check_dqm_params(params, madelung=True)
        check_dqm_step(self.grid, y, params, dt)


# -- conversions ----------------------------------------------------------------
def state_to_psi(grid: Grid, y: MadelungState, hbar=1.0):
    """ψ = √ρ exp(i(p·x + S)/ħ) (complex, same precision as ρ)."""
    phase = y.S
    for i, x in enumerate(grid.mesh(y.rho.dtype)):
        phase = phase + y.momentum[i] * x
    return jnp.sqrt(jnp.maximum(y.rho, 0)) * jnp.exp(1j * phase / hbar)


def state_from_psi(grid: Grid, psi, hbar=1.0, floor=None) -> MadelungState:
    """(ρ, S, p) from a grid wavefunction without phase unwrapping.

    ∇S_total = j/ρ with the current j = ħ Im(ψ*∇ψ) (spectral). The constant
    part p is the mean momentum ⟨∇S_total⟩_ρ; the periodic S solves
    ∇²S = ∇·[χ(j/ρ − p)] (χ = ρ/(ρ+ε), so S is smooth where ψ has
    underflowed), and the box mean of the fitted gradient goes back into p
    so that ∇S_total = j/ρ where ρ ≫ ε. Valid for node-free ψ.
    """
    rho = jnp.abs(psi) ** 2
    eps = _floor(rho, floor)
    gpsi = grid.gradient(psi)
    j = [hbar * jnp.imag(jnp.conj(psi) * g) for g in gpsi]
    mass = jnp.sum(rho)
    p = jnp.stack([jnp.sum(ji) / mass for ji in j])  # ⟨j/ρ⟩_ρ = Σj/Σρ
    target = [(ji - rho * p[i]) / (rho + eps) for i, ji in enumerate(j)]
    c = jnp.stack([jnp.mean(tg) for tg in target])
    div = divergence(grid, target)
    k2 = grid.k_squared(rho.dtype)
    Sk = jnp.where(k2 > 0, -grid.fft(div) / jnp.where(k2 > 0, k2, 1), 0)
    S = jnp.real(grid.ifft(Sk))
    return MadelungState(rho, S, p + c)


def gaussian_state(grid: Grid, a=1.0, x0=0.0, p0=0.0, hbar=1.0, dtype=float) -> MadelungState:
    """The Gaussian packet of `jqd.reference.gaussian_packet` as (ρ, S = 0, p = p0)."""
    dtype = jnp.dtype(dtype)
    x0 = np.broadcast_to(np.asarray(x0, float), (grid.ndim,))
    p0 = np.broadcast_to(np.asarray(p0, float), (grid.ndim,))
    rho = jnp.ones(grid.shape, dtype)
    for x, c in zip(grid.mesh(dtype), x0, strict=True):
        rho = rho * jnp.exp(-((x - c) ** 2) / a**2) / jnp.sqrt(np.pi * a**2)
    return MadelungState(rho, jnp.zeros(grid.shape, dtype), jnp.asarray(p0, dtype))


# -- observables ------------------------------------------------------------------
def _argmin_position(grid: Grid, values):
    idx = jnp.unravel_index(jnp.argmin(values), grid.shape)
    return jnp.stack([ax[i] for ax, i in zip(grid.axes(values.dtype), idx, strict=True)])


class MadelungValidity(eqx.Module):
    """Breakdown diagnostics of a (ρ, S) state (module docstring), as a dict:

    node_depth: min over the box of ρ(x)/min(max_{y≤x} ρ, max_{y≥x} ρ) along
        each axis, over points enclosed by density above `hole_level`·max ρ
        (1 for unimodal ρ; → 0 at a node inside the support).
    node_position: where that minimum is (shape (ndim,)).
    speed_ratio: max |∇S_total|/m over the support (ρ > `support`·max ρ)
        divided by the largest speed the grid resolves, (2/3)ħ k_max/m.
    speed_position: where the largest speed is.
    floored_mass: ∫ρ over the regularized region ρ < ε.
    valid: finite, node_depth >= `node_threshold` and speed_ratio < 1.

    Works on any law whose `density` is a position density on `law.grid`;
    for a state without S (e.g. a wavefunction) only the node part is
    meaningful (speed_ratio is 0).
    """

    law: AbstractLaw
    node_threshold: float = eqx.field(static=True, default=1e-3)
    hole_level: float = eqx.field(static=True, default=1e-2)
    support: float = eqx.field(static=True, default=1e-6)

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        rmax = jnp.max(rho)
        ratio = jnp.ones_like(rho)
        for axis in range(grid.ndim):
            left = jax.lax.cummax(rho, axis=axis)
            right = jax.lax.cummax(rho, axis=axis, reverse=True)
            enc = jnp.minimum(left, right)
            r = jnp.where(enc > self.hole_level * rmax, rho / jnp.where(enc > 0, enc, 1), 1)
            ratio = jnp.minimum(ratio, r)
        depth = jnp.min(ratio)
        node_pos = _argmin_position(grid, ratio)
        if isinstance(y, MadelungState):
            hbar, m = params.hbar, params.mass
            speed = jnp.sqrt(sum(g**2 for g in phase_gradient(grid, y))) / m
            speed = jnp.where(rho > self.support * rmax, speed, 0)
            vmax = (2.0 / 3.0) * hbar * min(grid.k_max) / m
            speed_ratio = jnp.max(speed) / vmax
            speed_pos = _argmin_position(grid, -speed)
            eps = _floor(rho, getattr(self.law, "floor", None))
            floored = grid.integrate(jnp.where(rho < eps, rho, 0))
            finite = jnp.all(jnp.isfinite(rho)) & jnp.all(jnp.isfinite(y.S))
        else:
            speed_ratio = jnp.zeros((), rho.dtype)
            speed_pos = jnp.zeros((grid.ndim,), rho.dtype)
            floored = jnp.zeros((), rho.dtype)
            finite = jnp.all(jnp.isfinite(rho))
        valid = finite & (depth >= self.node_threshold) & (speed_ratio < 1)
        return {
            "node_depth": depth,
            "node_position": node_pos,
            "speed_ratio": speed_ratio,
            "speed_position": speed_pos,
            "floored_mass": floored,
            "valid": valid,
        }


class FickVelocity(eqx.Module):
    """Fick velocity u = −D ∇ρ/ρ (Z23), shape (ndim, *grid.shape); ρ + ε in
    the denominator (module docstring), D from params (ħ/2m if None)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        eps = _floor(rho, getattr(self.law, "floor", None))
        D = params.diffusion()
        return jnp.stack([-D * g / (rho + eps) for g in grid.gradient(rho)])


class UncertaintyProduct(eqx.Module):
    """⟨(m u_i)²⟩ ⟨(x_i − ⟨x_i⟩)²⟩ per axis, shape (ndim,) (Z21, SPEC §2):
    ≥ ħ²/4 at D = ħ/2m, with equality for a Gaussian.

    ⟨(m u)²⟩ = m²D² ∫(∂_i ρ)²/ρ is computed as m²D² 4∫(∂_i√ρ)² (spectral, no
    division by ρ, so it is exact for states with nodes too).
    """

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        norm = grid.integrate(rho)
        R = jnp.sqrt(jnp.maximum(rho, 0))
        mD = params.mass * params.diffusion()
        out = []
        for x, g in zip(grid.mesh(rho.dtype), grid.gradient(R), strict=True):
            mean = grid.integrate(x * rho) / norm
            var = grid.integrate((x - mean) ** 2 * rho) / norm
            out.append(mD**2 * 4 * grid.integrate(g**2) / norm * var)
        return jnp.stack(out)


# -- breakdown reporting ----------------------------------------------------------
@dataclass(frozen=True)
class Breakdown:
    """Where and when a hydrodynamic run stopped being valid.

    Attributes:
        time: first save time at which `MadelungValidity` failed.
        index: its index in `solution.ts`.
        position: the place (node position, or where the speed is too large).
        reason: "node", "speed" or "nonfinite".
        node_depth, speed_ratio: the diagnostic values at that time.
    """

    time: float
    index: int
    position: tuple[float, ...]
    reason: str
    node_depth: float
    speed_ratio: float


class MadelungBreakdownError(RuntimeError):
    """A (ρ, S) run left the hydrodynamic picture's validity range.

    Attributes: `breakdown` (a `Breakdown`) and `solution` (the full run, so
    the valid part can still be used)."""

    def __init__(self, message, breakdown: Breakdown, solution: Solution):
        super().__init__(message)
        self.breakdown = breakdown
        self.solution = solution


def find_breakdown(ts, validity: dict, node_threshold: float = 1e-3) -> Breakdown | None:
    """The first failing save of a `MadelungValidity` time series, or None."""
    valid = np.asarray(validity["valid"])
    if valid.ndim != 1:
        raise ValueError(
            "find_breakdown takes one run's validity series (1-D 'valid'); for a batch, "
            "loop over it."
        )
    bad = np.flatnonzero(~valid)
    if bad.size == 0:
        return None
    i = int(bad[0])
    depth = float(np.asarray(validity["node_depth"])[i])
    speed = float(np.asarray(validity["speed_ratio"])[i])
    if not (np.isfinite(depth) and np.isfinite(speed)):
        reason, pos = "nonfinite", validity["node_position"]
    elif depth < node_threshold:
        reason, pos = "node", validity["node_position"]
    else:
        reason, pos = "speed", validity["speed_position"]
    position = tuple(float(v) for v in np.asarray(pos)[i])
    return Breakdown(float(np.asarray(ts)[i]), i, position, reason, depth, speed)


def evolve_madelung(
    law: AbstractLaw,
    y0: MadelungState,
    params: DQMParams,
    *,
    dt,
    n_save: int,
    steps_per_save: int = 1,
    t0=0.0,
    observe=None,
    on_breakdown: str = "raise",
    node_threshold: float = 1e-3,
    hole_level: float = 1e-2,
    support: float = 1e-6,
    **evolve_kwargs,
) -> Solution:
    """`jqd.evolve` for (ρ, S) laws, with breakdown detection.

    Runs `jqd.evolve` observing `observe` and `MadelungValidity`; the
    validity series is returned in `solution.stats["validity"]`, and the
    first failure (or None) in `solution.stats["breakdown"]` (a `Breakdown`,
    concrete runs only).

    Args:
        on_breakdown: "raise" (raise `MadelungBreakdownError` naming the time
            and place; the solution is attached to the error) or "report"
            (return the solution; read `stats["breakdown"]`).
        node_threshold, hole_level, support: see `MadelungValidity`.
        Other arguments: as for `jqd.evolve` (NaN/Inf counts as a breakdown).
    """
    if on_breakdown not in ("raise", "report"):
        raise ValueError(f"on_breakdown must be 'raise' or 'report'; got {on_breakdown!r}.")
    validity = MadelungValidity(law, node_threshold, hole_level, support)
    obs = {"user": (lambda t, y, p: y) if observe is None else observe, "validity": validity}
    if isinstance(observe, dict | list | tuple):
        from .._evolve import _as_observer

        obs["user"] = _as_observer(observe)
    sol = evolve(
        law, y0, params, dt=dt, n_save=n_save, steps_per_save=steps_per_save, t0=t0,
        observe=obs, on_nonfinite="ignore", **evolve_kwargs,
    )
    stats = dict(sol.stats)
    stats["validity"] = sol.observables["validity"]
    out = Solution(ts=sol.ts, observables=sol.observables["user"], y_final=sol.y_final,
                   stats=stats)
    if not is_concrete(sol.ts, stats["validity"]):
        return out
    br = find_breakdown(sol.ts, stats["validity"], node_threshold)
    stats["breakdown"] = br
    if br is not None and on_breakdown == "raise":
        where = ", ".join(f"{v:.4g}" for v in br.position)
        what = {
            "node": f"a node formed inside the support (node depth {br.node_depth:.3g} < "
            f"{node_threshold:g})",
            "speed": f"the flow speed exceeds what the grid resolves (ratio "
            f"{br.speed_ratio:.3g} >= 1)",
            "nonfinite": "the state became NaN or Inf",
        }[br.reason]
        raise MadelungBreakdownError(
            f"{type(law).__name__}: the hydrodynamic (ρ, S) picture broke down at "
            f"t = {br.time:.6g}, x = ({where}): {what}. The run up to the previous save "
            "is attached (error.solution); continue with grid Schrödinger past this time, "
            "or pass on_breakdown='report'.",
            br,
            out,
        )
    return out
