"""Lattice observables at large N (issue 29): atom and bond variances and
local energies of a mode-diagonal state are O(N log N) (FFT over every axis
longer than `DENSE_AXIS_MAX`), equal to the dense algebra U diag(qq) Uᵀ, and
run at N = 10⁶."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jqd.thermal._gaussian as gaussian
from jqd.thermal import (
    HarmonicLattice,
    Lattice,
    LatticeParams,
    atom_variance,
    bond_variance,
    displace,
    local_energy,
    thermal_state,
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
    monkeypatch.setattr(gaussian, "DENSE_AXIS_MAX", 2)  # every axis of length > 2 by FFT
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
