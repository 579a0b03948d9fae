"""Exact references: analytic solutions and exact propagators.

Imported by tests, experiments and benchmarks alike. Everything here is
independent of the laws it validates (closed forms, or eigendecomposition).
"""

from ._exact import free_gaussian_density as free_gaussian_density
from ._exact import gaussian_packet as gaussian_packet
from ._exact import grid_hamiltonian as grid_hamiltonian
from ._exact import harmonic_gaussian as harmonic_gaussian
from ._exact import oscillator_eigenstate as oscillator_eigenstate
from ._exact import propagate as propagate
from ._kerr import kerr_cat_state as kerr_cat_state
from ._kerr import kerr_husimi as kerr_husimi
from ._kerr import kerr_husimi_marginals as kerr_husimi_marginals
from ._kerr import kerr_log_density as kerr_log_density
from ._kerr import kerr_mean_a as kerr_mean_a
from ._kerr import kerr_state as kerr_state
from ._kerr import kerr_symbol as kerr_symbol
from ._thermal import GAP_RATIO_GOE as GAP_RATIO_GOE
from ._thermal import GAP_RATIO_GOE_SURMISE as GAP_RATIO_GOE_SURMISE
from ._thermal import GAP_RATIO_POISSON as GAP_RATIO_POISSON
from ._thermal import bose_einstein as bose_einstein
from ._thermal import dilute_gas_potential_energy as dilute_gas_potential_energy
from ._thermal import einstein_hopf_drag_factor as einstein_hopf_drag_factor
from ._thermal import fock_mode_atom_variance as fock_mode_atom_variance
from ._thermal import gap_ratio_density as gap_ratio_density
from ._thermal import gaussian_energy_variance as gaussian_energy_variance
from ._thermal import harmonic_contact_time as harmonic_contact_time
from ._thermal import klein_gordon_norm_density as klein_gordon_norm_density
from ._thermal import packet_energy_spread as packet_energy_spread
from ._thermal import photon_number_density as photon_number_density
from ._thermal import product_state_cm_variance as product_state_cm_variance
from ._thermal import rayleigh_jeans as rayleigh_jeans

__all__ = sorted(name for name in globals() if not name.startswith("_"))


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return __all__
