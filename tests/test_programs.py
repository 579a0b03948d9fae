"""A library helper called eagerly is one compiled program, not one per
operation: a cold quick reproduce compiled 2,372 programs when the helpers
ran op by op, 1,305 since (benchmarks/results_lean.md, part 2).

Each helper is called on sizes no other test uses, so its first call must
compile its program; it may compile at most two (its program, and the
transfer of an input), and a second call with new values compiles none.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jqd

BACKEND = "/jax/core/compile/backend_compile_duration"


class _Count:
    def __init__(self):
        self.n = 0

    def __call__(self, event, duration, **kwargs):
        if event == BACKEND:
            self.n += 1


def _compiles(f) -> int:
    counter = _Count()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        jax.block_until_ready(f())
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
    return counter.n


GRID = jqd.Grid(37, 20.0)
RHO = jnp.exp(-(jnp.linspace(-3, 3, 37) ** 2))
PSI = jnp.sqrt(RHO).astype(complex)
N_OCC = jnp.array([[3, 1, 0, 2], [0, 0, 5, 1]])

# name: (helper, v -> its arguments), on sizes unique to this file; the
# arguments are built before the count
HELPERS = {
    "coherent_state": (jqd.fock.coherent_state, lambda v: (0.3 + v, 23)),
    "random_hermitian": (jqd.fock.random_hermitian, lambda v: (jax.random.key(int(v)), 13)),
    "gaussian_packet": (jqd.reference.gaussian_packet, lambda v: (GRID, 1.0 + v)),
    "free_gaussian_density": (
        jqd.reference.free_gaussian_density,
        lambda v: (jnp.linspace(-1, 1, 17), 0.5 + v),
    ),
    "kerr_husimi": (
        lambda a, t: jqd.reference.kerr_husimi(a, t, 1.1, n_max=19),
        lambda v: (jnp.full((3, 7), 0.1 + v), v),
    ),
    "lattice_gaussian": (lambda a: jqd.copy.lattice_gaussian(41, 0.2, a=a), lambda v: (1.0 + v,)),
    "hamiltonian_to_rates": (
        jqd.copy.hamiltonian_to_rates,
        lambda v: (jnp.full((11, 11), 0.1 + v, complex),),
    ),
    "spectral_entropy": (jqd.thermal.spectral_entropy, lambda v: (jnp.full((3, 29), 1.0 + v),)),
    "state_from_psi": (jqd.dqm.state_from_psi, lambda v: (GRID, PSI * (1 + v))),
    "grid_cdf": (jqd.dqm.grid_cdf, lambda v: (GRID, RHO * (1 + v))),
    "sample_density": (
        lambda key: jqd.dqm.sample_density(key, GRID, RHO, 31),
        lambda v: (jax.random.key(int(v)),),
    ),
    "log_weight_mb": (jqd.dqm.log_weight_mb, lambda v: (N_OCC + int(v),)),
    "dirichlet_multinomial_weight": (
        jqd.dqm.dirichlet_multinomial_weight,
        lambda v: (N_OCC, 1.0 + v),
    ),
}


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_a_helper_is_one_program(name):
    helper, arguments = HELPERS[name]
    first, second = arguments(0.0), arguments(1.0)
    jax.block_until_ready((first, second))
    n = _compiles(lambda: helper(*first))
    assert 1 <= n <= 2, f"{name}: {n} programs on its first call"
    assert _compiles(lambda: helper(*second)) == 0, f"{name}: a new value recompiled"


def test_helpers_give_the_op_by_op_values():
    """The jitted helpers equal their formulas evaluated in NumPy."""
    n = np.arange(23)
    alpha = 0.3
    logc = n * np.log(alpha) - 0.5 * np.array([np.sum(np.log(np.arange(1, k + 1))) for k in n])
    c = np.exp(logc - alpha**2 / 2)
    np.testing.assert_allclose(jqd.fock.coherent_state(alpha, 23), c / np.linalg.norm(c), 1e-13)
    x = np.linspace(-1, 1, 17)
    tau, a = 0.5, 1.0
    exact = np.exp(-(x**2) / (a**2 * (1 + tau**2))) / np.sqrt(np.pi * a**2 * (1 + tau**2))
    np.testing.assert_allclose(jqd.reference.free_gaussian_density(x, 0.5), exact, rtol=1e-14)


def test_grid_coordinates_are_not_program_constants():
    """A grid-sized coordinate array inside a traced program is an HLO constant
    that XLA folds at compile time, so compiling grew with the grid (2-D,
    4096²: 23-26 s; docs/internals/core.md#mesh). A 2-D grid law's program,
    potential and observer included, holds no grid-sized constant."""
    import re

    grid = jqd.Grid((32, 32), 10.0)
    law = jqd.SchrodingerGrid(grid, lambda x, t, w: 0.5 * w * (x[0] ** 2 + x[1] ** 2))
    psi0 = jqd.reference.gaussian_packet(grid)
    observe = jqd.observables.PositionMoments(law)  # reads grid.mesh() in-graph
    run = lambda y, p: jqd.evolve(law, y, p, dt=1e-3, n_save=1, observe=observe).observables
    text = jax.jit(run).lower(psi0, jqd.SchrodingerParams(potential=1.0)).as_text()
    assert not re.findall(r"constant[^\n]*tensor<32x32x", text)
