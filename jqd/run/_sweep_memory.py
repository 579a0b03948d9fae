"""The sweep's memory model: bytes per item from XLA's memory analysis of the
compiled program, and the largest batch that fits the free device memory."""

from __future__ import annotations

import math

import numpy as np

AUTO_BATCH_CAP = 256  # items per device when --batch auto
MEMORY_FRACTION = 0.5  # of the free device memory a chunk may take


def free_memory(device) -> int:
    """Bytes free on `device` (GPU: its allocator's limit minus use; CPU: MemAvailable)."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


def compile_batched(batched, example, mesh):
    """The sweep's program: `batched` per device (`shard_map`), so items never
    meet across devices. Under plain `jit` the in-graph checks' batch-wide
    `any` is an all-reduce, and on forced CPU devices jaxlib's all-reduce
    deadlocks about 1 run in 10 under load. `check_vma=False`: equinox's
    `error_if` branches are not varying-axis aware."""
    import jax
    from jax.sharding import PartitionSpec

    from .._sharding import shard_batch

    spec = PartitionSpec(mesh.axis_names[0])
    per_device = jax.shard_map(batched, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)
    return jax.jit(per_device).lower(shard_batch(example, mesh)).compile()


def program_bytes(compiled) -> int:
    m = compiled.memory_analysis()
    if m is None:
        return 0
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)


def auto_batch(batched, items, n_items, mesh, dtype) -> tuple[int, int, int]:
    """(batch, bytes per item, memory budget): the largest batch up to
    AUTO_BATCH_CAP per device whose compiled program fits the budget."""
    n_dev = mesh.devices.size
    per_dev = max(1, min(AUTO_BATCH_CAP, math.ceil(n_items / n_dev)))
    budget = int(MEMORY_FRACTION * free_memory(mesh.devices.flat[0]))
    probe = {k: np.full((n_dev,), v[0], dtype) for k, v in items.items()}
    per_item = max(1, program_bytes(compile_batched(batched, probe, mesh)))  # one item per device
    per_dev = max(1, min(per_dev, budget // per_item))
    return per_dev * n_dev, per_item, budget
