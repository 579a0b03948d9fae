"""Pseudo-spectral grid solver for the Husimi Fokker-Planck equation (physics §4).

    ∂ρ/∂t = −∇·(ρ J∇H) + ½ Σ_ab ∂_a ∂_b (D_ab ρ),   D = (C/2) [H'', J],

on a periodic hypercube in z = (Q_1..Q_N, P_1..P_N) (`PhaseSpaceGrid`; units
of ħ: α = (Q+iP)/√2, ρ = Q_H / 2^N, ∫ρ dz = 1). H is the anti-Wick symbol,
given as a plain callable `hamiltonian(z, args) -> scalar` (a frequency); the
drift J∇H and D come from `jax.grad` / `jax.hessian` of it, never hand-coded
per model. For H whose symbol does not truncate (physics §4, F64) this is the
Fokker-Planck truncation of F §V D.

Right-hand side: the divergence form above in Fourier space (derivatives i k
on the rfft), with the Nyquist planes zeroed (there i k is not the derivative
of a real signal; without this a 4-D product state did not evolve as the
product of the 2-D solutions). RK4 (`jqd._steppers.rk4`) advances it; D is
indefinite, so every step goes through a regularization object
(`jqd.husimi._regularization`: `FockShells`, the default Galerkin projection
onto the Fock-shell space that holds every exact solution; `Envelope`, the
spectral-envelope and positivity projections; `NoRegularization`).

Coefficient window (`window="auto"`: on for Envelope and NoRegularization, off
for FockShells): v = J∇H and D are multiplied by w(z) = ½ erfc((|z| − R)/width),
R = `window` × L/2, so the r³ drift and r² diffusion are switched off near the
box edge where ρ is negligible (and the periodic box sees smooth
coefficients). `window=None`: off.

Guards (`jqd.husimi._grid_guards`): y0 normalized; with FockShells y0 inside
V_n (the part outside would stay frozen), a number-conserving Hamiltonian,
and at C = 1 a y0 that is the Husimi function of a density operator.

Monitor (`jqd.husimi._grid_monitor`): the state carries the regularization's
error indicators; `monitor` fails when one passes `tol`, and `jqd.evolve` stops
the run at that save and raises `EnvelopeError` (`ShellOverflowError` for the
top Fock shells), eagerly and under jit/vmap. Measured accuracy and breakdown
times: benchmarks/results_husimi_grid.md.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._checks import is_concrete
from .._evolve import Solution, evolve
from .._law import AbstractLaw
from .._steppers import rk4
from ._grid_guards import check_values, compiled_coefficients, grid_guards
from ._grid_monitor import BREAKDOWNS, EnvelopeError, ShellOverflowError, envelope_status
from ._phase_space_grid import PhaseSpaceGrid
from ._regularization import AbstractRegularization, FockShells, as_regularization
from ._symbols import drift_and_diffusion

__all__ = [
    "HusimiGridParams",
    "HusimiGridState",
    "HusimiGrid",
    "EnvelopeError",
    "ShellOverflowError",
    "evolve_grid",
]

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
        top: FockShells: fraction of ‖ρ‖² (grid L², i.e. of the squared basis
            coefficients) in the top two Fock shells (the Fock-cutoff check);
            otherwise 0.
        mass0: ∫ρ dz at the start.
    """

    rho: Array
    removed: Array
    top: Array
    mass0: Array


class HusimiGrid(AbstractLaw):
    """Pseudo-spectral RK4 solver of the Husimi Fokker-Planck equation (physics §4).

    Equation, units and regularization: see the module docstrings of
    `jqd.husimi._grid_solver` and `jqd.husimi._regularization`. State:
    `HusimiGridState` (build it with `law.initial_state(rho0)`); params:
    `HusimiGridParams(C, args)`. Validated against the exact Kerr Husimi
    function (`jqd.reference.kerr_husimi`) and, for quadratic H with D = 0
    (constraint C7), exact phase-space rotation. `step` is classical RK4
    (order 4) followed by the regularization.

    Attributes:
        grid: a `PhaseSpaceGrid`.
        hamiltonian: `H(z, args) -> scalar`, the anti-Wick symbol in units of ħ,
            z of shape (2N,).
        regularization: `FockShells(n_max)` ("fock", default), `Envelope()`
            ("project") or `NoRegularization()` ("none"); the strings are accepted
            (then `n_max=` goes with "fock": None lets `for_state` / `evolve_grid`
            choose it from the initial state). `law.n_max`, `law.basis` read it.
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

    order = 4
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
        if isinstance(window, str):
            if window != _AUTO:
                raise ValueError(f"window must be a number, None or 'auto'; got {window!r}.")
            window = self.regularization.default_window
        self.window = window
        self.window_width = float(window_width)
        self.tol = float(tol)
        self.coefficients = coefficients

    def __check_init__(self):
        if self.window is not None and not 0 < self.window <= 2:
            raise ValueError(
                f"window must be in (0, 2] (fraction of L/2), None or 'auto'; got {self.window}."
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
        """This law with the regularization's free choices made for `y0` (a
        `HusimiGridState` or a density): FockShells with n_max None gets the
        smallest n with ∫|ρ0 − P_n ρ0| dz <= rtol ∫|ρ0| dz, capped by
        `grid.max_quanta()` (ValueError if even the cap leaves more than
        1e-4 × `tol` outside). Otherwise the law itself.
        """
        rho0 = y0.rho if isinstance(y0, HusimiGridState) else y0
        reg = self.regularization
        new = reg.for_state(self.grid, rho0, self.tol, rtol)
        return self if new is reg else eqx.tree_at(lambda s: s.regularization, self, new)

    def initial_state(self, rho0) -> HusimiGridState:
        """Wrap a density on the grid into a `HusimiGridState`.

        FockShells with a known n_max projects ρ0 onto V_{n_max}; the L¹ norm of
        what that removed starts the `removed` indicator.
        """
        rho0 = jnp.asarray(rho0)
        reg = self.regularization
        rho, removed = reg.project_state(self.grid, rho0)
        top = reg.top_weight(self.grid, rho0)
        return HusimiGridState(rho=rho, removed=removed, top=top, mass0=self.grid.integrate(rho))

    def project_state(self, y: HusimiGridState) -> HusimiGridState:
        """`y` made admissible for this law: FockShells projects ρ onto V_{n_max}
        (a state built by another law may hold a part outside it) and adds the
        L¹ norm removed to `removed`; the other regularizations keep ρ. Anything
        but a `HusimiGridState` is returned as is (`check` names the problem)."""
        if not isinstance(y, HusimiGridState):
            return y
        reg = self.regularization
        rho, extra = reg.project_state(self.grid, y.rho)
        return HusimiGridState(rho, y.removed + extra, reg.top_weight(self.grid, y.rho), y.mass0)

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
        """∂ρ/∂t: P L ρ for FockShells, else the unregularized L ρ (the
        per-step projections and the accumulators act only in `step`)."""
        zero = jnp.zeros((), y.rho.dtype)
        drho, _ = self.regularization.rate(self.grid, self.rhs(y.rho, params))
        return HusimiGridState(rho=drho, removed=zero, top=zero, mass0=zero)

    def monitor(self, t, y: HusimiGridState, params, dt=None):
        """Fails (in this order) when `removed > tol` (code 2), `top > tol`
        (code 4, `ShellOverflowError`) or |∫ρ dz − mass0| > tol (code 3);
        `where` = (removed, top, |mass drift|)."""
        return envelope_status(self.grid, self.tol, y)

    def density(self, y: HusimiGridState):
        return y.rho

    def energy(self, t, y: HusimiGridState, params):
        """⟨H⟩ = ∫ H ρ dz (anti-Wick symbol against the Husimi density)."""
        zs = self.grid.points_array(y.rho.dtype)
        Hz = jax.vmap(lambda z: self.hamiltonian(z, params.args))(zs).reshape(self.grid.shape)
        return self.grid.integrate(Hz.astype(y.rho.dtype) * y.rho)

    def check(self, y, params, dt=None):
        """Structure (always), and what is too costly for `guards` (eager, on
        concrete params): a number-changing Hamiltonian under FockShells (with
        the projected operator's spectral abscissa), and the RK4 step limit."""
        if not isinstance(y, HusimiGridState):
            raise ValueError("y0 must be a HusimiGridState; build it with law.initial_state(rho0).")
        shape = jnp.shape(y.rho)
        if shape != self.grid.shape:
            raise ValueError(
                f"y0.rho has shape {shape}; the grid needs {self.grid.shape} "
                "(build y0 with law.initial_state(rho0) for one state; vmap for a batch)."
            )
        if not jnp.issubdtype(jnp.result_type(y.rho), jnp.floating):
            raise ValueError(f"y0.rho must be real floating point; got {jnp.result_type(y.rho)}.")
        check_values(self, y, params, dt)

    def checks(self, y, params, dt=None):
        """y0.rho normalized; with FockShells also y0.rho inside V_n, a
        number-conserving H, and (C = 1) a y0 that is the Husimi function of
        a density operator; otherwise dt within the explicit RK4 bound
        (`jqd.husimi._grid_guards`)."""
        return grid_guards(self, y, params, dt)

    def stable_dt(self, params):
        """Rough RK4 step limit, from the regularization: FockShells: 2.8/|λ|max
        of the projected operator P L P (power iteration); otherwise the
        explicit grid bound max 2.8/(|v| k_max + ½|D| k_max²). None if params
        are traced (or n_max is not chosen yet)."""
        if not is_concrete(params):
            return None
        dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
        coeffs = compiled_coefficients(self, params, dtype)
        return self.regularization.stable_dt(self, params, coeffs)


def evolve_grid(
    law: HusimiGrid, y0: HusimiGridState, params, *, on_violation: str | None = None, **kwargs
) -> Solution:
    """`jqd.evolve(law.for_state(y0), law.project_state(y0), params, **kwargs)`.

    FockShells with n_max None gets n_max from `y0.rho`, and y0 is projected
    onto V_{n_max} (what that removes is added to `removed`). The monitor
    stops the run at the first failed save and raises `EnvelopeError` (as
    `jqd.evolve` does); `on_violation="ignore"` (= `on_breakdown="flag"`)
    returns the solution anyway: read `sol.stats["breakdown_time"]` and
    `["breakdown_code"]` (a key of `HusimiGrid.breakdowns`).
    """
    if on_violation is not None:
        if on_violation not in ("raise", "ignore") or "on_breakdown" in kwargs:
            raise ValueError(
                "on_violation must be 'raise' or 'ignore' (and not given with on_breakdown); "
                f"got {on_violation!r}."
            )
        kwargs["on_breakdown"] = "flag" if on_violation == "ignore" else "raise"
    law = law.for_state(y0)
    return evolve(law, law.project_state(y0), params, **kwargs)
