"""The host-side pieces of experiments/nelson_fermions (physics §3.6): oscillator
orbitals, (anti)symmetrized coefficient tensors, the counting rules against
the tensors they summarize, the projected CDF against a closed form, and the
local-value occupation estimator on exact samples."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from scipy.special import erf

import jqd
from jqdlab import registry


@pytest.fixture(scope="module")
def nf():
    registry.load("nelson-fermions")
    return sys.modules["jqd_experiments.nelson_fermions"]


def test_orbitals_match_reference(nf):
    grid = jqd.Grid(256, 16.0)
    x = np.asarray(grid.axes()[0])
    phis = nf.oscillator_orbitals(x, 4, hbar=0.6, mass=0.5)
    for n in range(4):
        ref = np.asarray(jqd.reference.oscillator_eigenstate(grid, n, mass=0.5, hbar=0.6))
        assert np.max(np.abs(np.abs(phis[:, n]) - np.abs(ref))) < 1e-10
    gram = phis.T @ phis * grid.spacing[0]
    np.testing.assert_allclose(gram, np.eye(4), atol=1e-10)


@pytest.mark.parametrize("d", [2, 3])
def test_exchange_symmetry_and_rules(nf, d):
    chi = nf._orbitals(d)
    for kind in nf.KINDS:
        c = nf.coefficients(chi, kind)
        assert abs(np.linalg.norm(c) - 1) < 1e-14
        swapped = np.swapaxes(c, 0, 1)
        if kind == "antisymmetric":
            np.testing.assert_allclose(swapped, -c, atol=1e-15)
        elif kind == "symmetric":
            np.testing.assert_allclose(swapped, c, atol=1e-15)
        if kind == "symmetric" and d == 3:
            continue  # the Bose rule is written for two particles
        n_rule, d_rule = nf.counting_rule(chi, kind)
        p = np.abs(c) ** 2  # occupations straight from the tensor
        axes = range(d)
        n_direct = sum(p.sum(axis=tuple(k for k in axes if k != i)) for i in axes)
        np.testing.assert_allclose(n_rule, n_direct, atol=1e-13)
        if d == 2:
            np.testing.assert_allclose(d_rule, np.diag(p), atol=1e-13)
    n_fd, _ = nf.counting_rule(chi, "antisymmetric")
    assert n_fd.max() <= 1 + 1e-12 and abs(n_fd.sum() - d) < 1e-12


def test_projected_cdf_closed_form(nf):
    """ρ = Gaussian with variances (1/2, 1/2): u = x1 − x2 has variance 1."""
    grid = jqd.Grid((64, 64), 12.0)
    x1, x2 = np.meshgrid(*[np.asarray(a) for a in grid.axes()], indexing="ij")
    rho = np.exp(-(x1**2) - x2**2) / math.pi
    u, F = nf.projected_cdf(rho, grid, (1, -1))
    probe = np.linspace(-3, 3, 61)
    exact = 0.5 * (1 + erf(probe / math.sqrt(2)))
    # the table is linear between points dx/64 apart: error ≤ (dx/64)²/8 · max p' = 2.6e-7,
    # plus 5.1e-8 from the box and the grid (the limit of refine → ∞); measured 3.0e-7
    # (1.58e-5 at refine = 8)
    assert np.max(np.abs(np.interp(probe, u, F) - exact)) < 2.6e-7 + 5.1e-8 + 1e-8


def test_occupations_on_exact_samples(nf):
    chi = nf._orbitals(2)
    rng = np.random.default_rng(3)
    for kind in nf.KINDS:
        c = nf.coefficients(chi, kind)
        x = nf.sample_exact(rng, c, 20_000, 12.0, 1.0, 1.0)
        est = nf.occupation_estimates(c, x, 1.0, 1.0)
        n_rule, d_rule = nf.counting_rule(chi, kind)
        for (m, se), rule in ((est["n"], n_rule), (est["d"], d_rule)):
            assert np.all(np.abs(m - rule) <= 4 * se + 1e-12), (kind, m, rule, se)
