"""Diffusion quantum mechanics (physics §2, §3, §6): Madelung and canonical (ρ, S)
laws, Nelson and Bohmian ensembles, quantum statistics."""

from .._fit import FitResult as FitResult
from ..stats import histogram as histogram
from ..stats import ks_distance as ks_distance
from ._algebra import functional_derivatives as functional_derivatives
from ._algebra import hamiltonian as hamiltonian
from ._algebra import localization_energy as localization_energy
from ._algebra import momentum_density as momentum_density
from ._algebra import momentum_mean as momentum_mean
from ._algebra import momentum_square as momentum_square
from ._algebra import osmotic_momentum_square as osmotic_momentum_square
from ._algebra import poisson_bracket as poisson_bracket
from ._algebra import poisson_brackets as poisson_brackets
from ._algebra import position_moment as position_moment
from ._algebra import psi_bracket_density as psi_bracket_density
from ._algebra import psi_poisson_brackets as psi_poisson_brackets
from ._algebra import quantum_potential_mean as quantum_potential_mean
from ._algebra import schrodinger_energy as schrodinger_energy
from ._algebra import wirtinger_derivatives as wirtinger_derivatives
from ._canonical import CanonicalDQM as CanonicalDQM
from ._ensemble_checks import EnsembleBreakdownError as EnsembleBreakdownError
from ._ensembles import BohmEnsemble as BohmEnsemble
from ._ensembles import EnsembleState as EnsembleState
from ._ensembles import NelsonEnsemble as NelsonEnsemble
from ._ensembles import evolve_ensemble as evolve_ensemble
from ._ensembles import guidance_velocities as guidance_velocities
from ._fit import density_loss as density_loss
from ._fit import fit_diffusion as fit_diffusion
from ._fluid import evolve_madelung as evolve_madelung
from ._madelung import Madelung as Madelung
from ._mixtures import MixtureFit as MixtureFit
from ._mixtures import closest_mixture as closest_mixture
from ._mixtures import fd_distance_closed_form as fd_distance_closed_form
from ._mixtures import multinomial_matrix as multinomial_matrix
from ._mixtures import simplex_lattice as simplex_lattice
from ._particles import ParticleCDF as ParticleCDF
from ._particles import ParticleHistogram as ParticleHistogram
from ._particles import ParticleMoments as ParticleMoments
from ._particles import grid_cdf as grid_cdf
from ._particles import grid_cdf_function as grid_cdf_function
from ._particles import interpolate as interpolate
from ._particles import ks_bounds as ks_bounds
from ._particles import sample_density as sample_density
from ._state import DQMParams as DQMParams
from ._state import FickVelocity as FickVelocity
from ._state import MadelungState as MadelungState
from ._state import UncertaintyProduct as UncertaintyProduct
from ._state import gaussian_state as gaussian_state
from ._state import state_from_psi as state_from_psi
from ._state import state_to_psi as state_to_psi
from ._statistics import be_weight_closed_form as be_weight_closed_form
from ._statistics import dirichlet_multinomial_weight as dirichlet_multinomial_weight
from ._statistics import log_statistical_weight as log_statistical_weight
from ._statistics import log_weight_be as log_weight_be
from ._statistics import log_weight_fd as log_weight_fd
from ._statistics import log_weight_mb as log_weight_mb
from ._statistics import mean_occupation as mean_occupation
from ._statistics import most_probable_occupation as most_probable_occupation
from ._statistics import occupation_patterns as occupation_patterns
from ._statistics import occupation_variance as occupation_variance
from ._statistics import pattern_frequencies as pattern_frequencies
from ._statistics import sample_dirichlet_multinomial as sample_dirichlet_multinomial
from ._statistics import sample_occupations as sample_occupations
from ._statistics import spread_pattern as spread_pattern
from ._statistics import weight_be as weight_be
from ._statistics import weight_fd as weight_fd
from ._statistics import weight_mb as weight_mb
from ._validity import Breakdown as Breakdown
from ._validity import MadelungBreakdownError as MadelungBreakdownError
from ._validity import MadelungValidity as MadelungValidity
from ._validity import find_breakdown as find_breakdown

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
