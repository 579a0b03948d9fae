"""Probability-flow trajectories for the Husimi Fokker-Planck equation (SPEC §4).

Any Fokker-Planck equation ∂ρ/∂t = −∇·(ρ J∇H) + ½ ∂a∂b(D_ab ρ) is also the
continuity equation ∂ρ/∂t = −∇·(ρ v) of the deterministic velocity

    v(z, t) = J∇H − ½ ∇·D − ½ D ∇ln ρ(z, t),   (∇·D)_a = Σ_b ∂_b D_ab,

so points sampled from ρ(0) and moved by dz/dt = v stay distributed as ρ(t).
ρ(z, t) must be supplied (it is not reconstructed from the ensemble): an
analytic log-density `log_density(z, t) -> scalar` (e.g. the exact Kerr
Husimi function), whose gradient is taken by autodiff. H, ∇H and D come from
autodiff of the anti-Wick symbol `hamiltonian(z, args)`.

Zeros of the Husimi function make ∇ln ρ singular (|v| ~ 1/distance). Every
trajectory reports whether it passed where ρ < `zero_floor` (relative to
`density_scale`), and the first time it did; such points are still moved
(the flow is integrable through isolated zeros in 2-D only in the principal
value sense) but are flagged so they can be excluded or counted.

Integration: classical RK4 with fixed dt, `jax.vmap` over points and
`lax.scan` over time.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._grid_solver import drift_and_diffusion

__all__ = ["flow_velocity", "FlowResult", "flow_trajectories"]


def flow_velocity(hamiltonian: Callable, log_density: Callable) -> Callable:
    """Return v(z, t, C, args) = J∇H − ½∇·D − ½ D∇ln ρ at one point z (2N,)."""

    def D_of(z, args, C):
        return drift_and_diffusion(hamiltonian, z, args, C)[1]

    def v(z, t, C, args):
        drift, D = drift_and_diffusion(hamiltonian, z, args, C)
        dD = jax.jacfwd(D_of)(z, args, C)  # dD[a, b, c] = ∂_c D_ab
        divD = jnp.einsum("abb->a", dD)
        glog = jax.grad(log_density)(z, t)
        return drift - 0.5 * divD - 0.5 * D @ glog

    return v


class FlowResult(eqx.Module):
    """Output of `flow_trajectories`.

    Attributes:
        ts: save times, shape (n_save + 1,).
        z: positions at the save times, shape (n_save + 1, n_points, 2N).
        hit_zero: per point, whether ρ fell below the floor along the path.
        first_zero_time: per point, the first such time (NaN if never).
        n_hit_zero: number of flagged points.
    """

    ts: Array
    z: Array
    hit_zero: Array
    first_zero_time: Array
    n_hit_zero: Array


def flow_trajectories(
    hamiltonian: Callable,
    log_density: Callable,
    z0,
    *,
    dt,
    n_save: int,
    steps_per_save: int = 1,
    C=1.0,
    args=None,
    t0=0.0,
    zero_floor: float = 1e-10,
    density_scale=None,
) -> FlowResult:
    """Move points z0 (n_points, 2N) along the probability flow of SPEC §4.

    Args:
        hamiltonian: anti-Wick symbol `H(z, args)`, units of ħ.
        log_density: `ln ρ(z, t)` (differentiable in z).
        z0: initial points sampled from ρ(·, t0).
        dt, n_save, steps_per_save, t0: fixed-step RK4 schedule.
        C, args: diffusion strength and Hamiltonian arguments.
        zero_floor: a point is flagged when ρ < zero_floor × density_scale.
        density_scale: default (2π)^(−N), the maximum of any Husimi density.
    """
    z0 = jnp.asarray(z0)
    if z0.ndim != 2 or z0.shape[-1] % 2:
        raise ValueError(f"z0 must have shape (n_points, 2N); got {z0.shape}.")
    n_save, steps_per_save = int(n_save), int(steps_per_save)
    if n_save < 1 or steps_per_save < 1:
        raise ValueError("n_save and steps_per_save must be >= 1.")
    dtype = z0.dtype
    N = z0.shape[-1] // 2
    scale = (2 * jnp.pi) ** (-N) if density_scale is None else density_scale
    log_floor = jnp.log(jnp.asarray(zero_floor * scale, dtype))
    return _flow_core(
        hamiltonian,
        log_density,
        z0,
        jnp.asarray(dt, dtype),
        n_save,
        steps_per_save,
        jnp.asarray(C, dtype),
        args,
        jnp.asarray(t0, dtype),
        log_floor,
    )


@eqx.filter_jit
def _flow_core(hamiltonian, log_density, z0, dt, n_save, steps_per_save, C, args, t0, log_floor):
    v = flow_velocity(hamiltonian, log_density)
    vb = jax.vmap(v, in_axes=(0, None, None, None))
    logb = jax.vmap(log_density, in_axes=(0, None))
    dtype = z0.dtype

    def rk4(z, t):
        k1 = vb(z, t, C, args)
        k2 = vb(z + 0.5 * dt * k1, t + 0.5 * dt, C, args)
        k3 = vb(z + 0.5 * dt * k2, t + 0.5 * dt, C, args)
        k4 = vb(z + dt * k3, t + dt, C, args)
        return z + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)

    def inner(carry, i):
        z, first = carry
        t = t0 + i.astype(dtype) * dt
        z = rk4(z, t)
        low = (logb(z, t + dt) < log_floor) | ~jnp.all(jnp.isfinite(z), axis=-1)
        first = jnp.where(jnp.isnan(first) & low, t + dt, first)
        return (z, first), None

    def outer(carry, j):
        idx = j * steps_per_save + jnp.arange(steps_per_save)
        carry, _ = jax.lax.scan(inner, carry, idx)
        return carry, carry[0]

    first0 = jnp.where(logb(z0, t0) < log_floor, t0, jnp.nan).astype(dtype)
    (z_final, first), zs = jax.lax.scan(outer, (z0, first0), jnp.arange(n_save))
    ts = t0 + jnp.arange(n_save + 1).astype(dtype) * steps_per_save * dt
    hit = ~jnp.isnan(first)
    return FlowResult(
        ts=ts,
        z=jnp.concatenate([z0[None], zs]),
        hit_zero=hit,
        first_zero_time=first,
        n_hit_zero=jnp.sum(hit),
    )
