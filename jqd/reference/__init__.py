"""Exact references: analytic solutions and exact propagators.

Imported by tests, experiments and benchmarks alike. Everything here is
independent of the laws it validates (closed forms, or eigendecomposition).
"""

from ._free import free_gaussian_density as free_gaussian_density
from ._free import gaussian_packet as gaussian_packet
from ._kerr import kerr_husimi as kerr_husimi
from ._kerr import kerr_mean_a as kerr_mean_a
from ._kerr import kerr_state as kerr_state
from ._oscillator import harmonic_gaussian as harmonic_gaussian
from ._propagate import grid_hamiltonian as grid_hamiltonian
from ._propagate import propagate as propagate
