"""Standard normal draws for the stochastic laws' noise, fast on the CPU.

`random_normal(key, shape, dtype)` (public as `jqd.random_normal`) is a
deterministic function of `key`, like `jax.random.normal`, but on the CPU it draws with NumPy's PCG64 generator
and Ziggurat method, seeded with 128 bits taken from the key by threefry
(`jax.random.bits`), through `jax.pure_callback`. On any other platform
(GPU, TPU) it is `jax.random.normal(key, shape, dtype)`: the choice is made
when the program is lowered (`jax.lax.platform_dependent`), so one key gives
different (equally distributed) draws on the CPU and on a GPU.

Why: measured on the 2-core EPYC (benchmarks/results_nelson.md), one core,
10^6 float64 draws: `jax.random.normal` with the default threefry key
≈ 97 ms of CPU (threefry bits ≈ 37 ms, the erf⁻¹ transform ≈ 28-45 ms);
with an `rbg` key ≈ 55-90 ms; NumPy's Ziggurat ≈ 27 ms; this callback
≈ 30-44 ms, copy included. The noise was 55% of a Nelson step.

Transformations: `jit` (the callback runs inside the compiled program),
`vmap` (`vmap_method="expand_dims"`: one callback draws every key of the
batch in turn, so vmap equals the loop bit for bit), `grad`/`jvp` (the draw
depends on the key only: no tangent reaches the callback), `checkpoint`
(recomputation redraws the same numbers). Sharding: with inputs sharded
over several CPU devices the callback runs once, on one device, for the
whole batch (results equal to the unsharded run, checked with 2 forced host
devices and an Auto-axis mesh); with an Explicit-axis mesh, vmapped calls
need the mesh set (`jax.sharding.use_mesh(mesh)`), else batching the
callback fails with "Resource axis ... not found in mesh".
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _host_normal(shape: tuple[int, ...], dtype: np.dtype):
    def draw(seeds):
        seeds = np.asarray(seeds, np.uint32)
        out = np.empty(seeds.shape[:-1] + shape, dtype)
        for i in np.ndindex(seeds.shape[:-1]):
            s = seeds[i]
            seed = int(s[0]) | int(s[1]) << 32 | int(s[2]) << 64 | int(s[3]) << 96
            out[i] = np.random.Generator(np.random.PCG64(seed)).standard_normal(shape, dtype)
        return out

    return draw


def random_normal(key, shape, dtype=None):
    """Standard normal draws for a stochastic law's noise: a deterministic
    function of `key`, like `jax.random.normal`, but on the CPU drawn by NumPy's PCG64 Ziggurat
    (about 3x faster than threefry there); on other platforms it is
    `jax.random.normal(key, shape, dtype)`.

    Args:
        key: a JAX PRNG key.
        shape: the output shape.
        dtype: a real floating dtype (default: JAX's default float).

    Returns:
        An array of `shape` and `dtype`. Works under `jit`, `vmap` (equal to
        the loop bit for bit), `grad` (no tangent) and `checkpoint`.
    """
    shape = tuple(int(n) for n in shape)
    dtype = jnp.dtype(jnp.result_type(float) if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"dtype must be a real floating type; got {dtype}.")
    seeds = jax.random.bits(key, (4,), jnp.uint32)
    out = jax.ShapeDtypeStruct(shape, dtype)
    host = _host_normal(shape, np.dtype(dtype))

    def cpu(s):
        return jax.pure_callback(host, out, s, vmap_method="expand_dims")

    def other(s):
        return jax.random.normal(key, shape, dtype)

    return jax.lax.platform_dependent(seeds, cpu=cpu, default=other)
