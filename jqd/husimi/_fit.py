"""Fitting the diffusion constant C of the Husimi Fokker-Planck equation to
exact Husimi evolution, through the differentiable Galerkin solver."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._evolve import evolve
from ._galerkin import GalerkinParams, HusimiGalerkin

__all__ = ["FitResult", "husimi_loss", "fit_C"]


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Result of `fit_C`: the fitted `C`, the final `loss`, the iteration count
    and the loss/C history."""

    C: float
    loss: float
    n_iter: int
    history: tuple


def husimi_loss(law: HusimiGalerkin, R0, alphas, data, *, dt, n_save, steps_per_save):
    """loss(C) = Σ_t Σ_α (Q_model − Q_data)² / Σ (Q_data)², with Q_model from
    the Galerkin law started at R0, saved at t = k·dt·steps_per_save,
    k = 1..n_save, and `data` of shape (n_save, *alphas.shape[:-1])."""
    alphas = jnp.asarray(alphas)
    data = jnp.asarray(data)
    scale = jnp.sum(data**2)
    observe = lambda t, y, p: law.husimi(y, alphas)  # one function: no retrace per call

    def loss(C):
        sol = evolve(
            law,
            R0,
            GalerkinParams(C),
            dt=dt,
            n_save=n_save,
            steps_per_save=steps_per_save,
            observe=observe,
            check=False,
            on_nonfinite="ignore",
        )
        return jnp.sum((sol.observables[1:] - data) ** 2) / scale

    return loss


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
    """Fit C by minimizing `husimi_loss` with optax L-BFGS (zoom line search).

    Args:
        law: a `HusimiGalerkin`.
        R0: initial coefficient matrix (the state the data started from).
        alphas: complex sample points (..., N) of the data.
        data: exact Husimi values Q_H at the save times, (n_save, ...).
        dt, n_save, steps_per_save: the time grid of the data.
        C0: starting value (default 0.5).
        max_iter: L-BFGS iterations at most; stops once the loss < tol.
    """
    loss = husimi_loss(law, R0, alphas, data, dt=dt, n_save=n_save, steps_per_save=steps_per_save)
    C = jnp.asarray(C0, jnp.result_type(float))
    if not np.isfinite(float(C)):
        raise ValueError(f"C0 must be finite; got {C0}.")
    opt = optax.lbfgs()
    state = opt.init(C)
    value_and_grad = optax.value_and_grad_from_state(loss)

    @jax.jit
    def update(C, state):
        value, grad = value_and_grad(C, state=state)
        updates, state = opt.update(grad, state, C, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(C, updates), state, value

    history = []
    n = 0
    for n in range(1, max_iter + 1):
        C, state, value = update(C, state)
        history.append((float(value), float(C)))
        if float(value) < tol:
            break
    return FitResult(C=float(C), loss=float(loss(C)), n_iter=n, history=tuple(history))
