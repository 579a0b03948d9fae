"""The experiment toolkit (`jqdlab.toolkit`): what experiments share."""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp

from jqdlab.toolkit import (
    claim_fitted_C,
    claim_max_error,
    experiment_config,
    mean_and_stderr,
    panel,
    sparse_hamiltonian,
    tensor_power,
    within_stderr_errors,
)


class _Rec:
    """The part of a `Recorder` the claims use."""

    def __init__(self):
        self.claims, self.metrics = [], {}

    def claim(self, name, statement, measured, tolerance, op="<="):
        self.claims.append((name, measured, tolerance, op))

    def metric(self, name, value):
        self.metrics[name] = value


def test_claim_max_error_records_the_largest_error():
    rec = _Rec()
    err = claim_max_error(rec, "c", "s", [1.0, 2.5], [1.0, 2.0], 1.0, metric="err")
    assert err == 0.5 and rec.claims == [("c", 0.5, 1.0, "<=")] and rec.metrics == {"err": 0.5}


def test_within_stderr_errors_gives_the_z_claims_se_and_step_error():
    measured, expected, stderr = np.array([1.0, 1.3]), 1.0, np.array([0.1, 0.1])
    # z = (0, 3); the largest at index 1: se 0.05/0.1; at dt/2 the estimates are
    # (1.0, 1.2), z = (0, 2): step error 1
    out = within_stderr_errors(
        measured, expected, stderr, se=np.array([0.2, 0.05]), step=np.array([0.0, 0.1])
    )
    assert out["se"] == pytest.approx(0.5) and out["step_error"] == pytest.approx(1.0)
    assert within_stderr_errors(measured, expected, stderr, se=1.0, step="exact sampler") == {
        "se": 1.0,
        "step_error": "exact sampler",
    }
    assert within_stderr_errors(measured, expected, stderr) == {"se": None, "step_error": None}


def test_experiment_config_is_a_frozen_dataclass_with_quick():
    @experiment_config(quick=dict(n=2))
    class Config:
        n: int = 8
        x: float = 1.0

    assert Config() == Config(8, 1.0) and Config.quick() == Config(n=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().n = 3
    assert Config.limits == {}


def test_experiment_config_limits_name_fields_and_parse():
    @experiment_config(quick={}, limits={"x": "> 0, <= 2"})
    class Config:
        x: float = 1.0

    assert Config.limits == {"x": "> 0, <= 2"} and Config.quick() == Config()
    with pytest.raises(TypeError, match="'y', not a field"):
        experiment_config(quick={}, limits={"y": "> 0"})(type("C", (), {}))
    with pytest.raises(ValueError, match="bad limit"):
        experiment_config(quick={}, limits={"x": "positive"})(
            type("C", (), {"__annotations__": {"x": float}, "x": 1.0})
        )


def test_claim_fitted_C_fits_from_the_initial_state_and_claims_C_is_1(monkeypatch):
    import types

    import jqd

    calls = []

    def fit_C(law, y0, alphas, data, **kw):
        calls.append((y0, kw))
        return types.SimpleNamespace(C=1.00002, iterations=7)

    monkeypatch.setattr(jqd.husimi, "fit_C", fit_C)
    law = types.SimpleNamespace(initial_state=lambda psi: ("state", psi))
    rec = _Rec()
    C = claim_fitted_C(rec, law, "psi", "alphas", [0, 1, 2], dt=0.1, steps_per_save=5, C0=1.5)
    assert C == 1.00002 and calls[0][0] == ("state", "psi")
    assert calls[0][1] == dict(dt=0.1, n_save=3, steps_per_save=5, C0=1.5, max_iter=30)
    assert rec.claims == [("fitted C", pytest.approx(2e-5), 1e-4, "<=")]
    assert rec.metrics == {"C_fit": 1.00002, "C_fit_iterations": 7}


def test_mean_and_stderr():
    mean, se = mean_and_stderr(np.array([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(se, [1.0, 0.0])


@pytest.mark.parametrize("legend_options", [{}, {"legend": True}, {"loc": "upper left"}])
def test_panel_labels_title_and_legend(legend_options):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="line")
    panel(ax, "t", "x(t)", "motion", **legend_options)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("t", "x(t)", "motion")
    if legend_options:
        assert ax.get_legend().get_texts()[0].get_fontsize() == 8
    else:
        assert ax.get_legend() is None
    plt.close(fig)


def test_panel_legend_fontsize_can_be_given():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="line")
    panel(ax, "t", "x", fontsize=9)
    assert ax.get_title() == "" and ax.get_legend().get_texts()[0].get_fontsize() == 9
    plt.close(fig)


def test_sparse_hamiltonian_is_real_only_when_its_imaginary_part_vanishes():
    class Law:
        def __init__(self, H):
            self.H = H

        def sparse(self, params):
            return self.H

    real = sparse_hamiltonian(Law(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 0.0]]) + 0j)), None)
    assert not np.iscomplexobj(real.data)
    H = sp.csr_matrix(np.array([[1.0, 1j], [-1j, 0.0]]))
    assert sparse_hamiltonian(Law(H), None) is H


def test_tensor_power_is_the_kronecker_product():
    v = np.array([0.6, 0.8])
    np.testing.assert_array_equal(tensor_power(v, 3), np.kron(np.kron(v, v), v))
    np.testing.assert_array_equal(tensor_power(v, 0), np.ones(1))
