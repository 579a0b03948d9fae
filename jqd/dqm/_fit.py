"""Fit the diffusion constant D of `CanonicalDQM` to density snapshots with
`jqd.fit` (physics §2: quantum mechanics is D = ħ/2m)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._evolve import check_values, evolve
from .._fit import FitResult, fit
from ._canonical import CanonicalDQM
from ._state import DQMParams, MadelungState


def density_residuals(law, y0, params, target, *, dt, steps_per_save, checkpoint=True):
    """(ρ_i − ρ̂_i)√(cell volume)/‖ρ̂‖, flattened: Σr² is `density_loss`."""
    n_save = target.shape[0]
    sol = evolve(
        law,
        y0,
        params,
        dt=dt,
        n_save=n_save,
        steps_per_save=steps_per_save,
        observe=lambda t, y, p: y.rho,
        check=False,
        checkpoint=checkpoint,
        monitor=False,
        on_breakdown="flag",
    )
    norm = jnp.sqrt(law.grid.integrate(jnp.sum(target**2, axis=0)))
    return jnp.ravel(sol.observables[1:] - target) * np.sqrt(law.grid.cell_volume) / norm


def density_loss(law, y0, params, target, *, dt, steps_per_save, checkpoint=True):
    """Relative L2 misfit Σ_i ∫(ρ_i − ρ̂_i)² / Σ_i ∫ρ̂_i² over the saves i = 1..n
    (`target` (n, *grid.shape)). The breakdown monitor is off: NaN gives a NaN loss.
    """
    r = density_residuals(
        law, y0, params, target, dt=dt, steps_per_save=steps_per_save, checkpoint=checkpoint
    )
    return jnp.sum(r**2)


def fit_diffusion(
    law: CanonicalDQM,
    y0: MadelungState,
    params: DQMParams,
    target,
    *,
    dt,
    steps_per_save: int,
    D0=None,
    max_iter: int = 40,
    tol: float = 1e-10,
) -> FitResult:
    """Fit D of a `CanonicalDQM` `law` so that its densities from `y0` match
    `target` (n, *grid.shape) at the saves t0 + i·steps_per_save·dt, i = 1..n:
    `jqd.fit` in θ = ln D (L-BFGS, reverse-mode gradients through `jqd.evolve`;
    physics §2.2), from `D0` (default 0.5 ħ/2m; `params.D` is ignored), at most
    `max_iter` iterations, gradient tolerance `tol` in θ.

    Returns:
        A `jqd.FitResult` with `value = {"D": ...}` (also `result.D`), the
        iterates in `path`, and the least-squares `stderr`/`covariance`.
    """
    if not isinstance(law, CanonicalDQM):
        raise TypeError(f"law must be a CanonicalDQM; got {type(law).__name__}.")
    # a host array is put on the device as it is (jnp.asarray compiles a program for it)
    target = target if isinstance(target, jax.Array) else jax.device_put(np.asarray(target))
    if target.ndim != law.grid.ndim + 1 or target.shape[1:] != law.grid.shape:
        raise ValueError(
            f"target must have shape (n_snapshots, *{law.grid.shape}); got {target.shape}."
        )
    law.check(y0, params, dt)
    check_values(law, y0, params, dt, "fit_diffusion")
    d_qm = float(np.asarray(params.hbar) / (2 * np.asarray(params.mass)))
    D0 = 0.5 * d_qm if D0 is None else float(D0)
    if not D0 > 0:
        raise ValueError(f"D0 must be positive; got {D0}.")

    def residuals(theta):  # Σr² = density_loss: least squares, so the fit carries stderr
        p = eqx.tree_at(lambda q: q.D, params, theta["D"], is_leaf=lambda x: x is None)
        return density_residuals(law, y0, p, target, dt=dt, steps_per_save=steps_per_save)

    res = fit(
        None, {"D": D0}, residuals=residuals, transform="positive", max_iter=max_iter, gtol=tol / 2
    )
    return dataclasses.replace(
        res,
        value={"D": float(res.value["D"])},
        loss=2 * float(res.loss),
        history=2 * res.history,
        stderr={"D": float(res.stderr["D"])},
    )
