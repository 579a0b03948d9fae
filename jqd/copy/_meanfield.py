"""Mean-field copy dynamics (physics §5.1-§5.2, Smolin S20, S26, S32-S38).

    ρ̇_a = Σ_{b≠a} [ ρ_a^q ρ_b^(1−q) 𝓡_ab − ρ_b^q ρ_a^(1−q) 𝓡_ba ]
    φ̇_a = ω_a + Σ_{b≠a} (ρ_a/ρ_b)^r R_ab cos(φ_a − φ_b + δ_ab)
    𝓡_ab = 2 R_ab sin⁺(φ_a − φ_b + δ_ab)

At q = 1/2, r = −1/2 this is iħψ̇ = Hψ for ψ_a = √ρ_a e^(−iφ_a), H_aa = ħω_a,
H_ab = ħ R_ab e^(iδ_ab). Stiffness bound Λ: docs/internals/copy.md#stiffness.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _steppers
from .._guards import Check, round_down
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ..interop import as_array
from ._kinetics import (
    AbstractCopyRates,
    check_rates,
    class_phase_velocity,
    count_drift,
    hamiltonian_to_rates,
)

CONVENTIONS = {"s32": "consistent", "s39": "printed"}  # the stochastic rule of each


class MeanFieldState(eqx.Module):
    """Occupation frequencies `rho` (P,) with Σρ = 1 and phases `phi` (P,)."""

    rho: Array
    phi: Array


class MeanFieldParams(eqx.Module):
    """The constants of the mean-field copy law (all differentiable).

    Attributes:
        R: (P, P) copy-rate amplitudes, symmetric, >= 0, zero diagonal (1/time).
        delta: (P, P) phase offsets, antisymmetric (radians).
        omega: (P,) bare frequencies (1/time).
        q: exponent of the population flux (1/2 gives quantum mechanics).
        r: exponent of the phase equation (−1/2 gives quantum mechanics).
        hbar: ħ, used only by `energy` and the Hamiltonian conversions.
    """

    R: Array
    delta: Array
    omega: Array
    q: float | Array = 0.5
    r: float | Array = -0.5
    hbar: float | Array = 1.0

    @classmethod
    def from_hamiltonian(cls, H, q=0.5, r=-0.5, hbar=1.0) -> MeanFieldParams:
        """Rates of a Hermitian `H` (see `hamiltonian_to_rates`)."""
        R, delta, omega = hamiltonian_to_rates(H, hbar)
        return cls(R=R, delta=delta, omega=omega, q=q, r=r, hbar=hbar)


def _convention(convention):
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {tuple(CONVENTIONS)}; got {convention!r}.")
    return convention


def state_from_psi(psi) -> MeanFieldState:
    """(ρ, φ) with ψ_a = √ρ_a e^(−iφ_a): ρ = |ψ|², φ = −arg ψ (in (−π, π])."""
    psi = jnp.asarray(as_array(psi, "psi"))
    return MeanFieldState(rho=jnp.abs(psi) ** 2, phi=-jnp.angle(psi))


def psi_from_state(y: MeanFieldState):
    """ψ_a = √ρ_a e^(−iφ_a)."""
    return jnp.sqrt(y.rho) * jnp.exp(-1j * y.phi)


@functools.partial(jax.jit, static_argnames="convention")  # one program, not one per op
def copy_flux(y: MeanFieldState, params: MeanFieldParams, convention: str = "s32"):
    """dρ_a/dt of the mean-field copy law: `convention="s32"` (S20/S26) gives
    (2/ħ) Im(ψ_a* Σ_b H_ab ψ_b) at q = 1/2, "s39" (S39 as printed) its negative
    (physics §5.3)."""
    return _dense_terms(y, params, _convention(convention))[0]


def _dense_terms(y, params, convention):
    """ρ̇ and φ̇ − ω of the all-to-all law by outer products."""
    rho, phi = y.rho, y.phi
    n = rho.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    R = jnp.where(off, params.R, 0.0).astype(rho.dtype)
    delta = jnp.asarray(params.delta).astype(rho.dtype)
    q, r = params.q, params.r
    z = jnp.exp(1j * phi)
    w = (z[:, None] * jnp.conj(z)[None, :]) * (R * jnp.exp(1j * delta))  # R e^{ix_ab}
    Rs, Rc = jnp.imag(w), jnp.real(w)  # R sin x_ab, R cos x_ab
    # sin⁺ as relu(R sin) (R >= 0): gradients everywhere
    rate_ab = 2.0 * jax.nn.relu(Rs)  # 𝓡_ab
    rate_ba = 2.0 * jax.nn.relu(-Rs)  # 𝓡_ba
    rq, r1q = jnp.power(rho, q), jnp.power(rho, 1 - q)
    up = rq[:, None] * r1q[None, :]  # ρ_a^q ρ_b^(1−q)
    down = r1q[:, None] * rq[None, :]  # ρ_b^q ρ_a^(1−q)
    if convention == "s32":
        drho = jnp.sum(up * rate_ab - down * rate_ba, axis=-1)
    else:
        drho = jnp.sum(up * rate_ba - down * rate_ab, axis=-1)
    dphi = jnp.power(rho, r) * (Rc @ jnp.power(rho, -r))  # Σ_b (ρ_a/ρ_b)^r R cos x_ab
    return drho, dphi


def save_steps(ts, dt) -> int:
    """Steps of dt between the save times `ts` (from 0, uniformly spaced by a
    whole number of dt)."""
    ts = np.asarray(ts)
    spacing = ts[1] - ts[0] if ts.size > 1 else dt
    steps = int(round(spacing / dt))
    if ts[0] != 0 or steps < 1 or not np.allclose(np.diff(ts), steps * dt, rtol=1e-9, atol=0):
        raise ValueError(
            "ts must start at 0 and be uniformly spaced by a whole number of dt steps; "
            f"got spacing {spacing:g} for dt = {dt:g}."
        )
    return steps


def state_guards(rho, params) -> list[Check]:
    """ρ ≥ 0 summing to 1, without zeros where the law is singular."""
    rho = jnp.asarray(rho)
    tol = 1e-4 if rho.dtype == jnp.float32 else 1e-8
    has_zero = jnp.any(rho == 0)
    q, r = jnp.asarray(params.q), jnp.asarray(params.r)
    return [
        Check(jnp.min(rho) >= 0, "y0.rho must be >= 0; min is {value}.", jnp.min(rho)),
        Check(
            jnp.abs(jnp.sum(rho) - 1) <= tol,
            "y0.rho must sum to 1 (it is a frequency); sum − 1 = {value}. Divide rho by its sum.",
            jnp.sum(rho) - 1,
        ),
        Check(
            ~(has_zero & ((r != 0) | (q < 0) | (q > 1))),
            "y0.rho has zeros (nodes) and r ≠ 0 or q outside [0, 1]: the law is "
            "singular there ((ρ_a/ρ_b)^r is infinite; physics §5, S63). Give every state a "
            "small occupation.",
        ),
    ]


def rates_guards(R, delta) -> list[Check]:
    R, delta = jnp.asarray(R), jnp.asarray(delta)
    P = R.shape[-1]
    scale = jnp.maximum(jnp.max(jnp.abs(R)), 1e-300)
    asym = jnp.max(jnp.abs(R - R.T)) / scale
    off = ~jnp.eye(P, dtype=bool)
    wrapped = jnp.angle(jnp.exp(1j * (delta + delta.T)))
    dev = jnp.max(jnp.where(off & (R > 0), jnp.abs(wrapped), 0.0))
    return [
        Check(
            (jnp.min(R) >= 0) & (asym <= 1e-10),
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
    """(Λ, index of the stiffest class): docs/internals/copy.md#stiffness."""
    rho = jnp.asarray(rho)
    P = rho.shape[-1]
    R = jnp.where(~jnp.eye(P, dtype=bool), jnp.asarray(params.R), 0.0).astype(rho.dtype)
    q, r = jnp.asarray(params.q), jnp.asarray(params.r)
    live = rho > 0
    ratio = jnp.where(live[None, :], rho[None, :], 0.0) / jnp.where(live, rho, 1.0)[:, None]
    weight = jnp.maximum(jnp.maximum(ratio ** (1 - q), ratio**q), ratio ** (-r))
    rows = jnp.sum(jnp.where(R > 0, R * weight, 0.0), axis=1)
    rows = jnp.where(live, rows, 0.0)
    omega = jnp.asarray(params.omega).astype(rho.dtype)
    beat = jnp.max(jnp.where(R > 0, jnp.abs(omega[:, None] - omega[None, :]), 0.0))
    return jnp.max(rows) + beat, jnp.argmax(rows)


def rates_stiffness(law, y, params, squarings: int = 6):
    """(Λ, index of the stiffest class) of a user's rates object
    (`MeanField(rates=...)`): the spectral radius of the Jacobian of its rates
    of ln ρ and φ at y (empty classes left out), by Gelfand's formula
    ‖J^(2^k)‖_F^(1/2^k) (never below the radius; a few per cent above it),
    plus the phase beat of `stiffness` (docs/internals/copy.md#stiffness)."""
    rho, phi = jnp.asarray(y.rho), jnp.asarray(y.phi)
    P = rho.shape[-1]
    live = rho > 0

    def rates(z):
        r = jnp.where(live, jnp.exp(z[:P]), 0.0)
        v = law.vector_field(0.0, MeanFieldState(rho=r, phi=z[P:]), params)
        return jnp.concatenate([jnp.where(live, v.rho / jnp.where(live, r, 1.0), 0.0), v.phi])

    J = jax.jacfwd(rates)(jnp.concatenate([jnp.log(jnp.where(live, rho, 1.0)), phi]))
    keep = jnp.concatenate([live, live])
    J = jnp.where(keep[:, None] & keep[None, :], J, 0.0)
    tiny = jnp.finfo(J.dtype).tiny
    log_radius, A = 0.0, J
    for i in range(squarings):
        norm = jnp.maximum(jnp.linalg.norm(A), tiny)
        log_radius = log_radius + jnp.log(norm) / 2**i
        A = (A / norm) @ (A / norm)
    log_radius = log_radius + jnp.log(jnp.maximum(jnp.linalg.norm(A), tiny)) / 2**squarings
    R = jnp.where(~jnp.eye(P, dtype=bool), jnp.asarray(params.R), 0.0)
    omega = jnp.asarray(params.omega).astype(rho.dtype)
    beat = jnp.max(jnp.where(R > 0, jnp.abs(omega[:, None] - omega[None, :]), 0.0))
    rows = jnp.sum(jnp.abs(J[:P]), axis=1) + jnp.sum(jnp.abs(J[P:]), axis=1)
    return jnp.exp(log_radius) + beat, jnp.argmax(rows)


class StiffnessError(BreakdownError):
    """The fixed RK4 step became too large for the mean-field copy law."""


STIFF = 2  # breakdown code


class MeanField(AbstractLaw):
    """Mean-field copy dynamics on P beable values with all-to-all rates (physics
    §5.1), stepped by RK4. `convention="s32"` reproduces Schrödinger at q = 1/2,
    r = −1/2; "s39" flips the population flux (S39 as printed). Singular where
    some ρ_b = 0 and r ≠ 0 (S63). `rates` (an `AbstractCopyRates`) replaces the
    law by its `count_drift` and `class_phase_velocity`, the N → ∞ limit of
    `CopyCountsTauLeap(rates=...)`."""

    convention: str = eqx.field(static=True, default="s32")
    rates: AbstractCopyRates | None = None
    scheme = _steppers.RK4()

    def __check_init__(self):
        check_rates(self.rates, CONVENTIONS[_convention(self.convention)])

    def vector_field(self, t, y, params):
        if self.rates is not None:
            P = y.rho.shape[-1]
            R = jnp.where(~jnp.eye(P, dtype=bool), params.R, 0.0).astype(y.rho.dtype)
            delta, omega = (
                jnp.asarray(x).astype(y.phi.dtype) for x in (params.delta, params.omega)
            )
            drho = count_drift(y.rho, y.phi, R, delta, self.rates)
            dphi = class_phase_velocity(y.rho, y.phi, R, delta, omega, self.rates)
            return MeanFieldState(rho=drho.astype(y.rho.dtype), phi=dphi.astype(y.phi.dtype))
        drho, dphi = _dense_terms(y, params, self.convention)
        omega = jnp.asarray(params.omega).astype(y.phi.dtype)
        return MeanFieldState(rho=drho.astype(y.rho.dtype), phi=(omega + dphi).astype(y.phi.dtype))

    def step(self, t, y, params, dt, key=None):
        return _steppers.rk4(lambda s, z: self.vector_field(s, z, params), t, y, dt)

    def density(self, y):
        return y.rho

    def energy(self, t, y, params):
        """⟨H⟩ = Σ ħω_a ρ_a + Σ_{a≠b} ħ R_ab √(ρ_aρ_b) cos(φ_a − φ_b + δ_ab)."""
        rho, phi = y.rho, y.phi
        n = rho.shape[-1]
        R = jnp.where(~jnp.eye(n, dtype=bool), params.R, 0.0)
        x = phi[:, None] - phi[None, :] + params.delta
        s = jnp.sqrt(rho)
        return params.hbar * (
            jnp.sum(params.omega * rho) + jnp.sum(R * s[:, None] * s[None, :] * jnp.cos(x))
        )

    breakdowns = {
        STIFF: Reason(
            StiffnessError,
            "the mean-field copy law became too stiff for the RK4 step (Λ dt > 2.5: a "
            "nearly empty class turns its phase at R_ab √(ρ_b/ρ_a); where: the class, then "
            "the largest safe dt)",
            "Reduce dt below the last value in parentheses, or use jqd.evolve_adaptive.",
        )
    }

    def stiffness(self, y, params):
        """(Λ, stiffest class): `stiffness`, and with a rates object the larger
        of it and the object's own (`rates_stiffness`), so that the RK4 bound
        holds for the user's rule too."""
        lam, worst = stiffness(y.rho, params)
        if self.rates is None:
            return lam, worst
        lam_rates, worst_rates = rates_stiffness(self, y, params)
        return jnp.maximum(lam, lam_rates), jnp.where(lam_rates > lam, worst_rates, worst)

    def check(self, y, params, dt=None):
        if not isinstance(y, MeanFieldState):
            raise ValueError(
                f"y0 must be a jqd.copy.MeanFieldState(rho, phi); got {type(y).__name__}. "
                "Build one from a wavefunction with jqd.copy.state_from_psi(psi)."
            )
        if jnp.ndim(y.rho) != 1 or jnp.shape(y.phi) != jnp.shape(y.rho):
            raise ValueError(
                "y0.rho and y0.phi must be vectors of one length P; got "
                f"{jnp.shape(y.rho)} and {jnp.shape(y.phi)}. For a batch use jax.vmap."
            )
        if jnp.iscomplexobj(y.rho) or jnp.iscomplexobj(y.phi):
            raise ValueError("y0.rho and y0.phi must be real arrays.")
        P = jnp.shape(y.rho)[0]
        shapes = (("R", (P, P)), ("delta", (P, P)), ("omega", (P,)))
        for name, shape in shapes:
            if jnp.shape(getattr(params, name)) != shape:
                raise ValueError(
                    f"params.{name} must have shape {shape} for P = {P}; got "
                    f"{jnp.shape(getattr(params, name))}."
                )

    def checks(self, y, params, dt=None):
        out = state_guards(y.rho, params) + rates_guards(params.R, params.delta)
        if dt is None:
            return out
        lam, _ = self.stiffness(y, params)
        return out + [
            Check(
                lam * dt <= _steppers.RK4_LIMIT,
                "dt = {dt} is too large for the mean-field copy law at y0: its fastest rate "
                f"is Λ = {{rate}} and RK4 needs Λ dt <= {_steppers.RK4_LIMIT:g}. Use "
                "dt <= {safe}, or jqd.evolve_adaptive.",
                {"dt": dt, "rate": lam, "safe": round_down(_steppers.RK4_LIMIT / lam)},
            )
        ]

    def monitor(self, t, y, params, dt=None):
        if dt is None:
            return True, 0, jnp.zeros((0,))
        lam, worst = self.stiffness(y, params)
        ok = lam * dt <= _steppers.RK4_LIMIT
        where = jnp.stack(
            [worst.astype(y.rho.dtype), (_steppers.RK4_LIMIT / lam).astype(y.rho.dtype)]
        )
        return ok, jnp.where(ok, 0, STIFF), where
