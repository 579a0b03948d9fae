"""Sweeps across several processes (hosts) with `jax.distributed`.

`jqd sweep --distributed` calls `initialize()` before JAX starts its backend:
the coordinator address, process count and this process's index come from
`JQD_COORDINATOR` (host:port), `JQD_NUM_PROCESSES` and `JQD_PROCESS_ID`, or,
when those are unset, from JAX's own cluster detection (SLURM, Open MPI,
Kubernetes...; see `jax.distributed.initialize`). Every process runs the same
command on a shared file system. Then:

- vmapped mode: one mesh over the devices of every process; each process puts
  its own slice of every chunk on its local devices
  (`jax.make_array_from_process_local_data`), the one compiled program runs
  SPMD, the outputs are gathered (`process_allgather`) and process 0 writes;
- per-item mode: process p runs the items i with i % n == p and writes them;
- process 0 alone holds the folder lock and writes the manifest, the results
  and the summary; the processes meet at barriers between these stages.

With a single process every function here is a no-op, so the one-process
sweep is the same code path.
"""

from __future__ import annotations

import os

_ENV = ("JQD_COORDINATOR", "JQD_NUM_PROCESSES", "JQD_PROCESS_ID")


def initialize() -> None:
    """Join the job (before any JAX computation). CPU processes talk through gloo."""
    import jax

    if _initialized():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if all(os.environ.get(k) for k in _ENV):
        jax.distributed.initialize(
            coordinator_address=os.environ["JQD_COORDINATOR"],
            num_processes=int(os.environ["JQD_NUM_PROCESSES"]),
            process_id=int(os.environ["JQD_PROCESS_ID"]),
        )
    else:
        jax.distributed.initialize()  # JAX's cluster auto-detection


def _initialized() -> bool:
    import jax

    return jax.distributed.is_initialized()


def count() -> int:
    import jax

    return jax.process_count()


def index() -> int:
    import jax

    return jax.process_index()


def is_writer() -> bool:
    """Only process 0 writes the folder's shared files."""
    return index() == 0


def barrier(name: str) -> None:
    if count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def agree(todo: list[int]) -> list[int]:
    """Process 0's list of chunks to compute, the same on every process."""
    if count() == 1:
        return todo
    import numpy as np
    from jax.experimental import multihost_utils

    n = np.array([len(todo)])
    n = int(multihost_utils.broadcast_one_to_all(n)[0])
    padded = np.full(max(n, 1), -1, np.int64)
    padded[: min(n, len(todo))] = todo[:n]
    return [int(i) for i in multihost_utils.broadcast_one_to_all(padded)[:n]]


def put(chunk: dict, mesh, shard_batch):
    """The chunk's arrays on the mesh: `shard_batch` in one process; with several,
    each process contributes the slice that its local devices hold."""
    if count() == 1:
        return shard_batch(chunk, mesh)
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    sharding = NamedSharding(mesh, PartitionSpec(mesh.axis_names[0]))
    out = {}
    for k, v in chunk.items():
        rows = sharding.addressable_devices_indices_map(v.shape).values()
        start = min(r[0].start or 0 for r in rows)
        stop = max(v.shape[0] if r[0].stop is None else r[0].stop for r in rows)
        out[k] = jax.make_array_from_process_local_data(sharding, v[start:stop], v.shape)
    return out


def gather(x):
    """A global array as one NumPy array on every process."""
    import numpy as np

    if count() == 1:
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
