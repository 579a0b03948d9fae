"""The periodic phase-space grid of the Husimi grid solver (physics §4.8), and
which Fock-shell spaces V_n it resolves (`max_quanta`; calibration:
docs/internals/husimi.md#regularizations)."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._guards import to_device

_BOX_MARGIN = 2.0  # (b): √(2(2n+1)) + margin <= L/2
_K_FRACTION = 0.9  # (a): local wavenumber √(2(2n+1)) as a fraction of the Nyquist π/dx


class PhaseSpaceGrid(eqx.Module):
    """A periodic hypercube [−L/2, L/2)^(2N) in z = (Q_1..Q_N, P_1..P_N).

    Attributes:
        n_modes: N, the number of bosonic modes (dimension d = 2N).
        points: grid points per axis (even, >= 8).
        length: box length L per axis (units of the dimensionless Q, P).
    """

    n_modes: int = eqx.field(static=True, converter=int)
    points: int = eqx.field(static=True, converter=int)
    length: float = eqx.field(static=True, converter=float)

    def __check_init__(self):
        if self.n_modes < 1:
            raise ValueError(f"n_modes must be >= 1; got {self.n_modes}.")
        if self.points < 8 or self.points % 2:
            raise ValueError(f"points must be even and >= 8; got {self.points}.")
        if not self.length > 0:
            raise ValueError(f"length must be positive; got {self.length}.")

    @property
    def ndim(self) -> int:
        return 2 * self.n_modes

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.points,) * self.ndim

    @property
    def spacing(self) -> float:
        return self.length / self.points

    @property
    def cell_volume(self) -> float:
        return self.spacing**self.ndim

    def axis(self, dtype=None):
        return to_device(-self.length / 2 + self.spacing * np.arange(self.points), dtype)

    def mesh(self, dtype=None) -> tuple[Array, ...]:
        """Coordinate arrays of shape `self.shape` (ij indexing), z order."""
        return tuple(jnp.meshgrid(*([self.axis(dtype)] * self.ndim), indexing="ij"))

    def points_array(self, dtype=None) -> Array:
        """All grid points as an array of shape (points^d, d)."""
        return jnp.stack([m.reshape(-1) for m in self.mesh(dtype)], axis=-1)

    def alpha(self, dtype=None) -> tuple[Array, ...]:
        """α_j = (Q_j + i P_j)/√2 on the mesh, one array per mode."""
        m = self.mesh(dtype)
        N = self.n_modes
        return tuple((m[j] + 1j * m[N + j]) / np.sqrt(2) for j in range(N))

    def rfft_wavenumbers(self, dtype=None) -> tuple[Array, ...]:
        """Angular wavenumbers broadcastable to the rfftn output, one per axis."""
        full = 2 * np.pi * np.fft.fftfreq(self.points, self.spacing)
        half = 2 * np.pi * np.fft.rfftfreq(self.points, self.spacing)
        out = []
        for i in range(self.ndim):
            k = half if i == self.ndim - 1 else full
            shape = [1] * self.ndim
            shape[i] = -1
            out.append(jnp.asarray(k.reshape(shape), dtype))
        return tuple(out)

    def max_quanta(self) -> int:
        """Largest n_max whose V_n the grid resolves (-1: none): √(2(2n+1)) ≤
        0.9 π/dx and √(2(2n+1)) + 2 ≤ L/2."""
        n = -1
        while fock_limit_reason(self, n + 1) is None and n < 400:
            n += 1
        return n

    def nyquist_mask(self, dtype=None):
        """1 on the rfftn output, 0 where any axis is at its Nyquist wavenumber."""
        mask = np.ones([self.points] * (self.ndim - 1) + [self.points // 2 + 1])
        for i in range(self.ndim):
            idx = [slice(None)] * self.ndim
            idx[i] = self.points // 2
            mask[tuple(idx)] = 0
        return jnp.asarray(mask, dtype)

    def integrate(self, f) -> Array:
        axes = tuple(range(-self.ndim, 0))
        real = np.real(np.zeros((), jnp.result_type(f))).dtype  # no jnp.real program
        return jnp.sum(f, axis=axes) * to_device(self.cell_volume, real)

    def rfft(self, f):
        return jnp.fft.rfftn(f, axes=tuple(range(-self.ndim, 0)))

    def irfft(self, f):
        return jnp.fft.irfftn(f, s=self.shape, axes=tuple(range(-self.ndim, 0)))


def fock_limit_reason(grid: PhaseSpaceGrid, n: int) -> str | None:
    """Why `grid` cannot resolve V_n (None if it can), naming what to change."""
    kmax = math.pi / grid.spacing
    k_loc = math.sqrt(2 * (2 * n + 1))
    if k_loc > _K_FRACTION * kmax:
        return (
            f"an {n}-quanta function has local wavenumber √(2(2n+1)) = {k_loc:.3g} > "
            f"{_K_FRACTION} π/dx = {_K_FRACTION * kmax:.3g} (dx = {grid.spacing:.3g}): the grid "
            "is too coarse; increase points (or decrease length)"
        )
    if k_loc + _BOX_MARGIN > grid.length / 2:
        return (
            f"V_{n} holds Hermite-type functions reaching |z| ≈ √(2(2n+1)) = {k_loc:.3g}, which "
            f"must stay {_BOX_MARGIN:g} inside the box half-width L/2 = {grid.length / 2:g}: the "
            f"box is too small; increase length to >= {2 * (k_loc + _BOX_MARGIN):.3g} (and "
            "points with it)"
        )
    return None
