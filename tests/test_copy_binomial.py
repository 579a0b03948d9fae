"""jqd.copy._binomial.binomial: `jax.random.binomial`'s draws, bit for bit,
without its idle branch; and the monotonicity the count tau-leap's coupled
step relies on (common random numbers)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jqd.copy._binomial import binomial


def _cases():
    """(n, p) rows of 1-6 elements: inversion (n·q <= 10), rejection (BTRS),
    both in one draw, p near 0, ½ and 1, no trials, p exactly 0 or 1."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        size = int(rng.integers(1, 7))
        n = np.floor(10 ** rng.uniform(0, [1, 3, 6, 15][i % 4], size))
        p = [rng.uniform(0, 1, size), 10 ** rng.uniform(-8, 0, size)][i % 2]
        if i % 3 == 2:
            p = 1 - p
        if i % 5 == 0:
            n[0] = 0.0
        if i % 7 == 0:
            p[0] = 0.0
        if i % 11 == 0:
            p[-1] = 1.0
        out.append((n, p))
    return out


@pytest.mark.parametrize("transform", ["eager", "jit-vmap"])
def test_draws_equal_jax_random_binomial_bitwise(transform):
    """If this fails after a JAX upgrade, JAX's sampler changed: follow it in
    jqd/copy/_binomial.py (the count tau-leap's draws would change)."""
    cases = _cases() if transform == "jit-vmap" else _cases()[:6]  # eager: op by op
    for i, (n, p) in enumerate(cases):
        n, p = jnp.asarray(n), jnp.asarray(p)
        ref = lambda k: jax.random.binomial(k, n, p, dtype=n.dtype)
        ours = lambda k: binomial(k, n, p)
        key = jax.random.key(i)
        if transform == "jit-vmap":
            keys = jax.random.split(key, 32)
            ref, ours, key = jax.jit(jax.vmap(ref)), jax.jit(jax.vmap(ours)), keys
        a, b = np.asarray(ref(key)), np.asarray(ours(key))
        assert np.array_equal(a, b, equal_nan=True), (n, p, a, b)


def test_inversion_draws_from_one_key_are_monotone():
    """Where n·min(p, 1 − p) <= 10 on one side of ½, one key gives X(n1, p1)
    >= X(n2, p2) whenever n1 >= n2 and p1 >= p2: the coupled count tau-leap's
    two runs then differ by about their means' difference."""
    keys = jax.random.split(jax.random.key(1), 4000)
    n1, p1 = jnp.array([40.0, 12.0, 3.0]), jnp.array([0.2, 0.5 - 1e-9, 1e-3])
    n2, p2 = n1 - jnp.array([1.0, 0.0, 3.0]), p1 * jnp.array([0.97, 0.999, 1.0])
    draw = jax.jit(jax.vmap(lambda k: (binomial(k, n1, p1), binomial(k, n2, p2))))
    x1, x2 = (np.asarray(x) for x in draw(keys))
    assert np.all(x1 >= x2)
    # and the gap is about the means' difference: E(X1 − X2) = E X1 − E X2
    gap = np.asarray(n1 * p1 - n2 * p2)
    se = (x1 - x2).std(0) / np.sqrt(len(keys)) + 1e-12
    assert np.all(np.abs((x1 - x2).mean(0) - gap) < 4 * se + 1e-9), ((x1 - x2).mean(0), gap)


@pytest.mark.mutants
@pytest.mark.parametrize("mutant", ["inversion-other-key", "rejection-skipped"])
def test_sampler_mutants_fail_the_bitwise_check(mutant, monkeypatch):
    """The inversion loop drawing from another key than JAX's (a valid
    sampler, other draws), or the rejection loop skipped where an element
    needs it, must be caught."""
    import jqd.copy._binomial as B

    if mutant == "inversion-other-key":
        inversion = B._inversion
        other = lambda key, *a: inversion(jax.random.fold_in(key, 1), *a)
        monkeypatch.setattr(B, "_inversion", other)
    else:
        btrs = B._btrs
        monkeypatch.setattr(B, "_btrs", lambda key, n, q, use: btrs(key, n, q, use & False))
    jax.clear_caches()
    try:
        with pytest.raises(AssertionError):
            test_draws_equal_jax_random_binomial_bitwise("jit-vmap")
    finally:
        jax.clear_caches()
