"""Input guards of the Husimi grid solver's Fock-shell regularization (physics §4).

`FockShells(n_max)` integrates P L P on V_n, the Husimi functions of
operators on the per-mode Fock space {0..n}. Three ways for that to return
an error its indicators (`removed`, `top`) cannot see, each refused by a
guard (eagerly, and in-graph under jit/vmap/grad):

1. y0.rho outside V_n (a state not built by this law): P L P never changes
   the part outside V_n, so that part of the density stays frozen. Refused
   when ∫|ρ − P ρ| dz > max(1e-4 tol, 1e3 eps ∫|ρ|); `law.initial_state`,
   `law.project_state` and `evolve_grid` project y0.
2. A Hamiltonian that changes the number of quanta in some mode (H(e^{iφ}α)
   ≠ H(α), tested at fixed points with independent phases per mode): V_n is
   then not invariant, P L P is the L² (not the Hilbert-Schmidt) projection of
   the generator, and nothing keeps its spectrum on the imaginary axis.
   Measured for H = i(a†² − a²): eigenvalues with real part up to +3.9, +9.9,
   +14.7 for n_max = 4, 8, 11 (errors growing like e^{λt}, up to 30x the
   best approximation in V_11 at t = 1 while `removed` read 1.3). For number-
   conserving H every exact solution started in V_n stays there, so n_max
   chosen from ρ0 (`for_state`) holds for every run time; a number-changing
   H needs a basis sized by the run (HusimiGalerkin's Fock cutoff, whose
   truncated dynamics stays unitary and whose monitor watches the top levels).
3. At C = 1 (quantum mechanics) a y0 whose operator R (V_n ≅ operators on
   the truncated Fock space) has negative eigenvalues. Every exact solution
   is the Husimi function of a density operator; the dynamics on V_n is
   unitary and conserves R's eigenvalues, and dephasing turns the negative
   part into an L¹ error: 2 Σ|λ_−| (a lower bound on ‖R − R_exact‖_tr) is the
   indicator, compared with tol. The usual cause: ρ0 has a Fock tail beyond
   n_max, and its projection onto V_n is not the truncated state (Husimi
   functions of different Fock projectors are far from orthogonal). Measured
   (Kerr, α0 = 2, 64², n_max = 16 forced): `removed` = 2.1e-5 while the L1
   error grew to 4.3e-2 by Ut = 0.4; the indicator reads 2.1e-2. The map
   coefficients → R has condition number ~3^n (1.8e3 at n = 7, 3e7 at 16,
   2e11 at 24 on the grids tested): the check is skipped where cond · eps
   exceeds 1e-4 (float32 beyond n ≈ 5, float64 beyond n ≈ 25).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import is_concrete
from .._guards import Check
from ._shell_basis import from_coefficients, shell_basis, to_coefficients

__all__ = [
    "operator_map",
    "phase_violation",
    "negativity",
    "fock_shell_guards",
    "grid_guards",
    "check_values",
    "compiled_coefficients",
]

_RESIDUAL = 1e-4  # y0 weight outside V_n allowed, × tol (as for_state's limit)
_COND_EPS = 1e-4  # skip the negativity check when cond(map) × eps exceeds this


def _hermitian_basis(d: int) -> np.ndarray:
    """Hermitian d × d matrices h_l (d² of them): E_jj, E_jk + E_kj, i(E_jk − E_kj)."""
    out = []
    for j in range(d):
        for k in range(j, d):
            E = np.zeros((d, d), complex)
            if j == k:
                E[j, j] = 1
                out.append(E)
                continue
            E[j, k] = E[k, j] = 1
            out.append(E)
            F = np.zeros((d, d), complex)
            F[j, k], F[k, j] = 1j, -1j
            out.append(F)
    return np.stack(out)


@functools.lru_cache(maxsize=8)
def operator_map(points: int, length: float, n: int):
    """(M⁻¹, h, cond): the inverse of the map from an operator Σ x_l h_l on
    the Fock levels 0..n of one mode to the coefficients of its Husimi density
    in `shell_basis(points, length, n)`; the Hermitian basis h (K, d, d); and
    the map's condition number."""
    d = n + 1
    dx = length / points
    x = -length / 2 + dx * np.arange(points)
    Q, P = np.meshgrid(x, x, indexing="ij")
    alpha = ((Q + 1j * P) / np.sqrt(2)).reshape(-1)
    lg = np.array([math.lgamma(i + 1) for i in range(d)])
    powers = np.stack([alpha**i for i in range(d)])
    gauss = np.exp(-(np.abs(alpha) ** 2))
    cols = []
    for j in range(d):
        for k in range(j, d):
            q = gauss * np.conj(powers[j]) * powers[k] * np.exp(-0.5 * (lg[j] + lg[k])) / np.pi
            if j == k:
                cols.append(q.real / 2)  # ρ = Q/2 on z = (Q, P)
            else:
                cols.append(q.real)  # ⟨α|(E_jk + E_kj)|α⟩/(2π)
                cols.append(-q.imag)  # ⟨α|i(E_jk − E_kj)|α⟩/(2π)
    M = shell_basis(points, length, n).T @ np.stack(cols, axis=1) * dx * dx
    s = np.linalg.svd(M, compute_uv=False)
    return np.linalg.inv(M), _hermitian_basis(d), float(s[0] / s[-1])


def negativity(grid, basis, n: int, rho):
    """2 Σ |negative eigenvalues| of the operator R whose Husimi density is
    the projection of ρ onto V_n (0 for every density operator)."""
    Minv, h, _ = operator_map(grid.points, grid.length, n)
    c = to_coefficients(rho, basis.astype(rho.dtype), grid)
    x = c
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


def _checks_negativity(law, dtype, C) -> bool:
    """Whether guard 3 applies: R well-conditioned in `dtype`, and C not a
    concrete value other than 1."""
    _, _, cond = operator_map(law.grid.points, law.grid.length, law.regularization.n_max)
    concrete_not_one = isinstance(C, int | float) and C != 1
    return cond * float(jnp.finfo(dtype).eps) <= _COND_EPS and not concrete_not_one


@eqx.filter_jit
def _fock_shell_values(law, rho, args, with_negativity: bool):
    """(residual outside V_n, its limit, phase violation, negativity or None):
    one compiled program per law structure (eager calls dispatch no op by op)."""
    reg, grid, dtype = law.regularization, law.grid, rho.dtype
    residual = grid.integrate(jnp.abs(rho - reg.project(grid, rho)))
    floor = 1e3 * jnp.finfo(dtype).eps * grid.integrate(jnp.abs(rho))
    limit = jnp.maximum(_RESIDUAL * law.tol, floor)
    violation = phase_violation(law.hamiltonian, args, grid.n_modes, dtype)
    neg = negativity(grid, reg.basis, reg.n_max, rho) if with_negativity else None
    return residual, limit, violation, neg


def fock_shell_guards(law, y, params) -> list[Check]:
    """Guards 1-3 of the module docstring for a `HusimiGrid` with FockShells."""
    reg, rho = law.regularization, jnp.asarray(y.rho)
    if reg.basis is None:  # n_max not chosen yet: step raises, naming the fix
        return []
    n, dtype, C = reg.n_max, rho.dtype, params.C
    with_neg = _checks_negativity(law, dtype, C)
    residual, limit, violation, neg = _fock_shell_values(law, rho, params.args, with_neg)
    out = [
        Check(
            residual <= limit,
            f"y0.rho has ∫|ρ − Pρ| dz = {{value}} outside the Fock-shell space V_{n} of this law: "
            "FockShells evolves P L P on V_n, so that part would stay frozen. Build y0 with "
            "law.initial_state(rho0), or project it (law.project_state(y0)), or call "
            "jqd.husimi.evolve_grid, which does.",
            residual,
        ),
        Check(violation <= phase_rtol(dtype), NUMBER_CHANGING, None),
    ]
    if with_neg:
        out.append(
            Check(
                (jnp.asarray(C) != 1) | (neg <= law.tol),
                f"y0.rho is not the Husimi function of a density operator on V_{n}: its "
                "operator has negative eigenvalues (2 Σ|λ−| = {value} > tol). At C = 1 the "
                "dynamics conserves them and dephasing turns them into an L1 error of about "
                "that size. Usually rho0 has a Fock tail beyond n_max that the projection "
                "misassigned: increase n_max (with length and points, grid.max_quanta()), or "
                "let evolve_grid choose it (n_max=None), or raise tol.",
                neg,
            )
        )
    return out


NUMBER_CHANGING = (
    "HusimiGrid with FockShells needs a Hamiltonian that conserves the number of quanta "
    "in every mode (H(e^{iφ}α) = H(α)); this one changes it, so V_{n_max} is not invariant "
    "and the projected operator P L P has eigenvalues with positive real part: errors grow "
    "exponentially where the indicators do not see them. Use jqd.husimi.HusimiGalerkin "
    "(a Fock cutoff, monitored top levels) for this Hamiltonian: exact when its symbol "
    "truncates (F64); for a non-truncating H (e.g. φ⁴) the truncated equation itself is not "
    "well posed (physics §4.11) and no regularization converges."
)


def projected_abscissa(law, params, limit: int = 1600):
    """max Re λ of P L P on V_n (dense, eager; None if (n+1)^{2N} > limit)."""
    K = law.regularization.basis.shape[1] ** law.grid.n_modes
    if K > limit:
        return None
    return float(np.max(np.linalg.eigvals(np.asarray(_projected_matrix(law, params))).real))


@eqx.filter_jit
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
    """`law.compute_coefficients` compiled (eagerly it dispatches op by op:
    seconds); Python floats in params travel as arrays (no recompilation)."""
    params = jax.tree_util.tree_map(
        lambda x: jnp.asarray(x) if isinstance(x, float | complex) else x, params
    )
    return _coefficients(law, params, dtype)


@eqx.filter_jit
def _coefficients(law, params, dtype):
    return law.compute_coefficients(params, dtype)


def grid_guards(law, y, params, dt) -> list[Check]:
    """`HusimiGrid.guards`: y0.rho normalized; FockShells: guards 1-3 (module
    docstring); Envelope / NoRegularization: dt within the explicit RK4 bound."""
    dev = jnp.abs(law.grid.integrate(y.rho) - 1)
    out = [
        Check(
            dev <= 1e-6,
            "y0.rho must be normalized (|∫ρ dz − 1| = {value}); divide by its integral, "
            "and make sure the box holds the density (increase grid length).",
            dev,
        )
    ]
    reg = law.regularization
    if hasattr(reg, "n_max"):  # FockShells (its step limit needs a power iteration: check)
        return out + fock_shell_guards(law, y, params)
    if dt is not None:
        limit = reg.dt_limit(law, compiled_coefficients(law, params, jnp.result_type(y.rho)))
        out.append(
            Check(
                jnp.abs(dt) <= limit,
                "dt exceeds the explicit RK4 limit ≈ {value} for this grid and Hamiltonian "
                f"({reg.limit_what}); reduce dt.",
                limit,
            )
        )
    return out


def check_values(law, y, params, dt) -> None:
    """The eager part of `HusimiGrid.check` (concrete params): a number-changing
    H under FockShells, with the projected operator's spectral abscissa as
    evidence; the RK4 step limit (FockShells: power iteration on P L P)."""
    if not is_concrete(params):
        return
    reg = law.regularization
    if hasattr(reg, "n_max") and reg.basis is not None:
        dtype = jnp.result_type(y.rho)
        with jax.ensure_compile_time_eval():  # concrete params: eager inside jit too
            v = float(phase_violation(law.hamiltonian, params.args, law.grid.n_modes, dtype))
        if v > phase_rtol(dtype):
            try:  # the evidence, where it can be computed (not inside an outer trace)
                lam = projected_abscissa(law, params)
            except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
                lam = None
            detail = "" if lam is None else f"; here max Re λ(P L P) = {lam:.3g}"
            raise ValueError(f"{NUMBER_CHANGING} (relative violation {v:.3g}{detail}).")
    if dt is not None and is_concrete(dt, y.rho):
        dtv = float(np.asarray(dt))
        limit = law.stable_dt(params)
        if limit is not None and dtv > limit:
            raise ValueError(
                f"dt = {dtv:g} exceeds the explicit RK4 limit ≈ {limit:.3g} for this grid "
                f"and Hamiltonian ({reg.limit_what}); reduce dt."
            )
