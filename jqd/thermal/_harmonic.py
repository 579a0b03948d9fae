"""Harmonic lattices evolved exactly as Gaussian states (physics §7.4): the law,
whose step is the symplectic mode rotation S_k(t) written in ω² (smooth and exact
through a free mode, ω = 0: Q += P t/m), the preparations and the observables.

Preparations return a `GaussianState` in the mode basis of the law's lattice,
with the law's covariance kind. Observables of a mode-diagonal covariance on a
regular lattice cost O(N log N) (docs/internals/thermal.md#squares).
"""

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
from ._lattice import DENSE_AXIS_MAX, Lattice, _basis_1d, add_springs, squares_1d

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
    violates = f"{name} violates Σ + iħJ/2 ≥ 0 (the uncertainty principle)"
    fix = "Build it with ground_state/thermal_state/product_state, or check how it was made."
    if isinstance(cov, ModeCovariance):
        qq, qp, pp = (xp.asarray(x) for x in (cov.qq, cov.qp, cov.pp))
        h2 = xp.asarray(hbar) ** 2 / 4
        eps = 1e3 * float(np.finfo(qq.dtype).eps)
        det = qq * pp - qp * qp - h2
        ok = (qq >= 0) & (pp >= 0) & (det >= -eps * xp.maximum(qq * pp, h2))
        return [Check(ok, f"{violates}: worst qq·pp − qp² − ħ²/4 = {{value}}. {fix}", det)]
    M = xp.asarray(cov.matrix)
    n = M.shape[-1] // 2
    eps = 1e3 * float(np.finfo(M.dtype).eps)
    scale = xp.maximum(xp.max(xp.abs(M)), xp.asarray(hbar))
    asym = xp.max(xp.abs(M - xp.swapaxes(M, -1, -2)))
    symmetric = f"{name}.matrix must be symmetric; max|Σ − Σᵀ| = {{value}}. Use (Σ + Σᵀ)/2."
    out = [Check(asym <= eps * scale, symmetric, asym)]
    if n > DENSE_CHECK_MAX_N:  # too costly: the per-mode 2x2 necessary condition only
        d = xp.diagonal(M, axis1=-2, axis2=-1)
        qpd = xp.diagonal(M[..., :n, n:], axis1=-2, axis2=-1)
        return out + physical_guards(ModeCovariance(d[..., :n], qpd, d[..., n:]), hbar, name)
    J = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    low = xp.linalg.eigvalsh(M + 0.5j * xp.asarray(hbar) * J)[..., 0]
    message = f"{violates}: its lowest eigenvalue is {{value}}. {fix}"
    return out + [Check(low >= -eps * scale, message, low)]


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
            raise ValueError(f"lattice must be a Lattice; got {type(self.lattice).__name__}.")
        if self.covariance not in KINDS:
            raise ValueError(f"covariance must be one of {KINDS}; got {self.covariance!r}.")
        if self.covariance == "dense":
            n = self.lattice.n_sites
            need = 2 * (2 * n) ** 2 * 8
            limit = _memory_limit() if self.max_bytes is None else self.max_bytes
            if need > limit:
                raise ValueError(
                    f"covariance='dense' for N = {n} atoms needs about {need / 1e9:.3g} GB, over "
                    f"the limit {limit / 1e9:.3g} GB: use covariance='mode' (O(N), exact without "
                    "inter-mode correlations), a smaller lattice, or pass max_bytes."
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
        return dataclasses.replace(self, rot=rotation(w2, mass, dt))

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


def _mode_check(w2, strict: bool, message: str, more: dict | None = None) -> Check:
    """ω_k² >= 0 (> 0 if `strict`) for every mode; `message` may show the worst
    mode's `{k}` and `{w2}` and the entries of `more` (array methods: NumPy or
    traced alike)."""
    w2 = _guards.on_host(w2)
    ok = (w2 > 0).all() if strict else (w2 >= 0).all()
    return Check(ok, message, {"k": w2.argmin(), "w2": w2.min()} | (more or {}))


def omega2_guards(law: HarmonicLattice, params) -> list[Check]:
    """ω_k² ≥ 0 for every mode (else the lattice is unstable), naming the mode."""
    w2, params = _guards.on_host((law.omega_squared(params), params))
    above = params.pinning - w2.min() * params.mass  # round-off of a 0 shown as 0
    above = above * (abs(above) > 1e-12 * (abs(params.pinning) + abs(w2.min() * params.mass)))
    message = (
        "mode {k} has ω² = {w2:.4g} < 0 (unstable lattice): raise params.pinning above "
        "{pinning:.4g} or params.spring."
    )
    return [_mode_check(w2, False, message, {"pinning": above})]


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


def _law(law, dtype=None):
    """(law, dtype): a `HarmonicLattice` (else refused) and the dtype (None: float's)."""
    if not isinstance(law, HarmonicLattice):
        raise ValueError(f"law must be a jqd.thermal.HarmonicLattice; got {type(law).__name__}.")
    return law, jnp.result_type(float) if dtype is None else dtype


def _bound_guard(w2, where: str = "", fix: str = "") -> Check:
    """Every mode of `w2` bound (ω² > 0): a free mode has no ground state."""
    fix = "set params.pinning > 0 or use boundary='fixed'" + fix
    message = f"mode {{k}}{where} is free (ω² = {{w2:.4g}}) and has no ground state: {fix}."
    return _mode_check(w2, True, message)


def _from_mode_blocks(law, q, p, qq, qp, pp) -> GaussianState:
    if law.covariance == "mode":
        return GaussianState(q, p, ModeCovariance(qq, qp, pp))
    M = jnp.block([[jnp.diag(qq), jnp.diag(qp)], [jnp.diag(qp), jnp.diag(pp)]])
    return GaussianState(q, p, DenseCovariance(M))


@jax.jit  # one program (data movement only)
def _uncorrelated(q, p, QQ, PP) -> GaussianState:
    """A dense-covariance state with no Q-P correlation."""
    Z = jnp.zeros_like(QQ)
    return GaussianState(q, p, DenseCovariance(jnp.block([[QQ, Z], [Z, PP]])))


def _params(params, caller: str) -> None:
    """Refuse bad concrete params before ω² = k/m is formed; traced ones are the law's."""
    if not _guards.is_traced(params):
        _guards.enforce(_guards.params_guards(params), caller=f"jqd.thermal.{caller}")


def thermal_state(law, params, temperature, dtype=None) -> GaussianState:
    """The canonical state at `temperature` (energy units, k_B = 1; 0: ground state)."""
    return _thermal_state(law, params, temperature, dtype, "thermal_state")


def _thermal_state(law, params, temperature, dtype, caller: str) -> GaussianState:
    law, dtype = _law(law, dtype)
    _params(params, caller)
    guards = omega2_guards(law, params) + [
        _bound_guard(law.omega_squared(params), fix=", or start from product_state")
    ]
    guards += _guards.scalar(temperature, "temperature", nonnegative=True)
    w = law.frequencies(params, dtype)
    state = _mode_thermal_state(law, w, *traced_leaves((params, temperature)), dtype)
    return _guards.enforce(guards, state, f"jqd.thermal.{caller}")


@eqx.filter_jit  # one program, not one per operation
def _mode_thermal_state(law, w, params, temperature, dtype) -> GaussianState:
    m, hbar = jnp.asarray(params.mass, dtype), jnp.asarray(params.hbar, dtype)
    T = jnp.asarray(temperature, dtype)
    w_safe = jnp.where(w > 0, w, 1.0)
    x = hbar * w_safe / (2 * jnp.where(T > 0, T, 1.0))
    coth = jnp.where(T > 0, 1.0 / jnp.tanh(x), 1.0)
    qq = hbar / (2 * m * w_safe) * coth
    pp = m * hbar * w_safe / 2 * coth
    zero = jnp.zeros_like(w)
    return _from_mode_blocks(law, zero, zero, qq, zero, pp)


def ground_state(law, params, dtype=None) -> GaussianState:
    """The lattice ground state (every mode in its oscillator ground state)."""
    return _thermal_state(law, params, 0.0, dtype, "ground_state")


def _atoms(law, x, name, dtype):
    """`x` (scalar or (N,)) broadcast to (N,): in NumPy if concrete (no program)."""
    n = law.n_modes
    xp = _guards.array_module(x)
    x = xp.asarray(0.0 if x is None else x, dtype)
    if x.shape not in ((), (n,)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got {x.shape}.")
    return xp.broadcast_to(x, (n,))


def product_state(law, params, positions, width, momenta=None, dtype=None) -> GaussianState:
    """Π_j exp(−(x_j − R_j)²/2d²) e^{i p_j x_j/ħ}.

    Args:
        positions: mean displacements R_j from the equilibrium sites, (N,) or scalar.
        width: d > 0; a scalar, or (N,) per atom (only with covariance="dense").
        momenta: mean momenta p_j, (N,) or scalar (default 0).
    """
    law, dtype = _law(law, dtype)
    n = law.n_modes
    shape = np.shape(width)
    if shape != () and (shape != (n,) or law.covariance == "mode"):
        raise ValueError(
            f"width must be a scalar (or, with covariance='dense', shape ({n},)); got shape "
            f"{shape}. Per-atom widths correlate the modes: they need covariance='dense'."
        )
    _params(params, "product_state")
    guards = _guards.scalar(width, "width", positive=True)
    q = law.lattice.to_modes(_atoms(law, positions, "positions", dtype))
    p = law.lattice.to_modes(_atoms(law, momenta, "momenta", dtype))
    if shape == ():
        state = _product_blocks(law, q, p, *traced_leaves((width, params.hbar)), dtype)
    else:  # Uᵀ diag(v) U for each block
        d, hbar = jnp.asarray(width, dtype), jnp.asarray(params.hbar, dtype)
        vx, vp = d**2 / 2, hbar**2 / (2 * d**2)
        to = law.lattice.to_modes
        state = _uncorrelated(q, p, _sandwich(to, vx), _sandwich(to, vp))
    return _guards.enforce(guards, state, "jqd.thermal.product_state")


@eqx.filter_jit  # one program, not one per operation
def _product_blocks(law, q, p, width, hbar, dtype) -> GaussianState:
    """The product state of one width d: per-mode d²/2 and ħ²/2d², no correlation."""
    d, hbar = jnp.asarray(width, dtype), jnp.asarray(hbar, dtype)
    vx, vp = d**2 / 2, hbar**2 / (2 * d**2)
    one = jnp.ones(law.n_modes, dtype)
    return _from_mode_blocks(law, q, p, vx * one, 0 * one, vp * one)


def displace(law, state, dx_atoms=None, dp_atoms=None) -> GaussianState:
    """Shift the means by atom-basis displacements and momenta (a coherent
    displacement: the covariance is unchanged)."""
    law = _law(law)[0]
    dtype = state.q.dtype
    dq = law.lattice.to_modes(_atoms(law, dx_atoms, "dx_atoms", dtype))
    dp = law.lattice.to_modes(_atoms(law, dp_atoms, "dp_atoms", dtype))
    return GaussianState(state.q + dq, state.p + dp, state.cov)


def joined_blocks(law, params, n_left: int, velocity, dtype=None) -> GaussianState:
    """Two blocks, each in its own ground state, moving at ±`velocity`, joined at t = 0.

    The lattice is cut between layers n_left − 1 and n_left of axis 0 (and at a
    periodic wrap); the state is the cut lattice's ground state with mean momenta
    ±m·v, to be evolved with `law` (physics §7.4). Needs covariance="dense" and
    bound blocks (pinning > 0 or fixed ends); a dense eigh, O(N³).
    """
    law, dtype = _law(law, dtype)
    if law.covariance != "dense":
        raise ValueError(
            "joined_blocks needs HarmonicLattice(..., covariance='dense'): the blocks' ground "
            "state is not diagonal in the joined lattice's modes."
        )
    lat = law.lattice
    n0 = lat.shape[0]
    n_left = _guards.count(n_left, "n_left")
    _params(params, "joined_blocks")
    if lat.general is not None or not 1 <= n_left < n0:
        raise ValueError(
            f"n_left must be in [1, {n0 - 1}] (a layer of axis 0, regular lattices); got {n_left}."
        )
    layer = np.indices(lat.shape)[0].ravel()
    b = lat.bonds()
    cut = b[(layer[b[:, 0]] < n_left) != (layer[b[:, 1]] < n_left)]
    K = add_springs(lat.stiffness(), cut, -1.0)
    lam, V = np.linalg.eigh(K)
    if _on_host(params, dtype):  # no program
        w2 = jax.device_put(omega_squared_np(lam, params))
    else:
        w2 = (params.spring * jnp.asarray(lam, dtype) + params.pinning) / params.mass
    guards = [_bound_guard(w2, " of the cut lattice")]
    guards += _guards.scalar(velocity, "velocity")
    args = traced_leaves((params, V, layer < n_left, velocity))
    V, Vq, Vp, p_atoms, zero = _joined_factors(w2, *args, dtype)
    # atom-basis blocks V diag(.) Vᵀ, then to the joined lattice's modes: Uᵀ (.) U
    # (eager: a jitted chain of products and transposes would sum in another order)
    to = lat.to_modes
    state = _uncorrelated(zero, to(p_atoms), _sandwich(to, Vq @ V.T), _sandwich(to, Vp @ V.T))
    return _guards.enforce(guards, state, "jqd.thermal.joined_blocks")


@eqx.filter_jit  # one program, not one per operation
def _joined_factors(w2, params, V, left, velocity, dtype):
    """V, V diag(ħ/2mω), V diag(mħω/2), the atoms' momenta ±mv and zero means."""
    m, hbar = jnp.asarray(params.mass, dtype), jnp.asarray(params.hbar, dtype)
    w = jnp.sqrt(jnp.where(w2 > 0, w2, 1.0))
    V = jnp.asarray(V, dtype)
    v = jnp.asarray(velocity, dtype)
    p_atoms = jnp.where(left, m * v, -m * v)
    Vq, Vp = V * (hbar / (2 * m * w)), V * (m * hbar * w / 2)
    return V, Vq, Vp, p_atoms, jnp.zeros_like(v, shape=left.shape)


def wigner_sample(key, law, state, n: int):
    """`n` draws (x, p) from the state's Wigner function (a Gaussian), in the
    atom basis: two arrays (n, N) of displacements and momenta."""
    law = _law(law)[0]
    n = _guards.count(n, "n")
    N = law.n_modes
    z = jax.random.normal(key, (n, 2, N), state.q.dtype)
    if isinstance(state.cov, ModeCovariance):  # per-mode 2x2 Cholesky
        l11 = jnp.sqrt(state.cov.qq)
        l21 = state.cov.qp / l11
        l22 = jnp.sqrt(jnp.maximum(state.cov.pp - l21**2, 0.0))
        Q = state.q + l11 * z[:, 0]
        P = state.p + l21 * z[:, 0] + l22 * z[:, 1]
    else:
        L = jnp.linalg.cholesky(state.cov.matrix)
        s = z.reshape(n, 2 * N) @ L.T
        Q, P = state.q + s[:, :N], state.p + s[:, N:]
    return law.lattice.to_atoms(Q), law.lattice.to_atoms(P)


def _blocks(state):
    """(QQ, QP, PP) diagonals for mode covariance, or the dense blocks."""
    if isinstance(state.cov, ModeCovariance):
        return state.cov.qq, state.cov.qp, state.cov.pp
    n = state.q.shape[-1]
    M = state.cov.matrix
    return M[:n, :n], M[:n, n:], M[n:, n:]


def _squares(lattice, v, bond_axis=None):
    """Σ_k M_jk v_k, M = ⊗_a U_a∘U_a ((D U_a)∘(D U_a) on `bond_axis`, D the bond
    differences): Var u_j = (M qq)_j (docs/internals/thermal.md#squares)."""
    if lattice.general is not None:
        U = jnp.asarray(lattice.general.array[1], v.dtype)
        return (U * U) @ v
    periodic = lattice.boundary == "periodic"
    y = v.reshape(lattice.shape)
    for a, n in enumerate(lattice.shape):
        if n <= DENSE_AXIS_MAX:  # a small matmul beats XLA's CPU FFT here
            U = _basis_1d(n, lattice.boundary)[0]
            D = (np.eye(n) - np.roll(np.eye(n), 1, axis=1))[: n if periodic else n - 1]
            M = U * U if a != bond_axis else (D @ U) ** 2  # D: the bond differences
            y = jnp.tensordot(jax.device_put(M.astype(v.dtype)), y, axes=([1], [a]))
            y = y if a == 0 else jnp.moveaxis(y, 0, a)
        else:
            y = jnp.moveaxis(
                squares_1d(jnp.moveaxis(y, a, -1), lattice.boundary, a == bond_axis), -1, a
            )
    return y.reshape(-1)


def _sandwich(to, X):
    """to(to(X)ᵀ) for X (N, N) or a diagonal (N,): with `Lattice.to_atoms` U X Uᵀ
    (a mode-basis second moment in the atom basis), with `to_modes` Uᵀ X U."""
    return to(to(jnp.diag(X) if X.ndim == 1 else X).T)


def atom_covariance(law: HarmonicLattice, state):
    """Cov(u_i, u_j) (N, N) of the atom displacements (dense; small N)."""
    return _sandwich(law.lattice.to_atoms, _blocks(state)[0])


def atom_variance(law: HarmonicLattice, state):
    """Var u_j (N,) of every atom's displacement."""
    lat = law.lattice
    if isinstance(state.cov, DenseCovariance):  # diag(U QQ Uᵀ) = rowsum(U ∘ (U QQ))
        QQ = _blocks(state)[0]
        U = jnp.asarray(lat.modes()[0], QQ.dtype)
        return jnp.sum(U * (U @ QQ), axis=1)
    return _squares(lat, state.cov.qq)


def bond_variance(law: HarmonicLattice, state):
    """Var(u_i − u_j) for every bond (i, j) of `law.lattice.bonds()` (same order)."""
    lat = law.lattice
    bonds = lat.bonds()
    if isinstance(state.cov, DenseCovariance):
        C = atom_covariance(law, state)
        i, j = bonds[:, 0], bonds[:, 1]
        return C[i, i] + C[j, j] - 2 * C[i, j]
    if lat.general is not None:
        U = jnp.asarray(lat.general.array[1], state.q.dtype)
        d = U[bonds[:, 0]] - U[bonds[:, 1]]
        return (d * d) @ state.cov.qq
    return jnp.concatenate([_squares(lat, state.cov.qq, a) for a in range(len(lat.shape))])


def cm_variance(law: HarmonicLattice, params, state):
    """Var X_cm, X_cm = (1/N) Σ_j u_j."""
    n = law.n_modes
    w = law.lattice.to_modes(jnp.full(n, 1.0 / n, state.q.dtype))
    QQ = _blocks(state)[0]
    if isinstance(state.cov, ModeCovariance):
        return jnp.sum(w * w * QQ)
    return w @ QQ @ w


def mode_energies(law: HarmonicLattice, params, state):
    """E_k = ⟨P_k²⟩/2m + ½mω_k²⟨Q_k²⟩ (N,): conserved by every harmonic evolution."""
    _params(params, "mode_energies")
    if _on_host((params, state), state.q.dtype):  # no program
        return jax.device_put(np.add(*mode_energy_terms(law, params, state, np)))
    kinetic, potential = mode_energy_terms(law, params, state)
    return kinetic + potential


def kinetic_energy(law: HarmonicLattice, params, state):
    """⟨Σ_j p_j²/2m⟩."""
    _params(params, "kinetic_energy")
    return jnp.sum(mode_energy_terms(law, params, state)[0])


def potential_energy(law: HarmonicLattice, params, state):
    """⟨(spring/2) uᵀKu + (pinning/2) Σ u_j²⟩."""
    _params(params, "potential_energy")
    return jnp.sum(mode_energy_terms(law, params, state)[1])


def local_energy(law: HarmonicLattice, params, state):
    """ε_j (N,): the energy at atom j, ⟨p_j²⟩/2m + ½ ⟨u_j (Au)_j⟩ with
    A = spring·K + pinning·1, so that Σ_j ε_j = ⟨H⟩. O(N log N) for a
    mode-diagonal covariance (⟨u_j (Ku)_j⟩ = Σ_k U_jk² λ_k qq_k + ū_j (Kū)_j)."""
    _params(params, "local_energy")
    lat, dtype = law.lattice, state.q.dtype
    spring, pinning = (jnp.asarray(x, dtype) for x in (params.spring, params.pinning))
    u, p = lat.to_atoms(state.q), lat.to_atoms(state.p)
    if isinstance(state.cov, ModeCovariance):
        lam = lat.eigenvalues(dtype)
        uKu = _squares(lat, lam * state.cov.qq) + u * lat.to_atoms(lam * state.q)
        uu_diag = _squares(lat, state.cov.qq) + u * u
        pp_diag = _squares(lat, state.cov.pp) + p * p
        potential = spring * uKu + pinning * uu_diag
    else:
        QQ, _, PP = _blocks(state)
        uu = _sandwich(lat.to_atoms, QQ) + jnp.outer(u, u)
        pp_diag = jnp.diagonal(_sandwich(lat.to_atoms, PP)) + p * p
        A = spring * jnp.asarray(lat.stiffness(), dtype) + pinning * jnp.eye(u.size, dtype=dtype)
        potential = jnp.sum(A * uu, axis=1)
    return pp_diag / (2 * jnp.asarray(params.mass, dtype)) + 0.5 * potential


def mode_occupation(law: HarmonicLattice, params, state):
    """n_k = E_k/(ħω_k) − ½ (N,); NaN for a free mode (ω_k = 0)."""
    _params(params, "mode_occupation")
    w = law.frequencies(params, state.q.dtype)
    E = mode_energies(law, params, state)
    hw = jnp.asarray(params.hbar, state.q.dtype) * jnp.where(w > 0, w, 1.0)
    return jnp.where(w > 0, E / hw - 0.5, jnp.nan)


def symplectic_occupation(law: HarmonicLattice, params, state):
    """ν_k = √(⟨δQ_k²⟩⟨δP_k²⟩ − ⟨δQ_kδP_k⟩²)/ħ − ½ (N,): the incoherent
    (thermal) occupation of each mode's reduced state (0 when pure)."""
    _params(params, "symplectic_occupation")
    QQ, QP, PP = _blocks(state)
    if isinstance(state.cov, DenseCovariance):
        QQ, QP, PP = (jnp.diagonal(x) for x in (QQ, QP, PP))
    det = jnp.maximum(QQ * PP - QP * QP, 0.0)
    return jnp.sqrt(det) / jnp.asarray(params.hbar, state.q.dtype) - 0.5


def energy_variance(law: HarmonicLattice, params, state):
    """Var H = ⟨H²⟩ − ⟨H⟩² (physics §7.4; exact for Gaussian states)."""
    _params(params, "energy_variance")
    dtype = state.q.dtype
    m = jnp.asarray(params.mass, dtype)
    hbar = jnp.asarray(params.hbar, dtype)
    aq = law.omega_squared(params, dtype) * m  # A_Q = mω²
    ap = jnp.full_like(aq, 1.0) / m  # A_P = 1/m
    QQ, QP, PP = _blocks(state)
    q, p = state.q, state.p
    trace_j = -(hbar**2 / 4) * jnp.sum(aq * ap)  # (ħ²/8) Tr(AJAJ)
    if isinstance(state.cov, ModeCovariance):
        half = 0.5 * jnp.sum(aq * aq * QQ**2 + 2 * aq * ap * QP**2 + ap * ap * PP**2)
        mean = jnp.sum(aq * aq * q * q * QQ + 2 * aq * ap * q * p * QP + ap * ap * p * p * PP)
        return half + trace_j + mean
    A = jnp.concatenate([aq, ap])
    M = state.cov.matrix
    half = 0.5 * jnp.sum(A[:, None] * A[None, :] * M * M)
    Amu = A * jnp.concatenate([q, p])
    return half + trace_j + Amu @ M @ Amu
