"""The CPU fast paths of the Nelson/Bohm ensembles (issue 16, item 4):
the host-drawn Gaussian noise (`jqd.random_normal`) and the 1-D coefficient
-table interpolation of the guidance velocities. Each is checked against the
plain path it replaces (round-off), its distribution (moments and KS at
sampling tolerances), and under jit, vmap and grad."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jqd
from jqd import _random
from jqd.dqm import EnsembleState, NelsonEnsemble, guidance_velocities
from jqd.dqm._ensembles import guidance
from jqd.dqm._particles import interpolate

jax.config.update("jax_enable_x64", True)


def test_normal_deterministic_jit_vmap():
    key = jax.random.key(7)
    a = _random.random_normal(key, (6, 2), jnp.float64)
    assert a.dtype == jnp.float64 and a.shape == (6, 2)
    np.testing.assert_array_equal(a, _random.random_normal(key, (6, 2), jnp.float64))
    np.testing.assert_array_equal(
        a, jax.jit(lambda k: _random.random_normal(k, (6, 2), jnp.float64))(key)
    )
    keys = jax.random.split(key, 3)
    batched = jax.vmap(lambda k: _random.random_normal(k, (5,), jnp.float32))(keys)
    assert batched.dtype == jnp.float32
    looped = np.stack([np.asarray(_random.random_normal(k, (5,), jnp.float32)) for k in keys])
    np.testing.assert_array_equal(batched, looped)
    assert not np.array_equal(batched[0], batched[1])  # distinct keys, distinct draws


def test_normal_distribution():
    """Mean, variance, kurtosis within 5 standard errors and KS distance
    below its 0.1% critical value (1.95/√n) for n = 2e5 draws."""
    n = 200_000
    z = np.asarray(_random.random_normal(jax.random.key(11), (n,), jnp.float64))
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(z**4) - 3) < 5 * math.sqrt(96 / n)
    zs = np.sort(z)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(zs / math.sqrt(2)))
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.95 / math.sqrt(n)


def test_normal_under_grad():
    key = jax.random.key(2)
    z = _random.random_normal(key, (8,), jnp.float64)
    f = lambda c: jnp.sum(jnp.sin(c * z))
    check_grads(f, (0.7,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(jax.grad(f)(0.7), jnp.sum(z * jnp.cos(0.7 * z)), rtol=1e-13)


@pytest.mark.parametrize("order", ["linear", "cubic"])
def test_1d_guidance_equals_general_path(order):
    """The coefficient-table path equals the stencil path (round-off)."""
    grid = jqd.Grid((96,), 16.0)
    psi = jqd.reference.gaussian_packet(grid, 1.0, x0=0.5) * (1 + 0.4j * grid.mesh()[0])
    x = jax.random.uniform(jax.random.key(0), (3000, 1), minval=-8.0, maxval=8.0)
    vals = interpolate(grid, jnp.stack([psi, *grid.gradient(psi)], axis=-1), x, order)
    eps = 1e-12 * jnp.max(jnp.abs(psi) ** 2)
    ratio = jnp.conj(vals[:, :1]) * vals[:, 1:] / (jnp.abs(vals[:, :1]) ** 2 + eps)
    v, u = guidance_velocities(grid, psi, x, 1.0, 1.0, order)
    drift = guidance("drift", grid, psi, x, 1.0, 1.0, order)
    current = guidance("v", grid, psi, x, 1.0, 1.0, order)
    for got, want in [
        (v, jnp.imag(ratio)),
        (u, jnp.real(ratio)),
        (drift, jnp.imag(ratio) + jnp.real(ratio)),
        (current, jnp.imag(ratio)),
    ]:
        assert float(jnp.max(jnp.abs(got - want) / (1 + jnp.abs(want)))) < 1e-12


def _nelson(scheme="heun"):
    grid = jqd.Grid((64,), 16.0)
    law = NelsonEnsemble(jqd.SchrodingerGrid(grid, lambda x, t, a: 0.5 * a * x[0] ** 2), scheme)
    psi = jqd.reference.gaussian_packet(grid, 1.0, x0=0.5)
    x = 0.5 + jax.random.normal(jax.random.key(0), (200, 1)) / math.sqrt(2)
    return law, EnsembleState(psi, x)


def test_nelson_step_jit_vmap_grad():
    law, y = _nelson("euler")
    params = jqd.SchrodingerParams(potential=1.0)
    key = jax.random.key(5)
    step = lambda y, k: law.step(0.0, y, params, 0.01, k)
    jitted = jax.jit(step)
    eager = step(y, key)
    np.testing.assert_allclose(jitted(y, key).x, eager.x, rtol=0, atol=1e-13)
    keys = jax.random.split(key, 3)
    batched = jax.jit(jax.vmap(step, in_axes=(None, 0)))(y, keys)
    for i, k in enumerate(keys):
        np.testing.assert_allclose(batched.x[i], jitted(y, k).x, rtol=0, atol=1e-13)

    def mean_x(w):
        p = jqd.SchrodingerParams(potential=w)
        return jnp.mean(law.step(0.0, y, p, 0.01, key).x)

    check_grads(jax.jit(mean_x), (1.0,), order=1, modes=("rev",))


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_kth_largest_equals_sort(dtype):
    """The radix select of the node-step check returns the sorted value."""
    from jqd.dqm._ensemble_checks import kth_largest

    rng = np.random.default_rng(3)
    u = rng.standard_normal(4001) ** 2
    u[:50] = 0.0
    u[50:90] = u[90]  # ties
    u[7] = np.inf
    u = jnp.asarray(u, dtype)
    s = np.sort(np.asarray(u))
    f = jax.jit(kth_largest)
    for m in (0, 1, 5, 39, 40, 1000, 3950, 4000):
        assert f(u, m) == s[u.shape[0] - 1 - m], m
