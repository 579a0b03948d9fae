"""The (ρ, S) state of the Madelung and canonical DQM laws, conversions to and
from grid ψ = √ρ e^{iS_total/ħ} (physics §2.1; S_total = p·x + Σ_i b_i x_i²/2 + S,
docs/internals/dqm.md#phase-frame), Fick velocity and uncertainty product (§2.3).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from .._grid import Grid
from .._law import AbstractLaw
from ._stencils import divergence, gradient

DEFAULT_FLOOR = {np.dtype("float64"): 1e-15, np.dtype("float32"): 1e-6}


class DQMParams(eqx.Module):
    """Constants of the Madelung and canonical DQM laws: `hbar`, `mass`, the
    diffusion coefficient `D` of H_D (physics §2; None means ħ/2m, the only
    value `Madelung` accepts) and the `potential` function's arguments.
    """

    hbar: float | Array = 1.0
    mass: float | Array = 1.0
    D: float | Array | None = None
    potential: PyTree = None

    def diffusion(self):
        """D, or ħ/2m when D is None."""
        return self.hbar / (2 * self.mass) if self.D is None else self.D

    def phase_unit(self):
        """ħ' = 2mD, the action unit of the phase (ħ when D is None)."""
        return self.hbar if self.D is None else 2 * self.mass * self.D


class MadelungState(eqx.Module):
    """Hydrodynamic state: density ρ, periodic phase S and the phase frame,
    S_total = S + p·x + Σ_i b_i x_i²/2: `momentum` p (ndim,), `chirp` b
    (ndim, 1) (or (ndim,)); both default to 0.
    """

    rho: Array
    S: Array
    momentum: Array
    chirp: Array

    def __init__(self, rho, S, momentum=None, chirp=None):
        rho = jnp.asarray(rho)
        self.rho = rho
        self.S = jnp.asarray(S, rho.dtype)
        zero = jnp.zeros((rho.ndim,), rho.dtype)
        self.momentum = zero if momentum is None else jnp.asarray(momentum, rho.dtype)
        chirp = jnp.zeros((rho.ndim, 1), rho.dtype) if chirp is None else chirp
        chirp = jnp.asarray(chirp, rho.dtype)
        self.chirp = chirp[:, None] if chirp.ndim == 1 else chirp


def default_floor(rho, floor=None) -> float:
    """`floor`, or for None the default of ρ's dtype."""
    return DEFAULT_FLOOR.get(np.dtype(rho.dtype), 1e-15) if floor is None else floor


def density_floor(rho, floor):
    """ε = floor · max ρ (floor None: the dtype's default)."""
    return jnp.asarray(default_floor(rho, floor), rho.dtype) * jnp.max(rho)


def frame_gradient(grid: Grid, S, momentum, chirp, kind="fd8"):
    """∇S_total = p + b x + ∇S per axis (a tuple of arrays)."""
    gs = gradient(grid, S, kind)
    xs = grid.mesh(S.dtype)
    return tuple(
        momentum[i] + g + chirp[i, 0] * x for i, (x, g) in enumerate(zip(xs, gs, strict=True))
    )


def state_to_psi(grid: Grid, y: MadelungState, hbar=1.0):
    """ψ = √ρ exp(i S_total/ħ) (complex, same precision as ρ)."""
    frame = 0  # Σ_i [p_i x_i + b_i x_i²/2]
    for i, x in enumerate(grid.mesh(y.rho.dtype)):
        frame = frame + y.momentum[i] * x
        frame = frame + y.chirp[i, 0] * x**2 / 2
    phase = y.S + frame
    return jnp.sqrt(jnp.maximum(y.rho, 0)) * jnp.exp(1j * phase / hbar)


@jax.jit  # one program, not one per op
def state_from_psi(grid: Grid, psi, hbar=1.0, floor=None) -> MadelungState:
    """(ρ, S, p) from a node-free grid wavefunction without phase unwrapping:
    ∇S_total = j/ρ, j = ħ Im(ψ*∇ψ); p is ⟨∇S_total⟩_ρ plus the box mean of
    the fitted gradient, and the periodic S solves ∇²S = ∇·[χ(j/ρ − p)],
    χ = ρ/(ρ+ε), so S is smooth where ψ has underflowed.
    """
    rho = jnp.abs(psi) ** 2
    eps = density_floor(rho, floor)
    gpsi = grid.gradient(psi)
    j = [hbar * jnp.imag(jnp.conj(psi) * g) for g in gpsi]
    mass = jnp.sum(rho)
    p = jnp.stack([jnp.sum(ji) / mass for ji in j])  # ⟨j/ρ⟩_ρ = Σj/Σρ
    target = [(ji - rho * p[i]) / (rho + eps) for i, ji in enumerate(j)]
    c = jnp.stack([jnp.mean(tg) for tg in target])
    div = divergence(grid, target, "spectral")
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


class FickVelocity(eqx.Module):
    """Fick velocity u = −D ∇ρ/ρ (Z23), shape (ndim, *grid.shape); ρ + ε in
    the denominator (ε = floor·max ρ), D from params (ħ/2m if None)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        eps = density_floor(rho, getattr(self.law, "floor", None))
        D = params.diffusion()
        return jnp.stack([-D * g / (rho + eps) for g in grid.gradient(rho)])


class UncertaintyProduct(eqx.Module):
    """⟨(m u_i)²⟩ ⟨(x_i − ⟨x_i⟩)²⟩ per axis, shape (ndim,) (Z21, physics §2.3):
    ≥ ħ²/4 at D = ħ/2m, with equality for a Gaussian. ⟨(m u)²⟩ is computed
    as m²D² 4∫(∂_i√ρ)², finite at a node (where the Fick form is 0/0); the
    kink of √ρ = |ψ| there makes the spectral gradient converge as O(dx) only
    (physics §2.3).
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
