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
    """Result of `fit_qr`: fitted `q`, `r`, final `loss`, `n_iter`, and the
    loss `history` (one entry per iteration)."""

    q: float
    r: float
    loss: float
    n_iter: int
    history: np.ndarray


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


def fit_qr(H, psi0, ts, *, init=(0.0, 0.0), dt=0.01, hbar=1.0, max_iter=200, tol=1e-14):
    """Fit (q, r) of the mean-field copy law to exact evolution with optax L-BFGS.

    Args:
        H: Hermitian (P, P) Hamiltonian (energy units).
        psi0: normalized initial state (P,) with no zero component.
        ts: save times (uniform, from 0) at which ψ is compared.
        init: starting (q, r).
        dt: RK4 step.
        max_iter: L-BFGS iterations at most.
        tol: stop when the loss falls below `tol`.

    Returns:
        `QRFit`. Expected (SPEC §5, S32-S38): q = 1/2, r = −1/2.
    """
    psi_exact = propagate(H, psi0, ts, hbar=hbar)
    fun = lambda x: qr_loss(x, H, psi0, ts, dt=dt, hbar=hbar, psi_exact=psi_exact)
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(fun)

    @jax.jit
    def update(x, state):
        value, grad = value_and_grad(x, state=state)
        updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(x, updates), state, value

    x = jnp.asarray(init, dtype=jnp.result_type(float))
    state = opt.init(x)
    history = []
    update(x, state)  # compile
    for _ in range(max_iter):
        x, state, value = update(x, state)
        history.append(float(value))
        if history[-1] < tol:
            break
    loss = float(fun(x))
    return QRFit(q=float(x[0]), r=float(x[1]), loss=loss, n_iter=len(history), history=np.array(history))
