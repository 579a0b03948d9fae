"""Test configuration: float64 validation and 4 forced host devices.

XLA_FLAGS must be set before jax is imported, so it is set here, at the top
of the first module pytest imports.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
