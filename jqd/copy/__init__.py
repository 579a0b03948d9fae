"""Smolin's copy dynamics (physics §5): the mean-field law, the stochastic copy
process (exact event driven and tau-leaping, member and count level), phase
alignment, and the ring lattice with its continuum and classical limits."""

from ..schrodinger import MatrixParams as MatrixParams  # the params of every copy law
from ..schrodinger import tight_binding_dispersion as tight_binding_dispersion
from ._alignment import AlignmentParams as AlignmentParams
from ._alignment import AlignmentState as AlignmentState
from ._alignment import PhaseAlignment as PhaseAlignment
from ._alignment import alignment_order as alignment_order
from ._bell import BellJumps as BellJumps
from ._bell import BellState as BellState
from ._bell import bell_generator as bell_generator
from ._bell import bell_rates as bell_rates
from ._faithful import CopyMembersFaithful as CopyMembersFaithful
from ._faithful import FaithfulState as FaithfulState
from ._faithful import circular_variance as circular_variance
from ._faithful import faithful_state as faithful_state
from ._faithful_leap import CopyFaithfulTauLeap as CopyFaithfulTauLeap
from ._faithful_leap import FaithfulTypeState as FaithfulTypeState
from ._faithful_leap import compact_types as compact_types
from ._faithful_leap import faithful_type_state as faithful_type_state
from ._faithful_mobius import CopyMembersFaithfulMobius as CopyMembersFaithfulMobius
from ._faithful_mobius import class_sums as class_sums
from ._fit import fit_qr as fit_qr
from ._fit import qr_loss as qr_loss
from ._gillespie import CopyGillespie as CopyGillespie
from ._gillespie import GillespieState as GillespieState
from ._gillespie import StepCapError as StepCapError
from ._gillespie import copy_gillespie as copy_gillespie
from ._gillespie import gillespie_state as gillespie_state
from ._kinetics import AbstractCopyRates as AbstractCopyRates
from ._kinetics import CountState as CountState
from ._kinetics import MemberState as MemberState
from ._kinetics import class_phase_velocity as class_phase_velocity
from ._kinetics import count_drift as count_drift
from ._kinetics import counts_from_members as counts_from_members
from ._kinetics import hamiltonian_to_rates as hamiltonian_to_rates
from ._kinetics import members_from_counts as members_from_counts
from ._kinetics import occupation_frequencies as occupation_frequencies
from ._kinetics import rates_to_hamiltonian as rates_to_hamiltonian
from ._kinetics import transfer_rates as transfer_rates
from ._lattice import lattice_evolve_psi as lattice_evolve_psi
from ._lattice import lattice_gaussian as lattice_gaussian
from ._lattice import ring_hamiltonian as ring_hamiltonian
from ._lattice import ring_params as ring_params
from ._lattice import ring_positions as ring_positions
from ._meanfield import MeanField as MeanField
from ._meanfield import MeanFieldParams as MeanFieldParams
from ._meanfield import MeanFieldState as MeanFieldState
from ._meanfield import StiffnessError as StiffnessError
from ._meanfield import copy_flux as copy_flux
from ._meanfield import psi_from_state as psi_from_state
from ._meanfield import state_from_psi as state_from_psi
from ._product import joint_counts as joint_counts
from ._product import marginal_counts as marginal_counts
from ._product import product_hamiltonian as product_hamiltonian
from ._tau_leap import CopyCountsTauLeap as CopyCountsTauLeap
from ._tau_leap import CopyMembersTauLeap as CopyMembersTauLeap
from ._tau_leap import TauLeapError as TauLeapError

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
