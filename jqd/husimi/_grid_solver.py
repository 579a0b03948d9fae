"""Pseudo-spectral grid solver for the Husimi Fokker-Planck equation (SPEC §4).

    ∂ρ/∂t = −∇·(ρ J∇H) + ½ Σ_ab ∂_a ∂_b (D_ab ρ),   D = (C/2) [H'', J],

on a periodic hypercube in z = (Q_1..Q_N, P_1..P_N) (units of ħ: α = (Q+iP)/√2,
ρ = Q_H / 2^N, ∫ρ dz = 1). H is the anti-Wick symbol, given as a plain callable
`hamiltonian(z, args) -> scalar` (a frequency); the drift J∇H and D come from
`jax.grad` / `jax.hessian` of it, never hand-coded per model. For H whose symbol
does not truncate (SPEC §4, F64) this is the Fokker-Planck truncation of F §V D.

Why regularize. D is indefinite, so the forward problem is a backward heat
equation along half the directions: for the Kerr mode the angular Fourier mode m
with log-radial wavenumber q grows like exp(C U |m q| t / 2), and round-off or
truncation errors at large |k| grow without bound (SPEC §4 records that plain
RK4 + Fourier blows up before Ut = 0.1). Three options (`regularization`):

1. "fock" (default): Galerkin projection onto the space that holds every exact
   solution. The Husimi function of a state with at most n quanta per mode is
   e^{−|α|²} × a polynomial in α_j, α_j* of degree ≤ n in each, so it lies in
   V_n = span{α^j α*^k e^{−|α|²} : 0 ≤ j, k ≤ n} per mode (tensor product over
   modes). Per mode the solver samples a continuum-orthonormal basis of V_n on the
   (Q_j, P_j) plane, ordered by shell s = max(j, k) (angular momentum ℓ = j − k,
   radial Laguerre functions e^{−|α|²} α^ℓ L_{s−|ℓ|}^{|ℓ|}(2|α|²), as cos/sin
   pairs), and orthonormalizes it in the grid inner product (two Cholesky-QR
   passes, lower-triangular, so the first (s+1)² columns span V_s). The vector field is P L ρ: the grid right-hand side,
   projected (a Kronecker product of per-mode projectors: one matmul per mode).
   RK4 then integrates an ODE on a fixed finite-dimensional space; the
   anti-diffusive growth lives in the high Fourier modes the projector removes.
   For C = 1 and a number-conserving truncating H (Kerr, Bose-Hubbard) L maps V_n
   into itself and generates unitary evolution, so P L P has imaginary
   eigenvalues (measured: max Re λ = 1e-9 ... 4e-3 against max |λ| = 120 ... 276
   for 128², L = 22, n = 16 ... 24) and the step is limited by accuracy and the
   RK4 bound on |λ| dt, not by the grid. For C ≠ 1 or a non-truncating H the
   projection is a truncation like a Fock cutoff; the monitor reports the
   weight in the top two shells.
   `n_max` (default: from the initial state, in `evolve_grid` or `for_state`) is
   the smallest n with ∫|ρ0 − P_n ρ0| dz ≤ 1e-12, capped by
   `PhaseSpaceGrid.max_quanta()`. V_n contains Hermite-type (Wigner-like)
   functions: the orthonormal radial functions e^{−|α|²} L_n(2|α|²) reach
   |z| ≈ √(2(2n+1)) with local wavenumber ≈ √(2(2n+1)). If the grid does not
   resolve them, P L P acquires eigenvalues with large positive real part
   (measured on Kerr, 128²: max Re λ = 4e-3, 8.9, 34 for n = 24, 28, 32 at L = 22
   and 3e-6, 5e-4, 0.9 at L = 25; 64², L = 22: 1e-5, 2e-3, 0.29 for n = 16, 18, 20),
   so the cap requires (a) √(2(2n+1)) ≤ 0.9 π/dx and (b) √(2(2n+1)) + 2 ≤ L/2
   (calibrated on those numbers); an explicit `n_max` beyond them raises
   ValueError naming `points`/`length`.
   Caveat: the projection of ρ0's Fock tail beyond n_max onto V_n is not the Fock
   truncation (Husimi functions of different Fock projectors are far from
   orthogonal), and that initial error grows 1e2-1e4-fold by Ut = 0.25 under the
   Kerr dynamics (it dephases). `for_state` therefore refuses a ρ0 whose weight
   outside V_cap exceeds 1e-4 × tol; with an explicit n_max that guard is
   bypassed and the monitor does not see this growth (64² rows below).
   The coefficient window (below) is off by default here: it breaks the
   closure for the outer shells (max Re λ = 112 on 128², n = 24).
2. "project": projection onto convex sets that contain every exact Husimi
   function, after each RK4 step: (a) the spectral envelope
   |ρ̂(k)| ≤ m e^{−|k|²/4} (m = ∫ρ; ρ is the Wigner function smoothed by the
   vacuum Gaussian, SPEC §4), applied by clipping the modulus of each Fourier
   coefficient; (b) 0 ≤ ρ ≤ (2π)^{−N} (Q_H = ⟨α|ρ̂|α⟩/π^N ∈ [0, π^{−N}]). Both
   sets are convex and contain the exact solution, so in L² each projection never
   moves the numerical solution away from it; but the anti-diffusive growth of
   errors in modes inside the envelope is left alone.
3. "none": plain RK4 + Fourier.

All three share the right-hand side, whose Nyquist planes are zeroed (there i k is
not the derivative of a real signal; without this a 4-D product state did not
evolve as the product of the 2-D solutions, 1e-4 relative on 24⁴).

Coefficient window ("project" and "none" by default, `window="auto"`): v = J∇H
and D are multiplied by w(z) = ½ erfc((|z| − R)/width), R = `window` × L/2, so
the r³ drift and r² diffusion are switched off near the box edge where ρ is
negligible (and the periodic box sees smooth coefficients). `window=None`: off.

Monitor. The state carries `removed`, the cumulative L¹ norm of what the
regularization removed ("fock": the part of each RK4 increment outside V_n,
plus the initial projection of ρ0; "project": what the envelope/positivity
projections removed; "none": the L¹ norm of the negative part, nothing is
changed), `top` ("fock": the fraction of ‖ρ‖² in the top two shells, the
analogue of the probability in the top Fock states of a cutoff check; otherwise
0), and the mass drift.
When `removed > tol`, `top > tol`, `|mass − mass0| > tol` or the state turns
non-finite, the solver records the time and the reason, freezes the state there,
and `evolve_grid` raises `EnvelopeError` saying when and what was violated,
instead of returning garbage. These are error indicators, not bounds on the L¹
error.

Measured limits (Kerr α0 = 2, L¹ error to `jqd.reference.kerr_husimi`, monitor
off; benchmarks/results_husimi_grid.md, 2026-11-21):
- "fock" (default), dt = π/1200, n_max chosen from ρ0: 128² and 96² at L = 24
  (n_max = 24): L¹ = 4.0e-5 at Ut = 0.25, 3.6e-5 at 1, 5.2e-5 (128²) at π, at most
  6.7e-5 over [0, 2π]: never leaves 1e-3 within 2π (the floor is the Fock tail
  beyond 24, ~4e-12 in weight). 96² at L = 22 (n_max = 19): leaves 1e-3 at
  Ut ≈ 0.19, stays below 4.1e-3 (never 1e-2) within 2π. 64² resolves only
  n_max = 16 (L = 22) / 13 (L = 24), and `for_state` refuses α0 = 2 there; forced,
  it leaves 1e-2 at Ut ≈ 0.21 / 0.125 and the monitor does not stop it.
- "project" (the envelope clipping of earlier versions), L = 22: leaves 1e-3 at
  Ut ≈ 0.055 (64²) and 0.0625 (96², 128²) and 1e-2 at 0.086, 0.085, 0.0875 — a
  resolution-independent breakdown (anti-diffusive amplification of errors in
  modes inside the envelope); its indicator `removed` tracks the true error
  within a factor 1-2, so with tol = 1e-2 the monitor stops at Ut ≈ 0.072-0.080.
Hence "fock" is the default. Cost: each right-hand side is followed by two dense
matmuls with the (points², (n_max+1)²) basis per mode.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._checks import is_concrete
from .._evolve import Solution, evolve
from .._law import AbstractLaw

__all__ = [
    "PhaseSpaceGrid",
    "HusimiGridParams",
    "HusimiGridState",
    "HusimiGrid",
    "EnvelopeError",
    "evolve_grid",
    "drift_and_diffusion",
]

_REASONS = {
    1: "the cumulative L1 norm removed by the regularization (envelope/positivity "
    "projections, or the part outside the Fock-shell space; the monitor's error "
    "indicator) exceeded tol",
    2: "the mass ∫ρ dz drifted from its initial value by more than tol (mass reached "
    "the coefficient window or the box edge)",
    3: "the state became NaN or Inf",
    4: "the weight (fraction of ||rho||^2) in the top two Fock shells (the Fock-cutoff "
    "check) exceeded tol: "
    "the state is leaving the n_max space (increase n_max, enlarge the grid, or "
    "shorten the run)",
}

_AUTO = "auto"
_BOX_MARGIN = 2.0  # √(2(2n+1)) + margin <= L/2
_K_FRACTION = 0.9  # local wavenumber √(2(2n+1)) as a fraction of the Nyquist π/dx
_FIT_RTOL = 1e-12  # default: ρ0 weight (L¹) left outside V_n
_FIT_LIMIT = 1e-4  # refuse a ρ0 whose weight outside V_{cap} exceeds this × tol


class EnvelopeError(FloatingPointError):
    """The grid solution left its accuracy envelope (see `HusimiGrid`)."""


class PhaseSpaceGrid(eqx.Module):
    """A periodic hypercube [−L/2, L/2)^(2N) in z = (Q_1..Q_N, P_1..P_N).

    Attributes:
        n_modes: N, the number of bosonic modes (dimension d = 2N).
        points: grid points per axis (even, >= 8).
        length: box length L per axis (units of the dimensionless Q, P).
    """

    n_modes: int = eqx.field(static=True)
    points: int = eqx.field(static=True)
    length: float = eqx.field(static=True)

    def __init__(self, n_modes: int, points: int, length: float):
        self.n_modes = int(n_modes)
        self.points = int(points)
        self.length = float(length)

    def __check_init__(self):
        if self.n_modes < 1:
            raise ValueError(f"n_modes must be >= 1; got {self.n_modes}.")
        if self.points < 8 or self.points % 2:
            raise ValueError(f"points must be even and >= 8; got {self.points}.")
        if not self.length > 0:
            raise ValueError(f"length must be positive; got {self.length}.")

    @property
    def ndim(self) -> int:
        return 2 * self.n_modes

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.points,) * self.ndim

    @property
    def spacing(self) -> float:
        return self.length / self.points

    @property
    def cell_volume(self) -> float:
        return self.spacing**self.ndim

    def axis(self, dtype=None):
        return jnp.asarray(-self.length / 2 + self.spacing * np.arange(self.points), dtype)

    def mesh(self, dtype=None) -> tuple[Array, ...]:
        """Coordinate arrays of shape `self.shape` (ij indexing), z order."""
        return tuple(jnp.meshgrid(*([self.axis(dtype)] * self.ndim), indexing="ij"))

    def points_array(self, dtype=None) -> Array:
        """All grid points as an array of shape (points^d, d)."""
        return jnp.stack([m.reshape(-1) for m in self.mesh(dtype)], axis=-1)

    def alpha(self, dtype=None) -> tuple[Array, ...]:
        """α_j = (Q_j + i P_j)/√2 on the mesh, one array per mode."""
        m = self.mesh(dtype)
        N = self.n_modes
        return tuple((m[j] + 1j * m[N + j]) / np.sqrt(2) for j in range(N))

    def rfft_wavenumbers(self, dtype=None) -> tuple[Array, ...]:
        """Angular wavenumbers broadcastable to the rfftn output, one per axis."""
        full = 2 * np.pi * np.fft.fftfreq(self.points, self.spacing)
        half = 2 * np.pi * np.fft.rfftfreq(self.points, self.spacing)
        out = []
        for i in range(self.ndim):
            k = half if i == self.ndim - 1 else full
            shape = [1] * self.ndim
            shape[i] = -1
            out.append(jnp.asarray(k.reshape(shape), dtype))
        return tuple(out)

    def max_quanta(self) -> int:
        """Largest n_max whose Fock-shell space V_n the grid resolves (-1: none).

        Needs √(2(2n+1)) ≤ 0.9 π/dx (resolution) and √(2(2n+1)) + 2 ≤ L/2
        (box); see the module docstring for the calibration.
        """
        n = -1
        while _fock_limit_reason(self, n + 1) is None and n < 400:
            n += 1
        return n

    def nyquist_mask(self, dtype=None):
        """1 on the rfftn output, 0 where any axis is at its Nyquist wavenumber."""
        mask = np.ones([self.points] * (self.ndim - 1) + [self.points // 2 + 1])
        for i in range(self.ndim):
            idx = [slice(None)] * self.ndim
            idx[i] = self.points // 2
            mask[tuple(idx)] = 0
        return jnp.asarray(mask, dtype)

    def integrate(self, f) -> Array:
        axes = tuple(range(-self.ndim, 0))
        return jnp.sum(f, axis=axes) * jnp.asarray(self.cell_volume, jnp.real(f).dtype)

    def rfft(self, f):
        return jnp.fft.rfftn(f, axes=tuple(range(-self.ndim, 0)))

    def irfft(self, f):
        return jnp.fft.irfftn(f, s=self.shape, axes=tuple(range(-self.ndim, 0)))


def _fock_limit_reason(grid: PhaseSpaceGrid, n: int) -> str | None:
    """Why `grid` cannot resolve V_n (None if it can)."""
    kmax = math.pi / grid.spacing
    k_loc = math.sqrt(2 * (2 * n + 1))
    if k_loc > _K_FRACTION * kmax:
        return (
            f"an {n}-quanta function has local wavenumber √(2(2n+1)) = {k_loc:.3g} > "
            f"{_K_FRACTION} π/dx = {_K_FRACTION * kmax:.3g} (dx = {grid.spacing:.3g}): the grid "
            "is too coarse; increase points (or decrease length)"
        )
    if k_loc + _BOX_MARGIN > grid.length / 2:
        return (
            f"V_{n} holds Hermite-type functions reaching |z| ≈ √(2(2n+1)) = {k_loc:.3g}, which "
            f"must stay {_BOX_MARGIN:g} inside the box half-width L/2 = {grid.length / 2:g}: the "
            f"box is too small; increase length to >= {2 * (k_loc + _BOX_MARGIN):.3g} (and "
            "points with it)"
        )
    return None


@functools.lru_cache(maxsize=8)
def _shell_basis(points: int, length: float, n_max: int) -> np.ndarray:
    """Grid-orthonormal basis of V_{n_max} on one mode's (Q, P) plane.

    Shape (points², (n_max+1)²), float64, columns ordered by shell s = max(j, k):
    the first (s+1)² columns span V_s (and equal `_shell_basis(.., s)`).
    Orthonormal in Σ f g dx². The sampled functions are continuum-orthonormal
    (Gram matrix ≈ I on a grid that resolves them), so two Cholesky-QR passes
    (lower-triangular, hence shell-nested) orthonormalize them to round-off.
    """
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


class HusimiGridParams(eqx.Module):
    """Constants of the Husimi Fokker-Planck law (differentiable, vmappable).

    Attributes:
        C: diffusion strength (C = 1 is quantum mechanics).
        args: pytree passed to `hamiltonian(z, args)` (couplings such as U).
    """

    C: float | Array = 1.0
    args: object = None


class HusimiGridState(eqx.Module):
    """Grid state: the density and the monitor's bookkeeping.

    Attributes:
        rho: ρ on the grid, shape `grid.shape` (real).
        removed: cumulative L¹ norm removed by the regularization (error
            indicator); after a stop, the value that violated the tolerance.
        top: "fock": fraction of ‖ρ‖² (grid L², i.e. of the squared basis
            coefficients) in the top two Fock shells (the Fock-cutoff check);
            otherwise 0.
        mass0: ∫ρ dz at the start.
        stop_time: time at which the monitor stopped the run (−1 while running;
            jqd.evolve treats any non-finite leaf as a failure).
        reason: 0 while running, else a code (see `HusimiGrid.reason_message`).
    """

    rho: Array
    removed: Array
    top: Array
    mass0: Array
    stop_time: Array
    reason: Array


def drift_and_diffusion(hamiltonian: Callable, z, args, C):
    """(v, D) at one point z (shape (2N,)): v = J∇H, D = (C/2)(H''J − JH''), by autodiff."""
    d = z.shape[-1]
    N = d // 2
    eye = jnp.eye(N, dtype=z.dtype)
    zero = jnp.zeros((N, N), z.dtype)
    J = jnp.block([[zero, eye], [-eye, zero]])
    g = jax.grad(hamiltonian)(z, args)
    h = jax.hessian(hamiltonian)(z, args)
    C = jnp.asarray(C, z.dtype)
    return J @ g, 0.5 * C * (h @ J - J @ h)


def _to_coefficients(rho, B, grid: PhaseSpaceGrid):
    """Coefficients of ρ in the per-mode basis B (shape (points², K)): shape (K,)*N."""
    N, p = grid.n_modes, grid.points
    perm = [a for j in range(N) for a in (j, N + j)]
    c = jnp.transpose(rho, perm).reshape((p * p,) * N)
    for _ in range(N):  # contract the leading plane axis; its K axis goes last
        c = jnp.tensordot(c, B, axes=([0], [0]))
    return c * jnp.asarray(grid.cell_volume, rho.dtype)


def _from_coefficients(c, B, grid: PhaseSpaceGrid):
    """Inverse of `_to_coefficients` on V: Σ c B ⊗ ... ⊗ B on the grid."""
    N, p = grid.n_modes, grid.points
    x = c
    for _ in range(N):
        x = jnp.tensordot(x, B, axes=([0], [1]))
    x = x.reshape((p,) * (2 * N))
    perm = [a for j in range(N) for a in (j, N + j)]
    return jnp.transpose(x, np.argsort(perm))


def _truncate(c, k: int, n_modes: int):
    """Zero the coefficients with any per-mode index >= k (keep V_s for k = (s+1)²)."""
    K = c.shape[0]
    if k >= K:
        return c
    keep = jnp.arange(K) < k
    mask = keep
    for _ in range(n_modes - 1):
        mask = mask[..., None] & keep
    return jnp.where(mask, c, 0)


class HusimiGrid(AbstractLaw):
    """Pseudo-spectral RK4 solver of the Husimi Fokker-Planck equation (SPEC §4).

    Equation, units and regularization: see the module docstring of
    `jqd.husimi._grid_solver`. State: `HusimiGridState` (build it with
    `law.initial_state(rho0)`); params: `HusimiGridParams(C, args)`.
    Validated against the exact Kerr Husimi function (`jqd.reference.kerr_husimi`)
    and, for quadratic H with D = 0 (constraint C7), exact phase-space rotation.

    Attributes:
        grid: a `PhaseSpaceGrid`.
        hamiltonian: `H(z, args) -> scalar`, the anti-Wick symbol in units of ħ,
            z of shape (2N,).
        regularization: "fock" (Galerkin projection onto the Fock-shell space V_n,
            default), "project" (envelope + positivity projections) or "none"
            (plain RK4 + Fourier; the monitor then accumulates the L¹ norm of the
            negative part).
        n_max: quanta per mode kept by "fock" (None: chosen from the initial state
            by `evolve_grid` / `for_state`); at most `grid.max_quanta()`.
        window: coefficient window radius as a fraction of L/2; None: off; "auto"
            (default): off for "fock", 0.75 otherwise.
        window_width: width of the window's erfc edge (units of Q).
        tol: monitor tolerance on `removed`, `top` and the mass drift.
        basis: per-mode grid-orthonormal basis of V_{n_max}, shape
            (points², (n_max+1)²) (built from `n_max`; None otherwise).
    """

    grid: PhaseSpaceGrid
    hamiltonian: Callable = eqx.field(static=True)
    regularization: str = eqx.field(static=True)
    n_max: int | None = eqx.field(static=True)
    window: float | None = eqx.field(static=True)
    window_width: float = eqx.field(static=True)
    tol: float = eqx.field(static=True)
    basis: Array | None
    coefficients: tuple | None

    def __init__(
        self,
        grid: PhaseSpaceGrid,
        hamiltonian: Callable,
        regularization: str = "fock",
        n_max: int | None = None,
        window: float | None | str = _AUTO,
        window_width: float = 1.0,
        tol: float = 1e-2,
        coefficients: tuple | None = None,
    ):
        self.grid = grid
        self.hamiltonian = hamiltonian
        self.regularization = regularization
        self.n_max = None if n_max is None else int(n_max)
        if isinstance(window, str):
            if window != _AUTO:
                raise ValueError(f"window must be a number, None or 'auto'; got {window!r}.")
            window = None if regularization == "fock" else 0.75
        self.window = window
        self.window_width = float(window_width)
        self.tol = float(tol)
        self.coefficients = coefficients
        if regularization == "fock" and self.n_max is not None:
            if self.n_max < 0:
                raise ValueError(f"n_max must be >= 0; got {self.n_max}.")
            why = _fock_limit_reason(grid, self.n_max)
            if why is not None:
                raise ValueError(
                    f"n_max = {self.n_max} is too large for this grid ({grid.points} points, "
                    f"length {grid.length:g}; it resolves n_max <= {grid.max_quanta()}): {why}."
                )
            self.basis = jnp.asarray(_shell_basis(grid.points, grid.length, self.n_max))
        else:
            self.basis = None

    def __check_init__(self):
        if self.regularization not in ("fock", "project", "none"):
            raise ValueError(
                f"regularization must be 'fock', 'project' or 'none'; got {self.regularization!r}."
            )
        if self.window is not None and not 0 < self.window <= 2:
            raise ValueError(
                f"window must be in (0, 2] (fraction of L/2), None or 'auto'; got {self.window}."
            )
        if not self.tol > 0:
            raise ValueError(f"tol must be positive; got {self.tol}.")

    # ---- set-up -----------------------------------------------------------
    def for_state(self, rho0, rtol: float = _FIT_RTOL) -> HusimiGrid:
        """This law with `n_max` chosen for the density `rho0` ("fock" only).

        n_max is the smallest n with ∫|ρ0 − P_n ρ0| dz <= rtol ∫|ρ0| dz, capped by
        `grid.max_quanta()`. Raises ValueError if even the cap leaves more than
        1e-4 × `tol` outside: the projection of the Fock tail beyond n_max onto V_n is
        not the Fock truncation (Husimi functions of different Fock projectors are
        far from orthogonal), and that initial error grows by 1e2-1e4 under the
        Kerr dynamics by Ut = 0.25 (measured: n_max = 13, 16, 24 on α0 = 2).
        """
        if self.regularization != "fock":
            return self
        if not is_concrete(rho0):
            raise ValueError(
                "n_max is None and rho0 is traced: pass n_max to HusimiGrid explicitly "
                "(or call law.for_state(rho0) outside jit)."
            )
        g = self.grid
        rho0 = np.asarray(rho0, np.float64)
        if rho0.shape != g.shape:
            raise ValueError(f"rho0 has shape {rho0.shape}; the grid needs {g.shape}.")
        cap = g.max_quanta()
        if cap < 0:
            raise ValueError(f"the grid resolves no Fock shell: {_fock_limit_reason(g, 0)}.")
        B = jnp.asarray(_shell_basis(g.points, g.length, cap))
        c = _to_coefficients(jnp.asarray(rho0), B, g)
        norm = float(np.sum(np.abs(rho0)) * g.cell_volume)
        err = math.inf
        for n in range(cap + 1):
            k = (n + 1) ** 2
            cn = _truncate(c, k, g.n_modes)
            approx = _from_coefficients(cn, B, g)
            err = float(jnp.sum(jnp.abs(approx - rho0))) * g.cell_volume
            if err <= rtol * norm:
                break
        if err > _FIT_LIMIT * self.tol:
            raise ValueError(
                f"rho0 needs more Fock shells than the grid resolves: with n_max = {n} (the "
                f"most this grid, {g.points} points and length {g.length:g}, resolves) "
                f"∫|ρ0 − P ρ0| dz = {err:.3g} > {_FIT_LIMIT:g} × tol; the truncation error of "
                "the initial projection is amplified 1e2-1e4-fold by the dynamics (measured on "
                "Kerr by Ut = 0.25), so increase length and points."
            )
        return HusimiGrid(
            g,
            self.hamiltonian,
            regularization=self.regularization,
            n_max=int(n),
            window=self.window,
            window_width=self.window_width,
            tol=self.tol,
        )

    def initial_state(self, rho0) -> HusimiGridState:
        """Wrap a density on the grid into a `HusimiGridState`.

        With "fock" and a known `n_max`, ρ0 is projected onto V_{n_max} and the L¹
        norm of what that removed starts the `removed` indicator.
        """
        rho0 = jnp.asarray(rho0)
        dtype = rho0.dtype
        removed = jnp.zeros((), dtype)
        top = jnp.zeros((), dtype)
        if self.basis is not None:
            proj, top = self._fock_project(rho0, with_top=True)
            removed = self.grid.integrate(jnp.abs(proj - rho0))
            rho0 = proj
        return HusimiGridState(
            rho=rho0,
            removed=removed,
            top=top,
            mass0=self.grid.integrate(rho0),
            stop_time=jnp.asarray(-1.0, dtype),
            reason=jnp.zeros((), jnp.int32),
        )

    def _window(self, dtype):
        if self.window is None:
            return None
        r = jnp.sqrt(sum(m**2 for m in self.grid.mesh(dtype)))
        R = self.window * self.grid.length / 2
        return 0.5 * jax.scipy.special.erfc((r - R) / jnp.asarray(self.window_width, dtype))

    def compute_coefficients(self, params, dtype):
        """(v, D_pairs): drift components (d arrays) and the d(d+1)/2 entries
        D_ab, a <= b, on the grid, windowed; all in `dtype`."""
        zs = self.grid.points_array(dtype)
        v, D = jax.vmap(lambda z: drift_and_diffusion(self.hamiltonian, z, params.args, params.C))(
            zs
        )
        shape = self.grid.shape
        w = self._window(dtype)
        d = self.grid.ndim
        vs = tuple(v[:, a].reshape(shape).astype(dtype) for a in range(d))
        Ds = tuple(D[:, a, b].reshape(shape).astype(dtype) for a in range(d) for b in range(a, d))
        if w is not None:
            vs = tuple(x * w for x in vs)
            Ds = tuple(x * w for x in Ds)
        return vs, Ds

    def prepare(self, params, dt):
        dtype = jnp.asarray(dt).dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            dtype = jnp.result_type(float)
        return eqx.tree_at(
            lambda s: s.coefficients,
            self,
            self.compute_coefficients(params, dtype),
            is_leaf=lambda x: x is None,
        )

    def _coeffs(self, params, dtype):
        if self.coefficients is None:
            return self.compute_coefficients(params, dtype)
        vs, Ds = self.coefficients
        return tuple(x.astype(dtype) for x in vs), tuple(x.astype(dtype) for x in Ds)

    # ---- the Fock-shell projection ----------------------------------------
    def _require_basis(self):
        if self.basis is None:
            raise ValueError(
                "regularization='fock' needs n_max: pass n_max to HusimiGrid, or let "
                "evolve_grid (or law.for_state(rho0)) choose it from the initial state."
            )

    def _fock_project(self, rho, with_top=False):
        """P ρ (and, with `with_top`, the fraction of ‖Pρ‖² in the top two shells)."""
        self._require_basis()
        g = self.grid
        B = self.basis.astype(rho.dtype)
        c = _to_coefficients(rho, B, g)
        out = _from_coefficients(c, B, g)
        if not with_top:
            return out
        high = c - _truncate(c, max(self.n_max - 1, 0) ** 2, g.n_modes)
        total = jnp.sum(c**2)
        top = jnp.sum(high**2) / jnp.where(total > 0, total, 1)
        return out, top

    def fock_project(self, rho):
        """Orthogonal projection (grid inner product) of ρ onto V_{n_max}."""
        return self._fock_project(rho)

    # ---- dynamics ---------------------------------------------------------
    def rhs(self, rho, params, coeffs=None):
        """∂ρ/∂t (unregularized) on the grid."""
        vs, Ds = self._coeffs(params, rho.dtype) if coeffs is None else coeffs
        g = self.grid
        ks = g.rfft_wavenumbers(rho.dtype)
        d = g.ndim
        out = 0.0
        for a in range(d):
            out = out - 1j * ks[a] * g.rfft(rho * vs[a])
        i = 0
        for a in range(d):
            for b in range(a, d):
                factor = 0.5 if a == b else 1.0
                out = out - factor * ks[a] * ks[b] * g.rfft(Ds[i] * rho)
                i += 1
        # zero the Nyquist planes: there i k is not a derivative of a real signal, and
        # the rfft's half axis would treat one axis differently from the others
        return g.irfft(out * g.nyquist_mask(rho.dtype)).astype(rho.dtype)

    def project(self, rho):
        """Project onto the spectral envelope, then onto 0 <= ρ <= (2π)^(−N)."""
        g = self.grid
        dtype = rho.dtype
        rh = g.rfft(rho)
        dV = jnp.asarray(g.cell_volume, dtype)
        mass = jnp.real(rh.reshape(-1)[0]) * dV
        k2 = sum(k**2 for k in g.rfft_wavenumbers(dtype))
        env = jnp.abs(mass) * jnp.exp(-k2 / 4) / dV
        mod = jnp.abs(rh)
        scale = jnp.where(mod > env, env / jnp.where(mod > 0, mod, 1), 1)
        rho_env = g.irfft(rh * scale).astype(dtype)
        top = jnp.asarray((2 * np.pi) ** (-g.n_modes), dtype)
        return jnp.clip(rho_env, 0, top)

    def step(self, t, y: HusimiGridState, params, dt, key=None):
        rho = y.rho
        dtype = rho.dtype
        coeffs = self._coeffs(params, dtype)
        dt = jnp.asarray(dt, dtype)
        top = y.top
        if self.regularization == "fock":
            self._require_basis()
            raw = []

            def f(r):
                k = self.rhs(r, params, coeffs)
                raw.append(k)
                return self._fock_project(k)

        else:
            f = lambda r: self.rhs(r, params, coeffs)
        k1 = f(rho)
        k2 = f(rho + 0.5 * dt * k1)
        k3 = f(rho + 0.5 * dt * k2)
        k4 = f(rho + dt * k3)
        incr = (dt / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        new = rho + incr
        if self.regularization == "fock":
            unprojected = (dt / 6) * (raw[0] + 2 * raw[1] + 2 * raw[2] + raw[3])
            removed = y.removed + self.grid.integrate(jnp.abs(unprojected - incr))
            _, top = self._fock_project(new, with_top=True)
        elif self.regularization == "project":
            proj = self.project(new)
            removed = y.removed + self.grid.integrate(jnp.abs(proj - new))
            new = proj
        else:
            removed = y.removed + self.grid.integrate(jnp.maximum(-new, 0))
        mass = self.grid.integrate(new)
        tol = jnp.asarray(self.tol, dtype)
        finite = jnp.all(jnp.isfinite(new))
        reason_now = jnp.where(
            ~finite,
            3,
            jnp.where(
                removed > tol,
                1,
                jnp.where(top > tol, 4, jnp.where(jnp.abs(mass - y.mass0) > tol, 2, 0)),
            ),
        ).astype(jnp.int32)
        running = y.reason == 0
        stop_now = running & (reason_now > 0)
        keep = ~running | stop_now
        return HusimiGridState(
            rho=jnp.where(keep, rho, new),
            # at the stopping step keep the violating values (the message reports them)
            removed=jnp.where(running, removed, y.removed),
            top=jnp.where(running, top, y.top),
            mass0=y.mass0,
            stop_time=jnp.where(stop_now, jnp.asarray(t, dtype) + dt, y.stop_time),
            reason=jnp.where(running, reason_now, y.reason),
        )

    def vector_field(self, t, y: HusimiGridState, params):
        """∂ρ/∂t: P L ρ for "fock", else the unregularized L ρ (the envelope
        projections and the monitor act only in `step`)."""
        zero = jnp.zeros((), y.rho.dtype)
        drho = self.rhs(y.rho, params)
        if self.regularization == "fock":
            drho = self._fock_project(drho)
        return HusimiGridState(
            rho=drho,
            removed=zero,
            top=zero,
            mass0=zero,
            stop_time=zero,
            reason=jnp.zeros((), jnp.int32),
        )

    def density(self, y: HusimiGridState):
        return y.rho

    def energy(self, t, y: HusimiGridState, params):
        """⟨H⟩ = ∫ H ρ dz (anti-Wick symbol against the Husimi density)."""
        zs = self.grid.points_array(y.rho.dtype)
        Hz = jax.vmap(lambda z: self.hamiltonian(z, params.args))(zs).reshape(self.grid.shape)
        return self.grid.integrate(Hz.astype(y.rho.dtype) * y.rho)

    def check(self, y, params, dt=None):
        if not isinstance(y, HusimiGridState):
            raise ValueError("y0 must be a HusimiGridState; build it with law.initial_state(rho0).")
        if not is_concrete(y.rho):
            return
        rho = np.asarray(y.rho)
        if rho.shape != self.grid.shape:
            raise ValueError(f"y0.rho has shape {rho.shape}; the grid needs {self.grid.shape}.")
        if not np.issubdtype(rho.dtype, np.floating):
            raise ValueError(f"y0.rho must be real floating point; got {rho.dtype}.")
        if not np.all(np.isfinite(rho)):
            raise ValueError("y0.rho contains NaN or Inf.")
        mass = float(np.sum(rho) * self.grid.cell_volume)
        if abs(mass - 1) > 1e-6:
            raise ValueError(
                f"y0.rho must be normalized (∫ρ dz = {mass:.6g}); divide by its integral, and "
                "make sure the box holds the density (increase grid length)."
            )
        if dt is not None and is_concrete(dt):
            dtv = float(np.asarray(dt))
            limit = self.stable_dt(params)
            if limit is not None and dtv > limit:
                what = (
                    "largest |eigenvalue| of the projected operator P L P"
                    if self.regularization == "fock"
                    else "fastest drift/diffusion inside the window"
                )
                raise ValueError(
                    f"dt = {dtv:g} exceeds the explicit RK4 limit ≈ {limit:.3g} for this grid "
                    f"and Hamiltonian ({what}); reduce dt."
                )

    def stable_dt(self, params):
        """Rough RK4 step limit.

        "fock": 2.8/|λ|max of the projected operator P L P (power iteration, 40
        applications, +10 %). Otherwise: max over the grid of
        2.8/(|v| k_max + ½|D| k_max²).
        """
        if not is_concrete(params):
            return None
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        vs, Ds = self.compute_coefficients(params, dtype)
        if self.regularization == "fock" and self.basis is not None:
            op = jax.jit(lambda r: self._fock_project(self.rhs(r, params, (vs, Ds))))
            v = self._fock_project(jax.random.normal(jax.random.PRNGKey(0), self.grid.shape, dtype))
            lam = 0.0
            for _ in range(40):
                w = op(v)
                nv, nw = float(jnp.linalg.norm(v)), float(jnp.linalg.norm(w))
                if nw == 0 or nv == 0:
                    break
                lam = max(lam, nw / nv) if _ > 30 else nw / nv
                v = w / nw
            return math.inf if lam == 0 else 2.8 / (1.1 * lam)
        kmax = math.pi / self.grid.spacing
        vmax = float(max(jnp.max(jnp.abs(v)) for v in vs))
        dmax = float(sum(jnp.max(jnp.abs(x)) for x in Ds)) if Ds else 0.0
        rate = vmax * kmax * math.sqrt(self.grid.ndim) + 0.5 * dmax * kmax**2 * self.grid.ndim
        return math.inf if rate == 0 else 2.8 / rate

    @staticmethod
    def reason_message(code: int) -> str:
        return _REASONS.get(int(code), "running")


def evolve_grid(
    law: HusimiGrid, y0: HusimiGridState, params, *, dt, n_save, on_violation="raise", **kwargs
) -> Solution:
    """`jqd.evolve` for `HusimiGrid`, raising `EnvelopeError` when the monitor stopped.

    The message states the time and what was violated; the states saved after
    that time are frozen copies of the last accepted one. Pass
    `on_violation="ignore"` to get the solution anyway (read
    `sol.y_final.stop_time` and `.reason`). Other keyword arguments go to
    `jqd.evolve`.

    With `regularization="fock"`, n_max is chosen from `y0.rho` if it is None
    (`law.for_state`), and y0 is projected onto V_{n_max} (what that removes is
    added to `removed`).
    """
    if on_violation not in ("raise", "ignore"):
        raise ValueError(f"on_violation must be 'raise' or 'ignore'; got {on_violation!r}.")
    if law.regularization == "fock":
        if law.n_max is None:
            if not isinstance(y0, HusimiGridState):
                raise ValueError(
                    "y0 must be a HusimiGridState; build it with law.initial_state(rho0)."
                )
            law = law.for_state(y0.rho)
        if isinstance(y0, HusimiGridState):
            # onto V_{n_max} (a y0 built by another law would keep a frozen part
            # outside it); the L¹ removed joins `removed`
            proj, top = law._fock_project(y0.rho, with_top=True)
            extra = law.grid.integrate(jnp.abs(proj - y0.rho))
            y0 = HusimiGridState(proj, y0.removed + extra, top, y0.mass0, y0.stop_time, y0.reason)
    sol = evolve(law, y0, params, dt=dt, n_save=n_save, **kwargs)
    if on_violation == "ignore":
        return sol
    final = sol.y_final
    if is_concrete(final.reason):
        code = np.asarray(final.reason)
        if np.any(code > 0):
            idx = np.unravel_index(np.argmax(code > 0), code.shape) if code.ndim else ()
            t_stop = float(np.asarray(final.stop_time)[idx])
            removed = float(np.asarray(final.removed)[idx])
            top = float(np.asarray(final.top)[idx])
            c = int(code[idx])
            raise EnvelopeError(
                f"HusimiGrid left its accuracy envelope at t = {t_stop:.6g}: "
                f"{HusimiGrid.reason_message(c)} (tol = {law.tol:g}; removed = {removed:.3g}, "
                f"top-shell weight = {top:.3g}). "
                "The state is frozen at that time. Refine the grid, enlarge the box, shorten "
                "the run, or use a Galerkin solver for long times; pass on_violation='ignore' "
                "to get the partial result."
            )
        return sol
    rho = eqx.error_if(
        final.rho,
        jnp.any(final.reason > 0),
        "HusimiGrid left its accuracy envelope (monitor stopped the run); rerun with "
        "on_violation='ignore' and read y_final.stop_time / y_final.reason.",
    )
    return eqx.tree_at(lambda s: s.y_final.rho, sol, rho)
