"""Thermalization of localized matter (physics §7): harmonic lattices with
Gaussian states (exact mode rotation), classical FPUT chains and soft-sphere
gases, local quantum Hamiltonians (Chebyshev propagation, exact
diagonalization), and the statistical ensembles they are compared with."""

# Each block is owned by one module group; keep imports sorted within a block.
# -- lattice and Gaussian states (_lattice, _harmonic, _gaussian_observables) --
# -- classical matter (_classical, _gas, _classical_observables) --
# -- local quantum Hamiltonians (_local, _models, _sectors) --
# -- ensembles (_ensembles) --
