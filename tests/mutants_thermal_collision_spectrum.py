"""Mutants of thermal-collision-spectrum (paper T §3's collision spectrum and
T §2's energy sharing, physics §7.3, §7.5): plausible bugs in the soft-sphere
contact force, its integrator, the contact-time reference and the grid
Schrödinger step that its quick claims must catch."""

from __future__ import annotations

from mutation import Mutant

EXPERIMENT = "thermal-collision-spectrum"


def _contact_force_doubled(monkeypatch):
    """Soft-sphere force 2κ(σ − r) (each pair counted from both sides): ω_c √2 too high."""
    import jqd.thermal._gas as _gas

    orig = _gas.SoftSphereGas.force
    monkeypatch.setattr(
        _gas.SoftSphereGas, "force", lambda self, q, p, *nl: 2.0 * orig(self, q, p, *nl)
    )


def _explicit_euler_gas(monkeypatch):
    """The gas stepped by explicit Euler (q += h p/m, p += h F(q_old)) instead of
    the drift-kick-drift leapfrog: first order, contacts gain energy."""
    import jqd.thermal._gas as _gas
    from jqd.thermal import PhaseState

    def euler(force, y, h, m):
        return PhaseState(q=y.q + h * y.p / m, p=y.p + h * force(y.q))

    monkeypatch.setattr(_gas, "leapfrog", euler)


def _contact_time_full_period(monkeypatch):
    """`jqd.reference.harmonic_contact_time` as a full period 2π√(μ/κ) instead of
    half of one: ω_c = π/τ_c read half as large."""
    import math

    import jax.numpy as jnp

    import jqd.reference

    monkeypatch.setattr(
        jqd.reference,
        "harmonic_contact_time",
        lambda mu, kappa: 2 * math.pi * jnp.sqrt(mu / kappa),
    )


def _kinetic_phase_without_mass(monkeypatch):
    """Split-step kinetic phase exp(−iħk²h/2) (the 1/m dropped) in
    `SchrodingerGrid._kinetic_phase`: the packet moves and spreads as if μ = 1."""
    import jax.numpy as jnp

    from jqd.schrodinger._grid import SchrodingerGrid

    def kinetic_phase(self, params, h, rdtype):
        return jnp.exp(-0.5j * params.hbar * h * self.grid.k_squared(rdtype))

    monkeypatch.setattr(SchrodingerGrid, "_kinetic_phase", kinetic_phase)


MUTANTS = [
    Mutant(
        EXPERIMENT,
        "contact-force-doubled",
        "soft-sphere contact force 2κ(σ − r) (ω_c √2 too high)",
        _contact_force_doubled,
        caught_by="head-on contact spectrum",
    ),
    Mutant(
        EXPERIMENT,
        "explicit-euler-gas",
        "gas stepped by explicit Euler instead of the leapfrog",
        _explicit_euler_gas,
        caught_by="collision ensemble spectrum = RK4 reference",
    ),
    Mutant(
        EXPERIMENT,
        "contact-time-full-period",
        "contact time 2π√(μ/κ) (a full period) in jqd.reference.harmonic_contact_time",
        _contact_time_full_period,
        caught_by="induced-dipole photon spectrum peaks",
    ),
    Mutant(
        EXPERIMENT,
        "kinetic-phase-without-mass",
        "grid Schrödinger kinetic phase exp(−iħk²h/2) (1/m dropped)",
        _kinetic_phase_without_mass,
        caught_by="time-integrated PE of a packet collision",
    ),
]
