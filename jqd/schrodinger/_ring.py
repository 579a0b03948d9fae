"""Schrödinger's equation on a ring lattice (tight binding), split-step Fourier
(physics §1.3): the copy law's Schrödinger form on a ring (physics §5.6), at
O(P log P) per step for P ~ 10^4 sites."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _guards, _steppers
from .._law import AbstractLaw
from ._grid import TIME_STEP_REASON, check_psi0, potential_guards, potential_phase_monitor


def tight_binding_dispersion(k, spacing, hbar=1.0, mass=1.0):
    """E(k) = (ħ²/mā²)(1 − cos kā) of the ring at V = 0 (→ ħ²k²/2m as ā → 0)."""
    return hbar**2 / (mass * spacing**2) * (1 - jnp.cos(k * spacing))


def check_ring(n_sites, spacing) -> None:
    if int(n_sites) != n_sites or n_sites < 3:
        raise ValueError(f"n_sites must be an integer >= 3 (a ring); got {n_sites}.")
    if not _guards.is_traced(spacing) and not np.all(np.asarray(spacing) > 0):
        raise ValueError(f"spacing (ā) must be positive; got {spacing}.")


class SchrodingerRing(AbstractLaw):
    """iħ ψ̇_a = −(ħ²/2mā²)(ψ_{a+1} − 2ψ_a + ψ_{a−1}) + V_a ψ_a on a ring (physics §1.3).

    State: complex ψ, length `n_sites` (P >= 3), Σ_a |ψ_a|² = 1 (ψ_a ≈ √ā ψ(x_a)),
    `spacing` ā. Params: `jqd.SchrodingerParams` with `potential` the on-site
    energies V_a (n_sites,) or None. Strang splitting, the hopping exact in
    Fourier space: order 2, exact for V = 0.
    """

    n_sites: int = eqx.field(static=True)
    spacing: float = eqx.field(static=True, converter=float)
    scheme = _steppers.Strang()  # the hopping exact in Fourier space

    def __check_init__(self):
        check_ring(self.n_sites, self.spacing)

    def positions(self, dtype=None) -> Array:
        """Site positions x_a = −L/2 + aā (like `jqd.Grid`)."""
        dtype = jnp.result_type(float) if dtype is None else dtype
        return (-0.5 * self.n_sites + jnp.arange(self.n_sites, dtype=dtype)) * self.spacing

    def dispersion(self, params, rdtype) -> Array:
        """E(k) at the lattice wavenumbers k = 2π fftfreq(P, ā) (FFT order)."""
        k = 2 * np.pi * jnp.fft.fftfreq(self.n_sites, d=self.spacing).astype(rdtype)
        return tight_binding_dispersion(k, self.spacing, params.hbar, params.mass)

    def potential_values(self, t, params, rdtype) -> Array:
        """The on-site energies V_a (static: `t` is unused)."""
        if params.potential is None:
            return jnp.zeros(self.n_sites, rdtype)
        return jnp.asarray(params.potential, rdtype)

    def step(self, t, y, params, dt, key=None):
        return self.prepare(params, dt).step(t, y, params, dt)

    def prepare(self, params, dt):
        return _RingSplitStep(self, params, dt)

    def apply_hamiltonian(self, t, y, params):
        rdtype = jnp.real(y).dtype
        hop = jnp.fft.ifft(self.dispersion(params, rdtype) * jnp.fft.fft(y))
        return hop + self.potential_values(0.0, params, rdtype) * y

    def vector_field(self, t, y, params):
        """−(i/ħ) H ψ (for adaptive solvers)."""
        return ((-1j / params.hbar) * self.apply_hamiltonian(t, y, params)).astype(y.dtype)

    def density(self, y):
        """Site occupations |ψ_a|² (Σ = 1; ρ_a/ā approximates ρ(x_a))."""
        return jnp.abs(y) ** 2

    def energy(self, t, y, params):
        """⟨ψ|H|ψ⟩ (hopping part exact in Fourier space)."""
        rdtype = jnp.real(y).dtype
        yk = jnp.fft.fft(y)
        hop = jnp.sum(jnp.abs(yk) ** 2 * self.dispersion(params, rdtype)) / self.n_sites
        return hop + jnp.sum(self.potential_values(0.0, params, rdtype) * jnp.abs(y) ** 2)

    breakdowns = {2: TIME_STEP_REASON}

    def check(self, y, params, dt=None):
        check_psi0(y, (self.n_sites,), f"the ring has {self.n_sites} sites")
        if params.potential is not None and jnp.shape(params.potential) != (self.n_sites,):
            raise ValueError(
                f"params.potential must hold the on-site energies, shape ({self.n_sites},); "
                f"got {jnp.shape(params.potential)}."
            )

    def checks(self, y, params, dt=None):
        norm = _guards.normalized(jnp.sum(jnp.abs(y) ** 2), "psi0")
        sites = np.arange(self.n_sites)
        return norm + potential_guards(self, y, params, dt, sites, "site {value}")

    def monitor(self, t, y, params, dt=None):
        return potential_phase_monitor(self, t, y, params, dt)


class _RingSplitStep(AbstractLaw):
    """`SchrodingerRing`'s step with its hopping and half kick precomputed."""

    hopping: Array
    half_kick: Array

    def __init__(self, law, params, dt):
        rdtype = jnp.asarray(dt).dtype
        cdtype = jnp.result_type(rdtype, jnp.complex64)
        hop = jnp.exp(-1j * law.dispersion(params, rdtype) * dt / params.hbar)
        kick = jnp.exp(-1j * law.potential_values(0.0, params, rdtype) * (dt / 2) / params.hbar)
        self.hopping = hop.astype(cdtype)
        self.half_kick = kick.astype(cdtype)

    def step(self, t, y, params, dt, key=None):
        kick = lambda psi, h: self.half_kick.astype(y.dtype) * psi
        drift = lambda psi, h: jnp.fft.ifft(self.hopping.astype(y.dtype) * jnp.fft.fft(psi))
        return _steppers.strang(kick, drift, y, dt).astype(y.dtype)
