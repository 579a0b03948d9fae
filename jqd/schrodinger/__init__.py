"""Schrödinger's equation, the exact reference: on periodic grids (split-step
Fourier, 1-3 D) and in finite bases (Fock spaces, lattices, any Hermitian H)."""

from ._basis import MatrixParams as MatrixParams
from ._basis import SchrodingerBasis as SchrodingerBasis
from ._basis import expm_hermitian as expm_hermitian
from ._basis import unitary_step as unitary_step
from ._grid import SchrodingerGrid as SchrodingerGrid
from ._grid import SchrodingerParams as SchrodingerParams
from ._grid import TimeStepError as TimeStepError
from ._grid import ground_state as ground_state
from ._ring import SchrodingerRing as SchrodingerRing
from ._ring import tight_binding_dispersion as tight_binding_dispersion

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
