"""Fitting the copy-law exponents (q, r) to exact Schrödinger evolution (a thin
layer over `jqd.fit`)."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .._evolve import evolve
from .._fit import fit
from .._guards import Check, enforce, hermitian, normalized, scalar
from ..interop import as_array
from ..reference import propagate
from ._meanfield import MeanField, MeanFieldParams, psi_from_state, save_steps, state_from_psi


def _problem_guards(H, psi0, hbar) -> list:
    """H Hermitian, ħ > 0, ψ0 normalized with no zero component."""
    psi0 = jnp.asarray(as_array(psi0, "psi0"))
    rho = jnp.abs(psi0) ** 2
    return (
        hermitian(jnp.asarray(H), "H")
        + scalar(hbar, "hbar", positive=True)
        + normalized(jnp.sqrt(jnp.sum(rho)), "psi0")
        + [
            Check(
                jnp.min(rho) > 0,
                "psi0 has a zero component: the copy law with r < 0 is singular there "
                "(physics §5, S63), so no start can be fitted. Give every state a small "
                "amplitude.",
            )
        ]
    )


def qr_loss(qr, H, psi0, ts, *, dt, hbar=1.0, psi_exact=None):
    """Mean over save times of Σ_a |√ρ_a e^(−iφ_a) − ψ_a(t)|²: the mean-field law
    with exponents `qr = (q, r)` by RK4 (step `dt`) against the exact
    `propagate(H, ψ0, ts)`; `ts` from 0, spaced by a multiple of `dt`. Zero (up
    to RK4 error) at (q, r) = (1/2, −1/2)."""
    enforce(scalar(dt, "dt", positive=True), caller="qr_loss")
    H, psi0 = as_array(H, "H"), as_array(psi0, "psi0")  # QuTiP/dynamiqs objects too
    save_steps(ts, dt)
    ts = np.asarray(ts)
    if psi_exact is None:
        psi_exact = propagate(H, psi0, ts, hbar=hbar)
    psi0 = enforce(_problem_guards(H, psi0, hbar), psi0, caller="qr_loss")
    psi = _meanfield_psi(qr, H, psi0, ts, dt=dt, hbar=hbar)
    return jnp.sum(jnp.abs(psi - psi_exact[1:]) ** 2) / len(ts)  # the mean includes t = 0


def _meanfield_psi(qr, H, psi0, ts, *, dt, hbar):
    """ψ = √ρ e^(−iφ) of the mean-field law at ts[1:], unchecked (the callers
    check: JAX's persistent cache never keeps a program with a check)."""
    steps = int(round((ts[1] - ts[0]) / dt))
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
        on_breakdown="flag",
    )
    return sol.observables[1:]


def fit_qr(H, psi0, ts, *, init=(0.0, 0.0), dt=0.01, hbar=1.0, max_iter=100, tol=1e-12):
    """Fit (q, r) of the mean-field copy law to exact evolution with `jqd.fit`
    (L-BFGS, at most 30 line-search steps), several starts at once.

    Args:
        H: Hermitian (P, P) Hamiltonian (energy units).
        psi0: normalized initial state (P,) with no zero component.
        ts: save times (uniform, from 0) at which ψ is compared.
        init: starting (q, r), or one row per start.
        dt: RK4 step.
        max_iter: L-BFGS iterations at most.
        tol: stop after the iteration at which every start's loss is below `tol`.

    Returns:
        `jqd.FitResult` with `value = {"q": ..., "r": ...}` (floats for one start,
        arrays (n_starts,) otherwise), `loss`, `history` (iterations[, n_starts]),
        `path` (iterations + 1[, n_starts], 2), `stderr` and `covariance`
        (`jqd.fit_covariance`). Expected (physics §5.7): q = 1/2, r = −1/2. A
        non-finite loss (a start reaching ρ_a = 0) counts as 4 with zero gradient.
    """
    H, psi0 = as_array(H, "H"), as_array(psi0, "psi0")  # QuTiP/dynamiqs objects too
    enforce(_problem_guards(H, psi0, hbar), caller="fit_qr")
    init = np.asarray(init, dtype=float)
    if init.shape[-1:] != (2,) or init.ndim > 2:
        raise ValueError(f"init must have shape (2,) or (n_starts, 2); got {init.shape}.")
    psi_exact = propagate(H, psi0, ts, hbar=hbar)
    ts = np.asarray(ts)

    def residuals(qr):  # Σr² = qr_loss: least squares, so the fit carries its stderr
        psi = _meanfield_psi(qr, H, psi0, ts, dt=dt, hbar=hbar)  # checked above
        d = (psi - psi_exact[1:]) / np.sqrt(len(ts))
        return jnp.concatenate([d.real.ravel(), d.imag.ravel()])

    batched = init.ndim == 2
    res = fit(
        None,
        init if batched else init[None],
        residuals=residuals,
        batched=True,
        nonfinite=2.0,
        ftol=tol / 2,
        linesearch_steps=30,
        max_iter=max_iter,
    )
    one = (lambda x: x) if batched else (lambda x: x[0])  # one start: its row
    x, err, cov = one(np.asarray(res.value)), one(np.asarray(res.stderr)), one(res.covariance)
    loss = one(2 * np.asarray(res.loss))
    path, history = np.asarray(res.path), 2 * np.asarray(res.history)
    qr = lambda v: (
        {"q": v[..., 0], "r": v[..., 1]} if batched else {"q": float(v[0]), "r": float(v[1])}
    )
    return dataclasses.replace(
        res,
        value=qr(x),
        loss=loss if batched else float(loss),
        history=history if batched else history[:, 0],
        path=path if batched else path[:, 0],
        stderr=qr(err),
        covariance=np.asarray(cov),
    )
