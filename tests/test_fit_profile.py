"""The profile-likelihood errors of a least-squares fit (`profile_likelihood` in
jqd/_fit_covariance.py, which `jqd fit` reports and decides its quantum-value z on).

A linear model: the profile interval is the Gauss-Newton one θ̂ ± scale·σ and z
is (θ̂ − at)/stderr, to round-off. A model nonlinear in its constant at the data's
noise: the interval is asymmetric and its ends are where a brute-force profile
(scipy re-minimising the other constant on a fine grid) crosses Δχ² = scale².
Two bugs fail these tests: the other constants held at θ̂ instead of re-minimised
(the linear test: a correlated pair's interval shrinks to scale/√F_ii), and
only their linear prediction without the Gauss-Newton re-minimisation (the
nonlinear test).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import jqd
from jqd import _fit_covariance
from jqd._fit_covariance import profile_likelihood

X = np.linspace(0.0, 1.0, 25)
T = np.linspace(0.2, 3.0, 6)


def _linear(seed=0):
    """y = a + b x + c x², σ = 0.1: strongly correlated constants (a, b, c)."""
    y = 1 + 2 * X - X**2 + 0.1 * np.random.default_rng(seed).normal(size=X.size)
    D = np.stack([np.ones_like(X), X, X**2], 1)
    theta = dict(zip("abc", np.linalg.lstsq(D, y, rcond=None)[0], strict=True))
    res = lambda th, d: (th["a"] + th["b"] * X + th["c"] * X**2 - d) / 0.1
    return res, theta, jnp.asarray(y)


def _check_linear():
    res, theta, y = _linear()
    se = jqd.fit_covariance(res, theta, y, sigma="known")["stderr"]
    at = {"a": 1.0, "b": 2.0, "c": -1.0}
    p = profile_likelihood(res, theta, y, scale=1.7, at=at)
    for k in "abc":
        want = 1.7 * float(se[k])
        np.testing.assert_allclose([p["lower"][k], p["upper"][k]], want, rtol=1e-9, err_msg=k)
        np.testing.assert_allclose(p["z"][k], (theta[k] - at[k]) / want, rtol=1e-7, err_msg=k)
    return p


def test_linear_model_equals_gauss_newton():
    """Linear least squares: χ²_prof(v) − χ²_min = (v − θ̂)²/σ², so the profile
    interval is θ̂ ± scale·σ (σ the Gauss-Newton error) and z the Gauss-Newton one,
    to round-off; a batch of fits gives each fit's own."""
    _check_linear()
    res, theta, y = _linear()
    batch = {k: np.array([v, v]) for k, v in theta.items()}
    p = profile_likelihood(res, batch, jnp.stack([y, y]), scale=np.array([1.0, 2.0]), batched=True)
    for k in "abc":
        np.testing.assert_allclose(p["upper"][k][1], 2 * p["upper"][k][0], rtol=1e-9)


def _decay(seed=3):
    """y = a exp(−b t) at 6 times, σ = 0.15: b is poorly fixed and the model is
    far from linear in it over its error bar."""
    y = 2 * np.exp(-0.9 * T) + 0.15 * np.random.default_rng(seed).normal(size=T.size)
    res = lambda th, d: (th["a"] * jnp.exp(-th["b"] * T) - d) / 0.15
    fit = jqd.fit(None, {"a": 2.0, "b": 0.9}, residuals=res, data=jnp.asarray(y),
                  sigma="known", max_iter=200, step_tol=1e-6)  # fmt: skip
    return res, {k: float(v) for k, v in fit.value.items()}, y


def _brute_profile(y, theta, scale):
    """b's profile interval by brute force: a re-minimised in closed form (the
    model is linear in a) on a fine grid of b, the crossings interpolated."""
    chi2 = lambda a, b: float(np.sum(((a * np.exp(-b * T) - y) / 0.15) ** 2))
    best = lambda b: (lambda e: chi2(float(e @ y / (e @ e)), b))(np.exp(-b * T))
    c0, b0 = chi2(theta["a"], theta["b"]), theta["b"]
    ends = []
    for side in (-1, 1):
        grid = b0 + side * np.linspace(0.0, 1.0, 20001)
        d = np.sqrt(np.maximum([best(b) - c0 for b in grid], 0.0)) - scale
        i = int(np.argmax(d > 0))
        ends.append(abs(np.interp(0.0, d[i - 1 : i + 1], grid[i - 1 : i + 1]) - b0))
    return ends


def _check_nonlinear():
    res, theta, y = _decay()
    p = profile_likelihood(res, theta, jnp.asarray(y), scale=1.3)
    lo, hi = _brute_profile(y, theta, 1.3)
    np.testing.assert_allclose([p["lower"]["b"], p["upper"]["b"]], [lo, hi], rtol=3e-3)
    return p, theta


def test_nonlinear_model_is_asymmetric():
    """y = a e^(−bt) with b poorly fixed: the profile interval of b matches a
    brute-force profile (to 3e-3, the secant's tolerance and the grid) and is
    asymmetric (upper/lower > 1.2), where the Gauss-Newton one is symmetric."""
    p, theta = _check_nonlinear()
    assert p["upper"]["b"] / p["lower"]["b"] > 1.2, p


def _frozen_delta(self, i, v, iters=20):
    """Bug: the other constants held at θ̂ (χ²(θ̂ with θ_i = v), not the profile)."""
    x = self.flat.copy()
    x[i] = v
    r, _ = self.rj(x)
    return max(float(np.sum(r**2)) - self.chi2, 0.0)


_DELTA = _fit_covariance._Profile.delta


def _predicted_delta(self, i, v, iters=20):
    """Bug: the others at their linear prediction, never re-minimised."""
    return _DELTA(self, i, v, iters=0)


@pytest.mark.parametrize(
    "bug, check",
    [(_frozen_delta, _check_linear), (_predicted_delta, _check_nonlinear)],
    ids=["others-frozen", "no-reminimisation"],
)
def test_bugs_fail(monkeypatch, bug, check):
    """Each bug in the re-minimisation fails the check that guards it."""
    monkeypatch.setattr(_fit_covariance._Profile, "delta", bug)
    with pytest.raises(AssertionError):
        check()
