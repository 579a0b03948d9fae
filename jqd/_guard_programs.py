"""The small jitted programs behind `jqd._guards` when a guard's input is
traced: under an outer eager `grad` or `vmap` each is one primitive, where
the same checks written op by op ran as a dozen (measured: most of a traced
`jqd.evolve` call's overhead)."""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp


@functools.lru_cache(maxsize=512)
def _stager(messages: tuple):
    """One jitted staging per message set: under an eager `grad` or `vmap` it
    is one primitive instead of one per comparison (measured: most of a
    traced call's overhead)."""

    @jax.jit
    def attach(oks, leaf):
        bad = jnp.stack([~jnp.all(jnp.asarray(ok, bool)) for ok in oks])
        return eqx.branched_error_if(leaf, jnp.any(bad), jnp.argmax(bad), list(messages))

    return attach


@jax.jit
def _all_finite(a):
    return jnp.all(jnp.isfinite(a))


@jax.jit
def _all_finite_leaves(leaves):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


@jax.jit
def _scalar_stats(v):
    v = jnp.asarray(v)
    return jnp.isfinite(v), v > 0, v >= 0


@functools.partial(jax.jit, static_argnums=1)
def _normalized_stats(norm, tol):
    dev = jnp.abs(jnp.asarray(norm) - 1.0)
    return jnp.all(jnp.isfinite(norm)), jnp.all(dev <= tol), dev


@functools.partial(jax.jit, static_argnums=1)
def _hermitian_stats(H, rtol):
    dev = jnp.max(jnp.abs(H - jnp.conj(jnp.swapaxes(H, -1, -2))))
    scale = jnp.maximum(jnp.max(jnp.abs(H)), 1e-300)
    return jnp.all(jnp.isfinite(H)), dev <= rtol * scale, dev / scale
