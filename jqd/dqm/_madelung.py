"""Madelung hydrodynamics on a periodic grid: the (ρ, S) form of Schrödinger's
equation (SPEC §2, Z7-Z11), with explicit small-density handling and a
breakdown detector.

Conventions shared with `CanonicalDQM` (jqd/dqm/_canonical.py):

* State `MadelungState(rho, S, momentum, chirp)`: the phase is
  S_total(x) = p·x + Σ_i b_i x_i²/2 + S(x), with S periodic on the box and
  the "frame" (p, b) evolved with it: the ρ-weighted least-squares fit of
  ∂S_total/∂t on {1, x_i, x_i²} drives (p, b), the residual drives S. The
  frame is never differentiated numerically, so a packet with net momentum
  (S ≈ p0 x) or a chirp (breathing Gaussian) is represented without the
  jump that p0 x has at the box edge. ψ = √ρ exp(i S_total/ħ).
* Derivatives: 8th-order central differences (`derivative="fd8"`, the
  default) or Fourier (`"spectral"`). Spectral derivatives are global, and
  with Q ∝ ∇²√ρ/√ρ they couple round-off in the underflowed tails to the
  bulk: measured here, a displaced Gaussian blows up within two RK4 steps
  with them; the local stencil does not (`"spectral"` is kept for
  comparison, not for production runs).
* Small densities. The conservative forms of the two equations, −∇·(ρv)
  and Q ∝ ∇²√ρ/√ρ, lose relative accuracy in tails, where ρ falls by a
  large factor per cell (measured: the quantum potential of a unit
  Gaussian on dx = 1/8 is off by 1.6e-3 at ρ ~ 1e-11, by O(10) at 1e-16).
  The tail still matters, because the packet spreads into it: a tail that
  lags behind the exact one becomes a cliff in ρ, a spike in Q and NaN
  (the free Gaussian did so at t ≈ 1.5 with the earlier treatment, which
  froze the tail below ε). So, with `floor` = 1e-15 in float64 (1e-6 in
  float32) and ε = floor·max ρ:
    - time steps are taken in ℓ = ln ρ (`log_rk4_step`), so ρ stays
      positive and a tail may grow by decades per step;
    - ∂ℓ/∂t and the Fisher part of Q are blended, with a C∞ weight w in
      ln ρ (1 above 1e-9·max ρ, 0 below 1e-13·max ρ, `log_fields`), from
      the conservative forms in the bulk to the ln ρ forms in the tail:
      −∇·v − v·∇ℓ (5th-order upwind) and Q = −(ħ²/8m)(|∇ℓ|² + 2∇²ℓ),
      which are exact for Gaussian tails. ℓ is not periodic, so its
      derivatives use ghost cells extrapolated quadratically past the box
      edge, never values wrapped around the box;
    - the bulk Q uses the compact 8th-order Laplacian on √(ρ+ε) (the wide
      ∂(∂·) is blind to the odd-even mode, which then grew);
    - the residual phase rate is multiplied by χ(ρ), a C∞ step in ln ρ that
      is 0 below floor·max ρ and 1 above √floor·max ρ, times a window that
      is 0 within 4 cells of the box edge; where χ < 1, S relaxes to 0 (the
      phase to its frame) at rate 0.1 ħk_max²/2m, and the tail density
      follows the frame velocity plus χ∇S/m.
  Where ρ > √floor·max ρ the law is the Madelung law up to O(ε/ρ). Below
  that, the tail is carried along consistently but carries no dynamics of
  its own; `MadelungValidity` reports the mass below ε (`floored_mass`)
  and the density at the box edge (`edge_density`). A grid on which the
  bulk density changes by more than e³ per cell is rejected by `check`.
* Breakdown. Near a node (ρ → 0 inside the support) Q and ∇S diverge and the
  flow variables lose the quantization of ∮∇S (SPEC §2, Wallstrom).
  `MadelungValidity` measures at every save the node depth
  min ρ(x)/min(max_{left} ρ, max_{right} ρ) along each axis (1 for a
  unimodal density, → 0 at a node between two humps) and the resolution
  dx·max(k_Q, k_v) of the local quantum wavenumber k_Q = √(2m|Q|)/ħ and
  flow shear; `evolve_madelung` runs `jqd.evolve` with it and reports (or
  raises) the first time and place where either criterion fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PyTree

from .._checks import check_finite, check_normalized, check_positive, is_concrete
from .._evolve import Solution, evolve
from .._grid import Grid
from .._law import AbstractLaw

__all__ = [
    "DQMParams",
    "MadelungState",
    "Madelung",
    "MadelungValidity",
    "MadelungBreakdownError",
    "Breakdown",
    "FickVelocity",
    "UncertaintyProduct",
    "evolve_madelung",
    "find_breakdown",
    "state_from_psi",
    "state_to_psi",
    "gaussian_state",
]

# Degree of the polynomial phase frame. 4 was tried: for non-polynomial V the
# fitted cubic/quartic terms extrapolate into the tails and the run blew up
# sooner (x²/2 + e^(−x²): t ≈ 0.27 instead of ≈ 0.7), so the frame is quadratic.
FRAME_DEGREE = 2
DEFAULT_FLOOR = {np.dtype("float64"): 1e-15, np.dtype("float32"): 1e-6}


class DQMParams(eqx.Module):
    """Constants of the Madelung and canonical DQM laws.

    Attributes:
        hbar: reduced Planck constant.
        mass: particle mass.
        D: diffusion coefficient of the canonical functional H_D (SPEC §2).
            None means D = ħ/2m (quantum mechanics). The Madelung law is the
            D = ħ/2m case by construction and rejects any other value.
        potential: the pytree of arguments passed to the law's potential
            function `V(x, t, args)`; None if it takes none.
    """

    hbar: float | Array = 1.0
    mass: float | Array = 1.0
    D: float | Array | None = None
    potential: PyTree = None

    def diffusion(self):
        """D, or ħ/2m when D is None."""
        return self.hbar / (2 * self.mass) if self.D is None else self.D


class MadelungState(eqx.Module):
    """Hydrodynamic state: density ρ, periodic phase S and the phase frame.

    The full phase is S_total = S + Σ_i [p_i x_i + Σ_{k=2..K} c_ik x_i^k/k]
    with K = `FRAME_DEGREE` = 2 (module docstring), i.e. p·x + Σ_i b_i x_i²/2;
    ψ = √ρ exp(i S_total/ħ). `momentum` p has shape `(ndim,)`, `chirp` c
    has shape `(ndim, K − 1)` (c_i2 = b_i; a shape-(ndim,) `chirp` is read as
    b). Both default to 0.
    """

    rho: Array
    S: Array
    momentum: Array
    chirp: Array

    def __init__(self, rho, S, momentum=None, chirp=None):
        rho = jnp.asarray(rho)
        self.rho = rho
        self.S = jnp.asarray(S, rho.dtype)
        zero = jnp.zeros((rho.ndim,), rho.dtype)
        self.momentum = zero if momentum is None else jnp.asarray(momentum, rho.dtype)
        if chirp is None:
            chirp = jnp.zeros((rho.ndim, FRAME_DEGREE - 1), rho.dtype)
        chirp = jnp.asarray(chirp, rho.dtype)
        if chirp.ndim == 1:  # b only: the x²/2 coefficient per axis
            chirp = jnp.concatenate(
                [chirp[:, None], jnp.zeros((chirp.shape[0], FRAME_DEGREE - 2), rho.dtype)], 1
            )
        self.chirp = chirp


# -- shared numerics (used by Madelung and CanonicalDQM) ---------------------------
def _default_floor(rho):
    return DEFAULT_FLOOR.get(np.dtype(rho.dtype), 1e-15)


def _floor(rho, floor):
    """ε = floor · max ρ."""
    f = _default_floor(rho) if floor is None else floor
    return jnp.asarray(f, rho.dtype) * jnp.max(rho)


def _bshape(grid: Grid, i: int):
    shape = [1] * grid.ndim
    shape[i] = -1
    return shape


_FD8 = (4 / 5, -1 / 5, 4 / 105, -1 / 280)
DERIVATIVES = ("fd8", "spectral")


def deriv(grid: Grid, f, i: int, kind: str = "fd8"):
    """∂f/∂x_i of a real periodic field along one axis.

    kind "fd8": 8th-order central differences (local stencil of 9 points);
    "spectral": Fourier (global; Nyquist mode dropped). Both are
    antisymmetric operators, so `jax.grad` of a functional built from them
    gives the matching discrete variational derivative.
    """
    axis = i - grid.ndim
    if kind == "spectral":
        k = jnp.reshape(grid.wavenumbers(f.dtype)[i], _bshape(grid, i))
        fk = jnp.fft.fft(f, axis=axis)
        return jnp.real(jnp.fft.ifft(1j * k * fk, axis=axis))
    out = 0
    for j, c in enumerate(_FD8, start=1):
        out = out + c * (jnp.roll(f, -j, axis=axis) - jnp.roll(f, j, axis=axis))
    return out / jnp.asarray(grid.spacing[i], f.dtype)


def gradient(grid: Grid, f, kind: str = "fd8"):
    return tuple(deriv(grid, f, i, kind) for i in range(grid.ndim))


def divergence(grid: Grid, fields, kind: str = "fd8"):
    return sum(deriv(grid, f, i, kind) for i, f in enumerate(fields))


def frame_phase(grid: Grid, momentum, chirp, dtype):
    """Σ_i [p_i x_i + Σ_k c_ik x_i^k/k] on the mesh."""
    out = 0
    for i, x in enumerate(grid.mesh(dtype)):
        out = out + momentum[i] * x
        for k in range(2, FRAME_DEGREE + 1):
            out = out + chirp[i, k - 2] * x**k / k
    return out


def frame_gradient(grid: Grid, S, momentum, chirp, kind="fd8"):
    """∇S_total = p + Σ_k c_k x^(k-1) + ∇S per axis (a tuple of arrays)."""
    gs = gradient(grid, S, kind)
    out = []
    for i, (x, g) in enumerate(zip(grid.mesh(S.dtype), gs, strict=True)):
        v = momentum[i] + g
        for k in range(2, FRAME_DEGREE + 1):
            v = v + chirp[i, k - 2] * x ** (k - 1)
        out.append(v)
    return tuple(out)


def phase_gradient(grid: Grid, y: MadelungState, kind="fd8"):
    """∇S_total of a state (see `frame_gradient`)."""
    return frame_gradient(grid, y.S, y.momentum, y.chirp, kind)


def potential_values(grid: Grid, potential, t, params, dtype):
    if potential is None:
        return jnp.zeros(grid.shape, dtype)
    V = potential(grid.mesh(dtype), t, params.potential)
    return jnp.broadcast_to(jnp.asarray(V, dtype), grid.shape)


_FD8_D2 = (-205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560)


def second_deriv(grid: Grid, f, i: int, kind: str = "fd8"):
    """∂²f/∂x_i² on the compact 9-point 8th-order stencil ("fd8"), or Fourier.

    Compact, not ∂(∂f): the wide stencil ∂(∂f) is blind to the odd-even
    (Nyquist) mode, which then has no restoring quantum pressure and grows
    (measured: a free Gaussian blew up by t = 0.5 with it).
    """
    axis = i - grid.ndim
    if kind == "spectral":
        k = jnp.reshape(grid.wavenumbers(f.dtype)[i], _bshape(grid, i))
        return jnp.real(jnp.fft.ifft(-(k**2) * jnp.fft.fft(f, axis=axis), axis=axis))
    out = _FD8_D2[0] * f
    for j, c in enumerate(_FD8_D2[1:], start=1):
        out = out + c * (jnp.roll(f, -j, axis=axis) + jnp.roll(f, j, axis=axis))
    return out / jnp.asarray(grid.spacing[i], f.dtype) ** 2


def laplacian(grid: Grid, f, kind: str = "fd8"):
    return sum(second_deriv(grid, f, i, kind) for i in range(grid.ndim))


# ln ρ is not periodic (≈ −x²/a² in Gaussian tails), so its derivatives use
# ghost cells extrapolated quadratically past the box edge (exact for Gaussian
# tails) instead of wrapping around the box.
_GHOST = 4
_TINY = {np.dtype("float64"): 1e-300, np.dtype("float32"): 1e-30}


def _pad_quadratic(f, axis: int):
    f = jnp.moveaxis(f, axis, 0)
    lo, hi, los, his = [f[0], f[1], f[2]], [f[-1], f[-2], f[-3]], [], []
    for _ in range(_GHOST):
        lo = [3 * lo[0] - 3 * lo[1] + lo[2], lo[0], lo[1]]
        hi = [3 * hi[0] - 3 * hi[1] + hi[2], hi[0], hi[1]]
        los.append(lo[0])
        his.append(hi[0])
    out = jnp.concatenate([jnp.stack(los[::-1]), f, jnp.stack(his)], 0)
    return jnp.moveaxis(out, 0, axis)


def _nonperiodic(grid: Grid, f, i: int, stencil):
    """Apply a periodic stencil `stencil(padded)` along axis i to f padded with
    quadratic ghost cells, then crop (the stencil never wraps into real data)."""
    axis = i - grid.ndim
    g = jnp.moveaxis(stencil(_pad_quadratic(f, axis)), axis, 0)[_GHOST:-_GHOST]
    return jnp.moveaxis(g, 0, axis)


def log_density(rho):
    """ℓ = ln ρ, with ρ clipped below at 1e-300·max ρ (1e-30 in float32)."""
    tiny = jnp.asarray(_TINY.get(np.dtype(rho.dtype), 1e-300), rho.dtype)
    return jnp.log(jnp.maximum(rho, tiny * jnp.max(rho)))


def _upwind5(grid: Grid, f, i: int, v):
    """v ∂f/∂x_i by the 5th-order upwind-biased stencil: exact for quintics, and
    its dissipation (∝ dx⁵ ∂⁶) damps the odd-even mode that central differences
    leave free in the advected tail."""
    axis = i - grid.ndim
    r = lambda k: jnp.roll(f, -k, axis=axis)  # f_{j+k}
    plus = -2 * r(-3) + 15 * r(-2) - 60 * r(-1) + 20 * f + 30 * r(1) - 3 * r(2)
    minus = 2 * r(3) - 15 * r(2) + 60 * r(1) - 20 * f - 30 * r(-1) + 3 * r(-2)
    return v * jnp.where(v > 0, plus, minus) / (60 * jnp.asarray(grid.spacing[i], f.dtype))


class LogFields(eqx.Module):
    """ℓ = ln ρ, its derivatives (FD8, non-periodic ghost cells), the bulk weight
    w and the phase mask χ, computed once per vector-field evaluation
    (`log_fields`)."""

    l: Array
    grad: tuple
    lap: Array
    w: Array
    chi: Array


def log_fields(grid: Grid, rho, floor, l=None) -> LogFields:
    """`LogFields` of ρ (ℓ = `log_density(ρ)` unless given).

    w is 1 in the bulk (ρ > floor^(3/5)·max ρ, 1e-9 in float64), 0 in the tail
    (ρ < floor^(13/15)·max ρ, 1e-13), C∞ in ln ρ between. The conservative
    forms lose relative accuracy where ρ changes by a large factor e^{λdx} per
    cell, λ = |∇ℓ| (the FD8 error of e^{λx} is ~(λ dx)⁸/630; measured, the
    quantum potential of a unit Gaussian on dx = 1/8 is off by 1.6e-3 at
    ρ ~ 1e-11 and by O(10) at 1e-16), so they hand over to the ln ρ forms
    there. (Switching on λdx instead of the level was tried: the weights then
    follow the noise in ∇ℓ cell by cell and seeded instabilities, measured on
    a packet in x²/2 + e^{−x²} and on the free Gaussian.) χ = `vacuum_mask`.
    """
    l = log_density(rho) if l is None else l
    n = grid.ndim
    gl = tuple(_nonperiodic(grid, l, i, lambda u, i=i: deriv(grid, u, i)) for i in range(n))
    lap = sum(_nonperiodic(grid, l, i, lambda u, i=i: second_deriv(grid, u, i)) for i in range(n))
    lo, hi = _bulk_levels(rho, floor)
    tiny = jnp.asarray(_TINY.get(np.dtype(rho.dtype), 1e-300), rho.dtype)
    rel = jnp.maximum(rho / jnp.max(rho), tiny)
    w = _smooth_step((jnp.log(rel) - float(np.log(lo))) / float(np.log(hi) - np.log(lo)))
    return LogFields(l, gl, lap, w, vacuum_mask(rho, floor))


def _bulk_levels(rho, floor):
    f = _default_floor(rho) if floor is None else floor
    return f ** (13 / 15), f ** (9 / 15)


def fisher_derivative(grid: Grid, rho, eps, lf: LogFields, kind="fd8"):
    """δF/δρ of the Fisher information F = ∫ρ(∇ln ρ)² = 4∫|∇√ρ|², evaluated as

        w · (−4 ∇²√(ρ+ε) / √(ρ+ε))  +  (1 − w) · (−|∇ℓ|² − 2∇²ℓ),   ℓ = ln ρ,

    with w from `log_fields`. The two are the same expression; the first (the
    exact discrete derivative of `fisher_energy`) loses relative accuracy in
    tails, the second is exact for any Gaussian tail. The quantum potential is
    Q = (m D²/2) δF/δρ at D = ħ/2m.
    """
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    bulk = -4 * laplacian(grid, R, kind) / R
    return lf.w * bulk + (1 - lf.w) * fisher_tail_derivative(lf)


def fisher_tail_derivative(lf: LogFields):
    """−|∇ℓ|² − 2∇²ℓ: the tail form of δF/δρ (`fisher_derivative`)."""
    return -sum(g**2 for g in lf.grad) - 2 * lf.lap


def quantum_potential(grid: Grid, rho, hbar, mass, eps, floor=None, kind="fd8"):
    """Q = −(ħ²/2m) ∇²√ρ/√ρ, with the small-density treatment of `fisher_derivative`."""
    lf = log_fields(grid, rho, floor)
    return hbar**2 / (8 * mass) * fisher_derivative(grid, rho, eps, lf, kind)


def log_continuity_rate(grid: Grid, rho, lf: LogFields, S, chirp, gS, mass, bulk_rate, floor, kind):
    """∂ℓ/∂t for ℓ = ln ρ: w · (`bulk_rate`/ρ) + (1 − w) · (−∇·v − v·∇ℓ).

    `bulk_rate` is ∂ρ/∂t in conservative form (−∇·(ρv), or δH/δS), which
    conserves ∫ρ exactly but loses relative accuracy in tails (`log_fields`);
    the tail form advects ℓ (5th-order upwind, ghost cells past the box
    edge), so the density front advances into the tail without a cliff, and
    ρ = e^ℓ stays positive. There v = frame velocity + χ∇S: S is damped where
    χ < 1 (`phase_rates`), and the density follows only the part of the flow
    that S carries (measured: with the full ∇S the damped/undamped mismatch
    dug holes in the tail of two colliding packets by t = 0.2). ∇·v takes the
    frame part Σc_i/m analytically (the frame velocity is not periodic).
    """
    w, l, chi = lf.w, lf.l, lf.chi
    gs = gradient(grid, S, kind)
    flow = [chi * g for g in gs]  # the part of ∇S the tail follows
    div_v = sum(chirp[i, 0] for i in range(grid.ndim)) / mass
    div_v = div_v + divergence(grid, flow, kind) / mass
    adv = 0
    for i, (g, gi, fi) in enumerate(zip(gS, gs, flow, strict=True)):
        v = _pad_quadratic((g - gi + fi) / mass, i - grid.ndim)  # frame part: linear, exact
        up = _nonperiodic(grid, l, i, lambda u, i=i, v=v: _upwind5(grid, u, i, v))
        adv = adv + chi * (g - gi + fi) / mass * lf.grad[i] + (1 - chi) * up
    tail = -div_v - adv
    return w * bulk_rate / jnp.where(w > 0, rho, 1) + (1 - w) * tail


def _smooth_step(z):
    """C∞ step: 0 for z <= 0, 1 for z >= 1 (exp(-1/z) construction)."""
    z = jnp.clip(z, 0, 1)
    f = lambda u: jnp.where(u > 0, jnp.exp(-1 / jnp.where(u > 0, u, 1)), 0)
    return f(z) / (f(z) + f(1 - z))


EDGE_CELLS = 4  # the half-width of the FD8 stencils


def edge_window(shape, dtype):
    """0 within EDGE_CELLS cells of the box edge, 1 beyond 2·EDGE_CELLS, C∞
    between: the phase frame is not periodic, so S is not evolved where the
    stencils would wrap around the box."""
    out = jnp.ones(shape, dtype)
    for axis, n in enumerate(shape):
        i = jnp.arange(n)
        d = jnp.minimum(i, n - 1 - i).astype(dtype)
        e = _smooth_step((d - EDGE_CELLS) / EDGE_CELLS)
        sh = [1] * len(shape)
        sh[axis] = n
        out = out * e.reshape(sh)
    return out


def vacuum_mask(rho, floor):
    """χ(ρ): 0 where ρ < floor·max ρ, 1 where ρ > √floor·max ρ, C∞ in ln ρ
    between; times `edge_window`."""
    f = _default_floor(rho) if floor is None else floor
    rel = rho / jnp.max(rho)
    tiny = jnp.asarray(f, rho.dtype)
    z = jnp.log(jnp.maximum(rel, tiny) / tiny) / (-0.5 * jnp.log(tiny))
    return _smooth_step(z) * edge_window(rho.shape, rho.dtype)


def phase_rates(grid: Grid, rho, e_loc, floor, S, relax, chi=None):
    """Split ∂S_total/∂t = −E_loc (up to a constant) into the frame and the rest.

    The ρ-weighted least-squares fit of −E_loc on {1, (x_i − μ_i)^k,
    k = 1..FRAME_DEGREE} (μ the mean position) gives the frame rates (ṗ, ċ); the
    residual, damped by `vacuum_mask`, is ∂S/∂t, and where χ < 1 S relaxes
    to 0 at rate `relax`. Returns (dS, dp, dc). With χ = 1 this is exactly
    ∂S_total/∂t = −E_loc + const (a global phase).
    """
    from math import comb

    dtype = rho.dtype
    xs = grid.mesh(dtype)
    w = rho / jnp.sum(rho)
    means = [jnp.sum(w * x) for x in xs]
    K = FRAME_DEGREE
    basis = [jnp.ones_like(rho)]
    for x, c in zip(xs, means, strict=True):
        basis += [(x - c) ** k for k in range(1, K + 1)]
    B = jnp.stack([b.reshape(-1) for b in basis])  # (nb, npts)
    wf = w.reshape(-1)
    G = (B * wf) @ B.T
    r = -e_loc.reshape(-1)
    coef = _solve_small(G, (B * wf) @ r)
    fit = (coef @ B).reshape(rho.shape)
    dp, dc = [], []
    for i, mu in enumerate(means):
        a = [coef[1 + i * K + k - 1] for k in range(1, K + 1)]  # a_k, k = 1..K
        # Σ_k a_k (x − μ)^k = Σ_j d_j x^j  (j >= 1; the constant is a global phase)
        d = [
            sum(a[k - 1] * comb(k, j) * (-mu) ** (k - j) for k in range(j, K + 1))
            for j in range(1, K + 1)
        ]
        dp.append(d[0])
        dc.append(jnp.stack([j * d[j - 1] for j in range(2, K + 1)]))
    chi = vacuum_mask(rho, floor) if chi is None else chi
    dS = chi * (-e_loc - fit) - (1 - chi) * relax * S
    return dS, jnp.stack(dp), jnp.stack(dc)


def relax_rate(grid: Grid, params):
    """γ = 0.1 ħ k_max²/2m: rate at which S relaxes to 0 in vacuum (χ = 0),
    i.e. the phase relaxes to its frame p·x + b∘x²/2 (a tenth of the
    grid's fastest frequency, so it never limits the RK4 step)."""
    return 0.1 * params.hbar * max(grid.k_max) ** 2 / (2 * params.mass)


def fisher_energy(grid: Grid, rho, eps, kind="fd8"):
    """−4 Σ √ρ_ε ∇²√ρ_ε dV = 4∫|∇√ρ_ε|² = ∫(∇ ln ρ_ε)² ρ_ε dx, ρ_ε = ρ + ε (the
    Fisher term without mD²/2), with the compact Laplacian of `second_deriv`."""
    R = jnp.sqrt(jnp.maximum(rho, 0) + eps)
    return -4 * grid.integrate(R * laplacian(grid, R, kind))


def hd_functional(grid: Grid, potential, t, rho, S, momentum, chirp, params, eps, kind="fd8"):
    """The discretized H_D[ρ, S] (SPEC §2), with the Fisher term on ρ + ε:

    Σ_x [ (∇S_total)²/2m ρ + (m D²/2) 4|∇√(ρ+ε)|² + V ρ ] dV.
    """
    m = params.mass
    D = params.diffusion()
    gS = frame_gradient(grid, S, momentum, chirp, kind)
    kin = grid.integrate(sum(g**2 for g in gS) * rho) / (2 * m)
    V = potential_values(grid, potential, t, params, rho.dtype)
    return kin + (m * D**2 / 2) * fisher_energy(grid, rho, eps, kind) + grid.integrate(V * rho)


def law_functional(law, t, y, params, rho=None, S=None, eps=None):
    """H_D in `law`'s discretization (grid, potential, derivative, floor) at the
    state `y`, with `rho`/`S` optionally replaced (the canonical law
    differentiates with respect to them) and ε = floor·max ρ unless given."""
    rho = y.rho if rho is None else rho
    S = y.S if S is None else S
    eps = _floor(y.rho, law.floor) if eps is None else eps
    return hd_functional(
        law.grid, law.potential, t, rho, S, y.momentum, y.chirp, params, eps, law.derivative
    )


def rk4(f, t, y, dt):
    """One classical Runge-Kutta step of dy/dt = f(t, y) on a pytree.

    The four stages run as a `lax.scan` over one traced `f`, so compile time
    is that of a single vector-field evaluation.
    """
    tm = jax.tree_util.tree_map
    c = jnp.asarray([0.0, 0.5, 0.5, 1.0], jnp.result_type(dt))
    w = jnp.asarray([1.0, 2.0, 2.0, 1.0], jnp.result_type(dt)) / 6

    def stage(carry, cw):
        k, acc = carry
        ci, wi = cw
        k = f(t + ci * dt, tm(lambda u, v: u + (ci * dt).astype(u.dtype) * v, y, k))
        acc = tm(lambda a_, v: a_ + (wi * dt).astype(a_.dtype) * v, acc, k)
        return (k, acc), None

    zeros = tm(jnp.zeros_like, y)
    (_, acc), _ = jax.lax.scan(stage, (zeros, zeros), (c, w))
    return tm(lambda u, v: u + v, y, acc)


def log_rk4_step(rates, t, y: MadelungState, dt) -> MadelungState:
    """One RK4 step of a (ρ, S) law in the variables (ℓ = ln ρ, S, p, c).

    `rates(t, rho, l, S, p, c)` returns (∂ℓ/∂t, ∂S/∂t, ṗ, ċ). Stepping ℓ keeps
    ρ = e^ℓ positive and lets tails grow by many decades per step without the
    stiffness ∂ρ/∂t = ρ·rate has in ρ (the same ODE, another chart).
    """
    f = lambda s, u: rates(s, jnp.exp(u[0]), *u)
    l, S, p, c = rk4(f, t, (log_density(y.rho), y.S, y.momentum, y.chirp), dt)
    return MadelungState(jnp.exp(l), S, p, c)


def log_vector_field(rates, t, y: MadelungState) -> MadelungState:
    """∂y/∂t in the state's own variables (∂ρ/∂t = ρ ∂ℓ/∂t)."""
    dl, dS, dp, dc = rates(t, y.rho, log_density(y.rho), y.S, y.momentum, y.chirp)
    return MadelungState(y.rho * dl, dS, dp, dc)


def _solve_small(G, r):
    """Solve the small SPD system G c = r by unrolled Gauss-Jordan (no LAPACK
    call, which is slow to compile; G is at most 7x7 here)."""
    n = G.shape[0]
    A = jnp.concatenate([G, r[:, None]], axis=1)
    for i in range(n):
        A = A.at[i].set(A[i] / A[i, i])
        for j in range(n):
            if j != i:
                A = A.at[j].set(A[j] - A[j, i] * A[i])
    return A[:, n]


def check_law_fields(law) -> None:
    if law.potential is not None and not callable(law.potential):
        raise TypeError("potential must be a function V(x, t, args) or None.")
    if law.floor is not None and not 0 < law.floor < 1e-2:
        raise ValueError(f"floor must be in (0, 1e-2); got {law.floor}.")
    if law.derivative not in DERIVATIVES:
        raise ValueError(f"derivative must be one of {DERIVATIVES}; got {law.derivative!r}.")


def check_madelung_state(grid: Grid, y, name="y0", floor=None) -> None:
    if not isinstance(y, MadelungState):
        raise TypeError(
            f"{name} must be a jqd.dqm MadelungState(rho, S, momentum); got {type(y).__name__}. "
            "Build one with state_from_psi(grid, psi) or gaussian_state(grid, ...)."
        )
    if not is_concrete(y):
        return
    rho, S = np.asarray(y.rho), np.asarray(y.S)
    for arr, what in ((rho, "rho"), (S, "S")):
        if arr.shape != grid.shape:
            raise ValueError(
                f"{name}.{what} has shape {arr.shape} but the grid has shape {grid.shape}; "
                "for a batch of states use jax.vmap over the leading axis."
            )
        if np.iscomplexobj(arr):
            raise ValueError(f"{name}.{what} must be real; got dtype {arr.dtype}.")
    if np.shape(y.momentum) != (grid.ndim,):
        raise ValueError(
            f"{name}.momentum must have shape ({grid.ndim},); got {np.shape(y.momentum)}."
        )
    if np.shape(y.chirp) != (grid.ndim, FRAME_DEGREE - 1):
        raise ValueError(
            f"{name}.chirp must have shape ({grid.ndim}, {FRAME_DEGREE - 1}); "
            f"got {np.shape(y.chirp)}."
        )
    check_finite((rho, S, np.asarray(y.momentum)), name)
    if rho.min() < -1e-8 * rho.max():
        raise ValueError(
            f"{name}.rho has negative values (min {rho.min():.3g}); a density must be >= 0."
        )
    check_normalized(rho.sum() * grid.cell_volume, f"{name}.rho")
    check_tail_resolution(grid, rho, floor, name)


MAX_BULK_JUMP = 3.0


def check_tail_resolution(grid: Grid, rho, floor=None, name="y0") -> None:
    """Reject a grid on which the bulk density (ρ > floor^(3/5)·max ρ, where the
    conservative forms are used, `log_fields`) changes by more than e³ per
    cell: there their relative error is O(1) and the run goes NaN (measured
    on a unit Gaussian with dx = a/2, where the jump is e^4.5)."""
    rho = np.asarray(rho, float)
    _, hi = _bulk_levels(rho, floor)
    l = np.log(np.maximum(rho, 1e-300 * rho.max()))
    bulk = rho >= hi * rho.max()
    worst, axis = 0.0, 0
    for i in range(grid.ndim):
        jump = np.abs(np.diff(l, axis=i))
        both = np.logical_and(np.delete(bulk, -1, axis=i), np.delete(bulk, 0, axis=i))
        if both.any() and jump[both].max() > worst:
            worst, axis = float(jump[both].max()), i
    if worst > MAX_BULK_JUMP:
        dx = grid.spacing[axis]
        raise ValueError(
            f"{name}.rho changes by a factor e^{worst:.2f} between neighbouring cells "
            f"along axis {axis} where ρ > {hi:.1e}·max ρ (at most e^{MAX_BULK_JUMP:g}): the "
            f"grid is too coarse for this density's tails. Refine the grid to dx <= "
            f"{dx * MAX_BULK_JUMP / worst:.3g} (now {dx:.3g}), or widen the state."
        )


def check_dqm_params(params, name="params", madelung=False) -> None:
    if not isinstance(params, DQMParams):
        raise TypeError(f"{name} must be jqd.dqm DQMParams; got {type(params).__name__}.")
    if not is_concrete(params):
        return
    check_positive(params.hbar, f"{name}.hbar")
    check_positive(params.mass, f"{name}.mass")
    if params.D is not None:
        check_positive(params.D, f"{name}.D", "D is a diffusion coefficient (default ħ/2m).")
        if madelung:
            d0 = np.asarray(params.hbar) / (2 * np.asarray(params.mass))
            if not np.allclose(np.asarray(params.D), d0, rtol=1e-12):
                raise ValueError(
                    f"{name}.D = {params.D} but the Madelung law is the D = ħ/2m = {d0} case; "
                    "leave D=None, or use CanonicalDQM for other values of D."
                )


def check_dqm_step(grid: Grid, y, params, dt) -> None:
    """RK4 on the Madelung dispersion ω = D k² (D = ħ/2m) is stable for ω dt < 2.8."""
    if dt is None or not is_concrete(y, params, dt):
        return
    k2 = float(np.asarray(grid.k_squared(np.float64)).max())
    D = float(np.asarray(params.diffusion()))
    D = max(D, float(np.asarray(params.hbar) / (2 * np.asarray(params.mass))))
    limit = 2.5 / (D * k2)
    if float(dt) > limit:
        raise ValueError(
            f"dt = {float(dt):.4g} is above the RK4 stability limit {limit:.3g} of this grid "
            f"(D k_max² dt < 2.5 with k_max² = {k2:.4g}); reduce dt or coarsen the grid."
        )


class Madelung(AbstractLaw):
    """Madelung equations on a periodic `Grid` (1-3 D), SPEC §2 (Z7-Z11):

        ∂ρ/∂t = −∇·(ρ ∇S_total/m)
        ∂S/∂t = −[(∇S_total)²/2m + V + Q],   Q = −(ħ²/2m) ∇²√ρ/√ρ

    with S_total = p·x + S (the phase frame and the small-density treatment
    of the module docstring), 8th-order differences, and classical RK4 steps
    in (ln ρ, S) (`step`). Units: ħ, m from `DQMParams` (D must be None or
    ħ/2m).

    The law is valid only away from nodes: run it through `evolve_madelung`
    (or observe `MadelungValidity`) to get the time and place where it
    breaks down. Validated against grid Schrödinger and the exact oscillator
    Gaussian (tests/test_dqm_madelung.py); its vector field equals
    `CanonicalDQM`'s (D = ħ/2m) to round-off.

    Attributes:
        grid: the periodic box.
        potential: `V(x, t, args)`, `x` the tuple of mesh arrays; None = free.
        floor: relative density floor ε/max ρ (None: 1e-15 in float64,
            1e-6 in float32).
        derivative: "fd8" (default) or "spectral" (module docstring).
    """

    grid: Grid
    potential: Callable | None = eqx.field(static=True, default=None)
    floor: float | None = eqx.field(static=True, default=None)
    derivative: str = eqx.field(static=True, default="fd8")

    def __check_init__(self):
        check_law_fields(self)

    def rates(self, t, rho, l, S, momentum, chirp, params: DQMParams):
        """(∂ℓ/∂t, ∂S/∂t, ṗ, ċ) at ρ = e^ℓ (see `log_rk4_step`)."""
        grid, kind, m = self.grid, self.derivative, params.mass
        eps = _floor(rho, self.floor)
        lf = log_fields(grid, rho, self.floor, l)
        gS = frame_gradient(grid, S, momentum, chirp, kind)
        bulk = -divergence(grid, [rho * g / m for g in gS], kind)
        dl = log_continuity_rate(grid, rho, lf, S, chirp, gS, m, bulk, self.floor, kind)
        V = potential_values(grid, self.potential, t, params, rho.dtype)
        Q = params.hbar**2 / (8 * m) * fisher_derivative(grid, rho, eps, lf, kind)
        e_loc = sum(g**2 for g in gS) / (2 * m) + V + Q
        dS, dp, dc = phase_rates(grid, rho, e_loc, self.floor, S, relax_rate(grid, params), lf.chi)
        return dl, dS, dp, dc

    def vector_field(self, t, y: MadelungState, params: DQMParams) -> MadelungState:
        return log_vector_field(lambda s, *u: self.rates(s, *u, params), t, y)

    def step(self, t, y, params, dt, key=None):
        return log_rk4_step(lambda s, *u: self.rates(s, *u, params), t, y, dt)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """H_D at D = ħ/2m: ⟨H⟩ of the corresponding wavefunction (up to ε)."""
        return law_functional(self, t, y, params)

    def check(self, y, params, dt=None):
        check_madelung_state(self.grid, y, floor=self.floor)
        check_dqm_params(params, madelung=True)
        check_dqm_step(self.grid, y, params, dt)


# -- conversions ----------------------------------------------------------------
def state_to_psi(grid: Grid, y: MadelungState, hbar=1.0):
    """ψ = √ρ exp(i S_total/ħ) (complex, same precision as ρ)."""
    phase = y.S + frame_phase(grid, y.momentum, y.chirp, y.rho.dtype)
    return jnp.sqrt(jnp.maximum(y.rho, 0)) * jnp.exp(1j * phase / hbar)


def state_from_psi(grid: Grid, psi, hbar=1.0, floor=None) -> MadelungState:
    """(ρ, S, p) from a grid wavefunction without phase unwrapping.

    ∇S_total = j/ρ with the current j = ħ Im(ψ*∇ψ) (spectral). The constant
    part p is the mean momentum ⟨∇S_total⟩_ρ; the periodic S solves
    ∇²S = ∇·[χ(j/ρ − p)] (χ = ρ/(ρ+ε), so S is smooth where ψ has
    underflowed), and the box mean of the fitted gradient goes back into p
    so that ∇S_total = j/ρ where ρ ≫ ε. Valid for node-free ψ.
    """
    rho = jnp.abs(psi) ** 2
    eps = _floor(rho, floor)
    gpsi = grid.gradient(psi)
    j = [hbar * jnp.imag(jnp.conj(psi) * g) for g in gpsi]
    mass = jnp.sum(rho)
    p = jnp.stack([jnp.sum(ji) / mass for ji in j])  # ⟨j/ρ⟩_ρ = Σj/Σρ
    target = [(ji - rho * p[i]) / (rho + eps) for i, ji in enumerate(j)]
    c = jnp.stack([jnp.mean(tg) for tg in target])
    div = divergence(grid, target, "spectral")
    k2 = grid.k_squared(rho.dtype)
    Sk = jnp.where(k2 > 0, -grid.fft(div) / jnp.where(k2 > 0, k2, 1), 0)
    S = jnp.real(grid.ifft(Sk))
    return MadelungState(rho, S, p + c)


def gaussian_state(grid: Grid, a=1.0, x0=0.0, p0=0.0, hbar=1.0, dtype=float) -> MadelungState:
    """The Gaussian packet of `jqd.reference.gaussian_packet` as (ρ, S = 0, p = p0)."""
    dtype = jnp.dtype(dtype)
    x0 = np.broadcast_to(np.asarray(x0, float), (grid.ndim,))
    p0 = np.broadcast_to(np.asarray(p0, float), (grid.ndim,))
    rho = jnp.ones(grid.shape, dtype)
    for x, c in zip(grid.mesh(dtype), x0, strict=True):
        rho = rho * jnp.exp(-((x - c) ** 2) / a**2) / jnp.sqrt(np.pi * a**2)
    return MadelungState(rho, jnp.zeros(grid.shape, dtype), jnp.asarray(p0, dtype))


# -- observables ------------------------------------------------------------------
def _argmin_position(grid: Grid, values):
    idx = jnp.unravel_index(jnp.argmin(values), grid.shape)
    return jnp.stack([ax[i] for ax, i in zip(grid.axes(values.dtype), idx, strict=True)])


class MadelungValidity(eqx.Module):
    """Breakdown diagnostics of a (ρ, S) state (module docstring), as a dict:

    node_depth: min over the box of ρ(x)/min(max_{y≤x} ρ, max_{y≥x} ρ) along
        each axis, over points enclosed by density above `hole_level`·max ρ
        (1 for unimodal ρ; → 0 at a node inside the support).
    node_position: where that minimum is (shape (ndim,)).
    resolution: max over the support (ρ > `hole_level`·max ρ) of
        dx·max(k_Q, k_v), with the local quantum wavenumber
        k_Q = √(2m|Q|)/ħ and the flow-shear wavenumber k_v = √|∇²S_total/ħ|.
        Both diverge at a node; the 8th-order stencil's relative error is
        ~ (k dx)⁸/630, and errors were measured to reach 1e-4 of the density
        when this passes 0.3 (interfering packets, tests/test_dqm_madelung.py).
    resolution_position: where that maximum is.
    floored_mass: ∫ρ over the regularized region ρ < ε.
    edge_density: max ρ/max ρ within 2·EDGE_CELLS cells of the box edge, where
        the (non-periodic) phase frame wraps around the box and S is not
        evolved: the box no longer holds the state when this is not small.
    valid: finite, node_depth >= `node_threshold`, resolution <
        `resolution_threshold` and edge_density < `edge_threshold`.

    Works on any law whose `density` is a position density on `law.grid`;
    for a state without S (e.g. a wavefunction) only the node part is
    meaningful (resolution is 0).
    """

    law: AbstractLaw
    node_threshold: float = eqx.field(static=True, default=1e-3)
    resolution_threshold: float = eqx.field(static=True, default=0.3)
    hole_level: float = eqx.field(static=True, default=1e-2)
    edge_threshold: float = eqx.field(static=True, default=1e-10)

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        rmax = jnp.max(rho)
        inner = edge_window(rho.shape, rho.dtype) == 1
        outer = jnp.where(inner, 0, rho)
        edge = jnp.max(outer) / rmax
        edge_pos = _argmin_position(grid, -outer)
        ratio = jnp.ones_like(rho)
        for axis in range(grid.ndim):
            left = jax.lax.cummax(rho, axis=axis)
            right = jax.lax.cummax(rho, axis=axis, reverse=True)
            enc = jnp.minimum(left, right)
            r = jnp.where(enc > self.hole_level * rmax, rho / jnp.where(enc > 0, enc, 1), 1)
            ratio = jnp.minimum(ratio, r)
        depth = jnp.min(ratio)
        node_pos = _argmin_position(grid, ratio)
        if isinstance(y, MadelungState):
            kind = getattr(self.law, "derivative", "fd8")
            floor = getattr(self.law, "floor", None)
            hbar, m = params.hbar, params.mass
            eps = _floor(rho, floor)
            Q = quantum_potential(grid, rho, hbar, m, eps, floor, kind)
            kq = jnp.sqrt(2 * m * jnp.abs(Q)) / hbar
            shear = divergence(grid, phase_gradient(grid, y, kind), kind)
            kv = jnp.sqrt(jnp.abs(shear) / hbar)
            k = jnp.where(rho > self.hole_level * rmax, jnp.maximum(kq, kv), 0)
            res = jnp.max(k) * max(grid.spacing)
            res_pos = _argmin_position(grid, -k)
            floored = grid.integrate(jnp.where(rho < eps, rho, 0))
            finite = jnp.all(jnp.isfinite(rho)) & jnp.all(jnp.isfinite(y.S))
        else:
            res = jnp.zeros((), rho.dtype)
            res_pos = jnp.zeros((grid.ndim,), rho.dtype)
            floored = jnp.zeros((), rho.dtype)
            finite = jnp.all(jnp.isfinite(rho))
        valid = finite & (depth >= self.node_threshold) & (res < self.resolution_threshold)
        valid = valid & (edge < self.edge_threshold)
        return {
            "node_depth": depth,
            "node_position": node_pos,
            "resolution": res,
            "resolution_position": res_pos,
            "floored_mass": floored,
            "edge_density": edge,
            "edge_position": edge_pos,
            "finite": finite,
            "valid": valid,
        }


class FickVelocity(eqx.Module):
    """Fick velocity u = −D ∇ρ/ρ (Z23), shape (ndim, *grid.shape); ρ + ε in
    the denominator (module docstring), D from params (ħ/2m if None)."""

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        eps = _floor(rho, getattr(self.law, "floor", None))
        D = params.diffusion()
        return jnp.stack([-D * g / (rho + eps) for g in grid.gradient(rho)])


class UncertaintyProduct(eqx.Module):
    """⟨(m u_i)²⟩ ⟨(x_i − ⟨x_i⟩)²⟩ per axis, shape (ndim,) (Z21, SPEC §2):
    ≥ ħ²/4 at D = ħ/2m, with equality for a Gaussian.

    ⟨(m u)²⟩ = m²D² ∫(∂_i ρ)²/ρ is computed as m²D² 4∫(∂_i√ρ)² (spectral, no
    division by ρ, so it is exact for states with nodes too).
    """

    law: AbstractLaw

    def __call__(self, t, y, params):
        grid = self.law.grid
        rho = self.law.density(y)
        norm = grid.integrate(rho)
        R = jnp.sqrt(jnp.maximum(rho, 0))
        mD = params.mass * params.diffusion()
        out = []
        for x, g in zip(grid.mesh(rho.dtype), grid.gradient(R), strict=True):
            mean = grid.integrate(x * rho) / norm
            var = grid.integrate((x - mean) ** 2 * rho) / norm
            out.append(mD**2 * 4 * grid.integrate(g**2) / norm * var)
        return jnp.stack(out)


# -- breakdown reporting ----------------------------------------------------------
@dataclass(frozen=True)
class Breakdown:
    """Where and when a hydrodynamic run stopped being valid.

    Attributes:
        time: first save time at which `MadelungValidity` failed.
        index: its index in `solution.ts`.
        position: the place (the node, or where the resolution is worst).
        reason: "node", "resolution", "edge" or "nonfinite".
        node_depth, resolution, edge_density: the diagnostic values then.
    """

    time: float
    index: int
    position: tuple[float, ...]
    reason: str
    node_depth: float
    resolution: float
    edge_density: float = 0.0


class MadelungBreakdownError(RuntimeError):
    """A (ρ, S) run left the hydrodynamic picture's validity range.

    Attributes: `breakdown` (a `Breakdown`) and `solution` (the full run, so
    the valid part can still be used)."""

    def __init__(self, message, breakdown: Breakdown, solution: Solution):
        super().__init__(message)
        self.breakdown = breakdown
        self.solution = solution


def find_breakdown(
    ts, validity: dict, node_threshold: float = 1e-3, edge_threshold: float = 1e-10
) -> Breakdown | None:
    """The first failing save of a `MadelungValidity` time series, or None."""
    valid = np.asarray(validity["valid"])
    if valid.ndim != 1:
        raise ValueError(
            "find_breakdown takes one run's validity series (1-D 'valid'); for a batch, "
            "loop over it."
        )
    bad = np.flatnonzero(~valid)
    if bad.size == 0:
        return None
    i = int(bad[0])
    depth = float(np.asarray(validity["node_depth"])[i])
    res = float(np.asarray(validity["resolution"])[i])
    edge = float(np.asarray(validity.get("edge_density", np.zeros(valid.shape)))[i])
    if not bool(np.asarray(validity["finite"])[i]):
        reason, pos = "nonfinite", validity["node_position"]
    elif depth < node_threshold:
        reason, pos = "node", validity["node_position"]
    elif edge >= edge_threshold:
        reason, pos = "edge", validity["edge_position"]
    else:
        reason, pos = "resolution", validity["resolution_position"]
    position = tuple(float(v) for v in np.asarray(pos)[i])
    return Breakdown(float(np.asarray(ts)[i]), i, position, reason, depth, res, edge)


def evolve_madelung(
    law: AbstractLaw,
    y0: MadelungState,
    params: DQMParams,
    *,
    dt,
    n_save: int,
    steps_per_save: int = 1,
    t0=0.0,
    observe=None,
    on_breakdown: str = "raise",
    node_threshold: float = 1e-3,
    resolution_threshold: float = 0.3,
    hole_level: float = 1e-2,
    edge_threshold: float = 1e-10,
    **evolve_kwargs,
) -> Solution:
    """`jqd.evolve` for (ρ, S) laws, with breakdown detection.

    Runs `jqd.evolve` observing `observe` and `MadelungValidity`; the
    validity series is returned in `solution.stats["validity"]`, and the
    first failure (or None) in `solution.stats["breakdown"]` (a `Breakdown`,
    concrete runs only).

    Args:
        on_breakdown: "raise" (raise `MadelungBreakdownError` naming the time
            and place; the solution is attached to the error) or "report"
            (return the solution; read `stats["breakdown"]`).
        node_threshold, resolution_threshold, hole_level, edge_threshold: see
            `MadelungValidity`.
        Other arguments: as for `jqd.evolve` (NaN/Inf counts as a breakdown).
    """
    if on_breakdown not in ("raise", "report"):
        raise ValueError(f"on_breakdown must be 'raise' or 'report'; got {on_breakdown!r}.")
    validity = MadelungValidity(
        law, node_threshold, resolution_threshold, hole_level, edge_threshold
    )
    obs = {"user": (lambda t, y, p: y) if observe is None else observe, "validity": validity}
    if isinstance(observe, dict | list | tuple):
        from .._evolve import _as_observer

        obs["user"] = _as_observer(observe)
    sol = evolve(
        law,
        y0,
        params,
        dt=dt,
        n_save=n_save,
        steps_per_save=steps_per_save,
        t0=t0,
        observe=obs,
        on_nonfinite="ignore",
        **evolve_kwargs,
    )
    stats = dict(sol.stats)
    stats["validity"] = sol.observables["validity"]
    out = Solution(ts=sol.ts, observables=sol.observables["user"], y_final=sol.y_final, stats=stats)
    if not is_concrete(sol.ts, stats["validity"]):
        return out
    br = find_breakdown(sol.ts, stats["validity"], node_threshold, edge_threshold)
    stats["breakdown"] = br
    if br is not None and on_breakdown == "raise":
        where = ", ".join(f"{v:.4g}" for v in br.position)
        what = {
            "node": f"a node formed inside the support (node depth {br.node_depth:.3g} < "
            f"{node_threshold:g})",
            "resolution": f"the local quantum wavenumber exceeds what the grid resolves "
            f"(k dx = {br.resolution:.3g} >= {resolution_threshold:g}; a node is forming)",
            "edge": f"the density reached the box edge ({br.edge_density:.3g} of its peak >= "
            f"{edge_threshold:g}), where the phase frame wraps around; use a larger box",
            "nonfinite": "the state became NaN or Inf",
        }[br.reason]
        raise MadelungBreakdownError(
            f"{type(law).__name__}: the hydrodynamic (ρ, S) picture broke down at "
            f"t = {br.time:.6g}, x = ({where}): {what}. The run up to the previous save "
            "is attached (error.solution); continue with grid Schrödinger past this time, "
            "or pass on_breakdown='report'.",
            br,
            out,
        )
    return out
