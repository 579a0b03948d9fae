"""Periodic boxes in 1, 2 and 3 dimensions, with the spectral tools on them."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


class Grid(eqx.Module):
    """A periodic box `[-L/2, L/2)^d` sampled on a uniform grid, d = 1, 2, 3:
    `x_j = -L/2 + j L/n`, wavenumbers as `numpy.fft.fftfreq`. Arrays are made
    on demand in the requested dtype.

    Attributes:
        shape: points per axis, e.g. `(256,)` or `(128, 128, 128)`.
        lengths: box length per axis (same units as positions).
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    lengths: tuple[float, ...] = eqx.field(static=True)

    def __init__(self, shape, lengths):
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
        if np.ndim(lengths) == 0:
            lengths = (float(lengths),) * len(shape)
        self.shape = shape
        self.lengths = tuple(float(L) for L in lengths)

    def __check_init__(self):
        if not 1 <= len(self.shape) <= 3:
            raise ValueError(f"Grid supports 1-3 dimensions; got shape {self.shape}.")
        if len(self.lengths) != len(self.shape):
            raise ValueError(
                f"Grid lengths {self.lengths} must have one entry per axis of shape {self.shape}."
            )
        if any(n < 4 for n in self.shape):
            raise ValueError(f"Grid needs at least 4 points per axis; got shape {self.shape}.")
        if any(not L > 0 for L in self.lengths):
            raise ValueError(f"Grid lengths must be positive; got {self.lengths}.")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        return tuple(L / n for L, n in zip(self.lengths, self.shape, strict=True))

    @property
    def cell_volume(self) -> float:
        return math.prod(self.spacing)

    @property
    def k_max(self) -> tuple[float, ...]:
        """Nyquist wavenumber per axis, pi / dx."""
        return tuple(math.pi / d for d in self.spacing)

    def _host_axes(self, dtype=None) -> list[np.ndarray]:
        return [
            np.asarray(-L / 2 + (L / n) * np.arange(n), dtype)
            for L, n in zip(self.lengths, self.shape, strict=True)
        ]

    def _along(self, a, i: int):
        """The 1-D array `a` shaped to broadcast along axis `i`."""
        return a.reshape([-1 if j == i else 1 for j in range(self.ndim)])

    # NumPy then jax.device_put: jnp.asarray on fresh shapes compiles a program each
    def axes(self, dtype=None) -> tuple[jnp.ndarray, ...]:
        """1-D coordinate arrays, one per axis."""
        return tuple(jax.device_put(a) for a in self._host_axes(dtype))

    def mesh(self, dtype=None) -> tuple[jnp.ndarray, ...]:
        """Coordinate arrays of shape `self.shape`, one per axis (`ij` indexing)."""
        # broadcast in-graph from the 1-D axes (docs/internals/core.md#mesh)
        return tuple(
            jnp.broadcast_to(self._along(a, i), self.shape)
            for i, a in enumerate(self._host_axes(dtype))
        )

    def wavenumbers(self, dtype=None) -> tuple[jnp.ndarray, ...]:
        """1-D angular wavenumber arrays (FFT order), one per axis."""
        return tuple(
            jax.device_put(np.asarray(2 * np.pi * np.fft.fftfreq(n, L / n), dtype))
            for L, n in zip(self.lengths, self.shape, strict=True)
        )

    def k_squared(self, dtype=None) -> jnp.ndarray:
        """|k|^2 on the full (FFT-ordered) grid."""
        out = 0.0
        for i, k in enumerate(self.wavenumbers(dtype)):
            out = out + self._along(k, i) ** 2
        return out

    def integrate(self, f) -> jnp.ndarray:
        """Integral of `f` over the box (sums the trailing `ndim` axes)."""
        axes = tuple(range(-self.ndim, 0))
        return jnp.sum(f, axis=axes) * jnp.asarray(self.cell_volume, jnp.real(f).dtype)

    def fft(self, f):
        return jnp.fft.fftn(f, axes=tuple(range(-self.ndim, 0)))

    def ifft(self, f):
        return jnp.fft.ifftn(f, axes=tuple(range(-self.ndim, 0)))

    def gradient(self, f) -> tuple[jnp.ndarray, ...]:
        """Spectral gradient of a real or complex periodic field."""
        fk = self.fft(f)
        out = []
        for i, k in enumerate(self.wavenumbers(jnp.real(f).dtype)):
            g = self.ifft(1j * self._along(k, i) * fk)
            out.append(g if jnp.iscomplexobj(f) else jnp.real(g))
        return tuple(out)

    def laplacian(self, f):
        lap = self.ifft(-self.k_squared(jnp.real(f).dtype) * self.fft(f))
        return lap if jnp.iscomplexobj(f) else jnp.real(lap)


def normalize(psi, grid: Grid | None = None):
    """Scale `psi` to unit norm (on `grid`, or as a plain vector)."""
    if grid is None:
        return psi / jnp.sqrt(jnp.sum(jnp.abs(psi) ** 2, axis=-1, keepdims=True))
    norm = grid.integrate(jnp.abs(psi) ** 2)
    return psi / jnp.sqrt(norm)[(...,) + (None,) * grid.ndim]
