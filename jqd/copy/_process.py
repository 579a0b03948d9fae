"""The stochastic copy process of N ensemble members (SPEC §5, Smolin S39-S40).

Each member I carries a beable a_I ∈ {0..P−1} and a phase φ_I. With phase
alignment (φ_I = φ_{a_I}) the copy rule used here is the one consistent with
S32 (SPEC §5):

    member X copies member Y at rate 2 R_{a_Y a_X} sin⁺(φ_Y − φ_X + δ_{a_Y a_X}) / √(n_X n_Y),

where n_X = n_{a_X} is the occupation of X's state. Copying sets
(a_X, φ_X) ← (a_Y, φ_Y). Summing over the n_b n_a ordered pairs (X in b,
Y in a), the total rate of b → a transfers is

    T_{b→a} = n_a n_b · 2R_ab sin⁺(φ_a − φ_b + δ_ab)/√(n_a n_b)
            = 2 R_ab √(n_a n_b) sin⁺(φ_a − φ_b + δ_ab),

so the mean drift is ṅ_a = Σ_b (T_{b→a} − T_{a→b}); since δ_ba = −δ_ab and
sin⁺(x) − sin⁺(−x) = sin x, dividing by N gives S32 exactly:
ρ̇_a = Σ_b 2R_ab √(ρ_a ρ_b) sin(φ_a − φ_b + δ_ab) (the q = 1/2 mean field).
The rule as printed in S39 ("I copies J at rate ∝ sin⁺(φ_I − φ_J + δ)")
swaps the sign of the drift; it is available as `rule="printed"` so that
tests can show it.

Between copy events the phases follow S40,

    φ̇_I = ω_{a_I} + Σ_{J≠I} R_{a_I a_J} cos(φ_I − φ_J + δ_{a_I a_J}) / √(n_I n_J),

which, aligned, is φ̇_a = ω_a + Σ_{b≠a} R_ab √(n_b/n_a) cos(φ_a − φ_b + δ_ab)
(r = −1/2). The constants come from a Hermitian H (energy units):
H_aa = ħω_a, H_ab = ħR_ab e^{iδ_ab}; ψ_a = √(n_a/N) e^{−iφ_a} then follows
iħψ̇ = Hψ as N → ∞.

Representations:
    `CountState(n, phi)`: occupations n_a (float, integer valued; N up to
        ~1e15 in float64) and class phases φ_a.
    `MemberState(a, phi)`: each member's beable (int32, length N) and phase.

Algorithms:
    `copy_gillespie`: exact event-driven simulation by thinning
        (uniformization with a rate bound that is constant between events):
        Λ = Σ_{a<b} 2R_ab √(n_a n_b) ≥ Σ_{a≠b} T_{b→a} (since
        sin⁺x + sin⁺(−x) = |sin x| ≤ 1). Candidate times are Exp(Λ); a
        candidate is accepted with probability ΣT/Λ and the pair (b → a) is
        chosen ∝ T. Between candidates the phases are integrated with RK4
        over the (short) waiting time, capped at `max_substep`; the only
        approximation is this RK4 error, O(h⁴) globally with h the substep
        (h ≤ max_substep, and usually the much shorter waiting time).
        Measured on the 4-state test problem over t = 2 with fixed
        occupations: phase error 1.9e-10 rad (n = 25 each) and 3.7e-9 rad
        (n = (97, 1, 1, 1)) at h = 0.02, 1e-11-1e-12 at h = 0.005. A phase
        error ε shifts the acceptance probabilities by O(ε).
    `CopyCountsTauLeap`, `CopyMembersTauLeap`: fixed-step tau-leaping laws
        for `jqd.evolve` (stochastic = True). One step of length dt is an
        explicit-midpoint (RK2) step of the mean-field pair (n, φ): a
        deterministic predictor (n~, φ~) at dt/2, then each member of class
        b moves to a with probability p_ba = dt T_{b→a}(n~, φ~)/n_b
        (binomial/multinomial at count level, one categorical draw per member
        at member level; the two are equal in distribution), and
        φ ← φ + dt φ̇(n~, φ~). Error: the mean of n/N follows the RK2 scheme
        of the mean field, bias O(dt²) (measured in the tests and in
        `experiments/copy_finite_N`); the fluctuations are those of the
        exact process up to O(dt). If Σ_a p_ba > 1 the probabilities are
        rescaled to 1 (dt too large; `check` refuses dt·max rate > 0.5).

Gradients: the copy events are discrete (binomial, categorical and
exponential draws); n(t) is piecewise constant in every parameter, so
`jax.grad` of count means through these samplers is not defined (it returns
zeros or garbage). Use the mean-field law for gradients.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray

from .._checks import check_hermitian, is_concrete
from .._law import AbstractLaw
from ._meanfield import hamiltonian_to_rates

__all__ = [
    "CopyParams",
    "CountState",
    "MemberState",
    "CopyCountsTauLeap",
    "CopyMembersTauLeap",
    "GillespieSolution",
    "copy_gillespie",
    "transfer_rates",
    "count_drift",
    "class_phase_velocity",
    "counts_from_members",
    "members_from_counts",
    "occupation_frequencies",
]

RULES = ("consistent", "printed")


# ---------------------------------------------------------------- parameters


class CopyParams(eqx.Module):
    """Constants of the copy process: a Hermitian `H` (P×P, energy units) and ħ.

    R_ab = |H_ab|/ħ, δ_ab = arg H_ab (a ≠ b), ω_a = H_aa/ħ.
    """

    H: Array
    hbar: float | Array = 1.0


def _rates(params: CopyParams, dtype):
    """(R, delta, omega) of `params.H` in the real dtype `dtype`."""
    R, delta, omega = hamiltonian_to_rates(params.H, params.hbar)
    return R.astype(dtype), delta.astype(dtype), omega.astype(dtype)


# -------------------------------------------------------------------- states


class CountState(eqx.Module):
    """Count-level state: occupations `n` (P,) (integer valued floats) and
    class phases `phi` (P,)."""

    n: Array
    phi: Array


class MemberState(eqx.Module):
    """Member-level state: beables `a` (N,) int32 in [0, P) and phases `phi` (N,)."""

    a: Array
    phi: Array


def counts_from_members(y: MemberState, n_states: int) -> CountState:
    """Occupations and class phases (circular mean arg Σ_{J∈a} e^{iφ_J}; 0 if empty)."""
    n, zc, zs = _member_sums(y, n_states)
    phi = jnp.where(n > 0, jnp.arctan2(zs, jnp.where(n > 0, zc, 1.0)), 0.0)
    return CountState(n=n, phi=phi.astype(y.phi.dtype))


def members_from_counts(y: CountState) -> MemberState:
    """Members sorted by class (numpy; concrete `y` only): n_a members in class a,
    each with its class phase."""
    n = np.asarray(y.n)
    counts = np.rint(n).astype(np.int64)
    if np.any(np.abs(n - counts) > 0) or np.any(counts < 0):
        raise ValueError("y.n must hold nonnegative integers to build members.")
    a = np.repeat(np.arange(n.shape[-1], dtype=np.int32), counts)
    phi = np.asarray(y.phi)[a]
    return MemberState(a=jnp.asarray(a), phi=jnp.asarray(phi))


def occupation_frequencies(y, n_states: int | None = None) -> Array:
    """n_a/N for a `CountState` or a `MemberState` (then `n_states` is needed)."""
    if isinstance(y, MemberState):
        if n_states is None:
            raise ValueError("n_states is required for a MemberState.")
        y = counts_from_members(y, n_states)
    return y.n / jnp.sum(y.n, axis=-1, keepdims=True)


def _member_sums(y: MemberState, P: int):
    dtype = y.phi.dtype
    n = jax.ops.segment_sum(jnp.ones_like(y.phi), y.a, num_segments=P)
    zc = jax.ops.segment_sum(jnp.cos(y.phi), y.a, num_segments=P)
    zs = jax.ops.segment_sum(jnp.sin(y.phi), y.a, num_segments=P)
    return n.astype(dtype), zc, zs


# ---------------------------------------------------------- shared kinetics


def transfer_rates(n, phi, R, delta, rule: str = "consistent"):
    """T[b, a]: total rate of b → a transfers (source first), zero diagonal.

    consistent (S32): T[b, a] = 2R_ab √(n_a n_b) sin⁺(φ_a − φ_b + δ_ab);
    printed (S39 as printed): sin⁺(φ_b − φ_a + δ_ba), the opposite drift.
    """
    theta = phi[None, :] - phi[:, None] + delta.T  # [b, a] = φ_a − φ_b + δ_ab
    if rule == "printed":
        theta = -theta
    s = jnp.maximum(jnp.sin(theta), 0.0)
    nn = jnp.sqrt(jnp.maximum(n[:, None] * n[None, :], 0.0))
    return 2.0 * R.T * nn * s


def count_drift(n, phi, R, delta, rule: str = "consistent"):
    """Mean drift ṅ_a = Σ_b T[b, a] − Σ_b T[a, b]."""
    T = transfer_rates(n, phi, R, delta, rule)
    return jnp.sum(T, axis=0) - jnp.sum(T, axis=1)


def class_phase_velocity(n, phi, R, delta, omega):
    """S40 with alignment: φ̇_a = ω_a + Σ_b R_ab √(n_b/n_a) cos(φ_a − φ_b + δ_ab);
    ω_a for an empty class (its phase never matters: nothing can copy from it)."""
    occupied = n > 0
    inv = jnp.where(occupied, 1.0 / jnp.sqrt(jnp.where(occupied, n, 1.0)), 0.0)
    sq = jnp.sqrt(jnp.maximum(n, 0.0))
    x = phi[:, None] - phi[None, :] + delta
    return omega + inv * jnp.sum(R * jnp.cos(x) * sq[None, :], axis=1)


def _rk4_phases(n, phi, h, R, delta, omega):
    f = lambda p: class_phase_velocity(n, p, R, delta, omega)
    k1 = f(phi)
    k2 = f(phi + 0.5 * h * k1)
    k3 = f(phi + 0.5 * h * k2)
    k4 = f(phi + h * k3)
    return phi + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


def _midpoint_probabilities(n, phi, dt, R, delta, omega, rule):
    """Predictor at dt/2 and the per-member move probabilities p[b, a]."""
    half = 0.5 * dt
    n_mid = jnp.maximum(n + half * count_drift(n, phi, R, delta, rule), 0.0)
    n_mid = jnp.where(n > 0, n_mid, 0.0)
    phi_mid = phi + half * class_phase_velocity(n, phi, R, delta, omega)
    T = transfer_rates(n_mid, phi_mid, R, delta, rule)
    occupied = n > 0
    p = dt * T / jnp.where(occupied, n, 1.0)[:, None]
    p = jnp.where(occupied[:, None], p, 0.0)
    total = jnp.sum(p, axis=1, keepdims=True)
    p = p / jnp.maximum(total, 1.0)  # only if dt is too large (check refuses)
    return p, n_mid, phi_mid


def _check_common(params, dt, rule, P_state):
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    H = getattr(params, "H", None)
    if H is None:
        raise ValueError("params must be jqd.copy.CopyParams(H=..., hbar=...).")
    if is_concrete(H):
        H = np.asarray(H)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"params.H must be a square (P, P) matrix; got shape {H.shape}.")
        check_hermitian(H, "params.H")
        if P_state is not None and H.shape[0] != P_state:
            raise ValueError(
                f"params.H is {H.shape[0]}x{H.shape[0]} but the state has {P_state} classes; "
                "they must match."
            )
    if dt is not None and is_concrete(dt) and not float(np.asarray(dt)) > 0:
        raise ValueError(f"dt must be positive; got {dt}.")


def _check_leap(params, dt, rule, n):
    """Refuse steps whose largest per-member move probability exceeds 0.5."""
    if dt is None or not is_concrete(params.H, dt, n):
        return
    H = np.asarray(params.H)
    hbar = float(np.asarray(params.hbar))
    R = np.abs(H - np.diag(np.diag(H))) / hbar
    n = np.asarray(n, dtype=float)
    occ = n > 0
    if not occ.any():
        return
    nmin = n[occ].min()
    # per-member hazard out of b: Σ_a 2 R_ab √(n_a/n_b) ≤ 2 Σ_a R_ab √(N/n_min)
    worst = float(np.max(2 * R.sum(axis=0)) * np.sqrt(n.sum() / nmin) * float(dt))
    if worst > 0.5:
        raise ValueError(
            f"dt={float(dt):g} is too large for tau-leaping: the largest per-member move "
            f"probability bound dt·max hazard = {worst:.3g} > 0.5 (the least occupied class "
            f"has {nmin:g} members). Reduce dt, or use jqd.copy.copy_gillespie."
        )


# ----------------------------------------------------------- count level law


def _multinomial_moves(key, n, p_rows):
    """moves[b, a] ~ Multinomial(n_b; p_rows[b, :], stay) for every source b, by
    sequential conditional binomials over the categories (a = 0..P−1, then
    stay), inside one `lax.scan` so that the binomial sampler compiles once."""
    P = p_rows.shape[1]
    keys = jax.random.split(key, P)

    def body(carry, xs):
        remaining, left = carry
        pa, k = xs
        frac = jnp.where(left > 0, pa / jnp.where(left > 0, left, 1.0), 0.0)
        frac = jnp.clip(frac, 0.0, 1.0)
        draw = jax.random.binomial(k, remaining, frac, dtype=remaining.dtype)
        draw = jnp.where(frac >= 1.0, remaining, jnp.where(frac > 0.0, draw, 0.0))
        draw = jnp.clip(draw, 0.0, remaining)
        return (remaining - draw, jnp.maximum(left - pa, 0.0)), draw

    left0 = jnp.ones_like(n)
    _, draws = jax.lax.scan(body, (n, left0), (p_rows.T, keys))
    return draws.T  # [b, a]


class CopyCountsTauLeap(AbstractLaw):
    """Tau-leaping copy process at count level (occupations n_a in float, N up
    to ~1e15 in float64). State `CountState`; params `CopyParams`.

    One step (see the module docstring): explicit-midpoint predictor, then
    the moves out of each class b are Multinomial(n_b; p_b1..p_bP, stay)
    (sequential conditional binomials), then φ ← φ + dt φ̇(n~, φ~).
    Occupations stay integer valued and nonnegative; Σn is conserved exactly;
    n_a(0) = 0 stays 0 (nothing to copy). Bias of the mean O(dt²).

    Attributes:
        n_states: P.
        rule: "consistent" (S32, default) or "printed" (S39 as printed).
    """

    n_states: int = eqx.field(static=True)
    rule: str = eqx.field(static=True, default="consistent")
    stochastic = True

    def step(self, t, y: CountState, params: CopyParams, dt, key: PRNGKeyArray):
        R, delta, omega = _rates(params, y.phi.dtype)
        p, n_mid, phi_mid = _midpoint_probabilities(y.n, y.phi, dt, R, delta, omega, self.rule)
        moves = _multinomial_moves(key, y.n, p)  # [b, a]
        n = y.n - jnp.sum(moves, axis=1) + jnp.sum(moves, axis=0)
        phi = y.phi + dt * class_phase_velocity(n_mid, phi_mid, R, delta, omega)
        return CountState(n=n.astype(y.n.dtype), phi=phi.astype(y.phi.dtype))

    def check(self, y, params, dt=None):
        if not isinstance(y, CountState):
            raise ValueError("y0 must be a jqd.copy.CountState(n, phi).")
        if is_concrete(y.n):
            n = np.asarray(y.n)
            if n.ndim != 1 or n.shape[0] != self.n_states or np.shape(y.phi) != n.shape:
                raise ValueError(
                    f"y0.n and y0.phi must have shape ({self.n_states},); got "
                    f"{n.shape} and {np.shape(y.phi)}."
                )
            if np.any(n < 0) or np.any(n != np.rint(n)):
                raise ValueError("y0.n must hold nonnegative integers (as floats).")
            if not np.issubdtype(n.dtype, np.floating):
                raise ValueError(
                    f"y0.n must be a float array (got {n.dtype}); use n.astype(float)."
                )
        _check_common(params, dt, self.rule, self.n_states)
        _check_leap(params, dt, self.rule, y.n)

    def density(self, y):
        """Occupation frequencies n_a/N."""
        return occupation_frequencies(y)


# ---------------------------------------------------------- member level law


def _member_phase_velocity(y: MemberState, n, zc, zs, R, delta, omega):
    """S40 per member without assuming alignment, in O(N + P²):
    Ω_I = ω_{a_I} + Σ_b R_{a_I b}/√(n_{a_I} n_b) Re[e^{i(φ_I + δ_{a_I b})} Z_b],
    Z_b = Σ_{J∈b} e^{−iφ_J} = zc_b − i zs_b."""
    occ = n > 0
    inv = jnp.where(occ, 1.0 / jnp.sqrt(jnp.where(occ, n, 1.0)), 0.0)
    W = R * inv[:, None] * inv[None, :]
    cd, sd = jnp.cos(delta), jnp.sin(delta)
    A = jnp.sum(W * (cd * zc[None, :] + sd * zs[None, :]), axis=1)
    B = jnp.sum(W * (-sd * zc[None, :] + cd * zs[None, :]), axis=1)
    return omega[y.a] + jnp.cos(y.phi) * A[y.a] + jnp.sin(y.phi) * B[y.a]


class CopyMembersTauLeap(AbstractLaw):
    """Tau-leaping copy process at member level. State `MemberState(a, phi)`
    (arrays of length N; 1e7 members fit a GPU); params `CopyParams`.

    Per step: class sums Z_b = Σ_{J∈b} e^{−iφ_J} and n_b (segment sums); the
    same midpoint move probabilities p[b, a] as `CopyCountsTauLeap` (computed
    from n and the class phases arg Z_b*), then each member draws one
    categorical variable (move to a with probability p[a_I, a], else stay),
    so the occupations have exactly the count-level distribution. Member
    phases advance by the per-member S40 velocity (midpoint), and a member
    that copies takes the new phase of its destination class (φ_X ← φ_Y,
    Y aligned). Copy rates use the class phases, exact under alignment.
    """

    n_states: int = eqx.field(static=True)
    rule: str = eqx.field(static=True, default="consistent")
    stochastic = True

    def step(self, t, y: MemberState, params: CopyParams, dt, key: PRNGKeyArray):
        P = self.n_states
        dtype = y.phi.dtype
        R, delta, omega = _rates(params, dtype)
        n, zc, zs = _member_sums(y, P)
        phic = jnp.where(n > 0, jnp.arctan2(zs, jnp.where(n > 0, zc, 1.0)), 0.0)
        p, n_mid, phic_mid = _midpoint_probabilities(n, phic, dt, R, delta, omega, self.rule)
        # member phases: explicit midpoint with per-member S40
        v0 = _member_phase_velocity(y, n, zc, zs, R, delta, omega)
        y_mid = MemberState(a=y.a, phi=y.phi + 0.5 * dt * v0)
        _, zc_m, zs_m = _member_sums(y_mid, P)
        v1 = _member_phase_velocity(y_mid, n_mid, zc_m, zs_m, R, delta, omega)
        phi_new = y.phi + dt * v1
        phic_new = phic + dt * class_phase_velocity(n_mid, phic_mid, R, delta, omega)
        # one categorical draw per member: destination a with prob p[a_I, a]
        cum = jnp.cumsum(p, axis=1)  # (P, P)
        u = jax.random.uniform(key, y.a.shape, dtype=dtype)
        rows = cum[y.a]  # (N, P)
        dest = jnp.sum(u[:, None] >= rows, axis=1)  # P means stay
        moved = dest < P
        a_new = jnp.where(moved, dest, y.a).astype(y.a.dtype)
        phi_new = jnp.where(moved, phic_new[jnp.minimum(dest, P - 1)], phi_new)
        return MemberState(a=a_new, phi=phi_new.astype(dtype))

    def check(self, y, params, dt=None):
        if not isinstance(y, MemberState):
            raise ValueError("y0 must be a jqd.copy.MemberState(a, phi).")
        if is_concrete(y.a):
            a = np.asarray(y.a)
            if a.ndim != 1 or np.shape(y.phi) != a.shape:
                raise ValueError(
                    "y0.a and y0.phi must be 1-D of equal length; got "
                    f"{a.shape}, {np.shape(y.phi)}."
                )
            if not np.issubdtype(a.dtype, np.integer):
                raise ValueError(f"y0.a must be an integer array; got {a.dtype}.")
            if a.size and (a.min() < 0 or a.max() >= self.n_states):
                raise ValueError(
                    f"y0.a must lie in [0, {self.n_states}); got [{a.min()}, {a.max()}]."
                )
            n = np.bincount(a, minlength=self.n_states)
        else:
            n = None
        _check_common(params, dt, self.rule, self.n_states)
        if n is not None:
            _check_leap(params, dt, self.rule, n)

    def density(self, y):
        """Occupation frequencies n_a/N."""
        return occupation_frequencies(y, self.n_states)


# ------------------------------------------------------- exact event driven


class GillespieSolution(eqx.Module):
    """Output of `copy_gillespie`.

    Attributes:
        ts: save times (as given).
        ys: states at `ts` (leading axis len(ts)); same type as y0.
        n_events: accepted copy events (total).
        n_proposals: thinning candidates (accepted + rejected).
        n_steps: loop iterations (candidates plus substep/save boundaries).
    """

    ts: Array
    ys: CountState | MemberState
    n_events: Array
    n_proposals: Array
    n_steps: Array


def _pick_member(key, a, cls, N, active):
    """A uniformly chosen member index with a[idx] == cls, by rejection (expected
    N/n_cls draws). Does nothing when `active` is False (so that a vmapped
    `lax.cond`, which runs both branches, cannot loop on an empty class)."""

    def cond(c):
        _, idx = c
        return active & (a[idx] != cls)

    def body(c):
        k, _ = c
        k, sub = jax.random.split(k)
        return k, jax.random.randint(sub, (), 0, N)

    k, sub = jax.random.split(key)
    _, idx = jax.lax.while_loop(cond, body, (k, jax.random.randint(sub, (), 0, N)))
    return idx


@eqx.filter_jit
def _gillespie_core(n0, phi0, a0, params, ts, key, max_substep, max_steps, rule, P):
    dtype = phi0.dtype
    R, delta, omega = _rates(params, dtype)
    iu = jnp.triu(jnp.ones((P, P), dtype=bool), 1)
    has_members = a0 is not None
    N_members = a0.shape[0] if has_members else 0
    h_max = jnp.asarray(max_substep, dtype)

    def run_to(carry, t_target):
        def cond(c):
            t, *_, steps = c
            return (t < t_target) & (steps < max_steps)

        def body(c):
            t, n, phi, a, k, n_ev, n_prop, steps = c
            k, k_tau, k_acc, k_pair, k_mem = jax.random.split(k, 5)
            lam = jnp.sum(jnp.where(iu, 2.0 * R * jnp.sqrt(n[:, None] * n[None, :]), 0.0))
            e = jax.random.exponential(k_tau, (), dtype=dtype)
            tau = jnp.where(lam > 0, e / jnp.where(lam > 0, lam, 1.0), jnp.inf)
            room = jnp.minimum(h_max, t_target - t)
            candidate = tau <= room
            h = jnp.where(candidate, tau, room)
            phi = _rk4_phases(n, phi, h, R, delta, omega)
            T = transfer_rates(n, phi, R, delta, rule)
            total = jnp.sum(T)
            u = jax.random.uniform(k_acc, (), dtype=dtype)
            accept = candidate & (u * lam < total)
            cum = jnp.cumsum(T.ravel())
            v = jax.random.uniform(k_pair, (), dtype=dtype) * total
            idx = jnp.minimum(jnp.sum(cum <= v), P * P - 1)
            # guard against landing on a zero-rate entry through round-off
            idx = jnp.where(T.ravel()[idx] > 0, idx, jnp.argmax(T.ravel()))
            src, dst = idx // P, idx % P
            one = jnp.where(accept, 1.0, 0.0).astype(n.dtype)
            n = n.at[src].add(-one).at[dst].add(one)
            if has_members:
                X = _pick_member(k_mem, a, src, N_members, accept)
                # one-element scatter (in place in the loop), no O(N) select
                a = a.at[X].set(jnp.where(accept, dst.astype(a.dtype), a[X]))
            t_new = jnp.where(candidate, t + tau, jnp.where(room == t_target - t, t_target, t + h))
            return (
                t_new,
                n,
                phi,
                a,
                k,
                n_ev + accept.astype(jnp.int32),
                n_prop + candidate.astype(jnp.int32),
                steps + 1,
            )

        t, n, phi, a, k, n_ev, n_prop, steps = jax.lax.while_loop(cond, body, carry)
        carry = (t, n, phi, a, k, n_ev, n_prop, steps)
        return carry, (n, phi, a)

    zero = jnp.zeros((), jnp.int32)
    carry0 = (ts[0].astype(dtype), n0, phi0, a0, key, zero, zero, zero)
    carry, (ns, phis, as_) = jax.lax.scan(run_to, carry0, ts[1:].astype(dtype))
    ns = jnp.concatenate([n0[None], ns])
    phis = jnp.concatenate([phi0[None], phis])
    if has_members:
        as_ = jnp.concatenate([a0[None], as_])
    _, _, _, _, _, n_ev, n_prop, steps = carry
    return ns, phis, as_, n_ev, n_prop, steps


def copy_gillespie(
    y0: CountState | MemberState,
    params: CopyParams,
    ts,
    key: PRNGKeyArray,
    *,
    n_states: int | None = None,
    max_substep: float = 0.02,
    max_steps: int = 2**31 - 1,
    rule: str = "consistent",
) -> GillespieSolution:
    """Exact event-driven copy process (thinning), states at the save times `ts`.

    Args:
        y0: `CountState(n, phi)` or `MemberState(a, phi)` (member phases must be
            aligned within each class: φ_I = φ_{a_I}; the class phase is
            taken as the circular mean).
        params: `CopyParams(H, hbar)`.
        ts: increasing save times; `ts[0]` is the initial time.
        key: PRNG key.
        n_states: P (required for a MemberState; else read from y0.n).
        max_substep: largest RK4 step of the phase flow between candidates
            (the candidate waiting time is used when shorter). RK4 global error
            O(h⁴).
        max_steps: safety cap on loop iterations (the run stops early if hit;
            compare `n_steps`).
        rule: "consistent" (S32) or "printed" (S39 as printed).

    Returns:
        `GillespieSolution`. Member output: `ys.a` at every save and
        `ys.phi[i] = φ_{a}(t_i)[a]` (aligned phases).

    vmap over `key` (and `y0`) for independent ensembles; the while loop then
    runs until the slowest ensemble finishes.
    """
    if isinstance(y0, MemberState):
        if n_states is None:
            raise ValueError("n_states is required when y0 is a MemberState.")
        P = int(n_states)
        if is_concrete(y0.a):
            a = np.asarray(y0.a)
            if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
                raise ValueError("y0.a must be a 1-D integer array of beables.")
            if a.size and (a.min() < 0 or a.max() >= P):
                raise ValueError(f"y0.a must lie in [0, {P}); got [{a.min()}, {a.max()}].")
        c = counts_from_members(y0, P)
        n0, phi0, a0 = c.n, c.phi, y0.a
    elif isinstance(y0, CountState):
        P = int(np.shape(y0.n)[-1])
        if n_states is not None and int(n_states) != P:
            raise ValueError(f"n_states={n_states} but y0.n has {P} classes.")
        n0, phi0, a0 = jnp.asarray(y0.n), jnp.asarray(y0.phi), None
        if is_concrete(n0):
            nn = np.asarray(n0)
            if np.any(nn < 0) or np.any(nn != np.rint(nn)):
                raise ValueError("y0.n must hold nonnegative integers (as floats).")
            if not np.issubdtype(nn.dtype, np.floating):
                raise ValueError("y0.n must be a float array; use n.astype(float).")
    else:
        raise ValueError("y0 must be a jqd.copy.CountState or jqd.copy.MemberState.")
    _check_common(params, None, rule, P)
    if is_concrete(ts):
        t_np = np.asarray(ts)
        if t_np.ndim != 1 or t_np.size < 2 or np.any(np.diff(t_np) <= 0):
            raise ValueError("ts must be a 1-D increasing array of at least two save times.")
    if not max_substep > 0:
        raise ValueError(f"max_substep must be positive; got {max_substep}.")
    ts = jnp.asarray(ts)
    n0 = n0.astype(phi0.dtype)
    ns, phis, as_, n_ev, n_prop, steps = _gillespie_core(
        n0, phi0, a0, params, ts, key, max_substep, int(max_steps), rule, P
    )
    if a0 is not None:
        phim = jnp.take_along_axis(phis, as_.astype(jnp.int32), axis=1)
        ys = MemberState(a=as_, phi=phim.astype(phi0.dtype))
    else:
        ys = CountState(n=ns, phi=phis)
    return GillespieSolution(ts=ts, ys=ys, n_events=n_ev, n_proposals=n_prop, n_steps=steps)
