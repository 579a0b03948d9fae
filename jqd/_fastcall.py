"""The user's plain call, compiled once per shape: a cached `jax.jit` keyed by
the static part of the arguments, with the value checks fused into the
compiled program.

`eqx.filter_jit` re-partitions and re-hashes every argument pytree on every
call (≈ 0.3-1 ms for a law, a state and params), and the eager checks ran
NumPy over H and ψ0 before it. Here a call

1. flattens its arguments once (`split`): arrays and Python floats/complex
   are traced leaves, everything else (ints, bools, strings, callables, the
   tree structure with eqx's static fields) is the cache key;
2. looks the key up in an LRU table of `jax.jit` functions (`cached`); jax's
   own C++ dispatch then keys the compiled executable on shapes and dtypes,
   so new values of the same shapes neither retrace nor recompile;
3. evaluates the value guards (`jqd._guards`) inside the same program and
   returns their flags with the result (`guard_flags`); the caller reads
   them with the breakdown code in one transfer and, only when one failed,
   reruns the eager checks to raise their exact message (the value in it).

`bucket` rounds a count of saves up to one of eight sizes per octave, so a
new `n_save` reuses the program compiled for its bucket; the saves beyond
`n_save` are masked and sliced off.
"""

from __future__ import annotations

import collections
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

_DYNAMIC = object()  # marks a traced leaf in a cache key
_MAX_ENTRIES = 256
_TABLE: collections.OrderedDict = collections.OrderedDict()


# traced: what eqx.filter_jit traced (arrays, NumPy scalars) plus Python floats
# and complex numbers (a new value must not recompile); Python ints and bools
# stay static (they may size arrays or steer Python control flow)
_DYNAMIC_TYPES = (jax.Array, np.ndarray, np.generic, float, complex)


def _is_dynamic(leaf) -> bool:
    return isinstance(leaf, _DYNAMIC_TYPES) and not isinstance(leaf, bool)


def split(tree):
    """(traced leaves, hashable key) of a pytree; None as key when a static
    leaf is unhashable (the caller then takes its general path)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    dyn = []
    static = []
    for leaf in leaves:
        if _is_dynamic(leaf):
            dyn.append(leaf)
            static.append(_DYNAMIC)
        else:
            static.append(leaf)
    key = (treedef, tuple(static))
    try:
        hash(key)
    except TypeError:
        return dyn, None
    return dyn, key


def cached(fn: Callable, key, dyn, extra=None):
    """`fn(tree, extra)` through the jitted function cached under
    `(fn, key, extra)` (`extra`: a hashable static value)."""
    full = (fn, key, extra)
    jitted = _TABLE.get(full)
    if jitted is None:
        treedef, static = key

        def flat(*leaves):
            it = iter(leaves)
            tree = treedef.unflatten([next(it) if s is _DYNAMIC else s for s in static])
            return fn(tree, extra)

        jitted = jax.jit(flat)
        _TABLE[full] = jitted
        if len(_TABLE) > _MAX_ENTRIES:
            _TABLE.popitem(last=False)
    else:
        _TABLE.move_to_end(full)
    return jitted(*dyn)


def cache_size() -> int:
    """Compiled executables held by the plain-call cache (for tests: a new
    value of the same shape must not add one)."""
    return sum(f._cache_size() for f in _TABLE.values())


def guard_flags(guards):
    """One boolean per guard (True: valid), computed in-graph."""
    oks = [jnp.all(jnp.asarray(g.ok, bool)) for g in guards if g is not None]
    return jnp.stack(oks) if oks else jnp.ones((0,), bool)


_FIRST_COUNT: collections.OrderedDict = collections.OrderedDict()


def capacity(key, n: int) -> int:
    """Saves to compile for: the first `n` met under `key` exactly (a repeated
    call pays no slicing), any other `n` its bucket (no recompile per n)."""
    first = _FIRST_COUNT.setdefault(key, n)
    if len(_FIRST_COUNT) > _MAX_ENTRIES:
        _FIRST_COUNT.popitem(last=False)
    return n if n == first else bucket(n)


def bucket(n: int) -> int:
    """n rounded up to m·2^e with 8 <= m < 16 (n itself up to 16): at most
    12.5% more saves, eight programs per octave of n_save."""
    if n <= 16:
        return n
    e = int(math.floor(math.log2(n))) - 3
    return -(-n // 2**e) * 2**e


@functools.partial(jax.jit, static_argnums=1)
def _first(arrays, n: int):
    return tuple(a[:n] for a in arrays)


def take_saves(sol, n: int):
    """The first n saves of a Solution computed for a larger bucket."""
    if sol.ts.shape[0] == n:
        return sol
    n_obs = len(jax.tree_util.tree_leaves(sol.observables))
    leaves, treedef = jax.tree_util.tree_flatten(sol)  # ts, observables, y_final, stats
    head = _first(tuple(leaves[: 1 + n_obs]), n)
    return treedef.unflatten([*head, *leaves[1 + n_obs :]])
