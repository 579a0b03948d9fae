"""Test configuration: float64 validation and 4 forced host devices.

XLA_FLAGS must be set before jax is imported, so it is set here, at the top
of the first module pytest imports.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)


import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches_after_module():
    # A whole-suite process otherwise keeps every compiled executable (GBs of
    # memory over ~600 tests; a late XLA compile once segfaulted there).
    yield
    jax.clear_caches()
