"""Where the probability flow (`HusimiFlow`, physics §4) gets ln ρ: a closed
form, or the coefficient matrix R of a `HusimiGalerkin` law stepped alongside
the points (with that law's guards and breakdown criteria)."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._law import AbstractLaw
from ._galerkin import FOCK_TRUNCATION, GalerkinParams, HusimiGalerkin
from ._galerkin_guards import galerkin_guards
from ._states import alphas_from_z, coherent_amplitudes

__all__ = ["galerkin_log_density"]

DENSITY_FOCK, DENSITY_WIDTH = 4, 5  # the Galerkin density's own breakdowns (HusimiFlow codes)


def galerkin_log_density(R: Array, z: Array, basis) -> Array:
    """ln ρ(z) of the Galerkin state R on `basis` (occupations (d, N)) at one
    point z = (Q_1..Q_N, P_1..P_N): −|α|² + ln Σ R_mn ᾱ^m α^n/√(m! n!) − N ln 2π.

    The Gaussian is taken out analytically, so the value stays finite far in
    the tails; it is −inf at a zero of the Husimi function.
    """
    alpha = alphas_from_z(z)
    p = coherent_amplitudes(alpha, basis, gaussian=False)
    poly = jnp.real(jnp.conj(p) @ R.astype(p.dtype) @ p)
    return jnp.log(poly) - jnp.sum(jnp.abs(alpha) ** 2) - alpha.shape[-1] * np.log(2 * np.pi)


class _Analytic(eqx.Module):
    """ln ρ(z, t) given in closed form."""

    log_density: Callable = eqx.field(static=True)

    def prepare(self, params, dt):
        return self

    def advance(self, t, R, params, dt):
        """(R at t + dt, ln ρ(z, s) for the RK4 stage times s of [t, t + dt])."""
        return None, self.log_density

    def log_at(self, t, R):
        return lambda z: self.log_density(z, t)

    def check(self, z, R):
        if R is not None:
            raise ValueError("y0.R must be None for an analytic log-density.")

    def checks(self, R, params, dt):
        return []

    def status(self, R):
        return jnp.array(True), jnp.array(0), jnp.zeros((), jnp.result_type(float))


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
            raise ValueError(
                f"y0.z has {z.shape[-1] // 2} modes but the Galerkin density's law has {N}."
            )
        if R is None or jnp.shape(R) != (d, d) or not jnp.iscomplexobj(R):
            raise ValueError(
                f"y0.R must be the complex ({d}, {d}) coefficient matrix of the Galerkin law; "
                f"got {None if R is None else (jnp.shape(R), jnp.result_type(R))}."
            )

    def checks(self, R, params, dt):
        """R0 Hermitian with trace 1; R's split steps (dt/2) in range."""
        p = _density_params(params)
        return galerkin_guards(self.law, R, p.C, dt, name="y0.R", dt_scale=0.5)

    def status(self, R):
        """The Galerkin law's monitor on R: (ok, code 4 or 5, its value)."""
        ok, code, where = self.law.monitor(0.0, R, None)
        code = jnp.where(code == FOCK_TRUNCATION, DENSITY_FOCK, DENSITY_WIDTH)
        value = jnp.where(code == DENSITY_FOCK, where[0], where[1])
        return ok, jnp.where(ok, 0, code), value


def _density_params(params):
    return GalerkinParams(params.C) if params.density is None else params.density
