"""Law-contract lines for the time-symmetric forward-backward trajectories
(see helpers.py): a few short paths of the parametric amplifier (constant D)
and of the Kerr mode (D(z), local frames)."""

import bad_inputs as bad
import jax
import jax.numpy as jnp
from bad_inputs import BadInputs
from helpers import LawCase

import jqd
from jqd import husimi as hs

_AMP = hs.anti_wick_symbol(0.5j * (hs.ad(0) * hs.ad(0) - hs.a(0) * hs.a(0)))


def amplifier_symbol(z, kappa):
    """κ × the anti-Wick symbol of (i/2)(a†² − a²), i.e. κ Q P."""
    return kappa * jnp.real(_AMP(z))


_Z0 = jnp.array([[0.8, 0.1], [0.9, -0.2], [0.5, 0.4]])
_ZT = jnp.array([[1.6, 0.0], [1.2, 0.3], [0.4, -0.2]])


def _kerr_end(z0, T, shift=0.1):
    """ζT near the Liouville image of ζ0 under Kerr (U = 1): α e^{−i(|α|² − 2)T},
    so the short paths converge (independent far-apart ends can run away)."""
    a = (z0[:, 0] + 1j * z0[:, 1]) / jnp.sqrt(2.0)
    aT = a * jnp.exp(-1j * (jnp.abs(a) ** 2 - 2) * T)
    return jnp.stack([aT.real, aT.imag], -1) * jnp.sqrt(2.0) + shift


_ZK0 = jnp.array([[1.4, 0.1], [1.5, -0.2], [1.2, 0.4]])


def _case(hamiltonian, T, z0, zT):
    law = hs.ForwardBackward(hamiltonian, T, 6)
    y0 = law.initial_state(jax.random.key(3), z0, zT)
    # arrays, not Python floats: the contract differentiates inexact array leaves
    params = hs.FBParams(jnp.asarray(1.0), jnp.asarray(1.0))
    return LawCase(law, y0, params, dt=1.0, order=None)


CASES = {
    "husimi-fb-amplifier": lambda: _case(amplifier_symbol, 0.6, _Z0, _ZT),
    "husimi-fb-kerr": lambda: _case(jqd.reference.kerr_symbol, 0.1, _ZK0, _kerr_end(_ZK0, 0.1)),
}


# the law's bad inputs (tests/bad_inputs.py), tried by tests/adversarial/battery.py
_BAD_FB = BadInputs(
    bad.at(lambda y: y.zeta0, bad.nan_first),
    "NaN boundary sample zeta0",
    ("zeta0", "y0"),
    bad.coupling_C(-1.0),
    "C negative",
    ("C",),
)
BAD = {
    "husimi-fb-amplifier": _BAD_FB,
    "husimi-fb-kerr": _BAD_FB,
}
