"""Law-contract lines for the Schrödinger family (see helpers.py)."""

import bad_inputs as bad
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

import jqd


def _grid_case(scheme, order):
    def make():
        grid = jqd.Grid(64, 20.0)
        law = jqd.SchrodingerGrid(
            grid, potential=lambda x, t, w: 0.5 * w**2 * x[0] ** 2, scheme=scheme
        )
        psi0 = jqd.reference.gaussian_packet(grid, a=1.0, p0=0.5)
        return LawCase(law, psi0, jqd.SchrodingerParams(potential=1.0), dt=0.01, order=order)

    return make


def _driven_grid():
    grid = jqd.Grid(64, 20.0)
    V = lambda x, t, w: 0.5 * x[0] ** 2 + 0.1 * jnp.sin(w * t) * x[0]
    law = jqd.SchrodingerGrid(grid, potential=V, time_dependent=True)
    psi0 = jqd.reference.gaussian_packet(grid, a=1.0)
    return LawCase(law, psi0, jqd.SchrodingerParams(potential=1.0), dt=0.01, order=2)


def _basis():
    H = jqd.fock.kerr_hamiltonian(12) + 0.3 * jqd.fock.number(12)
    psi0 = jqd.fock.coherent_state(1.0, 12, check=False)
    psi0 = psi0 / jnp.linalg.norm(psi0)
    return LawCase(jqd.SchrodingerBasis(), psi0, jqd.MatrixParams(H), dt=0.05)


def _driven_basis(scheme=None, order=2):
    H0 = jqd.fock.kerr_hamiltonian(10)
    X = jqd.fock.destroy(10) + jqd.fock.create(10)

    class Drive(jqd.MatrixParams):
        omega: float = 1.0

    # p.H symmetrized: the gradient check perturbs it in every direction, and a
    # non-Hermitian H is stepped differently by eigh (which symmetrizes) and Chebyshev
    H = lambda t, p: 0.5 * (p.H + p.H.conj().T) + 0.3 * jnp.cos(p.omega * t) * X
    psi0 = jqd.fock.fock_state(10, 1)
    law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True)
    if scheme is not None:
        law = jqd.SchrodingerBasis(hamiltonian=H, time_dependent=True, scheme=scheme)
    return LawCase(law, psi0, Drive(H0, 1.0, 1.3), dt=0.05, order=order)


CASES = {
    "schrodinger-grid-strang": _grid_case(jqd.schemes.Strang(), 2),
    "schrodinger-grid-yoshida4": _grid_case(jqd.schemes.Yoshida4(), 4),
    "schrodinger-grid-driven": _driven_grid,
    "schrodinger-basis": _basis,
    "schrodinger-basis-driven": _driven_basis,
    "schrodinger-basis-driven-cf4": lambda: _driven_basis(jqd.schemes.CommutatorFree4(), 4),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
_BAD_DRIVEN_BASIS = BadInputs(
    bad.whole(bad.nan_first), "NaN in psi0", bad.PSI, bad.hbar(-0.8), "hbar = -0.8", ("hbar",)
)
BAD = {
    "schrodinger-grid-strang": BadInputs(
        bad.whole(bad.times(2)), "psi0 doubled", bad.PSI, bad.hbar(-1.0), "hbar = -1", ("hbar",)
    ),
    "schrodinger-grid-yoshida4": BadInputs(
        bad.whole(bad.nan_first), "NaN in psi0", bad.PSI, bad.mass(-1.0), "mass = -1", ("mass",)
    ),
    "schrodinger-grid-driven": BadInputs(
        bad.whole(bad.times(2)),
        "psi0 doubled",
        bad.PSI,
        bad.at(lambda p: p.potential, bad.value(jnp.nan)),
        "potential argument NaN",
        ("potential",),
    ),
    "schrodinger-basis": BadInputs(
        bad.whole(bad.times(2)),
        "psi0 doubled",
        bad.PSI,
        *bad.NON_HERMITIAN_H,
    ),
    # (a non-Hermitian H is the static case's; the driven cases' H(t) symmetrizes it)
    "schrodinger-basis-driven": _BAD_DRIVEN_BASIS,
    "schrodinger-basis-driven-cf4": _BAD_DRIVEN_BASIS,
}
