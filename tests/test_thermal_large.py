"""Lattice observables at large N (issue 29): atom and bond variances and
local energies of a mode-diagonal state are O(N log N) (FFT over every axis
longer than `DENSE_AXIS_MAX`), equal to the dense algebra U diag(qq) Uᵀ, and
run at N = 10⁶. So do the FPUT mode energies (DST-I / FFT), the centre-of-mass
variance and Wigner samples (to_modes / to_atoms by FFT)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jqd.thermal._harmonic as harmonic_module
import jqd.thermal._lattice as lattice_module
from jqd.thermal import (
    ClassicalLattice,
    FPUTParams,
    HarmonicLattice,
    Lattice,
    LatticeParams,
    PhaseState,
    atom_variance,
    bond_variance,
    cm_variance,
    displace,
    effective_mode_fraction,
    energy_variance,
    fput_mode_energies,
    local_energy,
    mode_energies,
    product_state,
    thermal_state,
    wigner_sample,
)

PARAMS = LatticeParams(mass=1.3, spring=0.7, pinning=0.2, hbar=0.9)


@pytest.mark.parametrize(
    "lattice",
    [
        Lattice((7,), "periodic"),
        Lattice((8,), "periodic"),
        Lattice((9,), "fixed"),
        pytest.param(Lattice((3, 4), "fixed"), marks=pytest.mark.slow),
        pytest.param(Lattice((3, 4, 6), "periodic"), marks=pytest.mark.slow),
    ],
    ids=str,
)
def test_fft_observables_equal_the_dense_algebra(lattice, monkeypatch):
    monkeypatch.setattr(harmonic_module, "DENSE_AXIS_MAX", 2)  # every axis of length > 2 by FFT
    law = HarmonicLattice(lattice)
    n = lattice.n_sites
    y = displace(law, thermal_state(law, PARAMS, 0.8), 0.3 * np.cos(np.arange(n)), 0.1)
    U, lam = lattice.modes()
    C = U @ np.diag(y.cov.qq) @ U.T
    b = lattice.bonds()
    bond = C[b[:, 0], b[:, 0]] + C[b[:, 1], b[:, 1]] - 2 * C[b[:, 0], b[:, 1]]
    observe = jax.jit(
        lambda law, y: (atom_variance(law, y), bond_variance(law, y), local_energy(law, PARAMS, y))
    )
    var, bonds, eps = observe(law, y)
    np.testing.assert_allclose(var, np.diag(C), rtol=1e-12)
    np.testing.assert_allclose(bonds, bond, rtol=1e-12)
    # local energies: against the dense algebra, ⟨p_j²⟩/2m + ½⟨u_j (Au)_j⟩
    u, p = U @ np.asarray(y.q), U @ np.asarray(y.p)
    P = U @ np.diag(y.cov.pp) @ U.T + np.outer(p, p)
    A = PARAMS.spring * lattice.stiffness() + PARAMS.pinning * np.eye(n)
    expected = np.diag(P) / (2 * PARAMS.mass) + 0.5 * np.sum(A * (C + np.outer(u, u)), axis=1)
    np.testing.assert_allclose(eps, expected, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_a_million_atoms(boundary):
    """N = 10⁶: the dense 1-D basis would be 8 TB. Checked entries against
    Σ_k U_jk² qq_k summed directly (O(N) per entry); a periodic thermal chain
    is uniform."""
    n = 10**6
    law = HarmonicLattice(Lattice((n,), boundary))
    y = thermal_state(law, PARAMS, 0.8)
    var = np.asarray(atom_variance(law, y))
    bonds = np.asarray(bond_variance(law, y))
    qq = np.asarray(y.cov.qq)
    assert var.shape == (n,) and bonds.shape == (n - (boundary == "fixed"),)
    if boundary == "periodic":
        np.testing.assert_allclose(var, qq.mean(), rtol=1e-10)
        lam = np.asarray(law.lattice.eigenvalues())
        np.testing.assert_allclose(bonds, np.sum(lam * qq) / n, rtol=1e-10)
        return
    k = np.arange(1, n + 1)
    for j in (0, 1, n // 3, n - 1):
        u_j = np.sqrt(2 / (n + 1)) * np.sin(np.pi * (j + 1) * k / (n + 1))
        assert abs(var[j] - np.sum(u_j**2 * qq)) <= 1e-10 * var[j]
        if j < n - 1:
            u_next = np.sqrt(2 / (n + 1)) * np.sin(np.pi * (j + 2) * k / (n + 1))
            assert abs(bonds[j] - np.sum((u_j - u_next) ** 2 * qq)) <= 1e-9 * bonds[j]


@pytest.mark.slow
@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_fft_path_at_2000_atoms_equals_the_dense_basis(boundary):
    """The default switch (axes longer than DENSE_AXIS_MAX by FFT) at N = 2,000,
    against U diag(qq) Uᵀ with the dense closed-form basis, to 1e-10."""
    lattice = Lattice((2000,), boundary)
    law = HarmonicLattice(lattice)
    y = thermal_state(law, PARAMS, 0.8)
    U, _ = lattice.modes()
    qq = np.asarray(y.cov.qq)
    np.testing.assert_allclose(atom_variance(law, y), (U * U) @ qq, rtol=1e-10)
    b = lattice.bonds()
    D = U[b[:, 0]] - U[b[:, 1]]
    np.testing.assert_allclose(bond_variance(law, y), (D * D) @ qq, rtol=1e-10)


FPUT = FPUTParams(mass=1.3, spring=0.7, alpha=0.2, beta=0.5, pinning=0.3)


@pytest.mark.parametrize("boundary,n", [("fixed", 9), ("periodic", 8), ("periodic", 7)])
def test_fput_mode_energies_equal_the_dense_basis(boundary, n):
    """E_k = ½(P_k²/m + (spring λ_k + pinning) Q_k²) with Q = Uᵀq by the dense
    DST-I matrix (fixed) or |DFT q|² (periodic, FFT order), to 1e-12."""
    law = ClassicalLattice(n, boundary)
    rng = np.random.default_rng(3)
    q, p = rng.normal(size=(2, n)), rng.normal(size=(2, n))
    j = np.arange(n)
    if boundary == "fixed":
        k = np.arange(1, n + 1)
        U = np.sqrt(2 / (n + 1)) * np.sin(np.pi * np.outer(j + 1, k) / (n + 1))
        Q2, P2 = (q @ U) ** 2, (p @ U) ** 2
        lam = 4 * np.sin(np.pi * k / (2 * (n + 1))) ** 2
    else:
        W = np.exp(-2j * np.pi * np.outer(j, j) / n) / np.sqrt(n)
        Q2, P2 = np.abs(q @ W.T) ** 2, np.abs(p @ W.T) ** 2
        lam = 4 * np.sin(np.pi * j / n) ** 2
    expected = 0.5 * (P2 / FPUT.mass + (FPUT.spring * lam + FPUT.pinning) * Q2)
    got = jax.jit(lambda y: fput_mode_energies(law, FPUT, y))(PhaseState(q, p))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("lattice", [Lattice((9,), "periodic"), Lattice((8,), "fixed")], ids=str)
def test_cm_variance_and_wigner_sample_by_fft_equal_the_dense_basis(lattice, monkeypatch):
    """With every axis by FFT: Var X_cm = wᵀ U diag(qq) Uᵀ w (w = 1/N) and the
    Wigner draws U (Q, P) equal the dense closed-form basis, to 1e-12."""
    monkeypatch.setattr(lattice_module, "DENSE_AXIS_MAX", 2)
    law = HarmonicLattice(lattice)
    n = lattice.n_sites
    y = displace(law, thermal_state(law, PARAMS, 0.8), 0.3 * np.cos(np.arange(n)), 0.1)
    U, _ = lattice.modes()
    w = np.full(n, 1.0 / n)
    np.testing.assert_allclose(
        cm_variance(law, PARAMS, y), w @ U @ np.diag(y.cov.qq) @ U.T @ w, rtol=1e-12
    )
    x, p = wigner_sample(jax.random.key(0), law, y, 3)
    z = jax.random.normal(jax.random.key(0), (3, 2, n))
    qq, qp, pp = (np.asarray(a) for a in (y.cov.qq, y.cov.qp, y.cov.pp))
    l11 = np.sqrt(qq)
    l21, l22 = qp / l11, np.sqrt(np.maximum(pp - (qp / l11) ** 2, 0))
    Q = np.asarray(y.q) + l11 * z[:, 0]
    P = np.asarray(y.p) + l21 * z[:, 0] + l22 * z[:, 1]
    np.testing.assert_allclose(x, Q @ U.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p, P @ U.T, rtol=1e-12, atol=1e-14)


@pytest.mark.slow
def test_every_observable_at_a_million_sites():
    """N = 2²⁰ − 1 (fixed: DST length 2²¹) and 10⁶ (periodic): the FPUT mode
    energies sum to the harmonic energy (Parseval, an O(N) atom-basis sum, to
    1e-10); n_eff; a thermal ring's Var X_cm = qq_0/N (the zero mode); energy
    variance, mode energies, Wigner draws and a product state run."""
    for n, boundary in ((2**20 - 1, "fixed"), (10**6, "periodic")):
        law = ClassicalLattice(n, boundary)
        rng = np.random.default_rng(0)
        y = PhaseState(0.2 * rng.normal(size=n), rng.normal(size=n))
        E = np.asarray(jax.jit(lambda y: fput_mode_energies(law, FPUT, y))(y))
        harmonic = FPUTParams(mass=FPUT.mass, spring=FPUT.spring, pinning=FPUT.pinning)
        exact = float(law.energy(0.0, y, harmonic))
        assert abs(E.sum() / exact - 1) < 1e-10
        assert 0.5 < float(effective_mode_fraction(jax.numpy.asarray(E))) <= 1
    ring = HarmonicLattice(Lattice((10**6,), "periodic"))
    y = thermal_state(ring, PARAMS, 0.8)
    qq0 = float(y.cov.qq[0])
    assert abs(float(cm_variance(ring, PARAMS, y)) / (qq0 / 10**6) - 1) < 1e-10
    assert np.isfinite(float(energy_variance(ring, PARAMS, y)))
    assert (
        abs(float(np.sum(mode_energies(ring, PARAMS, y))) / float(ring.energy(0, y, PARAMS)) - 1)
        < 1e-12
    )
    x, p = wigner_sample(jax.random.key(1), ring, y, 1)
    assert x.shape == (1, 10**6) and np.all(np.isfinite(np.asarray(p)))
    free = HarmonicLattice(Lattice((10**6,), "periodic"))
    prod = product_state(free, LatticeParams(), 0.0, 0.1)
    assert abs(float(cm_variance(free, LatticeParams(), prod)) / (0.1**2 / 2 / 10**6) - 1) < 1e-10
