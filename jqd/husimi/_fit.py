"""Fitting the diffusion constant C of the Husimi Fokker-Planck equation to
exact Husimi evolution, through the differentiable Galerkin solver (a thin
layer over `jqd.fit`)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .._evolve import evolve
from .._fit import FitResult, fit
from ._galerkin import GalerkinParams, HusimiGalerkin


def husimi_residuals(law: HusimiGalerkin, R0, alphas, data, **run):
    """r(C) = (Q_model − Q_data)/‖Q_data‖ (flattened), so Σr² = `husimi_loss`;
    `run`: dt, n_save, steps_per_save."""
    alphas = jnp.asarray(alphas)
    data = jnp.asarray(data)
    scale = jnp.sqrt(jnp.sum(data**2))
    quiet = dict(check=False, monitor=False, on_breakdown="flag")  # not stopped by the monitor
    observe = lambda t, y, p: law.husimi(y, alphas)

    def residuals(C):
        sol = evolve(law, R0, GalerkinParams(C), **run, **quiet, observe=observe)
        return jnp.ravel(sol.observables[1:] - data) / scale

    return residuals


def husimi_loss(law: HusimiGalerkin, R0, alphas, data, *, dt, n_save, steps_per_save):
    """loss(C) = Σ_t Σ_α (Q_model − Q_data)² / Σ (Q_data)², Q_model from the law
    started at R0, saved at t = k·dt·steps_per_save (k = 1..n_save), `data` of
    shape (n_save, *alphas.shape[:-1]); not stopped by the monitor."""
    run = dict(dt=dt, n_save=n_save, steps_per_save=steps_per_save)
    residuals = husimi_residuals(law, R0, alphas, data, **run)
    return lambda C: jnp.sum(residuals(C) ** 2)


def fit_C(
    law: HusimiGalerkin,
    R0,
    alphas,
    data,
    *,
    dt,
    n_save: int,
    steps_per_save: int,
    C0=0.5,
    max_iter: int = 50,
    tol: float = 1e-14,
) -> FitResult:
    """Fit C by minimizing `husimi_loss` with `jqd.fit` (optax L-BFGS, zoom line
    search), stopping after the first update that starts from a loss < tol.
    The fitted operator is the law's: use `scheme=jqd.schemes.Exact()` for a validation claim
    (the split stepper at C = 1 does not involve the drift and diffusion terms).

    Args:
        law: a `HusimiGalerkin`.
        R0: initial coefficient matrix (the state the data started from).
        alphas: complex sample points (..., N) of the data.
        data: exact Husimi values Q_H at the save times, (n_save, ...).
        dt: the time step of the data's time grid.
        n_save: its number of saves.
        steps_per_save: its steps between saves.
        C0: starting value (default 0.5).
        max_iter: L-BFGS iterations at most.
        tol: stop once the loss at the start of an update is below it.

    Returns:
        A `jqd.FitResult` with value {"C": C} (`result.C`), `loss`, `iterations`,
        `history`, `stderr` and `covariance` (noise level from the misfit).
    """
    if not np.isfinite(float(C0)):
        raise ValueError(f"C0 must be finite; got {C0}.")
    run = dict(dt=dt, n_save=n_save, steps_per_save=steps_per_save)
    residuals = husimi_residuals(law, R0, alphas, data, **run)
    # ½Σr² = ½ husimi_loss: least squares, so the result carries its stderr
    res = fit(
        None, {"C": C0}, residuals=lambda th: residuals(th["C"]), max_iter=max_iter, ftol=tol / 2
    )
    return dataclasses.replace(res, loss=2 * res.loss, history=2 * res.history)
