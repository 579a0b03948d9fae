"""Fitting the copy-law exponents (q, r) to exact Schrödinger evolution."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._evolve import evolve
from ..reference import propagate
from ._meanfield import MeanField, MeanFieldParams, psi_from_state, state_from_psi

__all__ = ["QRFit", "qr_loss", "fit_qr"]


class QRFit(eqx.Module):
    """Result of `fit_qr`: fitted `q`, `r`, final `loss`, `n_iter`, the loss
    `history` (one entry per iteration) and the `path` of (q, r) iterates."""

    q: float
    r: float
    loss: float
    n_iter: int
    history: np.ndarray
    path: np.ndarray


def qr_loss(qr, H, psi0, ts, *, dt, hbar=1.0, psi_exact=None):
    """Mean over save times of Σ_a |√ρ_a e^(−iφ_a) − ψ_a(t)|².

    The mean-field law with exponents `qr = (q, r)` is integrated with RK4
    (`jqd.evolve`, step `dt`) from ψ0; ψ(t) is the exact `propagate(H, ψ0, ts)`.
    `ts` must be uniformly spaced from 0 with spacing a multiple of `dt`.
    Zero (up to RK4 error) at (q, r) = (1/2, −1/2).
    """
    ts = np.asarray(ts)
    spacing = ts[1] - ts[0]
    steps = int(round(spacing / dt))
    if ts[0] != 0 or steps < 1 or not np.allclose(np.diff(ts), steps * dt, rtol=1e-9, atol=0):
        raise ValueError(
            "ts must start at 0 and be uniformly spaced by a whole number of dt steps; "
            f"got spacing {spacing:g} for dt = {dt:g}."
        )
    if psi_exact is None:
        psi_exact = propagate(H, psi0, ts, hbar=hbar)
    params = MeanFieldParams.from_hamiltonian(H, q=qr[0], r=qr[1], hbar=hbar)
    sol = evolve(
        MeanField(),
        state_from_psi(psi0),
        params,
        dt=dt,
        n_save=len(ts) - 1,
        steps_per_save=steps,
        observe=lambda t, y, p: psi_from_state(y),
        check=False,
        on_nonfinite="ignore",
    )
    return jnp.mean(jnp.sum(jnp.abs(sol.observables - psi_exact) ** 2, axis=-1))


def fit_qr(H, psi0, ts, *, init=(0.0, 0.0), dt=0.01, hbar=1.0, max_iter=100, tol=1e-12):
    """Fit (q, r) of the mean-field copy law to exact evolution with optax L-BFGS.

    Several starts are fitted at once (vmapped): pass `init` of shape (2,) or
    (n_starts, 2).

    Args:
        H: Hermitian (P, P) Hamiltonian (energy units).
        psi0: normalized initial state (P,) with no zero component.
        ts: save times (uniform, from 0) at which ψ is compared.
        init: starting (q, r), or one row per start.
        dt: RK4 step.
        max_iter: L-BFGS iterations at most.
        tol: stop when every start's loss is below `tol`.

    Returns:
        `QRFit` (arrays of shape (n_starts,) when `init` has a start axis).
        Expected (SPEC §5, S32-S38): q = 1/2, r = −1/2. Starts whose trajectory
        reaches ρ_a = 0 (large q with r >= 0 does) give a non-finite loss; a
        non-finite loss is mapped to 4 (the largest possible value) with zero
        gradient so that the line search backs off.
    """
    init = np.asarray(init, dtype=float)
    if init.shape[-1:] != (2,) or init.ndim > 2:
        raise ValueError(f"init must have shape (2,) or (n_starts, 2); got {init.shape}.")
    psi_exact = propagate(H, psi0, ts, hbar=hbar)

    def fun(x):
        value = qr_loss(x, H, psi0, ts, dt=dt, hbar=hbar, psi_exact=psi_exact)
        return jnp.where(jnp.isfinite(value), value, 4.0)

    def safe_value_and_grad(x):
        value, grad = jax.value_and_grad(fun)(x)
        ok = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad)) & (value < 4.0)
        return value, jnp.where(ok, grad, 0.0)

    opt = optax.lbfgs(
        linesearch=optax.scale_by_zoom_linesearch(max_linesearch_steps=30, verbose=False)
    )

    def one_update(x, state):
        value, grad = safe_value_and_grad(x)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(x, updates), state, value

    batched = init.ndim == 2
    x = jnp.asarray(init if batched else init[None])
    update = jax.jit(jax.vmap(one_update))
    state = jax.vmap(opt.init)(x)
    history, path = [], [np.asarray(x)]
    for _ in range(max_iter):
        x, state, value = update(x, state)
        history.append(np.asarray(value))
        path.append(np.asarray(x))
        if np.all(history[-1] < tol):
            break
    loss = np.asarray(jax.jit(jax.vmap(fun))(x))
    x = np.asarray(x)
    out = QRFit(
        q=x[:, 0],
        r=x[:, 1],
        loss=loss,
        n_iter=len(history),
        history=np.array(history),
        path=np.array(path),
    )
    if batched:
        return out
    return QRFit(
        q=float(x[0, 0]),
        r=float(x[0, 1]),
        loss=float(loss[0]),
        n_iter=out.n_iter,
        history=out.history[:, 0],
        path=out.path[:, 0],
    )
