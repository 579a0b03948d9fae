"""Batches across devices with JAX's own sharding (no scheduler of our own)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def batch_mesh(n_devices: int | None = None, axis_name: str = "batch") -> Mesh:
    """A 1-D mesh over the first `n_devices` devices (default: all)."""
    devices = jax.devices()
    if n_devices is not None:
        if not 1 <= n_devices <= len(devices):
            raise ValueError(
                f"n_devices={n_devices} but {len(devices)} device(s) are available "
                "(on CPU, set XLA_FLAGS=--xla_force_host_platform_device_count=N before importing jax)."
            )
        devices = devices[:n_devices]
    return Mesh(np.asarray(devices), (axis_name,))


def shard_batch(tree, mesh: Mesh | None = None):
    """Place every array leaf of `tree` with its leading (batch) axis split
    across `mesh`'s devices (a multiple of the device count: `pad_batch`).
    Under `jax.distributed` every process passes the whole batch and places
    only its own devices' rows."""
    mesh = batch_mesh() if mesh is None else mesh
    n = mesh.devices.size
    sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
    several = jax.process_count() > 1

    def put(x):
        x = jnp.asarray(x)
        if x.ndim == 0 or x.shape[0] % n:
            raise ValueError(
                f"batch axis of length {x.shape[0] if x.ndim else 0} does not split over "
                f"{n} devices; pad it with jqd.pad_batch(tree, {n})."
            )
        if not several:
            return jax.device_put(x, sharding)
        rows = sharding.addressable_devices_indices_map(x.shape).values()
        start = min(r[0].start or 0 for r in rows)  # this process's devices hold
        stop = max(x.shape[0] if r[0].stop is None else r[0].stop for r in rows)  # one block
        return jax.make_array_from_process_local_data(sharding, x[start:stop], x.shape)

    return jax.tree_util.tree_map(put, tree)


def gather_batch(tree):
    """Every array leaf of `tree` as one NumPy array, on every process (under
    `jax.distributed` all-gathered: every process must call it)."""
    if jax.process_count() == 1:
        return jax.tree_util.tree_map(np.asarray, tree)
    from jax.experimental import multihost_utils

    gather = lambda x: np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return jax.tree_util.tree_map(gather, tree)


def pad_batch(tree, multiple: int):
    """Pad the leading axis of every leaf to a multiple of `multiple` by
    repeating the last item; returns `(padded_tree, original_length)`."""
    leaves = jax.tree_util.tree_leaves(tree)
    length = int(np.shape(leaves[0])[0])
    pad = (-length) % multiple

    def grow(x):
        x = jnp.asarray(x)
        return jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x

    return jax.tree_util.tree_map(grow, tree), length
