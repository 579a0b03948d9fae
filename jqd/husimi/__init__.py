"""Husimi-function Fokker-Planck law with commutator diffusion (physics §4)."""

from ._fit import FitResult as FitResult
from ._fit import fit_C as fit_C
from ._fit import husimi_loss as husimi_loss
from ._flow import FlowParams as FlowParams
from ._flow import FlowResult as FlowResult
from ._flow import FlowState as FlowState
from ._flow import GalerkinDensity as GalerkinDensity
from ._flow import HusimiFlow as HusimiFlow
from ._flow import HusimiZeroError as HusimiZeroError
from ._flow import flow_trajectories as flow_trajectories
from ._flow import flow_velocity as flow_velocity
from ._flow import galerkin_log_density as galerkin_log_density
from ._forward_backward import FBParams as FBParams
from ._forward_backward import FBState as FBState
from ._forward_backward import ForwardBackward as ForwardBackward
from ._forward_backward import PicardDivergenceError as PicardDivergenceError
from ._forward_backward import split_frames as split_frames
from ._fp_terms import fp_terms as fp_terms
from ._galerkin import BasisWidthError as BasisWidthError
from ._galerkin import FockTruncationError as FockTruncationError
from ._galerkin import GalerkinParams as GalerkinParams
from ._galerkin import HusimiGalerkin as HusimiGalerkin
from ._grid_solver import EnvelopeError as EnvelopeError
from ._grid_solver import HusimiGrid as HusimiGrid
from ._grid_solver import HusimiGridParams as HusimiGridParams
from ._grid_solver import HusimiGridState as HusimiGridState
from ._grid_solver import ShellOverflowError as ShellOverflowError
from ._grid_solver import evolve_grid as evolve_grid
from ._linear_fp import linear_fp_coefficients as linear_fp_coefficients
from ._linear_fp import linear_fp_marginal as linear_fp_marginal
from ._linear_fp import linear_fp_propagators as linear_fp_propagators
from ._ops import Ops as Ops
from ._ops import a as a
from ._ops import ad as ad
from ._ops import anharmonic_oscillator as anharmonic_oscillator
from ._ops import anti_normal_order as anti_normal_order
from ._ops import bose_hubbard as bose_hubbard
from ._ops import harmonic as harmonic
from ._ops import kerr as kerr
from ._ops import normal_order as normal_order
from ._ops import num as num
from ._ops import parametric as parametric
from ._ops import phi4_mode as phi4_mode
from ._phase_space_grid import PhaseSpaceGrid as PhaseSpaceGrid
from ._regularization import Envelope as Envelope
from ._regularization import FockShells as FockShells
from ._regularization import NoRegularization as NoRegularization
from ._residuals import diffusion_structure as diffusion_structure
from ._residuals import exact_husimi_density as exact_husimi_density
from ._residuals import fp_coefficients as fp_coefficients
from ._residuals import fp_rhs as fp_rhs
from ._residuals import galerkin_closure_error as galerkin_closure_error
from ._residuals import instantaneous_residual as instantaneous_residual
from ._residuals import time_reversal_residual as time_reversal_residual
from ._states import alphas_from_z as alphas_from_z
from ._states import coherent_amplitudes as coherent_amplitudes
from ._states import coherent_product as coherent_product
from ._states import fock_basis as fock_basis
from ._states import husimi as husimi
from ._states import husimi_density as husimi_density
from ._states import reduced_density_matrix as reduced_density_matrix
from ._states import z_from_alphas as z_from_alphas
from ._symbols import Polynomial as Polynomial
from ._symbols import TruncationReport as TruncationReport
from ._symbols import anti_wick_symbol as anti_wick_symbol
from ._symbols import diffusion_matrix as diffusion_matrix
from ._symbols import drift as drift
from ._symbols import drift_and_diffusion as drift_and_diffusion
from ._symbols import symplectic_J as symplectic_J
from ._symbols import truncation_check as truncation_check
from ._symbols import wick_symbol as wick_symbol
from ._wellposedness import complex_phi4_mode as complex_phi4_mode
from ._wellposedness import compressed_superoperator as compressed_superoperator
from ._wellposedness import husimi_gram as husimi_gram
from ._wellposedness import numerical_abscissa as numerical_abscissa
from ._wellposedness import sparse_superoperator as sparse_superoperator
from ._wellposedness import spectral_abscissa as spectral_abscissa

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
