"""Test configuration: float64 validation, 4 forced host devices, no
persistent compilation cache, and the `gpu` marker (skipped without a GPU).

XLA_FLAGS must be set before jax is imported, so it is set here, at the top
of the first module pytest imports.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("MPLBACKEND", "Agg")
# The `jqd` command switches on JAX's persistent compilation cache
# (jqdlab._compile_cache); in-process `main()` calls would switch it on for the
# whole pytest worker and subprocesses would fill the user's ~/.cache. Tests
# run without it; tests/test_compile_cache.py opts in with its own folders.
os.environ["JQD_NO_CACHE"] = "1"
# The suite's problems are small, so compiling is most of its time. XLA's
# backend optimizations (LLVM passes) change results only at round-off and
# cost about a quarter of the suite on 2 cores; the tests (and the `jqd`
# subprocesses they start) run without them. Experiments and benchmarks keep
# them. Set JAX_DISABLE_MOST_OPTIMIZATIONS=0 to test the optimized programs.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
# For the same reason the suite compiles as `--quick` runs do, with XLA:CPU's
# elemental emitter (docs/internals/run.md#cpu-emitter): the law contract
# file 92 -> 51 s on 2 cores. Under pytest-xdist the workers fill the cores, so
# each compiles on one thread, as `jqd reproduce --jobs 2` runs do.
from jqdlab.cli import _faster_cpu_compile  # noqa: E402  (imports no JAX)

_faster_cpu_compile(parallel_runs=int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches_after_module():
    # A whole-suite process otherwise keeps every compiled executable (GBs of
    # memory over ~600 tests; a late XLA compile once segfaulted there).
    yield
    jax.clear_caches()


def _has_gpu() -> bool:
    try:
        return len(jax.devices("gpu")) > 0
    except RuntimeError:  # no GPU backend (CPU-only jaxlib, or no device)
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` run only where JAX sees a GPU (`pip install jqd[cuda12]`)."""
    gpu_tests = [item for item in items if item.get_closest_marker("gpu") is not None]
    if gpu_tests and not _has_gpu():
        skip = pytest.mark.skip(reason="no GPU")
        for item in gpu_tests:
            item.add_marker(skip)
