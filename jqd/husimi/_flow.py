"""Probability-flow trajectories dz/dt = J∇H − ½∇·D − ½ D∇ln ρ of the Husimi
Fokker-Planck equation (physics §4.9), ρ analytic or a Galerkin state carried
along. why: docs/internals/husimi.md#flow
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._evolve import evolve
from .._guards import to_device
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from .._steppers import RK4, rk4
from ._galerkin import (
    BASIS_WIDTH,
    FOCK_TRUNCATION,
    GalerkinParams,
    HusimiGalerkin,
    stability_guard,
    state_guards,
)
from ._states import alphas_from_z, coherent_amplitudes
from ._symbols import check_types, drift_and_diffusion

AT_ZERO = 2  # ρ fell below the floor at the point
NONFINITE_STEP = 3  # the point's step was non-finite
DENSITY_FOCK, DENSITY_WIDTH = 4, 5  # the Galerkin density's own breakdowns (HusimiFlow codes)


def flow_velocity(hamiltonian: Callable, log_density: Callable) -> Callable:
    """Return v(z, s, C, args) = J∇H − ½∇·D − ½ D∇ln ρ at one point z (2N,),
    with ln ρ = `log_density(z, s)` (s: the time, or any density state)."""

    def D_of(z, args, C):
        return drift_and_diffusion(hamiltonian, z, args, C)[1]

    def v(z, s, C, args):
        drift, D = drift_and_diffusion(hamiltonian, z, args, C)
        divD = jnp.einsum("abb->a", jax.jacfwd(D_of)(z, args, C))  # Σ_b ∂_b D_ab
        return drift - 0.5 * divD - 0.5 * D @ jax.grad(log_density)(z, s)

    return v


def galerkin_log_density(R: Array, z: Array, basis) -> Array:
    """ln ρ(z) of the Galerkin state R on `basis` (occupations (d, N)) at one
    point z: −|α|² + ln Σ R_mn ᾱ^m α^n/√(m! n!) − N ln 2π (−inf at a zero)."""
    alpha = alphas_from_z(z)
    p = coherent_amplitudes(alpha, basis, gaussian=False)
    poly = jnp.real(jnp.conj(p) @ R.astype(p.dtype) @ p)
    return jnp.log(poly) - jnp.sum(jnp.abs(alpha) ** 2) - alpha.shape[-1] * np.log(2 * np.pi)


class GalerkinDensity(eqx.Module):
    """ρ(z, t) from a `HusimiGalerkin` law, for `flow_trajectories` (R0 is stepped
    alongside the trajectories).

    Attributes:
        law: the Galerkin law (its basis fixes ln ρ's polynomial).
        R0: coefficient matrix at the trajectories' start time.
        params: `GalerkinParams`; its C should equal the flow's C for the flow
            to transport ρ (not checked: a mismatch is a legitimate experiment).
    """

    law: HusimiGalerkin
    R0: Array
    params: GalerkinParams

    def __check_init__(self):
        if not isinstance(self.law, HusimiGalerkin):
            raise ValueError(f"law must be a HusimiGalerkin; got {type(self.law).__name__}.")
        d = self.law.dim
        if self.R0.shape != (d, d):
            raise ValueError(f"R0 must have the law's shape ({d}, {d}); got {self.R0.shape}.")


class FlowParams(eqx.Module):
    """Constants of the probability flow.

    Attributes:
        C: diffusion strength of D = (C/2)[H'', J] (quantum mechanics: 1).
        args: the Hamiltonian's arguments, `hamiltonian(z, args)`.
        density: params of a Galerkin density (`GalerkinParams`); None uses
            `GalerkinParams(C)`, the flow's own C. Unused for an analytic density.
    """

    C: float | Array = 1.0
    args: Any = None
    density: GalerkinParams | None = None


class FlowState(eqx.Module):
    """State of a probability-flow ensemble.

    Attributes:
        z: points, shape (n_points, 2N), z = (Q_1..Q_N, P_1..P_N).
        flag: per point, 0 or the code of its first flag (2: ρ fell below the
            floor, 3: a non-finite step), int32 (n_points,).
        flag_time: per point, the time of that flag (0 where unflagged).
        R: the Galerkin coefficient matrix (Galerkin density), or None.
    """

    z: Array
    flag: Array
    flag_time: Array
    R: Array | None = None


class HusimiZeroError(BreakdownError):
    """A trajectory reached a zero of the Husimi function (ρ below the floor,
    where the flow velocity is singular) or took a non-finite step."""


class _Analytic(eqx.Module):
    """ln ρ(z, t) in closed form: `advance` gives (R(t + dt), ln ρ(z, s) at RK4's
    stage times); `status` is the density's own monitor (the interface `_Galerkin`
    shares)."""

    log_density: Callable = eqx.field(static=True)

    def prepare(self, params, dt):
        return self

    def advance(self, t, R, params, dt):
        return None, self.log_density

    def log_at(self, t, R):
        return lambda z: self.log_density(z, t)

    def check(self, z, R):
        if R is not None:
            raise ValueError("y0.R must be None for an analytic log-density.")

    def checks(self, R, params, dt):
        return []

    def status(self, R):
        return jnp.array(True), jnp.array(0), jnp.zeros((2,), jnp.result_type(float))


class _Galerkin(eqx.Module):
    """ln ρ from the coefficient matrix R of a Galerkin law, stepped alongside."""

    law: HusimiGalerkin
    stepper: AbstractLaw | None = None  # law.prepare(density params, dt/2)

    def prepare(self, params, dt):
        return _Galerkin(self.law, self.law.prepare(_density_params(params), dt / 2))

    def advance(self, t, R, params, dt):
        src = self if self.stepper is not None else self.prepare(params, dt)
        p, h = _density_params(params), dt / 2
        Rh = src.stepper.step(t, R, p, h, None)
        R1 = src.stepper.step(t + h, Rh, p, h, None)
        Rs = jnp.stack([R, Rh, R1])
        basis = self.law.basis_tuple

        def log(z, s):  # R at the stage time s ∈ {t, t + dt/2, t + dt}
            k = jnp.clip(jnp.round((s - t) * 2 / dt), 0, 2).astype(jnp.int32)
            return galerkin_log_density(Rs[k], z, basis)

        return R1, log

    def log_at(self, t, R):
        return lambda z: galerkin_log_density(R, z, self.law.basis_tuple)

    def check(self, z, R):
        d, N = self.law.dim, self.law.n_modes
        if z.shape[-1] != 2 * N:
            raise ValueError(f"y0.z has {z.shape[-1] // 2} modes; the Galerkin density's has {N}.")
        if R is None or jnp.shape(R) != (d, d) or not jnp.iscomplexobj(R):
            raise ValueError(
                f"y0.R must be the complex ({d}, {d}) coefficient matrix of the Galerkin law; "
                f"got {None if R is None else (jnp.shape(R), jnp.result_type(R))}."
            )

    def checks(self, R, params, dt):
        C = _density_params(params).C
        return state_guards(R, "y0.R") + stability_guard(self.law, C, dt, dt_scale=0.5)

    def status(self, R):
        ok, code, where = self.law.monitor(0.0, R, None)
        code = jnp.where(code == FOCK_TRUNCATION, DENSITY_FOCK, DENSITY_WIDTH)
        return ok, jnp.where(ok, 0, code), where


def _density_params(params):
    return GalerkinParams(params.C) if params.density is None else params.density


class HusimiFlow(AbstractLaw):
    """Probability-flow trajectories dz/dt = v(z, t) of the Husimi
    Fokker-Planck equation (physics §4.9), H the anti-Wick symbol
    `hamiltonian(z, args)` (units of ħ). State: `FlowState` (`initial_state`);
    params: `FlowParams(C, args, density)`. Step: RK4, order 4 (with a Galerkin
    density at C ≠ 1 the second-order split step of R limits it).

    Args:
        hamiltonian: the symbol H(z, args) of one point z (2N,).
        density: `log_density(z, t)` (analytic, differentiable in z), or a
            `HusimiGalerkin` law whose R is carried in the state.
        zero_floor: a point is flagged when ρ < zero_floor × density_scale.
        density_scale: default (2π)^(−N), the maximum of any Husimi density.

    Validated against the exact Kerr Husimi function (KS distances of marginals).
    """

    hamiltonian: Callable = eqx.field(static=True)
    source: _Analytic | _Galerkin
    zero_floor: float = eqx.field(static=True)
    density_scale: float | None = eqx.field(static=True)

    scheme = RK4()  # `rk4` below, its stages scanned
    breakdowns = {
        AT_ZERO: Reason(
            HusimiZeroError,
            "a trajectory reached a zero of the Husimi function (ρ below zero_floor; the "
            "flow velocity is singular there); `where` is (point index, z)",
            "Reduce dt, or use flow_trajectories (it flags and counts such points and "
            "keeps moving the others), or evolve with monitor=False.",
        ),
        NONFINITE_STEP: Reason(
            HusimiZeroError,
            "a trajectory took a non-finite step (singular velocity, e.g. at a zero of "
            "ρ); `where` is (point index, z)",
            "Reduce dt, or use flow_trajectories to flag and count such points.",
        ),
        DENSITY_FOCK: HusimiGalerkin.breakdowns[FOCK_TRUNCATION],  # the density's own
        DENSITY_WIDTH: HusimiGalerkin.breakdowns[BASIS_WIDTH],
    }

    def __init__(self, hamiltonian, density, *, zero_floor=1e-10, density_scale=None):
        if not callable(hamiltonian):
            raise ValueError("hamiltonian must be a callable symbol H(z, args).")
        if isinstance(density, HusimiGalerkin):
            self.source = _Galerkin(density)
        elif callable(density):
            self.source = _Analytic(density)
        else:
            raise ValueError(
                "density must be a callable ln ρ(z, t) or a jqd.husimi.HusimiGalerkin; got "
                f"{type(density).__name__}."
            )
        if not zero_floor >= 0:
            raise ValueError(f"zero_floor must be >= 0; got {zero_floor}.")
        self.hamiltonian = hamiltonian
        self.zero_floor = float(zero_floor)
        self.density_scale = None if density_scale is None else float(density_scale)

    def _low(self, log, z):
        """Where ρ = exp(log(z)) is below the floor at the points z (NaN counts: ρ
        rounded to ≤ 0 at a zero)."""
        N = z.shape[-1] // 2
        scale = (2 * jnp.pi) ** (-N) if self.density_scale is None else self.density_scale
        return ~(jax.vmap(log)(z) >= jnp.log(jnp.asarray(self.zero_floor * scale, z.dtype)))

    def initial_state(self, z0, *, t0=0.0, R0=None) -> FlowState:
        """`FlowState` of points z0 (n_points, 2N) at time t0, flagged where
        ρ(z0, t0) is below the floor; `R0`: the Galerkin coefficient matrix."""
        z0 = jnp.asarray(z0)
        if z0.ndim != 2 or z0.shape[-1] % 2:
            raise ValueError(f"z0 must have shape (n_points, 2N); got {z0.shape}.")
        self.source.check(z0, R0)
        return _initial_state(self, z0, to_device(t0, z0.dtype), R0)

    def prepare(self, params, dt):
        return eqx.tree_at(lambda s: s.source, self, self.source.prepare(params, dt))

    def sample_axes(self, y):
        """The points are the samples; a Galerkin R is shared."""
        return FlowState(z=0, flag=0, flag_time=0, R=None)

    def field(self, log_density, params) -> Callable:
        """(s, z) ↦ v at the points z (n, 2N) at time s, for ln ρ = log_density(z, s)."""
        v = jax.vmap(flow_velocity(self.hamiltonian, log_density), in_axes=(0, None, None, None))
        return lambda s, z: v(z, s, params.C, params.args).astype(z.dtype)

    def step(self, t, y, params, dt, key=None):
        R1, log = self.source.advance(t, y.R, params, dt)
        # the stages as one scan: the velocity (Hessians, ∇ln ρ) is compiled once
        z1 = rk4(self.field(log, params), t, y.z, dt, scan_stages=True)
        moved = jnp.all(jnp.isfinite(z1), axis=-1)
        z1 = jnp.where(moved[:, None], z1, y.z)
        low = self._low(lambda z: log(z, t + dt), z1)
        code = jnp.where(moved, jnp.where(low, AT_ZERO, 0), NONFINITE_STEP)
        new = (y.flag == 0) & (code > 0)
        flag = jnp.where(new, code, y.flag).astype(jnp.int32)
        flag_time = jnp.where(new, t + dt, y.flag_time).astype(y.flag_time.dtype)
        return FlowState(z1, flag, flag_time, R1)

    def monitor(self, t, y, params, dt=None):
        """Not ok once any point is flagged (or ρ is below the floor now); `where`
        is (point index, z) of the first. The density's own criteria come first."""
        low = self._low(self.source.log_at(t, y.R), y.z)
        code = jnp.where(y.flag > 0, y.flag, jnp.where(low, AT_ZERO, 0))
        bad = code > 0
        i = jnp.argmax(bad)
        where = jnp.concatenate([i[None].astype(y.z.dtype), y.z[i]])
        d_ok, d_code, d_where = self.density_monitor(t, y, params)
        ok = d_ok & ~jnp.any(bad)
        return ok, jnp.where(d_ok, code[i], d_code), jnp.where(d_ok, where, d_where)

    def density_monitor(self, t, y, params):
        """The Galerkin density's criteria on y.R (codes 4, 5; `where` = (top weight,
        concentration, 0, ...)); always ok for an analytic density."""
        ok, code, value = self.source.status(y.R)
        where = jnp.zeros((y.z.shape[-1] + 1,), y.z.dtype).at[:2].set(value.astype(y.z.dtype))
        return ok, code, where

    def density(self, y):
        """The points z (n, 2N): an ensemble sample of ρ."""
        return y.z

    def check(self, y, params, dt=None):
        check_types(y, params, FlowState, FlowParams, "law.initial_state(z0, t0=..., R0=...)")
        shape = jnp.shape(y.z)  # structural: known under tracing too
        if len(shape) != 2 or shape[-1] % 2:
            raise ValueError(f"y0.z must have shape (n_points, 2N); got shape {shape}.")
        if jnp.shape(y.flag) != shape[:1] or jnp.shape(y.flag_time) != shape[:1]:
            raise ValueError(
                f"y0.flag and y0.flag_time must have shape ({shape[0]},) (one per point); "
                f"got shapes {jnp.shape(y.flag)} and {jnp.shape(y.flag_time)}."
            )
        self.source.check(y.z, y.R)

    def checks(self, y, params, dt=None):
        """With a Galerkin density: R0 Hermitian with trace 1, its split steps in range."""
        return self.source.checks(y.R, params, dt)


@eqx.filter_jit  # called eagerly: one program per shape, not one per op
def _initial_state(law: HusimiFlow, z0, t0, R0) -> FlowState:
    low = law._low(law.source.log_at(t0, R0), z0) | ~jnp.all(jnp.isfinite(z0), -1)
    flag = jnp.where(low, AT_ZERO, 0).astype(jnp.int32)
    return FlowState(z0, flag, jnp.where(low, t0, 0).astype(z0.dtype), R0)


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
    """Move points z0 (n_points, 2N) along the probability flow of physics §4.9
    (`jqd.evolve` of a `HusimiFlow`), counting the points that pass a zero of ρ.

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
            and raise `jqd.husimi.HusimiZeroError`. Either way a
            `GalerkinDensity` keeps its own checks (ValueError) and criteria
            (`FockTruncationError`, `BasisWidthError`).
    """
    z0 = jnp.asarray(z0)
    if z0.ndim != 2 or z0.shape[-1] % 2 or z0.shape[0] < 1:
        raise ValueError(f"z0 must have shape (n_points, 2N), n_points >= 1; got {z0.shape}.")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive int or None; got {batch_size}.")
    if on_zero not in ("flag", "raise"):
        raise ValueError(f"on_zero must be 'flag' or 'raise'; got {on_zero!r}.")
    dtype = z0.dtype
    C = to_device(C, dtype)
    if isinstance(log_density, GalerkinDensity):
        density, R0, dparams = log_density.law, jnp.asarray(log_density.R0), log_density.params
    elif callable(log_density):
        density, R0, dparams = log_density, None, None
    else:
        raise ValueError(
            "log_density must be a callable ln ρ(z, t) or a GalerkinDensity; got "
            f"{type(log_density).__name__}."
        )
    law = HusimiFlow(hamiltonian, density, zero_floor=zero_floor, density_scale=density_scale)
    params = FlowParams(C, args, dparams)
    n = z0.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    zs, flags, times = [], [], []
    for start in range(0, n, bs):
        chunk = z0[start : start + bs]
        m = chunk.shape[0]
        if m < bs:  # pad the last chunk: one compiled program for all chunks
            chunk = jnp.concatenate([chunk, jnp.broadcast_to(z0[:1], (bs - m, z0.shape[1]))])
        sol = evolve(
            law,
            law.initial_state(chunk, t0=to_device(t0, dtype), R0=R0),
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
    hit, first, n_hit, flag = _flags(flags, times)
    return FlowResult(
        ts=sol.ts,
        z=jnp.concatenate(zs, axis=1) if len(zs) > 1 else zs[0],
        hit_zero=hit,
        first_zero_time=first,
        n_hit_zero=n_hit,
        flag=flag,
    )


@jax.jit  # one program (per number of points), not one per op
def _flags(flags, times):
    """The chunks' flags and flag times joined: (hit, first time or NaN, count, flag)."""
    flag = jnp.concatenate(flags)
    hit = flag > 0
    return hit, jnp.where(hit, jnp.concatenate(times), jnp.nan), jnp.sum(hit), flag
