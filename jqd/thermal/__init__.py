"""Thermalization of localized matter (physics §7): harmonic lattices with
Gaussian states (exact mode rotation), classical FPUT chains and soft-sphere
gases, local quantum Hamiltonians (Chebyshev propagation, exact
diagonalization), and the statistical ensembles they are compared with."""

from ._classical import ClassicalLattice as ClassicalLattice
from ._classical import FPUTParams as FPUTParams
from ._classical import PhaseState as PhaseState
from ._classical import contact_fraction as contact_fraction
from ._classical import effective_mode_fraction as effective_mode_fraction
from ._classical import fput_mode_energies as fput_mode_energies
from ._classical import spectral_entropy as spectral_entropy
from ._classical import speed_histogram as speed_histogram
from ._classical import velocity_kurtosis as velocity_kurtosis
from ._ensembles import beta_canonical as beta_canonical
from ._ensembles import beta_microcanonical as beta_microcanonical
from ._ensembles import canonical_average as canonical_average
from ._ensembles import canonical_energy as canonical_energy
from ._ensembles import diagonal_ensemble as diagonal_ensemble
from ._ensembles import effective_dimension as effective_dimension
from ._ensembles import eth_diagonal_fluctuation as eth_diagonal_fluctuation
from ._ensembles import eth_diagonal_variance as eth_diagonal_variance
from ._ensembles import eth_offdiagonal_variance as eth_offdiagonal_variance
from ._ensembles import gap_ratio as gap_ratio
from ._ensembles import microcanonical_average as microcanonical_average
from ._ensembles import temporal_variance as temporal_variance
from ._gas import GasParams as GasParams
from ._gas import GasState as GasState
from ._gas import NeighborList as NeighborList
from ._gas import SoftSphereGas as SoftSphereGas
from ._harmonic import DenseCovariance as DenseCovariance
from ._harmonic import GaussianState as GaussianState
from ._harmonic import HarmonicLattice as HarmonicLattice
from ._harmonic import LatticeParams as LatticeParams
from ._harmonic import ModeCovariance as ModeCovariance
from ._harmonic import atom_covariance as atom_covariance
from ._harmonic import atom_variance as atom_variance
from ._harmonic import bond_variance as bond_variance
from ._harmonic import cm_variance as cm_variance
from ._harmonic import displace as displace
from ._harmonic import energy_variance as energy_variance
from ._harmonic import ground_state as ground_state
from ._harmonic import joined_blocks as joined_blocks
from ._harmonic import kinetic_energy as kinetic_energy
from ._harmonic import local_energy as local_energy
from ._harmonic import mode_energies as mode_energies
from ._harmonic import mode_occupation as mode_occupation
from ._harmonic import potential_energy as potential_energy
from ._harmonic import product_state as product_state
from ._harmonic import symplectic_occupation as symplectic_occupation
from ._harmonic import thermal_state as thermal_state
from ._harmonic import wigner_sample as wigner_sample
from ._lattice import Lattice as Lattice
from ._local import LocalParams as LocalParams
from ._local import LocalTerm as LocalTerm
from ._local import SchrodingerLocal as SchrodingerLocal
from ._local import boson_number as boson_number
from ._local import local_operator as local_operator
from ._local import mixed_field_ising as mixed_field_ising
from ._local import random_field_heisenberg as random_field_heisenberg
from ._local import reflection_sector as reflection_sector
from ._local import spin_boson as spin_boson
from ._local import sz_sector as sz_sector
from ._well import ClassicalWell as ClassicalWell
from ._well import WellParams as WellParams
from ._well import WellState as WellState
from ._well import coupled_quartic as coupled_quartic

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
