"""Preparations of Gaussian states of a harmonic lattice (physics §7.4).

All return a `GaussianState` in the mode basis of the law's lattice, with the
covariance kind of the law ("mode" or "dense"). Per mode k
(a_k² = ħ/(mω_k), the paper's oscillator length):

- ground state: ⟨Q²⟩ = ħ/(2mω), ⟨P²⟩ = mħω/2, no Q-P correlation;
- thermal state at temperature T (k_B = 1): both times coth(ħω/2T)
  (mean occupation n̄ = 1/(e^{ħω/T} − 1));
- product state Π_j exp(−(x_j − R_j)²/2d²) e^{i p_j x_j/ħ}: in the atom basis
  Var x_j = d²/2, Var p_j = ħ²/(2d²), uncorrelated; an isotropic atom
  covariance is isotropic in any orthogonal basis, so a uniform width is
  exactly mode-diagonal (per-atom widths need covariance="dense").

A free mode (ω = 0) has no ground or thermal state: those preparations
refuse it (use pinning > 0, a fixed boundary, or a product state).
Value checks are `jqd.Check`s: they raise at once on concrete inputs and are
staged in-graph (`eqx.error_if`) under jit/vmap/grad.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from ._harmonic import (
    DenseCovariance,
    GaussianState,
    HarmonicLattice,
    ModeCovariance,
    omega2_guards,
)

__all__ = [
    "ground_state",
    "thermal_state",
    "product_state",
    "displace",
    "joined_blocks",
    "wigner_sample",
]


def _dtype(dtype):
    return jnp.result_type(float) if dtype is None else dtype


def _law(law):
    if not isinstance(law, HarmonicLattice):
        raise ValueError(f"law must be a jqd.thermal.HarmonicLattice; got {type(law).__name__}.")
    return law


def _bound_guards(law, params, caller):
    """Every mode bound (ω² > 0): a free mode has no ground/thermal state."""
    w2 = law.omega_squared(params)
    xp = _guards.array_module(w2)
    w2 = np.asarray(w2) if xp is np else w2
    return omega2_guards(law, params) + [
        _guards.described(
            xp.all(w2 > 0),
            f"{caller}: a mode is free (ω = 0) and has no ground/thermal state: set "
            "params.pinning > 0 or use boundary='fixed', or start from product_state.",
            lambda: (
                f"{caller}: mode {int(np.argmin(w2))} is free (ω = 0) and has no "
                "ground/thermal state: set params.pinning > 0 or use boundary='fixed', or "
                "start from product_state."
            ),
        )
    ]


def _from_mode_blocks(law, q, p, qq, qp, pp) -> GaussianState:
    if law.covariance == "mode":
        return GaussianState(q, p, ModeCovariance(qq, qp, pp))
    M = jnp.block([[jnp.diag(qq), jnp.diag(qp)], [jnp.diag(qp), jnp.diag(pp)]])
    return GaussianState(q, p, DenseCovariance(M))


def thermal_state(law, params, temperature, dtype=None) -> GaussianState:
    """The canonical state at `temperature` (energy units, k_B = 1; 0: ground state)."""
    law, dtype = _law(law), _dtype(dtype)
    guards = _bound_guards(law, params, "thermal_state") + _guards.scalar(
        temperature, "temperature", nonnegative=True
    )
    w = law.frequencies(params, dtype)
    m, hbar = jnp.asarray(params.mass, dtype), jnp.asarray(params.hbar, dtype)
    T = jnp.asarray(temperature, dtype)
    w_safe = jnp.where(w > 0, w, 1.0)
    x = hbar * w_safe / (2 * jnp.where(T > 0, T, 1.0))
    coth = jnp.where(T > 0, 1.0 / jnp.tanh(x), 1.0)
    qq = hbar / (2 * m * w_safe) * coth
    pp = m * hbar * w_safe / 2 * coth
    zero = jnp.zeros_like(w)
    state = _from_mode_blocks(law, zero, zero, qq, zero, pp)
    return _guards.enforce(guards, state, "jqd.thermal.thermal_state")


def ground_state(law, params, dtype=None) -> GaussianState:
    """The lattice ground state (every mode in its oscillator ground state)."""
    return thermal_state(law, params, 0.0, dtype)


def _atoms(law, x, name, dtype):
    n = law.n_modes
    x = jnp.asarray(0.0 if x is None else x, dtype)
    if x.shape not in ((), (n,)):
        raise ValueError(f"{name} must be a scalar or have shape ({n},); got {x.shape}.")
    return jnp.broadcast_to(x, (n,))


def product_state(law, params, positions, width, momenta=None, dtype=None) -> GaussianState:
    """Π_j exp(−(x_j − R_j)²/2d²) e^{i p_j x_j/ħ}.

    Args:
        positions: mean displacements R_j from the equilibrium sites, (N,) or scalar.
        width: d > 0; a scalar, or (N,) per atom (only with covariance="dense").
        momenta: mean momenta p_j, (N,) or scalar (default 0).
    """
    law, dtype = _law(law), _dtype(dtype)
    n = law.n_modes
    d = jnp.asarray(width, dtype)
    if d.shape != () and (d.shape != (n,) or law.covariance == "mode"):
        raise ValueError(
            f"width must be a scalar (or, with covariance='dense', shape ({n},)); got shape "
            f"{d.shape}. Per-atom widths correlate the modes: use HarmonicLattice(..., "
            "covariance='dense')."
        )
    guards = _guards.scalar(width, "width", positive=True)
    hbar = jnp.asarray(params.hbar, dtype)
    q = law.lattice.to_modes(_atoms(law, positions, "positions", dtype))
    p = law.lattice.to_modes(_atoms(law, momenta, "momenta", dtype))
    vx, vp = d**2 / 2, hbar**2 / (2 * d**2)
    if d.shape == ():
        one = jnp.ones(n, dtype)
        state = _from_mode_blocks(law, q, p, vx * one, 0 * one, vp * one)
    else:  # U^T diag(v) U for each block
        to = law.lattice.to_modes
        QQ = to(to(jnp.diag(vx)).T)
        PP = to(to(jnp.diag(vp)).T)
        Z = jnp.zeros((n, n), dtype)
        state = GaussianState(q, p, DenseCovariance(jnp.block([[QQ, Z], [Z, PP]])))
    return _guards.enforce(guards, state, "jqd.thermal.product_state")


def displace(law, state, dx_atoms=None, dp_atoms=None) -> GaussianState:
    """Shift the means by atom-basis displacements and momenta (a coherent
    displacement: the covariance is unchanged)."""
    law = _law(law)
    dtype = state.q.dtype
    dq = law.lattice.to_modes(_atoms(law, dx_atoms, "dx_atoms", dtype))
    dp = law.lattice.to_modes(_atoms(law, dp_atoms, "dp_atoms", dtype))
    return GaussianState(state.q + dq, state.p + dp, state.cov)


def joined_blocks(law, params, n_left: int, velocity, dtype=None) -> GaussianState:
    """Two blocks, each in its own ground state, moving at ±`velocity`, joined at t = 0.

    Exact meaning: the lattice is cut between layer n_left − 1 and layer n_left
    along axis 0 (for a periodic boundary also between the last and the first
    layer), so that the atoms with axis-0 index < n_left form the left block
    and the others the right block; walls ("fixed") and pinning stay. The
    state is the ground state of that cut Hamiltonian (a product of the two
    blocks' ground states), with every left atom's mean momentum +m·v and
    every right atom's −m·v (towards each other for v > 0), all mean
    displacements 0. At t = 0 the cut springs are restored: the returned
    state is evolved with the full lattice (`law`). Needs covariance="dense"
    (the blocks' ground state correlates the full lattice's modes) and bound
    blocks (pinning > 0 or a fixed boundary). Dense eigh of the cut K: O(N³).
    """
    law, dtype = _law(law), _dtype(dtype)
    if law.covariance != "dense":
        raise ValueError(
            "joined_blocks needs HarmonicLattice(..., covariance='dense'): the blocks' ground "
            "state is not diagonal in the joined lattice's modes."
        )
    lat = law.lattice
    n0 = lat.shape[0]
    n_left = _guards.count(n_left, "n_left")
    if lat.general is not None or not 1 <= n_left < n0:
        raise ValueError(
            f"n_left must be in [1, {n0 - 1}] (layers along axis 0 of a regular lattice); "
            f"got {n_left}."
        )
    layer = np.indices(lat.shape)[0].ravel()
    b = lat.bonds()
    cut = b[(layer[b[:, 0]] < n_left) != (layer[b[:, 1]] < n_left)]
    K = lat.stiffness()
    np.add.at(K, (cut[:, 0], cut[:, 0]), -1.0)
    np.add.at(K, (cut[:, 1], cut[:, 1]), -1.0)
    np.add.at(K, (cut[:, 0], cut[:, 1]), 1.0)
    np.add.at(K, (cut[:, 1], cut[:, 0]), 1.0)
    m, hbar = jnp.asarray(params.mass, dtype), jnp.asarray(params.hbar, dtype)
    lam, V = np.linalg.eigh(K)
    w2 = (params.spring * jnp.asarray(lam, dtype) + params.pinning) / params.mass
    xp = _guards.array_module(w2)
    w2c = np.asarray(w2) if xp is np else w2
    guards = [
        _guards.described(
            xp.all(w2c > 0),
            "joined_blocks: a block has a free mode (ω = 0) and no ground state: set "
            "params.pinning > 0 or use boundary='fixed'.",
            lambda: (
                f"joined_blocks: the cut lattice's mode {int(np.argmin(w2c))} has "
                f"ω² = {float(np.min(w2c)):.4g} (a block is free or unstable) and no ground "
                "state: set params.pinning > 0 or use boundary='fixed'."
            ),
        )
    ] + _guards.scalar(velocity, "velocity")
    w = jnp.sqrt(jnp.where(w2 > 0, w2, 1.0))
    V = jnp.asarray(V, dtype)
    to = lat.to_modes
    # atom-basis blocks V diag(.) V^T, then to the joined lattice's modes: U^T (.) U
    QQ = to(to((V * (hbar / (2 * m * w))) @ V.T).T)
    PP = to(to((V * (m * hbar * w / 2)) @ V.T).T)
    Z = jnp.zeros_like(QQ)
    v = jnp.asarray(velocity, dtype)
    p_atoms = jnp.where(jnp.asarray(layer < n_left), m * v, -m * v)
    zero = jnp.zeros(lat.n_sites, dtype)
    state = GaussianState(zero, to(p_atoms), DenseCovariance(jnp.block([[QQ, Z], [Z, PP]])))
    return _guards.enforce(guards, state, "jqd.thermal.joined_blocks")


def wigner_sample(key, law, state, n: int):
    """`n` draws (x, p) from the state's Wigner function (a Gaussian), in the
    atom basis: two arrays (n, N) of displacements and momenta."""
    law = _law(law)
    n = _guards.count(n, "n")
    N = law.n_modes
    z = jax.random.normal(key, (n, 2, N), state.q.dtype)
    if isinstance(state.cov, ModeCovariance):  # per-mode 2x2 Cholesky
        l11 = jnp.sqrt(state.cov.qq)
        l21 = state.cov.qp / l11
        l22 = jnp.sqrt(jnp.maximum(state.cov.pp - l21**2, 0.0))
        Q = state.q + l11 * z[:, 0]
        P = state.p + l21 * z[:, 0] + l22 * z[:, 1]
    else:
        L = jnp.linalg.cholesky(state.cov.matrix)
        s = z.reshape(n, 2 * N) @ L.T
        Q, P = state.q + s[:, :N], state.p + s[:, N:]
    return law.lattice.to_atoms(Q), law.lattice.to_atoms(P)
