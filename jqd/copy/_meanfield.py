"""Mean-field copy dynamics (physics §5, Smolin S20, S26, S32-S38).

State `(ρ_a, φ_a)` over P beable values; the law

    ρ̇_a = Σ_{b≠a} [ ρ_a^q ρ_b^(1−q) 𝓡_ab − ρ_b^q ρ_a^(1−q) 𝓡_ba ]
    φ̇_a = ω_a + Σ_{b≠a} (ρ_a/ρ_b)^r R_ab cos(φ_a − φ_b + δ_ab)
    𝓡_ab = 2 R_ab sin⁺(φ_a − φ_b + δ_ab),   sin⁺ = max(sin, 0)

((ρ_a/ρ_b)^q ρ_b = ρ_a^q ρ_b^(1−q)). With q = 1/2, r = −1/2 it is the
Schrödinger equation iħ ψ̇ = H ψ for ψ_a = √ρ_a e^(−iφ_a), H_aa = ħω_a,
H_ab = ħ R_ab e^(iδ_ab).
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _steppers
from .._law import AbstractLaw
from .._monitor import BreakdownError, Reason
from ..interop import as_array
from ._checks import MAX_STIFF, meanfield_state_guards, rates_guards, stiffness, stiffness_guards
from ._rates import hamiltonian_to_rates, rates_to_hamiltonian

__all__ = [
    "StiffnessError",
    "MeanFieldState",
    "MeanFieldParams",
    "MeanField",
    "hamiltonian_to_rates",
    "rates_to_hamiltonian",
    "state_from_psi",
    "psi_from_state",
    "copy_flux",
    "rk4_step",
]

CONVENTIONS = ("s32", "s39")


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


def state_from_psi(psi) -> MeanFieldState:
    """(ρ, φ) with ψ_a = √ρ_a e^(−iφ_a): ρ = |ψ|², φ = −arg ψ (in (−π, π])."""
    psi = jnp.asarray(as_array(psi, "psi"))
    return MeanFieldState(rho=jnp.abs(psi) ** 2, phi=-jnp.angle(psi))


def psi_from_state(y: MeanFieldState):
    """ψ_a = √ρ_a e^(−iφ_a)."""
    return jnp.sqrt(y.rho) * jnp.exp(-1j * y.phi)


def copy_flux(y: MeanFieldState, params: MeanFieldParams, convention: str = "s32"):
    """dρ_a/dt of the mean-field copy law.

    `convention="s32"` (default) is S20/S26 as in physics §5, which with q = 1/2
    reproduces dρ_a/dt = (2/ħ) Im(ψ_a* Σ_b H_ab ψ_b) of S32. `convention="s39"`
    is the mean-field limit of the stochastic rule as printed (S39: I copies
    J at rate 2R sin⁺(φ_I − φ_J + δ)/√(n_I n_J)); for q = 1/2 it is exactly
    −(the S32 flux): populations move the wrong way (physics §5).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}; got {convention!r}.")
    return _flux(y, params, convention)


@functools.partial(jax.jit, static_argnums=2)  # one program, not one per op
def _flux(y, params, convention):
    return _dense_terms(y, params, convention)[0]


def _dense_terms(y, params, convention):
    """ρ̇ and φ̇ − ω of the all-to-all law, written with outer products:
    ρ_a^q ρ_b^(1−q) and (ρ_a/ρ_b)^r factorize, and sin/cos(φ_a − φ_b + δ_ab)
    are Im/Re of e^{iφ_a} e^{−iφ_b} R_ab e^{iδ_ab}, so the only per-pair work is
    arithmetic (no per-pair transcendental beyond R e^{iδ})."""
    rho, phi = y.rho, y.phi
    n = rho.shape[-1]
    off = ~jnp.eye(n, dtype=bool)
    R = jnp.where(off, params.R, 0.0).astype(rho.dtype)
    delta = jnp.asarray(params.delta).astype(rho.dtype)
    q, r = params.q, params.r
    z = jnp.exp(1j * phi)
    w = (z[:, None] * jnp.conj(z)[None, :]) * (R * jnp.exp(1j * delta))  # R e^{ix_ab}
    Rs, Rc = jnp.imag(w), jnp.real(w)  # R sin x_ab, R cos x_ab
    # sin⁺ through relu (R >= 0, so R sin⁺ = relu(R sin)): relu's derivative is
    # the step function (0 at the kink), so gradients exist everywhere and equal
    # the true ones off the measure-zero set sin x = 0.
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


# The classical RK4 step of y' = f(t, y) on pytrees, kept under its old public
# name: it is the shared `jqd._steppers.rk4`.
rk4_step = _steppers.rk4


def _check_state(y, name="y0"):
    """Type and shapes of a mean-field state (values: `_checks`)."""
    if not isinstance(y, MeanFieldState):
        raise ValueError(
            f"{name} must be a jqd.copy.MeanFieldState(rho, phi); got {type(y).__name__}. "
            "Build one from a wavefunction with jqd.copy.state_from_psi(psi)."
        )
    if jnp.ndim(y.rho) != 1 or jnp.shape(y.phi) != jnp.shape(y.rho):
        raise ValueError(
            f"{name}.rho and {name}.phi must be vectors of one length P; got "
            f"{jnp.shape(y.rho)} and {jnp.shape(y.phi)}. For a batch use jax.vmap."
        )
    if jnp.iscomplexobj(y.rho) or jnp.iscomplexobj(y.phi):
        raise ValueError(f"{name}.rho and {name}.phi must be real arrays.")
    return jnp.shape(y.rho)[0]


class StiffnessError(BreakdownError):
    """The fixed RK4 step became too large for the mean-field copy law: a
    class's occupation fell so low that its phase turns faster than the step
    resolves (jqd/copy/_checks.py, `stiffness`)."""


STIFF = 2  # breakdown code


class MeanField(AbstractLaw):
    """Mean-field copy dynamics on P beable values with all-to-all rates.

    Equations (physics §5, S20/S26), units 1/time for R and ω:

        ρ̇_a = Σ_{b≠a} [ρ_a^q ρ_b^(1−q) 𝓡_ab − ρ_b^q ρ_a^(1−q) 𝓡_ba],
        𝓡_ab = 2 R_ab sin⁺(φ_a − φ_b + δ_ab),
        φ̇_a = ω_a + Σ_{b≠a} (ρ_a/ρ_b)^r R_ab cos(φ_a − φ_b + δ_ab).

    Sign convention: `convention="s32"` (default) reproduces Schrödinger for
    q = 1/2, r = −1/2 with ψ_a = √ρ_a e^(−iφ_a), H_aa = ħω_a,
    H_ab = ħR_ab e^(iδ_ab) (`MeanFieldParams.from_hamiltonian`);
    `convention="s39"` flips the population flux (the printed S39 copy rule),
    which does not.

    sin⁺ is `relu(sin)`: gradients are defined everywhere (the kink gets
    derivative 0). The law is singular where some ρ_b = 0 and r ≠ 0 (nodes,
    S63; `jqd.evolve` refuses such a y0): keep ρ_a > 0; gradients in q need
    ρ_a > 0 as well.

    `step` is classical RK4 (fixed dt); for tight tolerances use
    `jqd.evolve_adaptive` (e.g. `diffrax.Dopri8()`) on `vector_field`. The
    law gets stiff where some ρ_a is small (its phase turns at R√(ρ_b/ρ_a)):
    `jqd.evolve` refuses dt above 2.5/Λ at t0 and stops the run with
    `StiffnessError` at the first save where the state has become too stiff,
    naming the largest safe dt (Λ: jqd/copy/_checks.py).

    Validated against: exact Schrödinger evolution `jqd.reference.propagate`
    of random Hermitian H (P = 2, 8, 64) to max|ρ − |ψ|²| < 1e-10.
    """

    convention: str = eqx.field(static=True, default="s32")
    order = 4

    def __check_init__(self):
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}; got {self.convention!r}.")

    def vector_field(self, t, y, params):
        drho, dphi = _dense_terms(y, params, self.convention)
        omega = jnp.asarray(params.omega).astype(y.phi.dtype)
        return MeanFieldState(rho=drho.astype(y.rho.dtype), phi=(omega + dphi).astype(y.phi.dtype))

    def step(self, t, y, params, dt, key=None):
        return _steppers.rk4(lambda s, z: self.vector_field(s, z, params), t, y, dt)

    def density(self, y):
        """The occupation frequencies ρ_a."""
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
            "the mean-field copy law became too stiff for the RK4 step (Λ dt > 2.5, Λ the "
            "fastest rate: a class's occupation fell so low that its phase turns at "
            "R_ab √(ρ_b/ρ_a); where: the class, then the largest safe dt)",
            "Reduce dt below the last value in parentheses, or use jqd.evolve_adaptive.",
        )
    }

    def check(self, y, params, dt=None):
        P = _check_state(y)
        shapes = (("R", (P, P)), ("delta", (P, P)), ("omega", (P,)))
        for name, shape in shapes:
            if jnp.shape(getattr(params, name)) != shape:
                raise ValueError(
                    f"params.{name} must have shape {shape} for P = {P}; got "
                    f"{jnp.shape(getattr(params, name))}."
                )

    def checks(self, y, params, dt=None):
        """ρ ≥ 0 summing to 1 (no zeros where the law is singular), R
        symmetric ≥ 0, δ antisymmetric, and the stiffness bound on dt
        (jqd/copy/_checks.py)."""
        out = meanfield_state_guards(y.rho, params) + rates_guards(params.R, params.delta)
        if dt is not None:
            out += stiffness_guards(y.rho, params, dt)
        return out

    def monitor(self, t, y, params, dt=None):
        """The stiffness bound at every save of a fixed-step run: where =
        (class, largest safe dt)."""
        if dt is None:
            return True, 0, jnp.zeros((0,))
        lam, worst = stiffness(y.rho, params)
        ok = lam * dt <= MAX_STIFF
        where = jnp.stack([worst.astype(y.rho.dtype), (MAX_STIFF / lam).astype(y.rho.dtype)])
        return ok, jnp.where(ok, 0, STIFF), where
