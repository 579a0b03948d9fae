"""Smolin's copy dynamics (SPEC §5): mean-field law, stochastic copy process."""

from ._meanfield import MeanField as MeanField
from ._meanfield import MeanFieldParams as MeanFieldParams
from ._meanfield import MeanFieldState as MeanFieldState
from ._meanfield import copy_flux as copy_flux
from ._meanfield import hamiltonian_to_rates as hamiltonian_to_rates
from ._meanfield import psi_from_state as psi_from_state
from ._meanfield import rates_to_hamiltonian as rates_to_hamiltonian
from ._meanfield import rk4_step as rk4_step
from ._meanfield import state_from_psi as state_from_psi
