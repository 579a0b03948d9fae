"""Copy dynamics on a 1-D ring lattice (physics §5.6, S56-S62): R_{a,a±1} =
ħ/(2mā²), δ_{a,a±1} = π, ħω_a = V(x_a) + ħ²/(mā²) give the tight-binding
Schrödinger equation at q = 1/2, r = −1/2 (S56 as printed, δ = 0, gives mass −m)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._evolve import evolve
from .._guards import enforce, scalar, to_device
from ..interop import as_array
from ..schrodinger import SchrodingerParams, SchrodingerRing
from ..schrodinger._ring import check_ring
from ._kinetics import rates_to_hamiltonian
from ._meanfield import MeanFieldParams, save_steps


def ring_positions(n_sites: int, spacing, dtype=None):
    """Site positions x_a = −L/2 + a ā, a = 0..P−1 (L = P ā), like `jqd.Grid`."""
    check_ring(n_sites, spacing)
    dtype = jnp.result_type(float) if dtype is None else dtype
    return _ring_positions(int(n_sites), spacing, dtype)


@functools.partial(jax.jit, static_argnums=(0, 2))  # one program per size, not one per op
def _ring_positions(n_sites, spacing, dtype):
    return (-0.5 * n_sites + jnp.arange(n_sites, dtype=dtype)) * spacing


def ring_params(
    n_sites: int, spacing, *, hbar=1.0, mass=1.0, potential=None, q=0.5, r=-0.5, delta=np.pi
) -> MeanFieldParams:
    """Dense `MeanFieldParams` of the nearest-neighbour ring (S56) of `n_sites`
    sites: R_{a,a±1} = ħ/(2mā²), ω_a = (V_a + ħ²/(mā²))/ħ with `potential` V (P,)
    (default 0), exponents q, r, and `delta` the phase offset of the bonds a → a+1
    (π gives mass +m, 0 the printed S56)."""
    check_ring(n_sites, spacing)
    P = int(n_sites)
    guards = scalar(hbar, "hbar", positive=True) + scalar(mass, "mass", positive=True)
    guards += scalar(spacing, "spacing", positive=True)
    hbar = enforce(guards, jnp.asarray(hbar), caller="ring_params")
    R0 = hbar / (2 * mass * spacing**2)
    up = np.roll(np.eye(P), 1, axis=1)  # up[a, a+1] = 1
    nb = up + up.T
    R = R0 * jnp.asarray(nb)
    D = jnp.asarray(up - up.T) * delta
    V = jnp.zeros(P) if potential is None else jnp.asarray(potential)
    if V.shape != (P,):
        raise ValueError(f"potential must have shape ({P},); got {V.shape}.")
    omega = (V + hbar**2 / (mass * spacing**2)) / hbar
    return MeanFieldParams(R=R, delta=D, omega=omega, q=q, r=r, hbar=hbar)


def ring_hamiltonian(n_sites: int, spacing, *, hbar=1.0, mass=1.0, potential=None, delta=np.pi):
    """The dense tight-binding H of `ring_params` (for exact propagation)."""
    p = ring_params(n_sites, spacing, hbar=hbar, mass=mass, potential=potential, delta=delta)
    return rates_to_hamiltonian(p.R, p.delta, p.omega, hbar)


def lattice_gaussian(n_sites: int, spacing, *, a=1.0, p0=0.0, x0=0.0, hbar=1.0):
    """ψ_a = √ā ψ(x_a) for the Gaussian ψ(x) = (πa²)^(−1/4) e^{−(x−x0)²/2a² + ip0x/ħ}
    (physics §1), normalized so that Σ|ψ_a|² = 1; ρ_a/ā approximates ρ(x_a)."""
    check_ring(n_sites, spacing)
    a = enforce(scalar(a, "a", positive=True), to_device(a), caller="lattice_gaussian")
    return _lattice_gaussian(int(n_sites), spacing, a, p0, x0, hbar)


@functools.partial(jax.jit, static_argnums=0)  # one program per size, not one per op
def _lattice_gaussian(n_sites, spacing, a, p0, x0, hbar):
    x = _ring_positions(n_sites, spacing, jnp.result_type(float))
    psi = (np.pi * a**2) ** -0.25 * jnp.exp(-((x - x0) ** 2) / (2 * a**2) + 1j * p0 * x / hbar)
    psi = psi * jnp.sqrt(spacing)
    return psi / jnp.linalg.norm(psi)


def lattice_evolve_psi(psi0, spacing, ts, *, hbar=1.0, mass=1.0, potential=None, dt=1e-3):
    """ψ(t) of the ring copy law at q = 1/2, r = −1/2 in its Schrödinger form
    (`jqd.SchrodingerRing`, O(P log P) per step).

    Args:
        psi0: (P,) complex lattice state, Σ|ψ_a|² = 1.
        spacing: ā.
        ts: save times, uniformly spaced from 0 by a multiple of `dt`.
        potential: V at the sites, (P,).

    Returns:
        (len(ts), P) complex array.
    """
    psi0 = jnp.asarray(as_array(psi0, "psi0"))
    P = psi0.shape[-1]
    check_ring(P, spacing)
    enforce(scalar(dt, "dt", positive=True), caller="lattice_evolve_psi")
    steps = save_steps(ts, dt)
    rdtype = jnp.finfo(psi0.dtype).dtype
    V = None if potential is None else to_device(potential, rdtype)
    sol = evolve(
        SchrodingerRing(P, spacing),
        psi0,
        SchrodingerParams(hbar=hbar, mass=mass, potential=V),
        dt=dt,
        n_save=len(ts) - 1,
        steps_per_save=steps,
        checkpoint=False,
    )
    return sol.observables
