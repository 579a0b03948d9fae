"""Recover the diffusion constant D of the canonical DQM law from density
snapshots (SPEC §2: quantum mechanics is D = ħ/2m)."""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._evolve import evolve
from ._canonical import CanonicalDQM
from ._madelung import DQMParams, MadelungState

__all__ = ["FitResult", "fit_diffusion", "density_loss"]


@dataclass(frozen=True)
class FitResult:
    """Outcome of `fit_diffusion`.

    Attributes:
        D: the fitted diffusion coefficient.
        loss: final loss.
        history_D, history_loss: D and the loss at every iteration (the
            starting point first).
        n_iter: iterations taken.
        converged: whether the gradient-norm tolerance was met.
    """

    D: float
    loss: float
    history_D: np.ndarray
    history_loss: np.ndarray
    n_iter: int
    converged: bool


def density_loss(law, y0, params, target, *, dt, steps_per_save, checkpoint=True):
    """Relative L2 misfit Σ_i ∫(ρ_i − ρ̂_i)² / Σ_i ∫ρ̂_i² over the saves
    i = 1..n (`target` has shape (n, *grid.shape), the saves after t0)."""
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
        on_nonfinite="ignore",
    )
    rho = sol.observables[1:]
    return law.grid.integrate(jnp.sum((rho - target) ** 2, axis=0)) / law.grid.integrate(
        jnp.sum(target**2, axis=0)
    )


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
    """Fit D in `law` (a `CanonicalDQM`) so that its densities match `target`.

    D = exp(θ) (positive by construction); θ is optimized with `optax.lbfgs`
    (zoom line search), gradients by reverse mode through `jqd.evolve`.

    Args:
        law: the canonical law (grid and potential).
        y0: initial (ρ, S) state (e.g. `state_from_psi` of the reference ψ0).
        params: `DQMParams`; its `D` is ignored (replaced by the fit variable).
        target: densities at the saves t0 + i·steps_per_save·dt, i = 1..n,
            shape (n, *grid.shape), e.g. from exact grid Schrödinger.
        dt, steps_per_save: the law's step and saves (as in `jqd.evolve`).
        D0: starting D (default 0.5 ħ/2m).
        max_iter: L-BFGS iterations at most.
        tol: stop when |dloss/dθ| < tol.
    """
    if not isinstance(law, CanonicalDQM):
        raise TypeError(f"law must be a CanonicalDQM; got {type(law).__name__}.")
    target = jnp.asarray(target)
    if target.ndim != law.grid.ndim + 1 or target.shape[1:] != law.grid.shape:
        raise ValueError(
            f"target must have shape (n_snapshots, *{law.grid.shape}); got {target.shape}."
        )
    law.check(y0, params, dt)
    d_qm = float(np.asarray(params.hbar) / (2 * np.asarray(params.mass)))
    D0 = 0.5 * d_qm if D0 is None else float(D0)
    if not D0 > 0:
        raise ValueError(f"D0 must be positive; got {D0}.")

    def loss_fn(theta):
        p = eqx.tree_at(lambda q: q.D, params, jnp.exp(theta), is_leaf=lambda x: x is None)
        return density_loss(law, y0, p, target, dt=dt, steps_per_save=steps_per_save)

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss_fn)

    @jax.jit
    def update(theta, state):
        value, grad = value_and_grad(theta, state=state)
        updates, state = opt.update(grad, state, theta, value=value, grad=grad, value_fn=loss_fn)
        return optax.apply_updates(theta, updates), state, value, grad

    theta = jnp.asarray(np.log(D0), target.dtype)
    state = opt.init(theta)
    hist_D, hist_loss = [D0], []
    converged = False
    n = 0
    for n in range(1, max_iter + 1):
        theta_new, state, value, grad = update(theta, state)
        hist_loss.append(float(value))
        if abs(float(grad)) < tol:
            converged = True
            n -= 1
            break
        theta = theta_new
        hist_D.append(float(np.exp(theta)))
    final = float(loss_fn(theta))
    if len(hist_loss) < len(hist_D):
        hist_loss.append(final)
    return FitResult(
        D=float(np.exp(theta)),
        loss=final,
        history_D=np.asarray(hist_D),
        history_loss=np.asarray(hist_loss),
        n_iter=n,
        converged=converged,
    )
