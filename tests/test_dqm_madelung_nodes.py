"""experiments/madelung_nodes: the run finishes and reports when the breakdown
detector fires at the first save (it used to crash on an empty reduction), and
the exact-fringe lower bound reads the density alone."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from jqdlab import Recorder, registry

EXP = registry.load("madelung-nodes")
E = sys.modules["jqd_experiments.madelung_nodes"]


@pytest.mark.slow
def test_detector_firing_at_the_first_save_fails_the_claims(tmp_path):
    # k_Q dx of the initial state (tails, 0.23) is above 0.2: the monitor fires at t = 0
    config = dataclasses.replace(EXP.config.quick(), n_save=4, resolution_threshold=0.2)
    rec = Recorder(tmp_path, seed=0)
    rec.record_files = False
    EXP.run(config, rec)
    claims = {c.name: c for c in rec.claims}
    assert claims["breakdown detected"].measured == 0.0
    before = claims["density error before the reported breakdown"]
    assert np.isnan(before.measured) and not before.passed
    lower = claims["breakdown not reported before the exact fringes steepen"]
    assert not lower.passed and lower.measured < 0


def test_exact_fringe_resolution_of_a_fringe_of_known_depth():
    # ρ = (A − B)² + 4AB cos²(kx): at a minimum √ρ'' /√ρ = 4ABk²/(A − B)², so
    # k_Q = 2k√(AB)/(A − B) (≈ k/√δ, δ = ((A − B)/(A + B))², for A ≈ B)
    x = np.linspace(-6, 6, 4097)
    dx = x[1] - x[0]
    k, A, B = 1.5, 1.0, 0.5
    rho = np.abs(A * np.exp(1j * k * x) + B * np.exp(-1j * k * x)) ** 2
    got = E.exact_fringe_resolution(rho, dx)
    np.testing.assert_allclose(got, 2 * k * np.sqrt(A * B) / (A - B) * dx, rtol=1e-4)
    assert E.exact_fringe_resolution(np.exp(-(x**2)), dx) == 0.0  # no minimum
