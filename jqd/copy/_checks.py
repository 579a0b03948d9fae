"""Input checks of the copy-dynamics laws: structure (shapes, dtypes, static
settings) raised by `check`, values as `jqd.Check`s that `jqd.evolve` raises
eagerly or stages in-graph under `jit`/`vmap`/`grad`.

Counts. Occupations are nonnegative integers (floats holding integers),
N = Σn ≥ 1 (with N = 0 every frequency n_a/N is 0/0), and N must be exactly
representable with unit steps: at most 2^24 in float32 (above it n ± 1
rounds back to n, so members are silently lost or created) and 2^53 in
float64. Member states need N ≥ 1 members; their class counts are formed in
the phase dtype, so float32 phases are refused above 2^24 members.

Stiffness of the mean-field law (`stiffness`). Linearizing S20/S26 about a
state, the rates of change of ln ρ_a and φ_a are R_ab times
(ρ_b/ρ_a)^(1−q), (ρ_b/ρ_a)^q and (ρ_b/ρ_a)^(−r); for q = 1/2, r = −1/2 all
are R_ab √(ρ_b/ρ_a). The relative phases turn at ω_a − ω_b. So

    Λ(ρ) = max_a Σ_b R_ab max_e (ρ_b/ρ_a)^e  +  max_{R_ab > 0} |ω_a − ω_b|

bounds the fastest rate (Gershgorin; for Schrödinger, q = 1/2, r = −1/2,
ρ uniform, it bounds the spread of the eigenvalues of H/ħ). RK4 is stable on
the imaginary axis up to 2.83; `MAX_STIFF` = Λ dt ≤ 2.5, so the largest safe
dt is 2.5/Λ. A class with ρ_a → 0 makes the law stiff (its phase turns at
R√(ρ_b/ρ_a)): classes with ρ_a = 0 exactly are left out (they stay empty
when r = 0, S63, and r ≠ 0 with zeros is refused), tiny ones are not.

Cost of an exact run (`budget_guards`). The event-driven process proposes
thinning candidates at Λ = Σ_{a<b} 2R_ab √(n_a n_b) per unit time (∝ N),
one loop iteration each (~1 µs on a CPU), in a compiled loop that Ctrl-C
cannot interrupt: N = 1e9 would run for hours. `copy_gillespie` refuses a
run whose expected candidates Λ(y0)·(t1 − t0) exceed `max_events` (1e8 by
default) and says how to opt in.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._guards import Check, array_module, count, described, hermitian, round_down
from .._guards import shown as show
from ._kinetics import RULES

MAX_STIFF = 2.5
EXACT_COUNTS = {np.dtype("float32"): 2**24, np.dtype("float64"): 2**53}


# ------------------------------------------------------------------- structure


def check_params(params, rule, n_states):
    """The rule's name and a square (P, P) `params.H` matching the state
    (Hermiticity is a guard: `hamiltonian_guards`)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    H = getattr(params, "H", None)
    if H is None:
        raise ValueError("params must be jqd.copy.CopyParams(H=..., hbar=...).")
    shape = jnp.shape(H)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"params.H must be a square (P, P) matrix; got shape {shape}.")
    if n_states is not None and shape[0] != n_states:
        raise ValueError(
            f"params.H is {shape[0]}x{shape[0]} but the state has {n_states} classes; "
            "they must match."
        )


def hamiltonian_guards(params) -> list[Check]:
    return hermitian(jnp.asarray(params.H), "params.H")


def check_counts(n, phi, n_states, name="y0"):
    """Occupations: float, shape (P,); phases alike (values: `count_guards`)."""
    if jnp.ndim(n) != 1 or jnp.shape(n)[0] != n_states or jnp.shape(phi) != jnp.shape(n):
        raise ValueError(
            f"{name}.n and {name}.phi must have shape ({n_states},); got "
            f"{jnp.shape(n)} and {jnp.shape(phi)}. For a batch of ensembles use jax.vmap."
        )
    dtype = jnp.asarray(n).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name}.n must be a float array (got {dtype}); use n.astype(float).")


def count_guards(n, name="y0") -> list[Check]:
    """Nonnegative integer occupations, 1 <= N <= the dtype's exact range."""
    xp = array_module(n)
    n = xp.asarray(n)
    limit = EXACT_COUNTS.get(np.dtype(n.dtype), 2**53)
    total = xp.sum(n)
    integral = xp.all((n >= 0) & (n == xp.round(n)))
    return [
        Check(
            integral,
            f"{name}.n must hold nonnegative integers (as floats); got {{value}}.",
            xp.where((n >= 0) & (n == xp.round(n)), 0, n),
        ),
        Check(
            total >= 1,
            f"{name}.n has no members (N = Σn = {{value}}): the occupation frequencies n/N "
            "are 0/0. Give the ensemble at least one member.",
            total,
        ),
        Check(
            total <= limit,
            f"{name}.n holds N = {{value}} members, more than {n.dtype} counts exactly "
            f"({limit:.4g}: above it n ± 1 rounds back to n and members are lost). Use "
            "float64 counts (jax.config.update('jax_enable_x64', True)).",
            total,
        ),
    ]


def check_members(a, n_states, phi=None, name="y0"):
    """Beables: 1-D integers, at least one member, phases of the same shape;
    float32 phases count classes exactly only up to 2^24 members."""
    shape = jnp.shape(a)
    if len(shape) != 1 or (phi is not None and jnp.shape(phi) != shape):
        raise ValueError(
            f"{name}.a and {name}.phi must be 1-D of equal length; got shapes "
            f"{shape}, {jnp.shape(phi)}. For a batch of ensembles use jax.vmap."
        )
    if not jnp.issubdtype(jnp.asarray(a).dtype, jnp.integer):
        raise ValueError(f"{name}.a must be an integer array; got {jnp.asarray(a).dtype}.")
    if shape[0] < 1:
        raise ValueError(
            f"{name}.a has no members: the occupation frequencies n/N are 0/0. Give the "
            "ensemble at least one member."
        )
    if phi is not None:
        dtype = np.dtype(jnp.asarray(phi).dtype)
        limit = EXACT_COUNTS.get(dtype, 2**53)
        if shape[0] > limit:
            raise ValueError(
                f"{name} has {shape[0]} members but its {dtype} phases count class "
                f"occupations exactly only up to {limit}; use float64 phases "
                "(jax.config.update('jax_enable_x64', True)) or a CountState."
            )


def member_guards(a, n_states, name="y0.a") -> list[Check]:
    xp = array_module(a)
    a = xp.asarray(a)
    bad = (a < 0) | (a >= n_states)
    return [
        Check(
            ~xp.any(bad),
            f"{name} must lie in [0, {n_states}); got {{value}}.",
            xp.where(bad, a, 0),
        )
    ]


# ------------------------------------------------------------------ mean field


def meanfield_state_guards(rho, params, name="y0") -> list[Check]:
    """ρ ≥ 0 summing to 1; no zeros where the law is singular there (any
    r ≠ 0: (ρ_a/ρ_b)^r is infinite for a zero ρ_b or ρ_a)."""
    xp = array_module(rho, params.q, params.r)
    rho = xp.asarray(rho)
    tol = 1e-4 if rho.dtype == xp.float32 else 1e-8
    has_zero = xp.any(rho == 0)
    q, r = xp.asarray(params.q), xp.asarray(params.r)
    return [
        Check(xp.min(rho) >= 0, f"{name}.rho must be >= 0; min is {{value}}.", xp.min(rho)),
        Check(
            xp.abs(xp.sum(rho) - 1) <= tol,
            f"{name}.rho must sum to 1 (it is a frequency); sum − 1 = {{value}}. Divide rho "
            "by its sum.",
            xp.sum(rho) - 1,
        ),
        Check(
            ~(has_zero & ((r != 0) | (q < 0) | (q > 1))),
            f"{name}.rho has zeros (nodes) and r ≠ 0 or q outside [0, 1]: the law is "
            "singular there ((ρ_a/ρ_b)^r is infinite; physics §5, S63). Give every state a "
            "small occupation.",
        ),
    ]


def rates_guards(R, delta) -> list[Check]:
    """R symmetric and >= 0 (R_ab = R_ba = |H_ab|/ħ), δ antisymmetric mod 2π."""
    xp = array_module(R, delta)
    R, delta = xp.asarray(R), xp.asarray(delta)
    P = R.shape[-1]
    scale = xp.maximum(xp.max(xp.abs(R)), 1e-300)
    asym = xp.max(xp.abs(R - R.T)) / scale
    off = ~xp.eye(P, dtype=bool)
    wrapped = xp.angle(xp.exp(1j * (delta + delta.T)))
    dev = xp.max(xp.where(off & (R > 0), xp.abs(wrapped), 0.0))
    return [
        Check(
            (xp.min(R) >= 0) & (asym <= 1e-10),
            "params.R must be symmetric and >= 0 (R_ab = R_ba = |H_ab|/ħ); build params with "
            "MeanFieldParams.from_hamiltonian(H).",
        ),
        Check(
            dev <= 1e-8,
            "params.delta must be antisymmetric (δ_ba = −δ_ab mod 2π); largest |δ_ab + δ_ba| "
            "is {value}.",
            dev,
        ),
    ]


def stiffness(rho, params):
    """(Λ, index of the stiffest class): the rate bound of the module docstring."""
    xp = array_module(rho, params)
    rho = xp.asarray(rho)
    P = rho.shape[-1]
    R = xp.where(~xp.eye(P, dtype=bool), xp.asarray(params.R), 0.0).astype(rho.dtype)
    q, r = xp.asarray(params.q), xp.asarray(params.r)
    live = rho > 0
    ratio = xp.where(live[None, :], rho[None, :], 0.0) / xp.where(live, rho, 1.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        weight = xp.maximum(xp.maximum(ratio ** (1 - q), ratio**q), ratio ** (-r))
    rows = xp.sum(xp.where(R > 0, R * weight, 0.0), axis=1)
    rows = xp.where(live, rows, 0.0)
    omega = xp.asarray(params.omega).astype(rho.dtype)
    beat = xp.max(xp.where(R > 0, xp.abs(omega[:, None] - omega[None, :]), 0.0))
    return xp.max(rows) + beat, xp.argmax(rows)


def stiffness_guards(rho, params, dt) -> list[Check]:
    lam, _ = stiffness(rho, params)
    safe = MAX_STIFF / lam
    return [
        Check(
            lam * dt <= MAX_STIFF,
            f"dt = {show(dt)} is too large for the mean-field copy law at y0: its fastest rate "
            f"is Λ = {show(lam)} (R_ab √(ρ_b/ρ_a) and ω differences; jqd/copy/_checks.py) and "
            f"RK4 needs Λ dt <= {MAX_STIFF:g}. Use dt <= {{value}}, or jqd.evolve_adaptive.",
            round_down(safe),
        )
    ]


# ---------------------------------------------------------- event-driven process


def candidate_rate(n, params):
    """Λ = Σ_{a<b} 2R_ab √(n_a n_b): the rate of thinning candidates (module
    docstring), ≥ the rate of copy events."""
    xp = array_module(n, params)
    n = xp.asarray(n)
    H = xp.asarray(params.H)
    P = n.shape[-1]
    R = xp.abs(xp.where(xp.eye(P, dtype=bool), 0, H)) / params.hbar
    iu = xp.triu(xp.ones((P, P), dtype=bool), 1)
    return xp.sum(xp.where(iu, 2.0 * R * xp.sqrt(xp.maximum(n[:, None] * n[None, :], 0)), 0))


def budget_guards(n, params, span, max_events) -> list[Check]:
    """The expected thinning candidates of a run may not exceed `max_events`."""
    max_events = count(max_events, "max_events")
    rate = candidate_rate(n, params)
    expected = rate * span

    def detail():
        e = float(expected)
        return (
            f"the run is expected to take ~{e:.3g} thinning candidates "
            f"(rate Λ = Σ 2R_ab √(n_a n_b) = {float(rate):.3g} per unit time at y0, N = "
            f"{float(jnp.sum(jnp.asarray(n))):.3g}, over t = {float(span):.3g}), more than "
            f"max_events = {max_events:.3g}: about {e * 1e-6:.3g} s or more at ~1 µs each, "
            "in a compiled loop that Ctrl-C cannot interrupt. Pass max_events="
            f"{int(e * 2):.3g} (or None) to run it anyway, shorten the time span, or use "
            "tau-leaping for large N (jqd.copy.CopyCountsTauLeap)."
        )

    return [
        described(
            expected <= max_events,
            f"the run is expected to take more than max_events = "
            f"{max_events:.3g} thinning candidates (∝ N × time). Pass a larger max_events (or "
            "None) to run it anyway, or use tau-leaping for large N.",
            detail,
            expected,
        )
    ]


def step_budget_guards(n, params, dt, max_substep, cap) -> list[Check]:
    """One step of the event-driven process may not need more than `cap`
    thinning candidates or phase substeps: such a step would run for minutes
    in a compiled loop that Ctrl-C cannot interrupt."""
    events = candidate_rate(n, params) * dt
    substeps = dt / max_substep
    fix = (
        "Use a smaller dt (more saves), fewer members, a larger max_substep, or tau-leaping "
        "(jqd.copy.CopyCountsTauLeap) for large N; CopyGillespie(max_events_per_step=None) "
        "runs it anyway."
    )
    return [
        Check(
            events <= cap,
            f"dt: one step of the event-driven copy process is expected to take {{value}} "
            f"thinning candidates (∝ N × dt), more than max_events_per_step = {cap:.0e}. {fix}",
            events,
        ),
        Check(
            substeps <= cap,
            f"dt / max_substep = {{value}} phase substeps per step, more than "
            f"max_events_per_step = {cap:.0e}. {fix}",
            substeps,
        ),
    ]
