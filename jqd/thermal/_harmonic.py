"""Harmonic lattices evolved exactly as Gaussian states (physics §7.4): the
symplectic mode rotation S_k(t), written in ω² so that it is smooth and exact
through a free mode (ω = 0: Q += P t/m)."""

from __future__ import annotations

import dataclasses
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards
from .._guards import Check
from .._law import AbstractLaw
from ._classical import check_scalar_params
from ._lattice import Lattice

KINDS = ("mode", "dense")
DENSE_CHECK_MAX_N = 2048  # full eigenvalue check of Σ + iħJ/2 up to this N


class LatticeParams(eqx.Module):
    """Constants of a harmonic lattice (all differentiable).

    Attributes:
        mass: atom mass m > 0.
        spring: spring constant of every bond (> 0).
        pinning: on-site spring constant (>= −spring λ_min; 0 leaves the
            periodic lattice's centre of mass free).
        hbar: ħ > 0.
    """

    mass: float | Array = 1.0
    spring: float | Array = 1.0
    pinning: float | Array = 0.0
    hbar: float | Array = 1.0


class ModeCovariance(eqx.Module):
    """Mode-diagonal covariance: ⟨δQ_k²⟩, ⟨{δQ_k, δP_k}⟩/2, ⟨δP_k²⟩, each (N,)."""

    qq: Array
    qp: Array
    pp: Array


class DenseCovariance(eqx.Module):
    """Full symmetrized covariance (2N, 2N) of z = (Q_1..Q_N, P_1..P_N) (mode basis)."""

    matrix: Array


class GaussianState(eqx.Module):
    """A Gaussian state: mode-basis means `q`, `p` (N,) and covariance `cov`."""

    q: Array
    p: Array
    cov: ModeCovariance | DenseCovariance


def _sinc_cos(x2):
    """(sin x / x, cos x) as functions of x² (smooth, exact derivatives at 0)."""
    small = x2 < 1e-3
    xs = jnp.sqrt(jnp.where(small, 1.0, jnp.abs(x2)))
    big_sinc = jnp.where(x2 > 0, jnp.sin(xs) / xs, jnp.sinh(xs) / xs)
    big_cos = jnp.where(x2 > 0, jnp.cos(xs), jnp.cosh(xs))
    z = jnp.where(small, x2, 0.0)  # Taylor series, error < 1e-18 for |x²| < 1e-3
    ser_sinc = 1 - z / 6 * (1 - z / 20 * (1 - z / 42 * (1 - z / 72)))
    ser_cos = 1 - z / 2 * (1 - z / 12 * (1 - z / 30 * (1 - z / 56 * (1 - z / 90))))
    return jnp.where(small, ser_sinc, big_sinc), jnp.where(small, ser_cos, big_cos)


def rotation(omega2, mass, dt):
    """(a, b, c, d) of S_k = [[a, b], [c, d]] for every mode (exact, any dt)."""
    s, c = _sinc_cos(omega2 * dt**2)
    return c, dt * s / mass, -mass * omega2 * dt * s, c


def rotate(y: GaussianState, rot) -> GaussianState:
    """μ -> S μ, Σ -> S Σ Sᵀ."""
    a, b, c, d = rot
    q, p = a * y.q + b * y.p, c * y.q + d * y.p
    if isinstance(y.cov, ModeCovariance):
        qq, qp, pp = y.cov.qq, y.cov.qp, y.cov.pp
        cov = ModeCovariance(
            qq=a * a * qq + 2 * a * b * qp + b * b * pp,
            qp=a * c * qq + (a * d + b * c) * qp + b * d * pp,
            pp=c * c * qq + 2 * c * d * qp + d * d * pp,
        )
    else:
        n = a.shape[-1]
        M = y.cov.matrix
        top, bot = M[..., :n, :], M[..., n:, :]  # rows: S Σ
        M = jnp.concatenate(
            [a[:, None] * top + b[:, None] * bot, c[:, None] * top + d[:, None] * bot], axis=-2
        )
        left, right = M[..., :n], M[..., n:]  # columns: (S Σ) Sᵀ
        M = jnp.concatenate([left * a + right * b, left * c + right * d], axis=-1)
        cov = DenseCovariance(M)
    return GaussianState(q, p, cov)


def physical_guards(cov, hbar, name: str = "y0.cov") -> list[Check]:
    """Σ + iħJ/2 ≥ 0 (the uncertainty principle), symmetric Σ for dense."""
    xp = _guards.array_module(cov, hbar)
    fix = "Build it with ground_state/thermal_state/product_state, or check how it was made."
    if isinstance(cov, ModeCovariance):
        qq, qp, pp = (xp.asarray(x) for x in (cov.qq, cov.qp, cov.pp))
        h2 = xp.asarray(hbar) ** 2 / 4
        eps = 1e3 * float(np.finfo(qq.dtype).eps)
        det = qq * pp - qp * qp - h2
        tol = -eps * xp.maximum(qq * pp, h2)
        return [
            Check(
                (qq >= 0) & (pp >= 0) & (det >= tol),
                f"{name} violates Σ + iħJ/2 ≥ 0 (per mode qq·pp − qp² ≥ ħ²/4, qq, pp ≥ 0): "
                f"worst qq·pp − qp² − ħ²/4 = {{value}}. {fix}",
                det,
            )
        ]
    M = xp.asarray(cov.matrix)
    n = M.shape[-1] // 2
    eps = 1e3 * float(np.finfo(M.dtype).eps)
    scale = xp.maximum(xp.max(xp.abs(M)), xp.asarray(hbar))
    asym = xp.max(xp.abs(M - xp.swapaxes(M, -1, -2)))
    out = [
        Check(
            asym <= eps * scale,
            f"{name}.matrix must be symmetric; max|Σ − Σᵀ| = {{value}}. Use (Σ + Σᵀ)/2.",
            asym,
        )
    ]
    if n > DENSE_CHECK_MAX_N:  # too costly: the per-mode 2x2 necessary condition only
        d = xp.diagonal(M, axis1=-2, axis2=-1)
        qpd = xp.diagonal(M[..., :n, n:], axis1=-2, axis2=-1)
        return out + physical_guards(ModeCovariance(d[..., :n], qpd, d[..., n:]), hbar, name)
    J = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    low = xp.linalg.eigvalsh(M + 0.5j * xp.asarray(hbar) * J)[..., 0]
    out.append(
        Check(
            low >= -eps * scale,
            f"{name} violates Σ + iħJ/2 ≥ 0 (the uncertainty principle): its lowest "
            f"eigenvalue is {{value}}. {fix}",
            low,
        )
    )
    return out


def _memory_limit() -> float:
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8e9


class HarmonicLattice(AbstractLaw):
    """Exact Gaussian-state evolution on a harmonic `Lattice` (physics §7.4).

    State: `GaussianState` in the mode basis; params: `LatticeParams`. `step`
    is the exact symplectic mode rotation (any dt).

    Attributes:
        lattice: the `Lattice` (springs, boundary, modes).
        covariance: "mode" (`ModeCovariance`, O(N) per step) or "dense"
            (`DenseCovariance`, O(N²) per step and memory).
        max_bytes: refuse a dense covariance whose estimated memory
            (2 · (2N)² · 8 bytes: the state and the rotated copy) exceeds
            this; default half the physical memory.

    Validated against the dense matrix exponential of the 2N×2N generator and a
    two-atom `jqd.SchrodingerGrid` (physics §7.4, tests/test_thermal_harmonic.py).
    """

    lattice: Lattice
    covariance: str = eqx.field(static=True, default="mode")
    max_bytes: float | None = eqx.field(static=True, default=None)
    rot: tuple | None = None  # (a, b, c, d) set by `prepare`

    def __check_init__(self):
        if not isinstance(self.lattice, Lattice):
            raise ValueError(
                f"lattice must be a jqd.thermal.Lattice; got {type(self.lattice).__name__}."
            )
        if self.covariance not in KINDS:
            raise ValueError(f"covariance must be one of {KINDS}; got {self.covariance!r}.")
        if self.covariance == "dense":
            n = self.lattice.n_sites
            need = 2 * (2 * n) ** 2 * 8
            limit = _memory_limit() if self.max_bytes is None else self.max_bytes
            if need > limit:
                raise ValueError(
                    f"covariance='dense' for N = {n} atoms needs about {need / 1e9:.3g} GB "
                    f"(2 x (2N)^2 x 8 bytes) but the limit is {limit / 1e9:.3g} GB: use "
                    "covariance='mode' (O(N), exact for states without inter-mode "
                    "correlations), a smaller lattice, or pass max_bytes."
                )

    @property
    def n_modes(self) -> int:
        return self.lattice.n_sites

    def omega_squared(self, params, dtype=jnp.float64):
        """ω_k² = (spring λ_k + pinning)/mass, (N,) in mode order."""
        if _on_host(params, dtype):
            return jax.device_put(omega_squared_np(self.lattice.eigenvalues(dtype, np), params))
        lam = self.lattice.eigenvalues(dtype)
        return ((params.spring * lam + params.pinning) / params.mass).astype(dtype)

    def frequencies(self, params, dtype=jnp.float64):
        """ω_k (N,) (0 for a free mode)."""
        if _on_host(params, dtype):
            w2 = omega_squared_np(self.lattice.eigenvalues(dtype, np), params)
            return jax.device_put(np.where(w2 > 0, np.sqrt(np.where(w2 > 0, w2, 1.0)), 0.0))
        w2 = self.omega_squared(params, dtype)
        return jnp.where(w2 > 0, jnp.sqrt(jnp.where(w2 > 0, w2, 1.0)), 0.0)

    def prepare(self, params, dt):
        dtype = jnp.asarray(dt).dtype
        w2 = self.omega_squared(params, dtype)
        mass = jnp.asarray(params.mass).astype(dtype)
        return HarmonicLattice(
            self.lattice, self.covariance, self.max_bytes, rotation(w2, mass, dt)
        )

    def step(self, t, y, params, dt, key=None):
        dtype = y.q.dtype
        rot = self.rot or self.prepare(params, jnp.asarray(dt, dtype)).rot
        return rotate(y, tuple(jnp.asarray(r).astype(dtype) for r in rot))

    def energy(self, t, y, params):
        """⟨H⟩ = Σ_k (⟨P_k²⟩/2m + ½ m ω_k² ⟨Q_k²⟩)."""
        kinetic, potential = mode_energy_terms(self, params, y)
        return jnp.sum(kinetic + potential)

    def check(self, y, params, dt=None):
        n = self.n_modes
        if not isinstance(y, GaussianState):
            raise ValueError(
                f"y0 must be a jqd.thermal.GaussianState; got {type(y).__name__}. Build one with "
                "jqd.thermal.ground_state, thermal_state or product_state."
            )
        want = ModeCovariance if self.covariance == "mode" else DenseCovariance
        if not isinstance(y.cov, want):
            raise ValueError(
                f"y0.cov must be a {want.__name__} for covariance={self.covariance!r}; got "
                f"{type(y.cov).__name__}. Build the state with this law, or change covariance."
            )
        arrays = {"q": y.q, "p": y.p} | {
            f"cov.{f.name}": getattr(y.cov, f.name) for f in dataclasses.fields(y.cov)
        }
        for name, x in arrays.items():
            shape = (2 * n, 2 * n) if name == "cov.matrix" else (n,)
            if jnp.shape(x) != shape:
                raise ValueError(
                    f"y0.{name} must have shape {shape} for N = {n} modes; got "
                    f"{jnp.shape(x)}. For a batch use jax.vmap."
                )
        check_scalar_params(params, ("mass", "spring", "pinning", "hbar"))

    def checks(self, y, params, dt=None):
        out = _guards.scalar(
            params.spring, "params.spring", positive=True, fix="Springs must pull back."
        )
        out += omega2_guards(self, params)
        out += physical_guards(y.cov, params.hbar)
        return out


def traced_leaves(tree):
    """`tree` with its Python and NumPy numbers as device arrays (the same dtypes and
    weak types): a jitted helper then traces them, not one program per value."""
    return jax.tree.map(lambda x: x if isinstance(x, jax.Array) else jax.device_put(x), tree)


def _on_host(params, dtype) -> bool:
    """Concrete float64 params: ω² in NumPy (no compiled program, same bits)."""
    return not _guards.is_traced(params) and np.dtype(dtype) == np.float64


def omega_squared_np(lam: np.ndarray, params) -> np.ndarray:
    """(spring λ + pinning)/mass for concrete params in NumPy, bit for bit the eager
    jnp result (XLA divides by the scalar mass as a multiply by its reciprocal)."""
    spring, pinning, mass = (
        np.asarray(x, float) for x in (params.spring, params.pinning, params.mass)
    )
    return (spring * lam + pinning) * (1 / mass)


def omega2_guards(law: HarmonicLattice, params) -> list[Check]:
    """ω_k² ≥ 0 for every mode (else the lattice is unstable), naming the mode."""
    w2 = law.omega_squared(params)
    xp = _guards.array_module(w2)
    w2 = np.asarray(w2) if xp is np else w2
    ok = w2 >= 0
    return [
        _guards.described(
            xp.all(ok),
            "a mode has ω² < 0 (unstable lattice): raise params.pinning or params.spring.",
            lambda: (
                f"mode {int(np.argmin(w2))} has ω² = {float(np.min(w2)):.4g} < 0 (unstable "
                "lattice): raise params.pinning above "
                f"{float(-np.min(w2) * np.asarray(params.mass) + np.asarray(params.pinning)):.4g} "
                "or params.spring."
            ),
        )
    ]


def mode_energy_terms(law: HarmonicLattice, params, y: GaussianState, xp=jnp):
    """(kinetic (N,), potential (N,)) mean energies of every mode; with `xp=np`
    (concrete float64 inputs) in NumPy, bit for bit the eager jnp result."""
    if xp is np:
        y = jax.tree.map(np.asarray, y)
        w2 = omega_squared_np(law.lattice.eigenvalues(np.float64, np), params)
        m = np.asarray(params.mass, float)
    else:
        w2 = law.omega_squared(params, y.q.dtype)
        m = jnp.asarray(params.mass).astype(y.q.dtype)
    if isinstance(y.cov, ModeCovariance):
        qq, pp = y.cov.qq, y.cov.pp
    else:
        n = y.q.shape[-1]
        d = xp.diagonal(y.cov.matrix, axis1=-2, axis2=-1)
        qq, pp = d[..., :n], d[..., n:]
    kinetic = y.p**2 + pp
    # XLA divides by a scalar as a multiply by its reciprocal
    kinetic = kinetic * (1 / (2 * m)) if xp is np else kinetic / (2 * m)
    return kinetic, 0.5 * m * w2 * (y.q**2 + qq)
