"""Issue 27's rough edges (api): bad inputs that once gave a silent answer or an
unclear error. Each `BadCase` must come out "named"."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

import jqd
from jqd import reference as ref
from jqd import thermal

if TYPE_CHECKING:
    from adversarial.battery import BadCase


def _case(id_, run, names, what, law="", family="core", klass="scalar"):
    # imported here, not at the top: battery.py imports this module while it
    # builds its CASES (a top-level import would be circular when it runs as a script)
    from adversarial.battery import BadCase

    return BadCase(f"api/{id_}", family, klass, run, names, law, what)


def _lattice():
    return thermal.HarmonicLattice(thermal.Lattice((6,), "fixed"))


def _closed_forms() -> list[BadCase]:
    """Item 1: the closed forms of jqd.reference and jqd.thermal check their arguments."""
    c2 = np.full(3, 1 / 3)
    return [
        _case(
            "reference/packet_energy_spread/width-0",
            lambda: ref.packet_energy_spread(1.0, 0.0),
            ("width",),
            "zero width (was ZeroDivisionError)",
        ),
        _case(
            "reference/packet_energy_spread/mass-negative",
            lambda: ref.packet_energy_spread(1.0, 1.0, mass=-1.0),
            ("mass",),
            "negative mass (was a negative ΔE)",
        ),
        _case(
            "reference/product_state_cm_variance/n-negative",
            lambda: ref.product_state_cm_variance(-3, 1.0, 1.0, 1.0),
            ("n",),
            "negative N (was a negative variance)",
        ),
        _case(
            "reference/product_state_cm_variance/width-0",
            lambda: ref.product_state_cm_variance(3, 1.0, 0.0, 1.0),
            ("width",),
            "zero width (was ZeroDivisionError)",
        ),
        _case(
            "reference/fock_mode_atom_variance/mass-negative",
            lambda: ref.fock_mode_atom_variance(0.5, 1, -1.0, 1.0),
            ("mass",),
            "negative mass (was a negative variance)",
        ),
        _case(
            "reference/free_gaussian_density/a-0",
            lambda: ref.free_gaussian_density(0.0, 1.0, a=0.0),
            ("a",),
            "zero width (was NaN)",
        ),
        _case(
            "reference/gaussian_packet/hbar-0",
            lambda: ref.gaussian_packet(jqd.Grid(16, 10.0), hbar=0.0),
            ("hbar",),
            "ħ = 0 (was NaN)",
        ),
        _case(
            "reference/propagate/shape-mismatch",
            lambda: ref.propagate(np.eye(3), np.ones(4) / 2, [0.0, 1.0]),
            ("H", "psi0"),
            "psi0 of another dimension than H",
        ),
        _case(
            "thermal/effective_dimension/unnormalized",
            lambda: thermal.effective_dimension(np.ones(3)),
            ("c2",),
            "weights summing to 3 (was d_eff = 0.33)",
        ),
        _case(
            "thermal/diagonal_ensemble/shape-mismatch",
            lambda: thermal.diagonal_ensemble(c2, np.ones(4)),
            ("c2", "O_diag"),
            "4 O_nn for 3 weights (was NumPy's broadcast error)",
        ),
        _case(
            "thermal/canonical_average/shape-mismatch",
            lambda: thermal.canonical_average(np.arange(3.0), np.ones(4), 1.0),
            ("E", "O_diag"),
            "4 O_nn for 3 levels (was NumPy's broadcast error)",
        ),
        _case(
            "thermal/temporal_variance/shape-mismatch",
            lambda: thermal.temporal_variance(np.arange(3.0), c2**0.5, np.eye(4)),
            ("O_eig",),
            "(4, 4) O_eig for 3 levels (was NumPy's broadcast error)",
        ),
        _case(
            "thermal/ground_state/mass-negative",
            lambda: thermal.ground_state(_lattice(), thermal.LatticeParams(mass=-1.0)),
            ("mass",),
            "negative mass (was blamed on thermal_state's pinning)",
        ),
        _case(
            "thermal/product_state/hbar-0",
            lambda: thermal.product_state(_lattice(), thermal.LatticeParams(hbar=0.0), 0.0, 1.0),
            ("hbar",),
            "ħ = 0 (was accepted)",
        ),
    ]


def _interop() -> list[BadCase]:
    """Item 4: to_qutip with dims that do not fit (only where QuTiP is installed)."""
    if importlib.util.find_spec("qutip") is None:
        return []
    return [
        _case(
            "interop/to_qutip/dims-mismatch",
            lambda: jqd.interop.to_qutip(np.ones(4) / 2, dims=[[2, 3], [1, 1]]),
            ("dims",),
            "dims of product 6 for a ket of dimension 4 (was QuTiP's error)",
        )
    ]


def _last_session() -> list[BadCase]:
    """Item 5: last session's fixes (no source edits here), each must stay named."""
    H = jqd.fock.random_hermitian(jax.random.key(5), 3)
    grid = jqd.Grid(64, 20.0)  # x = 0 is a grid point

    def basis_hbar0():
        H14 = jqd.fock.kerr_hamiltonian(14)
        psi0 = jqd.fock.coherent_state(1.0, 14)
        params = jqd.MatrixParams(H14, hbar=0.0)
        return jqd.evolve(jqd.SchrodingerBasis(), psi0, params, dt=0.01, n_save=2)

    def alignment_nan_phi():
        beables = jnp.repeat(jnp.arange(3, dtype=jnp.int32), 4)
        law = jqd.copy.PhaseAlignment(beables=beables, n_states=3)
        y0 = jqd.copy.AlignmentState(phi=jnp.zeros(12).at[3].set(jnp.nan), pi=jnp.zeros(12))
        params = jqd.copy.AlignmentParams(H=H, f=jnp.asarray(2.0))
        return jqd.evolve(law, y0, params, dt=0.05, n_save=2)

    def grid_run(V):
        law = jqd.SchrodingerGrid(grid, potential=V)
        psi0 = ref.gaussian_packet(grid, a=1.0)
        return jqd.evolve(law, psi0, jqd.SchrodingerParams(), dt=0.01, n_save=2)

    return [
        _case(
            "schrodinger/MatrixParams/hbar-0",
            basis_hbar0,
            ("hbar",),
            "MatrixParams(H, hbar=0.0) (was ZeroDivisionError in specialize)",
            "schrodinger-basis",
            "schrodinger",
        ),
        _case(
            "copy/alignment/y0.phi-nan",
            alignment_nan_phi,
            ("phi",),
            "a NaN in y0.phi of a two-field state (was 'y0 contains NaN')",
            "copy-alignment",
            "copy",
        ),
        _case(
            "copy/MeanFieldParams.from_hamiltonian/non-hermitian",
            lambda: jqd.copy.MeanFieldParams.from_hamiltonian(H.at[0, 1].add(0.5)),
            ("H",),
            "non-Hermitian H (was blamed on params.R)",
            "copy-meanfield",
            "copy",
        ),
        _case(
            "schrodinger/grid/potential-infinite",
            lambda: grid_run(lambda x, t, a: 1.0 / x[0]),
            ("potential", "V"),
            "V = 1/x, infinite at the grid point x = 0 (was blamed on dt)",
            "schrodinger-grid-strang",
            "schrodinger",
        ),
        _case(
            "schrodinger/ring/potential-infinite",
            lambda: jqd.evolve(
                jqd.SchrodingerRing(8, 0.5),
                jnp.full(8, 8**-0.5, complex),
                jqd.SchrodingerParams(potential=jnp.zeros(8).at[3].set(jnp.inf)),
                dt=0.01,
                n_save=2,
            ),
            ("potential", "V"),
            "an infinite on-site energy (was blamed on dt, as on the grid)",
            "schrodinger-ring",
            "schrodinger",
        ),
        _case(
            "schrodinger/grid/potential-shape",
            lambda: grid_run(lambda x, t, a: jnp.zeros(10)),
            ("potential", "V"),
            "V returning shape (10,) on a 64-point grid (was JAX's broadcasting error)",
            "schrodinger-grid-strang",
            "schrodinger",
        ),
        _case(
            "fit/theta0-nan",
            lambda: jqd.fit(lambda th: (th - 1.0) ** 2, jnp.nan),
            ("theta0",),
            "θ0 = NaN (was 'the loss is nan at the start')",
        ),
        _case(
            "fit/positive-theta0-negative",
            lambda: jqd.fit(lambda th: (th - 1.0) ** 2, -1.0, transform="positive"),
            ("theta0", "transform"),
            "transform='positive' with θ0 = -1 (was 'the loss is nan at the start')",
        ),
    ]


def cases() -> list[BadCase]:
    return _closed_forms() + _interop() + _last_session()
