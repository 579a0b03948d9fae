"""`jqd.fit`'s gradient modes (jqd/_fit.py `_forward_mode`, `gradient=`).

A fit of a few constants takes its gradient in forward mode (one tangent per
number of θ). These tests hold that gradient to reverse mode and to finite
differences, and a forward-mode fit to the same optimum as a reverse-mode one.
Bugs they catch: a cotangent not scaled by the incoming one (`bwd` returning
the slopes alone: the 3·f gradient is a third of the truth), a tangent basis
unravelled into the wrong leaves (the dict gradient swaps its entries), a loss
forward mode cannot differentiate passed on with JAX's bare error.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jqd
from jqd._fit import _forward_mode

T = jnp.linspace(0.0, 2.0, 9)


def _decay(theta, data):
    """Residuals of a damped oscillation with amplitude a, rate g, frequency w: a
    model whose gradient mixes every entry of θ."""
    a, g, w = theta["a"], theta["rate"][0], theta["rate"][1]
    return a * jnp.exp(-g * T) * jnp.cos(w * T) - data


DATA = _decay({"a": 1.3, "rate": jnp.array([0.7, 2.1])}, 0.0)
THETA = {"a": jnp.asarray(1.0), "rate": jnp.array([0.5, 2.0])}


def test_forward_gradient_equals_reverse_and_finite_differences():
    loss = lambda th, d: 0.5 * jnp.sum(_decay(th, d) ** 2)
    fwd = _forward_mode(loss)
    scaled = lambda f: lambda th: 3.0 * f(th, DATA)  # a cotangent of 3, not 1
    want = jax.grad(scaled(loss))(THETA)
    got = jax.jit(jax.grad(scaled(fwd)))(THETA)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0)
    assert float(fwd(THETA, DATA)) == pytest.approx(float(loss(THETA, DATA)), rel=1e-15)
    check_grads(lambda th: fwd(th, DATA), (THETA,), order=1, modes=["rev"])


def test_forward_and_reverse_fits_reach_the_same_optimum():
    kw = dict(residuals=_decay, data=DATA, max_iter=60, gtol=1e-12)
    f, r = jqd.fit(None, THETA, **kw), jqd.fit(None, THETA, gradient="reverse", **kw)
    for res in (f, r):
        assert res.converged
        np.testing.assert_allclose(res.value["a"], 1.3, rtol=1e-8)
        np.testing.assert_allclose(res.value["rate"], [0.7, 2.1], rtol=1e-8)
    np.testing.assert_allclose(f.stderr["rate"], r.stderr["rate"], rtol=1e-6)


def test_forward_mode_refuses_a_reverse_only_loss_by_name():
    @jax.custom_vjp
    def square(x):
        return x**2

    square.defvjp(lambda x: (x**2, x), lambda x, ct: (2 * x * ct,))
    loss = lambda th: jnp.sum(square(th["a"] - 1.0))
    with pytest.raises(TypeError, match='gradient="reverse"'):
        jqd.fit(loss, {"a": 0.0}, max_iter=3)
    assert jqd.fit(loss, {"a": 0.0}, max_iter=20, gradient="reverse").value["a"] == pytest.approx(
        1.0, abs=1e-6
    )
    with pytest.raises(ValueError, match="gradient must be one of"):
        jqd.fit(loss, {"a": 0.0}, gradient="backward")
