"""`flow_trajectories`: move an ensemble along the Husimi probability flow
(the `HusimiFlow` law, run by `jqd.evolve`) and report which points passed a
zero of ρ, in chunks of bounded memory (physics §4)."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .._evolve import evolve
from ._flow import FlowParams, GalerkinDensity, HusimiFlow

__all__ = ["FlowResult", "flow_trajectories"]


class FlowResult(eqx.Module):
    """Output of `flow_trajectories`.

    Attributes:
        ts: save times, shape (n_save + 1,).
        z: positions at the save times, shape (n_save + 1, n_points, 2N).
        hit_zero: per point, whether ρ fell below the floor (or the point took
            a non-finite step) after some step along the path, or at the start.
        first_zero_time: per point, the first such time (NaN if never).
        n_hit_zero: number of flagged points.
        flag: per point, 0 or the code of its first flag (2: ρ below the
            floor, 3: a non-finite step, after which the point stays put).
    """

    ts: Array
    z: Array
    hit_zero: Array
    first_zero_time: Array
    n_hit_zero: Array
    flag: Array


def _points(t, y, params):
    return y.z


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
    on_zero: str = "flag",
) -> FlowResult:
    """Move points z0 (n_points, 2N) along the probability flow of physics §4
    (`jqd.evolve` of a `HusimiFlow`).

    Args:
        hamiltonian: anti-Wick symbol `H(z, args)`, units of ħ
            (e.g. `jqd.reference.kerr_symbol`).
        log_density: `ln ρ(z, t)` (differentiable in z), or a `GalerkinDensity`
            whose R is evolved alongside the points.
        z0: initial points sampled from ρ(·, t0).
        dt: RK4 time step (fixed).
        n_save: number of saves.
        steps_per_save: steps between saves.
        t0: initial time.
        C: diffusion strength.
        args: Hamiltonian arguments.
        zero_floor: a point is flagged when ρ < zero_floor × density_scale.
        density_scale: default (2π)^(−N), the maximum of any Husimi density.
        batch_size: if given, integrate the points in chunks of this size, one
            chunk after another (bounded memory; same result).
        on_zero: "flag" (default): flagged points are counted and the others
            keep moving; "raise": stop at the first save with a flagged point
            and raise `jqd.husimi.HusimiZeroError` (the law's monitor).
            Either way a `GalerkinDensity` keeps its own checks: R0 Hermitian
            with trace 1, its split step in range (ValueError), and its Fock
            truncation and basis width during the run (`FockTruncationError`,
            `BasisWidthError`): a wrong ρ would make every trajectory wrong.
    """
    z0 = jnp.asarray(z0)
    if z0.ndim != 2 or z0.shape[-1] % 2 or z0.shape[0] < 1:
        raise ValueError(f"z0 must have shape (n_points, 2N), n_points >= 1; got {z0.shape}.")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int or None; got {batch_size}.")
    if on_zero not in ("flag", "raise"):
        raise ValueError(f"on_zero must be 'flag' or 'raise'; got {on_zero!r}.")
    dtype = z0.dtype
    N = z0.shape[-1] // 2
    C = jnp.asarray(C, dtype)
    kw = dict(zero_floor=zero_floor, density_scale=density_scale)
    if isinstance(log_density, GalerkinDensity):
        if log_density.law.n_modes != N:
            raise ValueError(
                f"z0 has {N} modes but the GalerkinDensity's law has {log_density.law.n_modes}."
            )
        law = HusimiFlow(hamiltonian, log_density.law, **kw)
        R0, params = jnp.asarray(log_density.R0), FlowParams(C, args, log_density.params)
    elif callable(log_density):
        law, R0, params = HusimiFlow(hamiltonian, log_density, **kw), None, FlowParams(C, args)
    else:
        raise ValueError(
            "log_density must be a callable ln ρ(z, t) or a GalerkinDensity; got "
            f"{type(log_density).__name__}."
        )
    n = z0.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    zs, flags, times = [], [], []
    for start in range(0, n, bs):
        chunk = z0[start : start + bs]
        m = chunk.shape[0]
        if m < bs:  # pad the last chunk: one compiled program for all chunks
            chunk = jnp.concatenate([chunk, jnp.broadcast_to(z0[:1], (bs - m, 2 * N))])
        sol = evolve(
            law,
            law.initial_state(chunk, t0=jnp.asarray(t0, dtype), R0=R0),
            params,
            dt=dt,
            n_save=n_save,
            steps_per_save=steps_per_save,
            t0=t0,
            observe=_points,
            monitor=True if on_zero == "raise" else law.density_monitor,
            checkpoint=False,  # forward runs: no rematerialisation to compile
        )
        zs.append(sol.observables[:, :m])
        flags.append(sol.y_final.flag[:m])
        times.append(sol.y_final.flag_time[:m])
    flag = jnp.concatenate(flags)
    hit = flag > 0
    return FlowResult(
        ts=sol.ts,
        z=jnp.concatenate(zs, axis=1) if len(zs) > 1 else zs[0],
        hit_zero=hit,
        first_zero_time=jnp.where(hit, jnp.concatenate(times), jnp.nan),
        n_hit_zero=jnp.sum(hit),
        flag=flag,
    )
