"""Regularizations of the Husimi grid solver (physics §4.7-§4.8): `FockShells`,
`Envelope`, `NoRegularization`; each reports the L¹ norm it took off (`removed`).
why: docs/internals/husimi.md#regularizations
"""

from __future__ import annotations

import functools
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._guards import array_module, is_traced
from ._phase_space_grid import PhaseSpaceGrid, fock_limit_reason

_FIT_LIMIT = 1e-4  # refuse a ρ0 whose weight outside V_{cap} exceeds this × tol


class AbstractRegularization(eqx.Module):
    """What `HusimiGrid` calls around its RK4 step; the defaults are those of a
    regularization acting after each step only (Envelope, NoRegularization).
    `rate(grid, k) -> (rate, aux)` per stage, `after_step(grid, ρ, aux) -> (ρ,
    removed)`; `name`: its string for `HusimiGrid`; `default_window`: for
    `window="auto"`; `limit_what`: what bounds `stable_dt`, for messages."""

    name: ClassVar[str]
    default_window: ClassVar[float | None] = 0.75
    limit_what: ClassVar[str] = "fastest drift/diffusion inside the window"

    def for_grid(self, grid):
        return self

    def for_state(self, grid, rho0, tol, rtol):
        return self

    def rate(self, grid, k):
        return k, ()

    def project_state(self, grid, rho):
        return rho, jnp.zeros((), rho.dtype)

    def top_weight(self, grid, rho):
        return jnp.zeros((), rho.dtype)

    def dt_limit(self, law, coeffs):
        """The explicit bound 2.8/(|v| k_max √d + ½ Σ|D| k_max² d) (inf where v = D = 0)."""
        vs, Ds = coeffs
        xp = array_module(coeffs)
        grid = law.grid
        kmax = math.pi / grid.spacing
        vmax = xp.max(xp.stack([xp.max(xp.abs(xp.asarray(v))) for v in vs]))
        dmax = sum(xp.max(xp.abs(xp.asarray(x))) for x in Ds) if Ds else 0.0
        rate = vmax * kmax * math.sqrt(grid.ndim) + 0.5 * dmax * kmax**2 * grid.ndim
        return xp.where(rate > 0, 2.8 / xp.where(rate > 0, rate, 1.0), xp.inf)

    def stable_dt(self, law, params, coeffs):
        """Rough RK4 step limit (eager; None: unknown)."""
        return float(self.dt_limit(law, coeffs))


class FockShells(AbstractRegularization):
    """Galerkin projection onto the Fock-shell space V_{n_max} ("fock", default).

    Attributes:
        n_max: quanta per mode (None: chosen from the initial state by
            `HusimiGrid.for_state` / `evolve_grid`); at most `grid.max_quanta()`.
        basis: per-mode grid-orthonormal basis of V_{n_max}, shape
            (points², (n_max+1)²) (built by `for_grid`; None until then).
    """

    n_max: int | None = eqx.field(
        static=True, default=None, converter=lambda n: None if n is None else int(n)
    )
    basis: Array | None = None

    name: ClassVar[str] = "fock"
    default_window: ClassVar[float | None] = None
    limit_what: ClassVar[str] = "largest |eigenvalue| of the projected operator P L P"

    def __check_init__(self):
        if self.n_max is not None and self.n_max < 0:
            raise ValueError(f"n_max must be >= 0; got {self.n_max}.")

    def for_grid(self, grid):
        if self.n_max is None:
            return FockShells(None)
        why = fock_limit_reason(grid, self.n_max)
        if why is not None:
            raise ValueError(
                f"n_max = {self.n_max} is too large for this grid ({grid.points} points, "
                f"length {grid.length:g}; it resolves n_max <= {grid.max_quanta()}): {why}."
            )
        return FockShells(
            self.n_max, jnp.asarray(shell_basis(grid.points, grid.length, self.n_max))
        )

    def for_state(self, grid, rho0, tol, rtol):
        """n_max (if None): the smallest n with ∫|ρ0 − P_n ρ0| dz <= rtol ∫|ρ0| dz,
        at most `grid.max_quanta()`."""
        if self.n_max is not None:
            return self
        if is_traced(rho0):
            raise ValueError(
                "n_max is None and rho0 is traced: pass n_max to HusimiGrid explicitly "
                "(or call law.for_state(rho0) outside jit)."
            )
        rho0 = np.asarray(rho0, np.float64)
        if rho0.shape != grid.shape:
            raise ValueError(f"rho0 has shape {rho0.shape}; the grid needs {grid.shape}.")
        cap = grid.max_quanta()
        if cap < 0:
            raise ValueError(f"the grid resolves no Fock shell: {fock_limit_reason(grid, 0)}.")
        n, err = fit_n_max(grid, rho0, cap, rtol)
        if err > _FIT_LIMIT * tol:
            raise ValueError(
                f"rho0 needs more Fock shells than the grid resolves: with n_max = {n} (the "
                f"most this grid resolves) ∫|ρ0 − P ρ0| dz = {err:.3g} > {_FIT_LIMIT:g} × tol, "
                "an error the dynamics amplifies 1e2-1e4-fold: increase length and points."
            )
        return FockShells(n).for_grid(grid)

    def _coefficients(self, grid, rho):
        if self.basis is None:
            raise ValueError(
                "regularization='fock' (FockShells) needs n_max: pass n_max= to HusimiGrid, or "
                "let evolve_grid (or law.for_state(rho0)) choose it from the initial state."
            )
        B = self.basis.astype(rho.dtype)
        return to_coefficients(rho, B, grid), B

    def project(self, grid, rho):
        """Orthogonal projection (grid inner product) of ρ onto V_{n_max}."""
        c, B = self._coefficients(grid, rho)
        return from_coefficients(c, B, grid)

    def rate(self, grid, k):
        # aux: the unprojected and the projected rate, so that after the step
        # their RK4 combinations give what the projection removed
        pk = self.project(grid, k)
        return pk, (k, pk)

    def after_step(self, grid, rho, aux):
        unprojected, increment = aux
        return rho, grid.integrate(jnp.abs(unprojected - increment))

    def project_state(self, grid, rho):
        if self.basis is None:
            return rho, jnp.zeros((), rho.dtype)
        proj = self.project(grid, rho)
        return proj, grid.integrate(jnp.abs(proj - rho))

    def top_weight(self, grid, rho):
        """Fraction of ‖ρ‖² (squared basis coefficients) in the top two shells."""
        if self.basis is None:
            return jnp.zeros((), rho.dtype)
        c, _ = self._coefficients(grid, rho)
        high = c - truncate(c, max(self.n_max - 1, 0) ** 2, grid.n_modes)
        total = jnp.sum(c**2)
        return jnp.sum(high**2) / jnp.where(total > 0, total, 1)

    def stable_dt(self, law, params, coeffs):
        """2.8/|λ|max of P L P (power iteration, 40 applications, +10 %)."""
        if self.basis is None:
            return None
        grid, dtype = law.grid, coeffs[0][0].dtype
        v = self.project(grid, jax.random.normal(jax.random.PRNGKey(0), grid.shape, dtype))
        lam = 0.0
        for i in range(40):
            w = _projected_rhs(self, law, params, coeffs, v)
            nv, nw = float(jnp.linalg.norm(v)), float(jnp.linalg.norm(w))
            if nw == 0 or nv == 0:
                break
            lam = max(lam, nw / nv) if i > 30 else nw / nv
            v = w / nw
        return math.inf if lam == 0 else 2.8 / (1.1 * lam)


@eqx.filter_jit  # P L ρ: one program, not one per op
def _projected_rhs(reg: FockShells, law, params, coeffs, rho):
    return reg.project(law.grid, law.rhs(rho, params, coeffs))


class Envelope(AbstractRegularization):
    """Spectral-envelope and positivity projections after each step ("project")."""

    name: ClassVar[str] = "project"

    def project(self, grid, rho):
        """Project onto the spectral envelope, then onto 0 <= ρ <= (2π)^(−N)."""
        dtype = rho.dtype
        rh = grid.rfft(rho)
        dV = jnp.asarray(grid.cell_volume, dtype)
        mass = jnp.real(rh.reshape(-1)[0]) * dV
        k2 = sum(k**2 for k in grid.rfft_wavenumbers(dtype))
        env = jnp.abs(mass) * jnp.exp(-k2 / 4) / dV
        mod = jnp.abs(rh)
        scale = jnp.where(mod > env, env / jnp.where(mod > 0, mod, 1), 1)
        rho_env = grid.irfft(rh * scale).astype(dtype)
        top = jnp.asarray((2 * np.pi) ** (-grid.n_modes), dtype)
        return jnp.clip(rho_env, 0, top)

    def after_step(self, grid, rho, aux):
        proj = self.project(grid, rho)
        return proj, grid.integrate(jnp.abs(proj - rho))


class NoRegularization(AbstractRegularization):
    """Plain RK4 + Fourier ("none"); `removed` accumulates the negative part."""

    name: ClassVar[str] = "none"

    def after_step(self, grid, rho, aux):
        return rho, grid.integrate(jnp.maximum(-rho, 0))


def as_regularization(regularization, n_max=None) -> AbstractRegularization:
    """A regularization from an object or "fock" (with `n_max`), "project", "none"."""
    if regularization == "fock":
        return FockShells(n_max)
    if n_max is not None:
        raise ValueError(
            f"n_max applies to regularization='fock' only (or FockShells(n_max=...)); got "
            f"n_max={n_max} with regularization={regularization!r}."
        )
    if isinstance(regularization, AbstractRegularization):
        return regularization
    if regularization not in ("project", "none"):
        raise ValueError(
            "regularization must be 'fock', 'project', 'none' or a regularization object "
            f"(FockShells, Envelope, NoRegularization); got {regularization!r}."
        )
    return Envelope() if regularization == "project" else NoRegularization()


# ---- the Fock-shell space V_n (docs/internals/husimi.md#regularizations)


@functools.lru_cache(maxsize=8)
def shell_basis(points: int, length: float, n_max: int) -> np.ndarray:
    """Grid-orthonormal basis (in Σ f g dx²) of V_{n_max} on one mode's (Q, P)
    plane, (points², (n_max+1)²) float64; the first (s+1)² columns span V_s."""
    from scipy.linalg import cholesky, solve_triangular
    from scipy.special import eval_genlaguerre, gammaln

    dx = length / points
    x = -length / 2 + dx * np.arange(points)
    Q, P = np.meshgrid(x, x, indexing="ij")
    u = (Q**2 + P**2).reshape(-1) / 2  # |α|²
    theta = np.arctan2(P, Q).reshape(-1)
    logu = np.log(np.maximum(u, 1e-300))
    cols = []
    for s in range(n_max + 1):
        for ell in range(s + 1):
            p = s - ell
            # e^{−|α|²} |α|^ℓ L_p^ℓ(2|α|²), unit norm in ∫ dQ dP
            lognorm = 0.5 * (
                gammaln(p + ell + 1) - gammaln(p + 1) - (ell + 1) * np.log(2.0) + np.log(2 * np.pi)
            )
            radial = np.exp(-u + 0.5 * ell * logu - lognorm) * eval_genlaguerre(p, ell, 2 * u)
            if ell == 0:
                cols.append(radial)
            else:
                cols.append(np.sqrt(2) * radial * np.cos(ell * theta))
                cols.append(np.sqrt(2) * radial * np.sin(ell * theta))
    B = np.stack(cols, axis=1) * dx
    for _ in range(2):
        R = cholesky(B.T @ B, lower=False)
        B = solve_triangular(R, B.T, trans="T", lower=False).T
    B = B / dx
    B.setflags(write=False)
    return B


def _plane_order(n_modes: int) -> list[int]:  # axes grouped by mode: (Q_j, P_j) planes
    return [a for j in range(n_modes) for a in (j, n_modes + j)]


def to_coefficients(rho, B, grid: PhaseSpaceGrid):
    """Coefficients of ρ in the per-mode basis B (shape (points², K)): shape (K,)*N."""
    N, p = grid.n_modes, grid.points
    c = jnp.transpose(rho, _plane_order(N)).reshape((p * p,) * N)
    for _ in range(N):  # contract the leading plane axis; its K axis goes last
        c = jnp.tensordot(c, B, axes=([0], [0]))
    return c * jnp.asarray(grid.cell_volume, rho.dtype)


def from_coefficients(c, B, grid: PhaseSpaceGrid):
    """Inverse of `to_coefficients` on V: Σ c B ⊗ ... ⊗ B on the grid."""
    N, p = grid.n_modes, grid.points
    x = c
    for _ in range(N):
        x = jnp.tensordot(x, B, axes=([0], [1]))
    x = x.reshape((p,) * (2 * N))
    return jnp.transpose(x, np.argsort(_plane_order(N)))


def truncate(c, k: int, n_modes: int):
    """Zero the coefficients with any per-mode index >= k (keep V_s for k = (s+1)²)."""
    K = c.shape[0]
    if k >= K:
        return c
    keep = jnp.arange(K) < k
    mask = keep
    for _ in range(n_modes - 1):
        mask = mask[..., None] & keep
    return jnp.where(mask, c, 0)


def fit_n_max(grid: PhaseSpaceGrid, rho0: np.ndarray, cap: int, rtol: float) -> tuple[int, float]:
    """(n, residual): `FockShells.for_state`'s n (else cap) and its L¹ residual."""
    B = jnp.asarray(shell_basis(grid.points, grid.length, cap))
    c = to_coefficients(jnp.asarray(rho0), B, grid)
    norm = float(np.sum(np.abs(rho0)) * grid.cell_volume)
    err = math.inf
    for n in range(cap + 1):
        approx = from_coefficients(truncate(c, (n + 1) ** 2, grid.n_modes), B, grid)
        err = float(jnp.sum(jnp.abs(approx - rho0))) * grid.cell_volume
        if err <= rtol * norm:
            return n, err
    return cap, err
