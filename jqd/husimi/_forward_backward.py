"""Time-symmetric forward-backward trajectories of the Husimi Fokker-Planck
equation, as a law (physics §4.12). The state is the ensemble of discretized
paths; one `step` is one Picard sweep (`dt`, `t`: a pseudo-time), the noise is
fixed in the state. why: docs/internals/husimi.md#forward-backward
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._guards import Check, finite, is_traced, scalar
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ._symbols import check_types, symplectic_J

MIN_DET = 0.5  # |det| of a step's two frames below which the − row uses the start's frame
DIVERGING = 2
RUNAWAY = 3


def split_frames(D):
    """(E+, E−, Λ+, Λ−) of a traceless symmetric D (2N, 2N) that anticommutes
    with J: D = E+ diag(Λ+) E+ᵀ − E− diag(Λ−) E−ᵀ, E± (2N, N) orthonormal.
    One mode in closed form (e+ = (cos θ, sin θ), e− = J e+); several: `eigh`."""
    n = D.shape[-1] // 2
    if n == 1:
        a, b = D[0, 0], D[0, 1]
        lam = jnp.sqrt(a * a + b * b)
        th = 0.5 * jnp.arctan2(b, a)
        c, s = jnp.cos(th), jnp.sin(th)
        Ep = jnp.stack([c, s])[:, None]
        Em = jnp.stack([s, -c])[:, None]
        return Ep, Em, lam[None], lam[None]
    w, V = jnp.linalg.eigh(0.5 * (D + D.T))
    return V[:, n:], V[:, :n], w[n:], -w[:n]


def _solve(M, b):
    """Batched M x = b; 2 × 2 in closed form (batched LAPACK is slow on CPU)."""
    if M.shape[-1] != 2:
        return jnp.linalg.solve(M, b[..., None])[..., 0]
    a, c, d, e = M[..., 0, 0], M[..., 0, 1], M[..., 1, 0], M[..., 1, 1]
    det = a * e - c * d
    return (
        jnp.stack([e * b[..., 0] - c * b[..., 1], a * b[..., 1] - d * b[..., 0]], -1)
        / det[..., None]
    )


class FBParams(eqx.Module):
    """Constants of the forward-backward law.

    Attributes:
        C: diffusion strength of D = (C/2)[H'', J] (quantum mechanics: 1); > 0.
        args: the Hamiltonian's arguments, `hamiltonian(z, args)`.
    """

    C: float | Array = 1.0
    args: Any = None


class FBState(eqx.Module):
    """An ensemble of discretized time-symmetric paths.

    Attributes:
        z: paths, (n_paths, n_t + 1, 2N), z = (Q_1..Q_N, P_1..P_N) at t_k = k T/n_t.
        xi: standard normal draws (n_paths, n_t, 2N): first N the "+" noise of
            each step, last N the "−" noise; fixed across sweeps.
        zeta0: samples of ρ(0) (n_paths, 2N): the "+" boundary values at t = 0.
        zetaT: samples of ρ(T) (n_paths, 2N): the "−" boundary values at t = T.
        change: RMS change of z in the last sweep (0 before the first).
        change_prev: the same for the sweep before.
        sweeps: number of sweeps done (int32).
        flag: per path, 1 once a sweep made it non-finite or larger than the
            law's z_max (it is then frozen at its last value), int32 (n_paths,).
    """

    z: Array
    xi: Array
    zeta0: Array
    zetaT: Array
    change: Array
    change_prev: Array
    sweeps: Array
    flag: Array


class PicardDivergenceError(BreakdownError):
    """The Picard iteration of the forward-backward paths is not converging."""


def picard_sweep(law, y: FBState, params: FBParams) -> Array:
    """One Jacobi-Picard sweep: the new paths (n_paths, n_t + 1, 2N) from the
    frames, rates and midpoint drifts of the current ones (a step's − row uses
    its start's frame where |det| of its two frames < MIN_DET)."""
    z, dtype = y.z, y.z.dtype
    N = z.shape[-1] // 2
    h = jnp.asarray(law.T / law.n_t, dtype)
    C = jnp.asarray(params.C, dtype)

    J = symplectic_J(N, dtype)
    hess = jax.vmap(jax.vmap(jax.hessian(law.hamiltonian), (0, None)), (0, None))
    Hn = hess(z, params.args)  # H'' at the nodes (n, n_t + 1, 2N, 2N)
    Ep, Em, lp, lm = jax.vmap(jax.vmap(split_frames))(0.5 * C * (Hn @ J - J @ Hn))
    mid = 0.5 * (z[:, 1:] + z[:, :-1])
    grad = jax.grad(law.hamiltonian)
    A = jax.vmap(jax.vmap(lambda x: J @ grad(x, params.args)))(mid)  # (n, n_t, 2N)
    T_ = lambda E: jnp.swapaxes(E, -1, -2)
    Ep_k, lp_k = Ep[:, :-1], lp[:, :-1]  # "+" at the step's start (forward Itô)
    Em_k, lm_k = Em[:, 1:], lm[:, 1:]  # "−" at the step's end (backward Itô)
    swap = jnp.abs(jnp.linalg.det(jnp.concatenate([T_(Ep_k), T_(Em_k)], -2))) < MIN_DET
    Em_k = jnp.where(swap[..., None, None], Em[:, :-1], Em_k)
    proj = lambda E, v: jnp.einsum("...an,...a->...n", E, v)
    d_plus = proj(Ep_k, A) * h + jnp.sqrt(jnp.maximum(lp_k, 0) * h) * y.xi[..., :N]
    d_minus = proj(Em_k, A) * h + jnp.sqrt(jnp.maximum(lm_k, 0) * h) * y.xi[..., N:]
    M = jnp.concatenate([T_(Ep_k), T_(Em_k)], axis=-2)
    dz = _solve(M, jnp.concatenate([d_plus, d_minus], axis=-1))  # (n, n_t, 2N)
    base = y.z[:, :1] + jnp.concatenate([jnp.zeros_like(dz[:, :1]), jnp.cumsum(dz, 1)], 1)
    # the boundary conditions fix the start's shift δ by a Newton step through the
    # drift's Jacobian R_k (docs/internals/husimi.md#forward-backward)
    G = jnp.eye(2 * N, dtype=dtype) + 0.5 * h * J @ (Hn[:, :-1] + Hn[:, 1:])
    R = jax.lax.associative_scan(lambda a, b: b @ a, G, axis=1)
    R = jnp.concatenate([jnp.broadcast_to(jnp.eye(2 * N, dtype=dtype), R[:, :1].shape), R], 1)
    E0, ET = Ep[:, 0], Em[:, -1]
    B = jnp.concatenate([T_(E0), T_(ET) @ R[:, -1]], axis=-2)
    b = jnp.concatenate([proj(E0, y.zeta0 - base[:, 0]), proj(ET, y.zetaT - base[:, -1])], -1)
    delta = _solve(B, b)
    return (base + jnp.einsum("nkab,nb->nka", R, delta)).astype(dtype)


class ForwardBackward(AbstractLaw):
    """Time-symmetric forward-backward trajectories of the Husimi
    Fokker-Planck equation on [0, T] (physics §4.12).

    State: `FBState` (`initial_state`); params: `FBParams(C, args)`; one
    `step` = one Picard sweep over all paths (`t`, `dt` unused), so `order` is
    None; the path discretization is expected weak order 1 in h = T/n_t.

    Args:
        hamiltonian: the anti-Wick symbol H(z, args) of one point z (2N,).
        T: the time span of the paths (> 0).
        n_t: number of path steps (h = T/n_t).
        tol: RMS change below which the iteration counts as converged (the
            monitor's divergence test ignores such sweeps).
        grace: sweeps before the divergence test starts.
        max_ratio: the monitor flags code 2 when change > max_ratio × change_prev
            (after `grace` sweeps, change > tol).
        z_max: the monitor flags code 3 when any |z| exceeds it.
    """

    hamiltonian: Callable = eqx.field(static=True)
    T: float = eqx.field(static=True)
    n_t: int = eqx.field(static=True)
    tol: float = eqx.field(static=True)
    grace: int = eqx.field(static=True)
    max_ratio: float = eqx.field(static=True)
    z_max: float = eqx.field(static=True)

    breakdowns = {
        DIVERGING: Reason(
            PicardDivergenceError,
            "the Picard iteration is diverging: the RMS path change of the last sweep "
            "exceeded max_ratio times the one before; `where` is (change, change_prev)",
            "Raise n_t (smaller h), shorten T, or start from a better initial path.",
        ),
        RUNAWAY: Reason(
            PicardDivergenceError,
            "a path ran away: a sweep made it non-finite or |z| > z_max (it is frozen and "
            "flagged, FBState.flag); `where` is (path index, max |z|)",
            "Shorten T, raise n_t or pair the boundary samples zeta0, zetaT closer; or run "
            "with monitor=False and count the flagged paths (FBState.flag).",
        ),
    }

    def __init__(self, hamiltonian, T, n_t, *, tol=1e-12, grace=5, max_ratio=1.0, z_max=1e3):
        if not callable(hamiltonian):
            raise ValueError("hamiltonian must be a callable symbol H(z, args).")
        if not float(T) > 0:
            raise ValueError(f"T must be > 0 (the paths' time span); got {T}.")
        if int(n_t) < 1:
            raise ValueError(f"n_t must be >= 1 (number of path steps); got {n_t}.")
        if not (tol >= 0 and grace >= 0 and max_ratio > 0 and z_max > 0):
            raise ValueError("tol, grace must be >= 0 and max_ratio, z_max > 0.")
        self.hamiltonian = hamiltonian
        self.T, self.n_t, self.tol = float(T), int(n_t), float(tol)
        self.grace, self.max_ratio, self.z_max = int(grace), float(max_ratio), float(z_max)

    @property
    def times(self):
        """The path times t_k = k T/n_t, k = 0..n_t."""
        return jnp.linspace(0.0, self.T, self.n_t + 1)

    def initial_state(self, key, zeta0, zetaT) -> FBState:
        """`FBState` with noise ξ ~ N(0, 1) drawn from `key` (fixed for the
        run), boundary samples ζ0 ~ ρ(0), ζT ~ ρ(T) (n_paths, 2N), and the
        straight line from ζ0 to ζT as the first path."""
        if is_traced(zeta0, zetaT):
            xp, to = jnp, jnp.asarray
            zeta0, zetaT = jnp.asarray(zeta0), jnp.asarray(zetaT)
        else:  # NumPy: eager jnp's IEEE operations without a program per op; jnp's dtype
            xp, to = np, jax.device_put
            zeta0, zetaT = (np.asarray(v) for v in (zeta0, zetaT))
            zeta0, zetaT = (
                v.astype(jax.dtypes.canonicalize_dtype(v.dtype)) for v in (zeta0, zetaT)
            )
        if zeta0.ndim != 2 or zeta0.shape[-1] % 2 or zetaT.shape != zeta0.shape:
            raise ValueError(
                "zeta0 and zetaT must have the same shape (n_paths, 2N); got "
                f"{zeta0.shape} and {zetaT.shape}."
            )
        n, d = zeta0.shape
        xi = jax.random.normal(key, (n, self.n_t, d), zeta0.dtype)
        s = xp.asarray(jnp.linspace(0.0, 1.0, self.n_t + 1, dtype=zeta0.dtype))[None, :, None]
        z = (1 - s) * zeta0[:, None] + s * zetaT[:, None]
        zero, flag = to(xp.zeros((), zeta0.dtype)), to(xp.zeros((n,), np.int32))
        return FBState(
            to(z), xi, to(zeta0), to(zetaT), zero, zero, to(xp.asarray(0, np.int32)), flag
        )

    def step(self, t, y, params, dt, key=None):
        z1 = picard_sweep(self, y, params)
        bad = ~jnp.all(jnp.abs(z1) <= self.z_max, axis=(1, 2)) | (y.flag > 0)
        z1 = jnp.where(bad[:, None, None], y.z, z1)
        good = (~bad).astype(y.z.dtype)[:, None, None]
        msd = jnp.sum(good * (z1 - y.z) ** 2) / jnp.maximum(jnp.sum(good) * z1[0].size, 1)
        change = jnp.sqrt(msd).astype(y.z.dtype)
        flag = jnp.where(bad, 1, 0).astype(jnp.int32)
        return FBState(z1, y.xi, y.zeta0, y.zetaT, change, y.change, y.sweeps + 1, flag)

    def contraction(self, y):
        """The Picard contraction factor of the last sweep, change/change_prev
        (NaN before the second sweep)."""
        ok = y.change_prev > 0
        return jnp.where(ok, y.change / jnp.where(ok, y.change_prev, 1), jnp.nan)

    def monitor(self, t, y, params, dt=None):
        """Code 2: diverging (after `grace` sweeps, change > tol and >
        max_ratio × change_prev); code 3: a path left |z| ≤ z_max."""
        big = jnp.max(jnp.abs(y.z), axis=(1, 2))
        flagged = (y.flag > 0) | ~(big <= self.z_max)
        i = jnp.argmax(flagged)
        runaway = jnp.any(flagged)
        diverging = (
            (y.sweeps > self.grace)
            & (y.change > self.tol)
            & (y.change > self.max_ratio * y.change_prev)
        )
        code = jnp.where(runaway, RUNAWAY, jnp.where(diverging, DIVERGING, 0))
        where = jnp.where(
            runaway,
            jnp.stack([i.astype(y.z.dtype), big[i]]),
            jnp.stack([y.change, y.change_prev]).astype(y.z.dtype),
        )
        return ~(runaway | diverging), code, where

    def density(self, y):
        """The paths (n_paths, n_t + 1, 2N): at each t_k an ensemble sample of ρ(t_k)."""
        return y.z

    def check(self, y, params, dt=None):
        check_types(y, params, FBState, FBParams, "law.initial_state(key, zeta0, zetaT)")
        shape = jnp.shape(y.z)
        if len(shape) != 3 or shape[1] != self.n_t + 1 or shape[-1] % 2:
            raise ValueError(
                f"y0.z must have shape (n_paths, n_t + 1 = {self.n_t + 1}, 2N); got {shape}. "
                "Build the state with law.initial_state(key, zeta0, zetaT)."
            )
        n, _, d = shape
        want = {"xi": (n, self.n_t, d), "zeta0": (n, d), "zetaT": (n, d), "flag": (n,)}
        for name, s in (want | {"change": (), "change_prev": (), "sweeps": ()}).items():
            if jnp.shape(getattr(y, name)) != s:
                raise ValueError(
                    f"y0.{name} must have shape {s}; got {jnp.shape(getattr(y, name))}. "
                    "Build the state with law.initial_state(key, zeta0, zetaT)."
                )

    def checks(self, y, params, dt=None):
        """Paths, noise and boundary samples finite; C > 0 (no diffusion to split)."""
        out: list[Check] = []
        for name in ("z", "xi", "zeta0", "zetaT"):
            out += finite(getattr(y, name), f"y0.{name}")
        return out + scalar(
            params.C, "params.C", positive=True, fix="Use C > 0 (quantum mechanics: C = 1)."
        )
