"""Pseudo-spectral RK4 grid solver of the Husimi Fokker-Planck equation (physics §4.2,
§4.8), regularized per step; J∇H and D by autodiff of `hamiltonian(z, args)`.
why: docs/internals/husimi.md#grid
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

from .._evolve import Solution, evolve
from .._guards import Check, as_arrays, is_traced
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from .._steppers import RK4, rk4
from ._phase_space_grid import PhaseSpaceGrid
from ._regularization import (
    AbstractRegularization,
    FockShells,
    as_regularization,
    from_coefficients,
    shell_basis,
    to_coefficients,
)
from ._symbols import check_types, drift_and_diffusion

REMOVED, MASS_DRIFT, TOP_SHELLS = 2, 3, 4  # monitor codes (1: NaN/Inf, shared)


class EnvelopeError(BreakdownError, FloatingPointError):
    """The grid solution left its accuracy envelope (see `HusimiGrid.monitor`)."""


class ShellOverflowError(EnvelopeError):
    """FockShells: the state put more than `tol` of ‖ρ‖² in the top two shells."""


_WHERE = (
    "`where` = (removed, top-shell weight, |mass drift|). Set the bound with HusimiGrid(tol=...). "
)

BREAKDOWNS = {
    REMOVED: Reason(
        EnvelopeError,
        "the cumulative L1 norm removed by the regularization (the envelope/positivity "
        "projections, or the part outside the Fock-shell space; the error indicator "
        "`removed`) exceeded tol",
        _WHERE + "Refine the grid (points), enlarge the box (length), shorten the run, or "
        "use jqd.husimi.HusimiGalerkin for long times.",
    ),
    MASS_DRIFT: Reason(
        EnvelopeError,
        "the mass ∫ρ dz drifted from its initial value by more than tol (mass reached "
        "the coefficient window or the box edge)",
        _WHERE + "Enlarge the box (length, with points) or the window, or shorten the run.",
    ),
    TOP_SHELLS: Reason(
        ShellOverflowError,
        "the weight (fraction of ||rho||^2) in the top two Fock shells (the Fock-cutoff "
        "check) exceeded tol: the state is leaving the n_max space",
        _WHERE + "Increase n_max (with length and points: grid.max_quanta()), or shorten the run.",
    ),
}


_AUTO = "auto"
_FIT_RTOL = 1e-12  # default: ρ0 weight (L¹) left outside V_n


class HusimiGridParams(eqx.Module):
    """Constants of the Husimi Fokker-Planck law (differentiable, vmappable).

    Attributes:
        C: diffusion strength (C = 1 is quantum mechanics).
        args: pytree passed to `hamiltonian(z, args)` (couplings such as U).
    """

    C: float | Array = 1.0
    args: object = None


class HusimiGridState(eqx.Module):
    """Grid state: the density and the monitor's accumulators.

    Attributes:
        rho: ρ on the grid, shape `grid.shape` (real).
        removed: cumulative L¹ norm removed by the regularization (error indicator).
        top: FockShells: fraction of ‖ρ‖² in the top two Fock shells; otherwise 0.
        mass0: ∫ρ dz at the start.
    """

    rho: Array
    removed: Array
    top: Array
    mass0: Array


class HusimiGrid(AbstractLaw):
    """Pseudo-spectral RK4 solver of the Husimi Fokker-Planck equation (physics §4.8).

    State: `HusimiGridState` (`law.initial_state(rho0)`); params:
    `HusimiGridParams(C, args)`. `step`: RK4 (order 4), then the regularization.
    Validated against `jqd.reference.kerr_husimi` and, for quadratic H with
    D = 0 (C7), exact phase-space rotation.

    Attributes:
        grid: a `PhaseSpaceGrid`.
        hamiltonian: `H(z, args) -> scalar`, the anti-Wick symbol in units of ħ,
            z of shape (2N,).
        regularization: `FockShells(n_max)` ("fock", default), `Envelope()`
            ("project") or `NoRegularization()` ("none"), or those strings (then
            `n_max=` goes with "fock"; None: chosen from the initial state).
        window: coefficient window radius as a fraction of L/2; None: off; "auto"
            (default): off for "fock", 0.75 otherwise.
        window_width: width of the window's erfc edge (units of Q).
        tol: monitor tolerance on `removed`, `top` and the mass drift.
        coefficients: (v, D) on the grid, precomputed by `prepare` (None: computed
            in `step`).
    """

    grid: PhaseSpaceGrid
    hamiltonian: Callable = eqx.field(static=True)
    regularization: AbstractRegularization
    window: float | None = eqx.field(static=True)
    window_width: float = eqx.field(static=True)
    tol: float = eqx.field(static=True)
    coefficients: tuple | None

    scheme = RK4()  # `rk4` below, with the removed mass as its aux
    breakdowns = BREAKDOWNS

    def __init__(
        self,
        grid: PhaseSpaceGrid,
        hamiltonian: Callable,
        regularization: str | AbstractRegularization = "fock",
        n_max: int | None = None,
        window: float | None | str = _AUTO,
        window_width: float = 1.0,
        tol: float = 1e-2,
        coefficients: tuple | None = None,
    ):
        self.grid = grid
        self.hamiltonian = hamiltonian
        self.regularization = as_regularization(regularization, n_max).for_grid(grid)
        self.window = self.regularization.default_window if window == _AUTO else window
        self.window_width = float(window_width)
        self.tol = float(tol)
        self.coefficients = coefficients

    def __check_init__(self):
        w = self.window
        if w is not None and (isinstance(w, str) or not 0 < w <= 2):
            raise ValueError(
                f"window must be in (0, 2] (fraction of L/2), None or 'auto'; got {w!r}."
            )
        if not self.tol > 0:
            raise ValueError(f"tol must be positive; got {self.tol}.")

    @property
    def n_max(self) -> int | None:
        """Quanta per mode kept by FockShells (None otherwise, or not chosen yet)."""
        return getattr(self.regularization, "n_max", None)

    @property
    def basis(self) -> Array | None:
        """FockShells' per-mode basis of V_{n_max} (None otherwise)."""
        return getattr(self.regularization, "basis", None)

    # ---- set-up -----------------------------------------------------------
    def for_state(self, y0, rtol: float = _FIT_RTOL) -> HusimiGrid:
        """This law with FockShells' n_max (if None) chosen for `y0` (a state or a
        density): the smallest n with ∫|ρ0 − P_n ρ0| dz <= rtol ∫|ρ0| dz."""
        rho0 = y0.rho if isinstance(y0, HusimiGridState) else y0
        reg = self.regularization
        new = reg.for_state(self.grid, rho0, self.tol, rtol)
        return self if new is reg else eqx.tree_at(lambda s: s.regularization, self, new)

    def initial_state(self, rho0) -> HusimiGridState:
        """Wrap a density into a `HusimiGridState` (FockShells projects it onto
        V_{n_max}; what that removed starts `removed`)."""
        rho0 = jnp.asarray(rho0)
        reg = self.regularization
        rho, removed = reg.project_state(self.grid, rho0)
        top = reg.top_weight(self.grid, rho0)
        return HusimiGridState(rho=rho, removed=removed, top=top, mass0=self.grid.integrate(rho))

    def project_state(self, y: HusimiGridState) -> HusimiGridState:
        """`y` with ρ projected onto V_{n_max} (FockShells; the L¹ norm removed is
        added to `removed`). Anything but a `HusimiGridState` is returned as is."""
        if not isinstance(y, HusimiGridState):
            return y
        reg = self.regularization
        rho, extra = reg.project_state(self.grid, y.rho)
        return HusimiGridState(rho, y.removed + extra, reg.top_weight(self.grid, y.rho), y.mass0)

    def compute_coefficients(self, params, dtype):
        """(v, D_pairs): drift components and the entries D_ab, a <= b, on the
        grid, windowed, in `dtype`."""
        g = self.grid
        v, D = jax.vmap(lambda z: drift_and_diffusion(self.hamiltonian, z, params.args, params.C))(
            g.points_array(dtype)
        )
        d = g.ndim
        vs = tuple(v[:, a].reshape(g.shape).astype(dtype) for a in range(d))
        Ds = tuple(D[:, a, b].reshape(g.shape).astype(dtype) for a in range(d) for b in range(a, d))
        if self.window is None:
            return vs, Ds
        r = jnp.sqrt(sum(m**2 for m in g.mesh(dtype)))
        R = self.window * g.length / 2
        w = 0.5 * jax.scipy.special.erfc((r - R) / jnp.asarray(self.window_width, dtype))
        return tuple(x * w for x in vs), tuple(x * w for x in Ds)

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

    def fock_project(self, rho):
        """Orthogonal projection (grid inner product) of ρ onto V_{n_max} (FockShells)."""
        if not isinstance(self.regularization, FockShells):
            raise ValueError(
                "fock_project needs regularization='fock' (FockShells); this law uses "
                f"{self.regularization.name!r}."
            )
        return self.regularization.project(self.grid, rho)

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

    def step(self, t, y: HusimiGridState, params, dt, key=None):
        rho = y.rho
        dtype = rho.dtype
        coeffs = self._coeffs(params, dtype)
        reg, g = self.regularization, self.grid
        f = lambda s, r: reg.rate(g, self.rhs(r, params, coeffs))
        new, aux = rk4(f, t, rho, jnp.asarray(dt, dtype), has_aux=True)
        new, removed = reg.after_step(g, new, aux)
        return HusimiGridState(new, y.removed + removed, reg.top_weight(g, new), y.mass0)

    def vector_field(self, t, y: HusimiGridState, params):
        """∂ρ/∂t: P L ρ for FockShells, else L ρ (projections act in `step` only)."""
        zero = jnp.zeros((), y.rho.dtype)
        drho, _ = self.regularization.rate(self.grid, self.rhs(y.rho, params))
        return HusimiGridState(rho=drho, removed=zero, top=zero, mass0=zero)

    def monitor(self, t, y: HusimiGridState, params, dt=None):
        """Fails (in this order) when `removed > tol` (code 2), `top > tol`
        (code 4, `ShellOverflowError`) or |∫ρ dz − mass0| > tol (code 3);
        `where` = (removed, top, |mass drift|)."""
        tol = jnp.asarray(self.tol, y.removed.dtype)
        drift = jnp.abs(self.grid.integrate(y.rho) - y.mass0)
        code = jnp.where(
            y.removed > tol,
            REMOVED,
            jnp.where(y.top > tol, TOP_SHELLS, jnp.where(drift > tol, MASS_DRIFT, 0)),
        )
        return code == 0, code, jnp.stack([y.removed, y.top, drift])

    def density(self, y: HusimiGridState):
        return y.rho

    def energy(self, t, y: HusimiGridState, params):
        """⟨H⟩ = ∫ H ρ dz (anti-Wick symbol against the Husimi density)."""
        zs = self.grid.points_array(y.rho.dtype)
        Hz = jax.vmap(lambda z: self.hamiltonian(z, params.args))(zs).reshape(self.grid.shape)
        return self.grid.integrate(Hz.astype(y.rho.dtype) * y.rho)

    def check(self, y, params, dt=None):
        """Structure; on concrete params also what is too costly for `checks`
        (FockShells: a number-changing H, with evidence; its RK4 step limit)."""
        check_types(y, params, HusimiGridState, HusimiGridParams, "law.initial_state(rho0)")
        shape = jnp.shape(y.rho)
        if shape != self.grid.shape:
            raise ValueError(
                f"y0.rho has shape {shape}; the grid needs {self.grid.shape} "
                "(build y0 with law.initial_state(rho0) for one state; vmap for a batch)."
            )
        if not jnp.issubdtype(jnp.result_type(y.rho), jnp.floating):
            raise ValueError(f"y0.rho must be real floating point; got {jnp.result_type(y.rho)}.")
        reg = self.regularization
        if is_traced(params) or not isinstance(reg, FockShells) or reg.basis is None:
            return
        dtype = jnp.result_type(y.rho)
        with jax.ensure_compile_time_eval():  # concrete params: eager inside jit too
            v = float(phase_violation(self.hamiltonian, params.args, self.grid.n_modes, dtype))
        if v > phase_rtol(dtype):
            try:  # the evidence, where it can be computed (not inside an outer trace)
                lam = projected_abscissa(self, params)
            except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
                lam = None
            detail = "" if lam is None else f"; here max Re λ(P L P) = {lam:.3g}"
            raise ValueError(f"{NUMBER_CHANGING} (relative violation {v:.3g}{detail}).")
        if dt is not None and not is_traced(dt, y.rho):
            dtv = float(np.asarray(dt))  # the power-iteration limit (`checks` has the others)
            limit = self.stable_dt(params)
            if limit is not None and dtv > limit:
                raise ValueError(
                    f"dt = {dtv:g} exceeds the explicit RK4 limit ≈ {limit:.3g} for this grid "
                    f"and Hamiltonian ({reg.limit_what}); reduce dt."
                )

    def checks(self, y, params, dt=None):
        """y0.rho normalized; FockShells: guards 1-3 (`fock_shell_guards`);
        otherwise dt within the explicit RK4 bound."""
        dev = jnp.abs(self.grid.integrate(y.rho) - 1)
        out = [
            Check(
                dev <= 1e-6,
                "y0.rho must be normalized (|∫ρ dz − 1| = {value}); divide by its integral, "
                "and make sure the box holds the density (increase grid length).",
                dev,
            )
        ]
        reg = self.regularization
        if isinstance(reg, FockShells):  # its step limit needs a power iteration: `check`
            return out + fock_shell_guards(self, y, params)
        if dt is not None:
            _, coeffs = compiled_coefficients(self, params, jnp.result_type(y.rho))
            limit = reg.dt_limit(self, coeffs)
            out.append(
                Check(
                    jnp.abs(dt) <= limit,
                    "dt exceeds the explicit RK4 limit ≈ {value} for this grid and Hamiltonian "
                    f"({reg.limit_what}); reduce dt.",
                    limit,
                )
            )
        return out

    def stable_dt(self, params):
        """Rough RK4 step limit from the regularization (`stable_dt`); None if
        params are traced or n_max is not chosen yet."""
        if is_traced(params):
            return None
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        return self.regularization.stable_dt(self, *compiled_coefficients(self, params, dtype))


def evolve_grid(law: HusimiGrid, y0: HusimiGridState, params, **kwargs) -> Solution:
    """`jqd.evolve(law.for_state(y0), law.project_state(y0), params, **kwargs)`:
    n_max chosen from y0 where None, y0 projected onto V_{n_max}."""
    law = law.for_state(y0)
    return evolve(law, law.project_state(y0), params, **kwargs)


# ---- guards 1-3 of FockShells (why and calibration: docs/internals/husimi.md#fockshell-guards)

_RESIDUAL = 1e-4  # y0 weight outside V_n allowed, × tol (as for_state's limit)
_COND_EPS = 1e-4  # skip the negativity check when cond(map) × eps exceeds this


@functools.lru_cache(maxsize=8)
def operator_map(points: int, length: float, n: int):
    """(M⁻¹, h, cond): inverse and condition number of the map from an operator
    Σ x_l h_l on one mode's Fock levels 0..n to the `shell_basis` coefficients
    of its Husimi density; h the Hermitian basis (K, d, d): E_jj, E_jk + E_kj,
    i(E_jk − E_kj)."""
    d = n + 1
    dx = length / points
    x = -length / 2 + dx * np.arange(points)
    Q, P = np.meshgrid(x, x, indexing="ij")
    alpha = ((Q + 1j * P) / np.sqrt(2)).reshape(-1)
    lg = np.array([math.lgamma(i + 1) for i in range(d)])
    powers = np.stack([alpha**i for i in range(d)])
    gauss = np.exp(-(np.abs(alpha) ** 2))
    cols, h = [], []
    for j in range(d):
        for k in range(j, d):
            q = gauss * np.conj(powers[j]) * powers[k] * np.exp(-0.5 * (lg[j] + lg[k])) / np.pi
            # ρ = Q/2 on z = (Q, P); ⟨α|(E_jk + E_kj)|α⟩/(2π), ⟨α|i(E_jk − E_kj)|α⟩/(2π)
            cols += [q.real / 2] if j == k else [q.real, -q.imag]
            E, F = np.zeros((2, d, d), complex)
            E[j, k] = E[k, j] = 1
            F[j, k], F[k, j] = 1j, -1j
            h += [E] if j == k else [E, F]
    M = shell_basis(points, length, n).T @ np.stack(cols, axis=1) * dx * dx
    s = np.linalg.svd(M, compute_uv=False)
    return np.linalg.inv(M), np.stack(h), float(s[0] / s[-1])


def negativity(grid, basis, n: int, rho):
    """2 Σ |negative eigenvalues| of the operator R whose Husimi density is
    the projection of ρ onto V_n (0 for every density operator)."""
    Minv, h, _ = operator_map(grid.points, grid.length, n)
    x = to_coefficients(rho, basis.astype(rho.dtype), grid)
    for _ in range(grid.n_modes):  # M⁻¹ on each mode's axis (the leading one, moved last)
        x = jnp.tensordot(x, jnp.asarray(Minv, rho.dtype), axes=([0], [1]))
    R = x.astype(jnp.result_type(rho.dtype, jnp.complex64))
    for _ in range(grid.n_modes):  # Σ x_l h_l per mode: axes (j1, k1, j2, k2, ...)
        R = jnp.tensordot(R, jnp.asarray(h, R.dtype), axes=([0], [0]))
    N, d = grid.n_modes, n + 1
    R = jnp.transpose(R, [2 * i for i in range(N)] + [2 * i + 1 for i in range(N)])
    ev = jnp.linalg.eigvalsh(R.reshape(d**N, d**N))
    return -2 * jnp.sum(jnp.minimum(ev, 0))


def phase_violation(hamiltonian, args, n_modes: int, dtype):
    """max |H(e^{iφ}α) − H(α)| / max |H| over fixed points and independent
    phases per mode: 0 (to round-off) iff H conserves every mode's number."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-3, 3, (8, 2 * n_modes))
    phi = rng.uniform(0, 2 * np.pi, (8, n_modes))
    Q, P = z[:, :n_modes], z[:, n_modes:]
    c, s = np.cos(phi), np.sin(phi)
    zr = np.concatenate([Q * c - P * s, Q * s + P * c], axis=1)
    H = jax.vmap(lambda x: hamiltonian(x, args))
    h0, h1 = H(jnp.asarray(z, dtype)), H(jnp.asarray(zr, dtype))
    scale = jnp.maximum(jnp.max(jnp.abs(h0)), jnp.finfo(dtype).tiny)
    return jnp.max(jnp.abs(h1 - h0)) / scale


def phase_rtol(dtype) -> float:
    return 1e4 * float(jnp.finfo(dtype).eps)


@eqx.filter_jit  # the guards' values: one program per law structure, not one per op
def _fock_shell_values(law, rho, args, with_negativity: bool):
    """(residual outside V_n, its limit, phase violation, negativity or None)."""
    reg, grid, dtype = law.regularization, law.grid, rho.dtype
    residual = grid.integrate(jnp.abs(rho - reg.project(grid, rho)))
    floor = 1e3 * jnp.finfo(dtype).eps * grid.integrate(jnp.abs(rho))
    limit = jnp.maximum(_RESIDUAL * law.tol, floor)
    violation = phase_violation(law.hamiltonian, args, grid.n_modes, dtype)
    neg = negativity(grid, reg.basis, reg.n_max, rho) if with_negativity else None
    return residual, limit, violation, neg


def fock_shell_guards(law, y, params) -> list[Check]:
    """Guards 1-3 of a `HusimiGrid` with FockShells (docs/internals/husimi.md)."""
    reg, rho = law.regularization, jnp.asarray(y.rho)
    if reg.basis is None:  # n_max not chosen yet: step raises, naming the fix
        return []
    n, dtype, C = reg.n_max, rho.dtype, params.C
    # guard 3 applies where R is well-conditioned in dtype and C is not a concrete value ≠ 1
    _, _, cond = operator_map(law.grid.points, law.grid.length, n)
    concrete_not_one = isinstance(C, int | float) and C != 1
    with_neg = cond * float(jnp.finfo(dtype).eps) <= _COND_EPS and not concrete_not_one
    residual, limit, violation, neg = _fock_shell_values(law, rho, params.args, with_neg)
    out = [
        Check(
            residual <= limit,
            f"y0.rho has ∫|ρ − Pρ| dz = {{value}} outside the Fock-shell space V_{n} of this law "
            "(P L P would leave that part frozen): build y0 with law.initial_state(rho0), "
            "project it (law.project_state(y0)) or call jqd.husimi.evolve_grid.",
            residual,
        ),
        Check(violation <= phase_rtol(dtype), NUMBER_CHANGING + ".", None),
    ]
    if with_neg:
        out.append(
            Check(
                (jnp.asarray(C) != 1) | (neg <= law.tol),
                f"y0.rho is not the Husimi function of a density operator on V_{n}: its "
                "operator has negative eigenvalues (2 Σ|λ−| = {value} > tol), an L1 error of "
                "that size at C = 1; usually a Fock tail beyond n_max. Increase n_max (with "
                "length and points, grid.max_quanta()), let evolve_grid choose it, or raise tol.",
                neg,
            )
        )
    return out


NUMBER_CHANGING = (
    "HusimiGrid with FockShells needs a Hamiltonian that conserves the number of quanta "
    "in every mode (H(e^{iφ}α) = H(α)); this one changes it, so P L P on V_{n_max} has "
    "eigenvalues with positive real part (unseen growing errors). Use "
    "jqd.husimi.HusimiGalerkin (a Fock cutoff, monitored top levels) for this Hamiltonian"
)


def projected_abscissa(law, params, limit: int = 1600):
    """max Re λ of P L P on V_n (dense, eager; None if (n+1)^{2N} > limit)."""
    K = law.regularization.basis.shape[1] ** law.grid.n_modes
    if K > limit:
        return None
    return float(np.max(np.linalg.eigvals(np.asarray(_projected_matrix(law, params))).real))


@eqx.filter_jit  # K images of the basis: one program, not one per op
def _projected_matrix(law, params):
    """P L P on V_n as a K × K matrix (columns: images of the basis functions)."""
    reg, grid = law.regularization, law.grid
    dtype = reg.basis.dtype
    coeffs = law.compute_coefficients(params, dtype)
    shape = (reg.basis.shape[1],) * grid.n_modes
    K = reg.basis.shape[1] ** grid.n_modes
    rho = jax.vmap(lambda e: from_coefficients(e.reshape(shape), reg.basis, grid))(
        jnp.eye(K, dtype=dtype)
    )  # the basis functions as one batch (rhs broadcasts over leading axes)
    out = jax.vmap(lambda r: to_coefficients(r, reg.basis, grid).reshape(-1))(
        law.rhs(rho, params, coeffs)
    )
    return out.T


def compiled_coefficients(law, params, dtype):
    """(params, `law.compute_coefficients`), compiled; Python floats in params
    become arrays (`as_arrays`), so that new values reuse the program."""
    params = as_arrays(params, dtype)
    return params, _coefficients(law, params, dtype)


_coefficients = eqx.filter_jit(HusimiGrid.compute_coefficients)  # tables reused by every call
