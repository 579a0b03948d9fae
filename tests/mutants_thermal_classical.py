"""Mutants of the classical thermal experiments (thermal-gas,
thermal-equipartition): plausible physics bugs their quick claims must catch
(see tests/mutation.py). Seams: the methods `ClassicalLattice.force` and
`SoftSphereGas.force` (jqd.thermal._classical, jqd.thermal._gas) and the
public `jqd.reference.packet_energy_spread`, `jqd.thermal.fput_mode_energies`."""

from __future__ import annotations

import jax.numpy as jnp
from mutation import Mutant

import jqd
from jqd.thermal import PhaseState, _classical, _gas


def _quartic_force_dropped(monkeypatch):
    """FPUT force with V'(r) = spring r + alpha r²: the β r³ term left out (a
    harmonic chain, whose mode energies never mix)."""

    def bad(self, q, params):
        _, k, a, b, pin = _classical._cast(params, q.dtype)
        r = _classical._bonds(q, self.boundary)
        f = r * (k + r * a)
        if self.boundary == "periodic":
            return f - jnp.roll(f, 1, axis=-1) - pin * q
        return f[..., 1:] - f[..., :-1] - pin * q

    monkeypatch.setattr(_classical.ClassicalLattice, "force", bad)


def _quartic_force_doubled(monkeypatch):
    """FPUT force V'(r) = spring r + alpha r² + 2 beta r³ while the energy keeps
    beta r⁴/4: the chain conserves H + Σ beta r⁴/4, not the law's H."""

    def bad(self, q, params):
        _, k, a, b, pin = _classical._cast(params, q.dtype)
        r = _classical._bonds(q, self.boundary)
        f = r * (k + r * (a + 2 * b * r))
        if self.boundary == "periodic":
            return f - jnp.roll(f, 1, axis=-1) - pin * q
        return f[..., 1:] - f[..., :-1] - pin * q

    monkeypatch.setattr(_classical.ClassicalLattice, "force", bad)


def _planck_spectrum(monkeypatch):
    """Mode energies weighted by the Planck factor y/(e^y − 1), y = 0.6 ω_k/ω_max
    (a Planck law at ħω_max = 0.6 k_BT where the classical chain is flat),
    the measurement's bug, not the dynamics'."""
    good = jqd.thermal.fput_mode_energies

    def bad(law, params, y):
        E = good(law, params, y)
        k = jnp.arange(1, law.n + 1, dtype=E.dtype)
        u = jnp.sin(jnp.pi * k / (2 * (law.n + 1))) / jnp.sin(jnp.pi * law.n / (2 * (law.n + 1)))
        return E * (0.6 * u) / jnp.expm1(0.6 * u)

    monkeypatch.setattr(jqd.thermal, "fput_mode_energies", bad)


def _mode_eigenvalue_doubled_angle(monkeypatch):
    """Fixed-end eigenvalues λ_k = 4 sin²(πk/(n+1)) (the periodic formula with n+1)
    instead of 4 sin²(πk/2(n+1)): high-mode potential energies mis-weighted."""

    def bad(n, boundary, dtype=float):
        k = jnp.arange(1, n + 1, dtype=dtype)
        return 4.0 * jnp.sin(jnp.pi * k / (n + 1)) ** 2

    monkeypatch.setattr(_classical, "mode_eigenvalues", bad)


def _contact_force_doubled(monkeypatch):
    """Soft-sphere force 2κ(σ − r) while the energy stays κ(σ − r)²/2."""
    orig = _gas.SoftSphereGas.force
    monkeypatch.setattr(
        _gas.SoftSphereGas, "force", lambda self, q, p, *nl: 2.0 * orig(self, q, p, *nl)
    )


def _explicit_euler_gas(monkeypatch):
    """The gas stepped by explicit Euler (q += h p/m, p += h F(q_old)) instead
    of the drift-kick-drift leapfrog: not symplectic, each contact gains energy."""

    def euler(force, y, h, m):
        return PhaseState(q=y.q + h * y.p / m, p=y.p + h * force(y.q))

    monkeypatch.setattr(_gas, "leapfrog", euler)


def _paper_energy_spread(monkeypatch):
    """The paper's ΔE ≈ ħ²/2md² (T §2): no p0 term and no √(D/2)."""
    monkeypatch.setattr(
        jqd.reference,
        "packet_energy_spread",
        lambda p0, width, mass=1.0, hbar=1.0, dim=3: hbar**2 / (2 * mass * width**2),
    )


def _energy_spread_hbar_dropped(monkeypatch):
    """Packet ΔE with σ_p² = 1/2d² (ħ dropped: right at ħ = 1 only)."""
    orig = jqd.reference.packet_energy_spread
    monkeypatch.setattr(
        jqd.reference,
        "packet_energy_spread",
        lambda p0, width, mass=1.0, hbar=1.0, dim=3: orig(p0, width, mass, 1.0, dim),
    )


def _pair_energy_counted_twice(monkeypatch):
    """Soft-sphere potential energy summed over ordered pairs: each contact's
    κ(σ − r)²/2 counted twice (the ½ for i < j lost)."""
    orig = _gas.SoftSphereGas.potential_energy
    monkeypatch.setattr(
        _gas.SoftSphereGas,
        "potential_energy",
        lambda self, q, p, *nl: 2.0 * orig(self, q, p, *nl),
    )


def _kurtosis_of_speeds(monkeypatch):
    """Velocity kurtosis from the speeds, ⟨|v|⁴⟩/⟨|v|²⟩² (2 for a 2-D Maxwell gas),
    instead of from the Cartesian components (3)."""

    def bad(p):
        v2 = jnp.sum((p - jnp.mean(p, axis=-2, keepdims=True)) ** 2, axis=-1)
        return jnp.mean(v2**2, axis=-1) / jnp.mean(v2, axis=-1) ** 2

    monkeypatch.setattr(jqd.thermal, "velocity_kurtosis", bad)


MUTANTS = [
    Mutant(
        experiment="thermal-equipartition",
        name="quartic-force-dropped",
        bug="FPUT force without its β r³ term (a harmonic chain)",
        apply=_quartic_force_dropped,
        caught_by="n_eff",
    ),
    Mutant(
        experiment="thermal-equipartition",
        name="quartic-force-doubled",
        bug="FPUT force with 2β r³ while the energy keeps β r⁴/4 (not −∇H)",
        apply=_quartic_force_doubled,
        caught_by="energy conserved",
    ),
    Mutant(
        experiment="thermal-equipartition",
        name="planck-spectrum-0.6",
        bug="mode energies × the Planck factor y/(e^y − 1), y = 0.6 ω_k/ω_max",
        apply=_planck_spectrum,
        caught_by="spectrum shape",
    ),
    Mutant(
        experiment="thermal-equipartition",
        name="mode-eigenvalue-angle-doubled",
        bug="fixed-end mode eigenvalues 4 sin²(πk/(n+1)) instead of 4 sin²(πk/2(n+1))",
        apply=_mode_eigenvalue_doubled_angle,
        caught_by="top-quarter",
    ),
    Mutant(
        experiment="thermal-gas",
        name="contact-force-doubled",
        bug="soft-sphere force 2κ(σ − r) with energy κ(σ − r)²/2",
        apply=_contact_force_doubled,
        caught_by="contact time",
    ),
    Mutant(
        experiment="thermal-gas",
        name="gas-explicit-euler",
        bug="soft-sphere gas stepped by explicit Euler instead of the leapfrog",
        apply=_explicit_euler_gas,
        caught_by="energy conserved",
    ),
    Mutant(
        experiment="thermal-gas",
        name="paper-energy-spread",
        bug="packet ΔE = ħ²/2md² as printed (T §2)",
        apply=_paper_energy_spread,
        caught_by="packet ΔE formula",
    ),
    Mutant(
        experiment="thermal-gas",
        name="energy-spread-hbar-dropped",
        bug="packet ΔE with σ_p² = 1/2d² instead of ħ²/2d² (ħ dropped)",
        apply=_energy_spread_hbar_dropped,
        caught_by="packet ΔE formula at ħ",
    ),
    Mutant(
        experiment="thermal-gas",
        name="pair-energy-counted-twice",
        bug="soft-sphere potential energy summed over ordered pairs (each contact twice)",
        apply=_pair_energy_counted_twice,
        caught_by="⟨PE⟩ vs second virial",
    ),
    Mutant(
        experiment="thermal-gas",
        name="kurtosis-of-speeds",
        bug="velocity kurtosis ⟨|v|⁴⟩/⟨|v|²⟩² of the speeds instead of the components",
        apply=_kurtosis_of_speeds,
        caught_by="velocity kurtosis",
    ),
]
