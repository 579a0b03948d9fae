"""The algebra of observables in (ρ, S) (physics §2.6; Z27, Z35-Z44) and the
localization energy (Z55).

An observable is a functional A(y) of a `MadelungState` y (ρ and the periodic
phase S; the frame p·x + Σ b x²/2 of S_total is held fixed). Its functional
derivatives are `jax.grad` of the discretized functional divided by the cell
volume, and the Poisson bracket of the canonical pair (ρ, S) is Z27:

    {A, B} = ∫ (δA/δρ δB/δS − δB/δρ δA/δS) dx,   {ρ(x), S(x')} = δ(x − x').

The quadratic forms A = ⟨ψ, Âψ⟩ (Z35-Z37) of x, p, x², p² and H are written in
(ρ, S): ∫ρx, ∫ρ∂S (Z41), ∫ρx², ∫ρ[(∂S)² + (m u)²] and H_D (Z25-Z26), with
u = −D∇ρ/ρ the Fick velocity (Z23). Derivatives are spectral by default.

The canonical pair (ψ, ψ*) of Z2-Z5: a real functional A(ψ) is differentiated in
(Re ψ, Im ψ) and combined into Wirtinger derivatives (`wirtinger_derivatives`);
the bracket is Z3, {A, B} = (1/iħ)∫(δA/δψ δB/δψ* − δB/δψ δA/δψ*) dx
(`psi_poisson_brackets`), and H[ψ, ψ*] is Z2 (`schrodinger_energy`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._grid import Grid
from ._functional import law_functional, quantum_potential
from ._state import DQMParams, MadelungState, density_floor, frame_gradient
from ._stencils import deriv


def functional_derivatives(grid: Grid, functional, y: MadelungState):
    """(δA/δρ, δA/δS) of `functional(y) -> scalar` at y: `jax.grad` of the
    discretized functional divided by the cell volume (arrays of grid.shape)."""
    g = jax.grad(functional)(y)
    dV = jnp.asarray(grid.cell_volume, y.rho.dtype)
    return g.rho / dV, g.S / dV


def bracket_density(dA, dB):
    """δA/δρ δB/δS − δB/δρ δA/δS, the integrand of Z27, from the pairs
    dA = (δA/δρ, δA/δS) and dB of `functional_derivatives`."""
    (dA_rho, dA_S), (dB_rho, dB_S) = dA, dB
    return dA_rho * dB_S - dB_rho * dA_S


def poisson_bracket(grid: Grid, A, B, y: MadelungState):
    """{A, B} = ∫(δA/δρ δB/δS − δB/δρ δA/δS) dx (Z27) of two functionals of y."""
    dA = functional_derivatives(grid, A, y)
    dB = functional_derivatives(grid, B, y)
    return grid.integrate(bracket_density(dA, dB))


def poisson_brackets(grid: Grid, functionals, y: MadelungState):
    """The matrix {A_i, A_j} (Z27) of a sequence of functionals of y, shape
    (n, n), each functional differentiated once."""
    ds = [functional_derivatives(grid, f, y) for f in functionals]
    return jnp.stack([jnp.stack([grid.integrate(bracket_density(a, b)) for b in ds]) for a in ds])


def wirtinger_derivatives(grid: Grid, functional, psi):
    """(δA/δψ, δA/δψ*) of a real functional `functional(psi) -> scalar` of a complex
    grid wavefunction (Z3): `jax.grad` in ψ₁ = Re ψ and ψ₂ = Im ψ divided by the cell
    volume, and the Wirtinger derivatives δ/δψ = ½(δ/δψ₁ − i δ/δψ₂),
    δ/δψ* = ½(δ/δψ₁ + i δ/δψ₂) (so δA/δψ = (δA/δψ*)* for real A)."""
    g1, g2 = jax.grad(lambda a, b: functional(a + 1j * b), argnums=(0, 1))(
        jnp.real(psi), jnp.imag(psi)
    )
    dV = jnp.asarray(grid.cell_volume, g1.dtype)
    return 0.5 * (g1 - 1j * g2) / dV, 0.5 * (g1 + 1j * g2) / dV


def psi_bracket_density(dA, dB, hbar):
    """(1/iħ)(δA/δψ δB/δψ* − δB/δψ δA/δψ*), the integrand of Z3, from the pairs
    dA = (δA/δψ, δA/δψ*) and dB of `wirtinger_derivatives`."""
    (dA_psi, dA_conj), (dB_psi, dB_conj) = dA, dB
    return (dA_psi * dB_conj - dB_psi * dA_conj) / (1j * hbar)


def psi_poisson_brackets(grid: Grid, functionals, psi, hbar):
    """The matrix {A_i, A_j} of the canonical pair (ψ, ψ*) (Z3-Z4,
    {ψ(x), ψ*(x')} = δ(x − x')/iħ) of a sequence of real functionals of ψ, shape
    (n, n), complex (real up to round-off), each functional differentiated once."""
    ds = [wirtinger_derivatives(grid, f, psi) for f in functionals]
    return jnp.stack(
        [jnp.stack([grid.integrate(psi_bracket_density(a, b, hbar)) for b in ds]) for a in ds]
    )


def schrodinger_energy(grid: Grid, psi, params: DQMParams, potential):
    """H[ψ, ψ*] = ∫(ħ²/2m ∇ψ*·∇ψ + ψ* V ψ) dx (Z2), ∇ spectral on Re ψ and Im ψ
    (∇ψ*·∇ψ = (∇ψ₁)² + (∇ψ₂)²); `potential` is V on the grid."""
    re, im = jnp.real(psi), jnp.imag(psi)
    grad2 = sum(
        deriv(grid, re, i, "spectral") ** 2 + deriv(grid, im, i, "spectral") ** 2
        for i in range(grid.ndim)
    )
    kinetic = params.hbar**2 / (2 * params.mass) * grad2
    return grid.integrate(kinetic + potential * (re**2 + im**2))


def _floor(rho, floor):
    """ε = floor·max ρ, held fixed under differentiation."""
    return jax.lax.stop_gradient(density_floor(rho, floor))


def position_moment(grid: Grid, y: MadelungState, power: int = 1, axis: int = 0):
    """∫ρ x_i^power dx (Z39 for power 1): ⟨ψ, x̂_i^power ψ⟩."""
    x = grid.mesh(y.rho.dtype)[axis]
    return grid.integrate(y.rho * x**power)


def momentum_mean(grid: Grid, y: MadelungState, axis: int = 0, kind: str = "spectral"):
    """p̄_i = ∫ρ ∂_i S_total dx (Z41): ⟨ψ, p̂_i ψ⟩, S_total = S + p·x + Σ b x²/2."""
    g = frame_gradient(grid, y.S, y.momentum, y.chirp, kind)[axis]
    return grid.integrate(y.rho * g)


def fick_velocity(grid: Grid, y: MadelungState, params: DQMParams, axis: int = 0, *, floor=None):
    """u_i = −D ∂_iρ/(ρ + ε) (Z19, Z23), spectral ∂, ε = floor·max ρ (held fixed)."""
    rho = y.rho
    return -params.diffusion() * deriv(grid, rho, axis, "spectral") / (rho + _floor(rho, floor))


def osmotic_momentum_square(
    grid: Grid, y: MadelungState, params: DQMParams, axis: int = 0, *, floor=None
):
    """∫ρ (m u_i)² dx, u the Fick velocity (Z23): the diffusion part of ⟨p̂_i²⟩
    (Z25). Computed as (mD)²·4∫(∂_i√(ρ + ε))² (spectral ∂; ρu² = 4D²(∂√ρ)²), as
    `UncertaintyProduct` does: the literal ρ(m u)² with u = −D∂ρ/(ρ + ε) would
    amplify the spectral error of ∂ρ by 1/ε where ρ ≲ ε."""
    R = jnp.sqrt(jnp.maximum(y.rho, 0) + _floor(y.rho, floor))
    g = deriv(grid, R, axis, "spectral")
    return (params.mass * params.diffusion()) ** 2 * 4 * grid.integrate(g**2)


def momentum_square(
    grid: Grid,
    y: MadelungState,
    params: DQMParams,
    axis: int = 0,
    *,
    kind: str = "spectral",
    floor=None,
):
    """⟨p̂_i²⟩ = ∫ρ [(∂_i S_total)² + (m u_i)²] dx: drift and diffusion momenta (Z25)."""
    g = frame_gradient(grid, y.S, y.momentum, y.chirp, kind)[axis]
    drift = grid.integrate(y.rho * g**2)
    return drift + osmotic_momentum_square(grid, y, params, axis, floor=floor)


def momentum_density(grid: Grid, y: MadelungState, params: DQMParams, axis: int = 0, *, floor=None):
    """ρ(m v_i + i m u_i) (the integrand of Z41), complex, with m v = ∂S_total
    (spectral) and u the Fick velocity: pointwise equal to ψ* p̂_i ψ."""
    g = frame_gradient(grid, y.S, y.momentum, y.chirp, "spectral")[axis]
    u = fick_velocity(grid, y, params, axis, floor=floor)
    return y.rho * g + 1j * y.rho * params.mass * u


def hamiltonian(law, y: MadelungState, params: DQMParams, t=0.0):
    """H_D[ρ, S] (Z25-Z26) in `law`'s discretization (`law.energy`, its ε held
    fixed under differentiation): ⟨ψ, Ĥψ⟩ at D = ħ/2m."""
    return law_functional(law, t, y, params, eps=_floor(y.rho, law.floor))


def localization_energy(grid: Grid, y: MadelungState, params: DQMParams, *, floor=None):
    """Ū_u = ∫ρ p_u²/2m dx, p_u = m u (Z55), summed over axes."""
    total = sum(osmotic_momentum_square(grid, y, params, i, floor=floor) for i in range(grid.ndim))
    return total / (2 * params.mass)


def quantum_potential_mean(
    grid: Grid, y: MadelungState, params: DQMParams, *, floor=None, kind: str = "spectral"
):
    """⟨Q⟩ = ∫ρ Q dx, Q = −(ħ'²/2m)∇²√ρ/√ρ (Z11, ħ' = 2mD), by the laws'
    quantum potential (conservative form in the bulk, ln ρ form in the tails)."""
    rho = y.rho
    hbar = params.phase_unit()
    Q = quantum_potential(grid, rho, hbar, params.mass, _floor(rho, floor), floor, kind)
    return grid.integrate(rho * Q)
