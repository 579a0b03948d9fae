"""Exact references: analytic solutions and exact propagators.

Imported by tests, experiments and benchmarks alike. Everything here is
independent of the laws it validates (closed forms, or eigendecomposition).
"""

from ._free import free_gaussian_density as free_gaussian_density
from ._free import gaussian_packet as gaussian_packet
from ._kerr import kerr_cat_state as kerr_cat_state
from ._kerr import kerr_husimi as kerr_husimi
from ._kerr import kerr_husimi_marginals as kerr_husimi_marginals
from ._kerr import kerr_log_density as kerr_log_density
from ._kerr import kerr_mean_a as kerr_mean_a
from ._kerr import kerr_state as kerr_state
from ._kerr import kerr_symbol as kerr_symbol
from ._oscillator import harmonic_gaussian as harmonic_gaussian
from ._oscillator import oscillator_eigenstate as oscillator_eigenstate
from ._propagate import grid_hamiltonian as grid_hamiltonian
from ._propagate import propagate as propagate

# -- thermalization (physics §7): one block per module --
