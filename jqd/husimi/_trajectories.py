"""Probability-flow trajectories for the Husimi Fokker-Planck equation (SPEC §4).

Any Fokker-Planck equation ∂ρ/∂t = −∇·(ρ J∇H) + ½ ∂a∂b(D_ab ρ) is also the
continuity equation ∂ρ/∂t = −∇·(ρ v) of the deterministic velocity

    v(z, t) = J∇H − ½ ∇·D − ½ D ∇ln ρ(z, t),   (∇·D)_a = Σ_b ∂_b D_ab,

so points sampled from ρ(0) and moved by dz/dt = v stay distributed as ρ(t).
ρ(z, t) is supplied, not reconstructed from the ensemble, in one of two forms:

- an analytic log-density `log_density(z, t) -> scalar` (e.g. the exact Kerr
  Husimi function);
- a `GalerkinDensity(law, R0, params)`: the coefficient matrix R of a
  `HusimiGalerkin` law, stepped with the law's own step alongside the points
  (two half steps per RK4 step, so R is available at every RK4 stage), and
  ln ρ = −|α|² + ln Σ_mn R_mn ᾱ^m α^n/√(m! n!) − N ln 2π evaluated from the
  current R. This needs no closed form and is exact wherever the law is.

∇ln ρ, ∇H and D come from autodiff (of ln ρ and of the anti-Wick symbol
`hamiltonian(z, args)`).

Zeros of the Husimi function make ∇ln ρ singular (|v| ~ 1/distance). Every
trajectory reports whether it passed where ρ < `zero_floor` (relative to
`density_scale`, or ln ρ is NaN: ρ rounded to ≤ 0) or became non-finite, and
the first time it did; such points
are still moved but flagged so they can be excluded or counted.

Integration: classical RK4 with fixed dt, `jax.vmap` over points and
`lax.scan` over time; `batch_size` splits the ensemble into chunks run one
after another (`lax.map`) to bound memory for large ensembles.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._galerkin import GalerkinParams, HusimiGalerkin
from ._grid_solver import drift_and_diffusion
from ._states import alphas_from_z, coherent_amplitudes

__all__ = [
    "flow_velocity",
    "FlowResult",
    "GalerkinDensity",
    "galerkin_log_density",
    "flow_trajectories",
]


def flow_velocity(hamiltonian: Callable, log_density: Callable) -> Callable:
    """Return v(z, s, C, args) = J∇H − ½∇·D − ½ D∇ln ρ at one point z (2N,),
    with ln ρ = `log_density(z, s)` (s: the time, or any density state)."""

    def D_of(z, args, C):
        return drift_and_diffusion(hamiltonian, z, args, C)[1]

    def v(z, s, C, args):
        drift, D = drift_and_diffusion(hamiltonian, z, args, C)
        dD = jax.jacfwd(D_of)(z, args, C)  # dD[a, b, c] = ∂_c D_ab
        divD = jnp.einsum("abb->a", dD)
        glog = jax.grad(log_density)(z, s)
        return drift - 0.5 * divD - 0.5 * D @ glog

    return v


def galerkin_log_density(R: Array, z: Array, basis) -> Array:
    """ln ρ(z) of the Galerkin state R on `basis` (occupations (d, N)) at one
    point z = (Q_1..Q_N, P_1..P_N): −|α|² + ln Σ R_mn ᾱ^m α^n/√(m! n!) − N ln 2π.

    The Gaussian is taken out analytically, so the value stays finite far in
    the tails; it is −inf at a zero of the Husimi function.
    """
    alpha = alphas_from_z(z)
    p = coherent_amplitudes(alpha, basis, gaussian=False)
    poly = jnp.real(jnp.conj(p) @ R.astype(p.dtype) @ p)
    return jnp.log(poly) - jnp.sum(jnp.abs(alpha) ** 2) - alpha.shape[-1] * np.log(2 * np.pi)


class GalerkinDensity(eqx.Module):
    """ρ(z, t) from a `HusimiGalerkin` law: the coefficient matrix R(t0) = R0 is
    stepped with `law.prepare(params, dt/2).step` alongside the trajectories.

    Attributes:
        law: the Galerkin law (its basis fixes ln ρ's polynomial).
        R0: coefficient matrix at the trajectories' start time.
        params: `GalerkinParams`; the law's C. Its C should equal the C passed to
            `flow_trajectories` for the flow to transport ρ (not checked: a
            mismatch is a legitimate experiment).
    """

    law: HusimiGalerkin
    R0: Array
    params: GalerkinParams

    def __check_init__(self):
        if not isinstance(self.law, HusimiGalerkin):
            raise ValueError(f"law must be a HusimiGalerkin; got {type(self.law).__name__}.")
        d = self.law.dim
        if self.R0.shape != (d, d):
            raise ValueError(
                f"R0 must have shape ({d}, {d}) (the law's basis); got {self.R0.shape}."
            )


class _Analytic(eqx.Module):
    fn: Callable = eqx.field(static=True)

    def init(self, t0):
        return None

    def advance(self, s, t):
        return None

    def log(self, z, s, t):
        return self.fn(z, t)


class _Galerkin(eqx.Module):
    stepper: eqx.Module
    params: GalerkinParams
    R0: Array
    half: Array
    basis: tuple = eqx.field(static=True)

    def init(self, t0):
        return self.R0

    def advance(self, R, t):
        return self.stepper.step(t, R, self.params, self.half, None)

    def log(self, z, R, t):
        return galerkin_log_density(R, z, self.basis)


class FlowResult(eqx.Module):
    """Output of `flow_trajectories`.

    Attributes:
        ts: save times, shape (n_save + 1,).
        z: positions at the save times, shape (n_save + 1, n_points, 2N).
        hit_zero: per point, whether ρ fell below the floor (or the point became
            non-finite) along the path.
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
    log_density: Callable | GalerkinDensity,
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
    batch_size: int | None = None,
) -> FlowResult:
    """Move points z0 (n_points, 2N) along the probability flow of SPEC §4.

    Args:
        hamiltonian: anti-Wick symbol `H(z, args)`, units of ħ.
        log_density: `ln ρ(z, t)` (differentiable in z), or a `GalerkinDensity`
            whose R is evolved alongside the points.
        z0: initial points sampled from ρ(·, t0).
        dt, n_save, steps_per_save, t0: fixed-step RK4 schedule.
        C, args: diffusion strength and Hamiltonian arguments.
        zero_floor: a point is flagged when ρ < zero_floor × density_scale.
        density_scale: default (2π)^(−N), the maximum of any Husimi density.
        batch_size: if given, integrate the points in chunks of this size, one
            chunk after another (bounded memory; same result).
    """
    z0 = jnp.asarray(z0)
    if z0.ndim != 2 or z0.shape[-1] % 2:
        raise ValueError(f"z0 must have shape (n_points, 2N); got {z0.shape}.")
    n_save, steps_per_save = int(n_save), int(steps_per_save)
    if n_save < 1 or steps_per_save < 1:
        raise ValueError("n_save and steps_per_save must be >= 1.")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int or None; got {batch_size}.")
    dtype = z0.dtype
    N = z0.shape[-1] // 2
    if isinstance(log_density, GalerkinDensity):
        if log_density.law.n_modes != N:
            raise ValueError(
                f"z0 has {N} modes but the GalerkinDensity's law has {log_density.law.n_modes}."
            )
        half = jnp.asarray(dt, dtype) / 2
        source = _Galerkin(
            stepper=log_density.law.prepare(log_density.params, half),
            params=log_density.params,
            R0=jnp.asarray(log_density.R0),
            half=half,
            basis=log_density.law.basis_tuple,
        )
    elif callable(log_density):
        source = _Analytic(log_density)
    else:
        raise ValueError(
            "log_density must be a callable ln ρ(z, t) or a GalerkinDensity; got "
            f"{type(log_density).__name__}."
        )
    scale = (2 * jnp.pi) ** (-N) if density_scale is None else density_scale
    log_floor = jnp.log(jnp.asarray(zero_floor * scale, dtype))
    n = z0.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    return _flow_core(
        hamiltonian,
        source,
        z0,
        jnp.asarray(dt, dtype),
        n_save,
        steps_per_save,
        jnp.asarray(C, dtype),
        args,
        jnp.asarray(t0, dtype),
        log_floor,
        bs,
    )


@eqx.filter_jit
def _flow_core(
    hamiltonian, source, z0, dt, n_save, steps_per_save, C, args, t0, log_floor, batch_size
):
    v = flow_velocity(hamiltonian, lambda z, st: source.log(z, st[0], st[1]))
    vb = jax.vmap(v, in_axes=(0, None, None, None))
    logb = jax.vmap(source.log, in_axes=(0, None, None))
    dtype = z0.dtype

    def flow_chunk(zc):
        def rk4(z, t, s0, s1, s2):
            k1 = vb(z, (s0, t), C, args)
            k2 = vb(z + 0.5 * dt * k1, (s1, t + 0.5 * dt), C, args)
            k3 = vb(z + 0.5 * dt * k2, (s1, t + 0.5 * dt), C, args)
            k4 = vb(z + dt * k3, (s2, t + dt), C, args)
            return z + (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)

        def inner(carry, i):
            z, s, first = carry
            t = t0 + i.astype(dtype) * dt
            s1 = source.advance(s, t)
            s2 = source.advance(s1, t + 0.5 * dt)
            z = rk4(z, t, s, s1, s2)
            # NaN ln ρ (ρ rounded to ≤ 0 at a zero) counts as low
            low = ~(logb(z, s2, t + dt) >= log_floor) | ~jnp.all(jnp.isfinite(z), axis=-1)
            first = jnp.where(jnp.isnan(first) & low, t + dt, first)
            return (z, s2, first), None

        def outer(carry, j):
            idx = j * steps_per_save + jnp.arange(steps_per_save)
            carry, _ = jax.lax.scan(inner, carry, idx)
            return carry, carry[0]

        s0 = source.init(t0)
        first0 = jnp.where(logb(zc, s0, t0) >= log_floor, jnp.nan, t0).astype(dtype)
        (_, _, first), zs = jax.lax.scan(outer, (zc, s0, first0), jnp.arange(n_save))
        return jnp.concatenate([zc[None], zs]), first

    n = z0.shape[0]
    if batch_size >= n:
        z, first = flow_chunk(z0)
    else:
        n_chunks = -(-n // batch_size)
        pad = n_chunks * batch_size - n
        zp = jnp.concatenate([z0, jnp.broadcast_to(z0[:1], (pad, z0.shape[1]))])
        zs, firsts = jax.lax.map(flow_chunk, zp.reshape(n_chunks, batch_size, -1))
        z = jnp.moveaxis(zs, 0, 1).reshape(n_save + 1, n_chunks * batch_size, -1)[:, :n]
        first = firsts.reshape(-1)[:n]
    ts = t0 + jnp.arange(n_save + 1).astype(dtype) * steps_per_save * dt
    hit = ~jnp.isnan(first)
    return FlowResult(ts=ts, z=z, hit_zero=hit, first_zero_time=first, n_hit_zero=jnp.sum(hit))
