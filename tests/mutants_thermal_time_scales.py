"""Mutants of thermal-time-scales (paper T's three time scales in a harmonic
chain, physics §7.3-§7.4): plausible bugs in the mode rotation, the lattice,
the product state and the observables that its quick claims must catch."""

from __future__ import annotations

from mutation import Mutant

EXPERIMENT = "thermal-time-scales"


def _drift_without_mass(monkeypatch):
    """S_k = [[cos, t sinc], [−mω² t sinc, cos]]: the 1/m of the drift dropped
    (`jqd.thermal._harmonic.rotation`); the phase flow at m = 2.5 is no longer a
    rotation of (Q, P/mω)."""
    import jqd.thermal._harmonic as h

    good = h.rotation

    def rotation(omega2, mass, dt):
        a, b, c, d = good(omega2, mass, dt)
        return a, b * mass, c, d

    monkeypatch.setattr(h, "rotation", rotation)


def _double_wall_springs(monkeypatch):
    """`Lattice.stiffness()` with the wall spring counted twice at each end (K_00 = 3)."""
    import numpy as np

    from jqd.thermal import Lattice

    good = Lattice.stiffness

    def stiffness(self):
        K = good(self)
        if self.general is None and self.boundary == "fixed":
            n = self.n_sites
            K[0, 0] += 1.0
            K[n - 1, n - 1] += 1.0
        return np.asarray(K)

    monkeypatch.setattr(Lattice, "stiffness", stiffness)


def _product_momentum_width(monkeypatch):
    """Product state with Var p = ħ²/d² (the 1/2 of ħ²/2d² dropped)."""
    import equinox as eqx

    import jqd.thermal._harmonic as h

    good = h._product_blocks

    def blocks(law, q, p, width, hbar, dtype):
        state = good(law, q, p, width, hbar, dtype)
        return eqx.tree_at(lambda s: s.cov.pp, state, 2 * state.cov.pp)

    monkeypatch.setattr(h, "_product_blocks", blocks)


def _bond_as_atom_widths(monkeypatch):
    """Var(u_i − u_j) as Var u_i + Var u_j (the correlation of neighbours dropped:
    lab-frame widths for the relative localization)."""
    import jax.numpy as jnp

    import jqd.thermal

    def bond_variance(law, state):
        U = jnp.asarray(law.lattice.modes()[0], state.q.dtype)
        b = law.lattice.bonds()
        return (U[b[:, 0]] ** 2 + U[b[:, 1]] ** 2) @ state.cov.qq

    monkeypatch.setattr(jqd.thermal, "bond_variance", bond_variance)


def _omega_without_mass(monkeypatch):
    """ω_k² = κλ_k (+ pinning), the 1/m dropped (`HarmonicLattice.omega_squared`)."""
    from jqd.thermal import HarmonicLattice

    def omega_squared(self, params, dtype=None):
        import jax.numpy as jnp

        dtype = dtype or jnp.float64
        lam = self.lattice.eigenvalues(dtype)
        return (params.spring * lam + params.pinning).astype(dtype)

    monkeypatch.setattr(HarmonicLattice, "omega_squared", omega_squared)


def _product_width_convention(monkeypatch):
    """Product state with Var x = d² and Var p = ħ²/4d² (|ψ| instead of |ψ|² of
    width d: ψ ∝ exp(−x²/4d²))."""
    import jqd.thermal._harmonic as h

    good = h._product_blocks
    monkeypatch.setattr(
        h, "_product_blocks", lambda law, q, p, w, hb, dt: good(law, q, p, w * 2**0.5, hb, dt)
    )


def _cm_root_n(monkeypatch):
    """X_cm = Σ_j u_j/√N (a unit-norm weight instead of 1/N): Var X_cm N times too large."""
    from mutation import scaled

    import jqd.thermal

    good = jqd.thermal.cm_variance

    def cm_variance(law, params, state):
        return scaled(good, law.n_modes)(law, params, state)

    monkeypatch.setattr(jqd.thermal, "cm_variance", cm_variance)


MUTANTS = [
    Mutant(
        EXPERIMENT,
        "drift-without-mass",
        "mode rotation's drift t sinc(ωt) without 1/m (phase flow not a rotation at m = 2.5)",
        _drift_without_mass,
        caught_by="time inside the recurrence box",
    ),
    Mutant(
        EXPERIMENT,
        "double-wall-springs",
        "chain stiffness with each wall spring counted twice",
        _double_wall_springs,
        caught_by="recurrence time = Kac",
    ),
    Mutant(
        EXPERIMENT,
        "product-momentum-width",
        "product state's Var p = ħ²/d² (1/2 of ħ²/2d² dropped)",
        _product_momentum_width,
        caught_by="bond width fades as the infinite-chain Bessel law",
    ),
    Mutant(
        EXPERIMENT,
        "bond-as-atom-widths",
        "bond variance as Var u_i + Var u_j (neighbour correlation dropped)",
        _bond_as_atom_widths,
        caught_by="bond width = finite-chain mode sum",
    ),
    Mutant(
        EXPERIMENT,
        "omega-without-mass",
        "ω_k² = κλ_k (the 1/m dropped)",
        _omega_without_mass,
        caught_by="fading time = Bessel root",
    ),
    Mutant(
        EXPERIMENT,
        "product-width-convention",
        "product state of |ψ| width d (Var x = d², Var p = ħ²/4d²)",
        _product_width_convention,
        caught_by="classicality time = sqrt(2N)",
    ),
    Mutant(
        EXPERIMENT,
        "cm-root-n",
        "X_cm = Σ u_j/√N (Var X_cm N times too large)",
        _cm_root_n,
        caught_by="classicality time grows as N^(1/2)",
    ),
]
