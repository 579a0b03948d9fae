"""Law-contract lines for the Husimi Galerkin law and the probability flow
(see helpers.py). Small problems: an 8-level Kerr basis, a few points."""

import bad_inputs as bad
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

import jqd
from jqd import husimi as hs

K = 8


def _kerr_galerkin(scheme=None, fock_tol=1e-3):
    scheme = jqd.schemes.Strang() if scheme is None else scheme
    return hs.HusimiGalerkin(hs.kerr(1.0), cutoffs=K, scheme=scheme, fock_tol=fock_tol)


def _coherent_R(law, beta=0.6):
    return law.initial_state(jqd.fock.coherent_state(beta, law.dim, tol=1e-6))


def _galerkin(scheme, order, C=0.8):
    def make():
        law = _kerr_galerkin(scheme)
        return LawCase(
            law, _coherent_R(law), hs.GalerkinParams(jnp.asarray(C)), dt=0.05, order=order
        )

    return make


def _galerkin_phi4():
    """A non-truncating H (the split remainder carries every group); weak enough
    that its ill-posed truncated dynamics stays inside the basis here."""
    law = hs.HusimiGalerkin(hs.phi4_mode(1.0, 0.02), cutoffs=10)
    R0 = law.initial_state(jqd.fock.coherent_state(0.5, 10, tol=1e-6))
    return LawCase(law, R0, hs.GalerkinParams(jnp.asarray(1.0)), dt=0.05, order=2)


def _log_coherent(z, t):
    """ln ρ of the coherent state |β = 0.6⟩: −|α − β|² − ln 2π (t-independent)."""
    a = hs.alphas_from_z(z)
    return -jnp.sum(jnp.abs(a - 0.6) ** 2) - jnp.log(2 * jnp.pi)


# arrays, not Python floats: the contract differentiates inexact array leaves
_FLOW_PARAMS = hs.FlowParams(jnp.asarray(1.0), jnp.asarray(1.0))
Z0 = jnp.array([[0.8, 0.1], [0.9, -0.2], [0.5, 0.4]])


def _flow_analytic():
    law = hs.HusimiFlow(jqd.reference.kerr_symbol, _log_coherent)
    return LawCase(law, law.initial_state(Z0), _FLOW_PARAMS, dt=0.05, order=4)


def _flow_galerkin():
    galerkin = _kerr_galerkin()
    law = hs.HusimiFlow(jqd.reference.kerr_symbol, galerkin)
    y0 = law.initial_state(Z0, R0=_coherent_R(galerkin))
    return LawCase(law, y0, _FLOW_PARAMS, dt=0.05, order=4)


CASES = {
    "husimi-galerkin-split": _galerkin(jqd.schemes.Strang(), 2),
    "husimi-galerkin-expm": _galerkin(jqd.schemes.Exact(), None),
    "husimi-galerkin-phi4": _galerkin_phi4,
    "husimi-flow-analytic": _flow_analytic,
    "husimi-flow-galerkin": _flow_galerkin,
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
_BAD_GALERKIN_R0 = BadInputs(
    bad.whole(bad.times(2)),
    "R0 with trace 2",
    ("y0", "R0", "R"),
    bad.coupling_C(jnp.nan),
    "C NaN",
    ("C",),
)
BAD = {
    "husimi-galerkin-split": _BAD_GALERKIN_R0,
    "husimi-galerkin-expm": BadInputs(
        bad.whole(lambda R: R.at[0, 1].add(0.3)),
        "R0 not Hermitian",
        ("y0", "R0", "R"),
        bad.coupling_C(jnp.inf),
        "C = inf",
        ("C",),
    ),
    "husimi-galerkin-phi4": _BAD_GALERKIN_R0,
    "husimi-flow-analytic": BadInputs(
        bad.at(lambda y: y.z, bad.nan_first),
        "NaN point z",
        ("z", "y0"),
        bad.coupling_C(jnp.nan),
        "C NaN",
        ("C",),
    ),
    "husimi-flow-galerkin": BadInputs(
        bad.at(lambda y: y.R, bad.times(2)),
        "R with trace 2",
        ("R", "R0", "y0"),
        bad.at(lambda p: p.args, bad.value(jnp.nan)),
        "args NaN",
        ("args",),
    ),
}
