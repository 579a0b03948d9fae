"""Standard local Hamiltonians as `SchrodingerLocal` laws (physics §7.6).

Spins use Pauli matrices in the basis (|↑⟩, |↓⟩), σᶻ = diag(1, −1); site 0
is the slowest index of ψ.

- Mixed-field Ising chain (Bañuls, Cirac, Hastings 2011; Kim, Huse 2013):
      H = J Σ_i σᶻ_i σᶻ_{i+1} + h_x Σ_i σˣ_i + h_z Σ_i σᶻ_i,
  with J = 1, h_x = (5 + √5)/8 = 0.9045, h_z = (1 + √5)/4 = 0.8090, far from
  any integrable point. Couplings "J", "hx", "hz".
- Random-field Heisenberg chain (Pal, Huse 2010), spin-½ operators S = σ/2:
      H = J Σ_i S_i · S_{i+1} + Σ_i h_i Sᶻ_i,   h_i uniform in [−W, W];
  the fields are couplings "h0", "h1", ... (new disorder = new params, no
  recompile). Conserves Sᶻ_total (`sz_sector`).
- Spin-boson: the mixed-field Ising chain plus one boson mode (the LAST
  tensor factor, truncated to n_max + 1 levels) coupled to the chain's
  transverse magnetization,
      H = H_MFI ⊗ 1 + ω a†a + (g/√L) Σ_i σˣ_i (a + a†),
  couplings "J", "hx", "hz", "omega", "g". The 1/√L keeps the mode's
  coupling energy O(g) for an extensive chain. The mode factor is marked
  `truncated`, so a state with more than 1e-6 in its top Fock level gets a
  `jqd.AccuracyWarning`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from ._local import LocalParams, SchrodingerLocal
from ._local_terms import LocalTerm

SX = np.array([[0.0, 1.0], [1.0, 0.0]])
SY = np.array([[0.0, -1j], [1j, 0.0]])
SZ = np.array([[1.0, 0.0], [0.0, -1.0]])

HX_MFI = (5 + math.sqrt(5)) / 8  # 0.9045
HZ_MFI = (1 + math.sqrt(5)) / 4  # 0.8090


def _bonds(L: int, boundary: str):
    if boundary not in ("open", "periodic"):
        raise ValueError(f"boundary must be 'open' or 'periodic'; got {boundary!r}.")
    bonds = [(i, i + 1) for i in range(L - 1)]
    if boundary == "periodic" and L > 2:
        bonds.append((L - 1, 0))
    return bonds


def _real(value, name):
    _guards.enforce(_guards.scalar(value, name))
    return jnp.asarray(value, float)


def _ising_terms(L, boundary):
    zz = np.kron(SZ, SZ)
    terms = [LocalTerm(b, zz, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SX, "hx") for i in range(L)]
    terms += [LocalTerm((i,), SZ, "hz") for i in range(L)]
    return terms


def mixed_field_ising(L, *, J=1.0, hx=HX_MFI, hz=HZ_MFI, boundary="open", **law_kwargs):
    """(law, params) of the mixed-field Ising chain of L spins (module docstring).

    `law_kwargs` go to `SchrodingerLocal` (bounds, max_terms)."""
    L = _guards.count(L, "L", minimum=2)
    law = SchrodingerLocal((2,) * L, tuple(_ising_terms(L, boundary)), **law_kwargs)
    params = LocalParams(
        couplings={"J": _real(J, "J"), "hx": _real(hx, "hx"), "hz": _real(hz, "hz")}
    )
    return law, params


def random_field_heisenberg(L, *, W, key, J=1.0, boundary="periodic", **law_kwargs):
    """(law, params) of the random-field Heisenberg chain: fields h_i uniform
    in [−W, W] drawn with `key` (module docstring)."""
    L = _guards.count(L, "L", minimum=2)
    _guards.enforce(_guards.scalar(W, "W", nonnegative=True))
    heis = (np.kron(SX, SX) + np.kron(SY, SY).real + np.kron(SZ, SZ)) / 4
    terms = [LocalTerm(b, heis, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SZ / 2, f"h{i}") for i in range(L)]
    h = jax.random.uniform(key, (L,), float, -1.0, 1.0) * W
    couplings = {"J": _real(J, "J")} | {f"h{i}": h[i] for i in range(L)}
    law = SchrodingerLocal((2,) * L, tuple(terms), **law_kwargs)
    return law, LocalParams(couplings=couplings)


def spin_boson(L, *, n_max, omega=1.5, g=0.5, J=1.0, hx=HX_MFI, hz=HZ_MFI, **law_kwargs):
    """(law, params) of the mixed-field Ising chain (open) plus one boson mode
    of n_max + 1 levels as the last factor (module docstring)."""
    L = _guards.count(L, "L", minimum=2)
    n_max = _guards.count(n_max, "n_max", minimum=1)
    nb = n_max + 1
    a = np.diag(np.sqrt(np.arange(1.0, nb)), 1)
    terms = _ising_terms(L, "open")
    terms.append(LocalTerm((L,), np.diag(np.arange(float(nb))), "omega"))
    xa = np.kron(SX, a + a.T) / math.sqrt(L)
    terms += [LocalTerm((i, L), xa, "g") for i in range(L)]
    law = SchrodingerLocal((2,) * L + (nb,), tuple(terms), truncated=(L,), **law_kwargs)
    couplings = {
        "J": _real(J, "J"),
        "hx": _real(hx, "hx"),
        "hz": _real(hz, "hz"),
        "omega": _real(omega, "omega"),
        "g": _real(g, "g"),
    }
    return law, LocalParams(couplings=couplings)


def boson_number(law: SchrodingerLocal, psi):
    """⟨a†a⟩ of the last factor of a spin-boson state psi (..., D)."""
    psi = jnp.asarray(psi)
    nb = law.dims[-1]
    p = jnp.abs(psi.reshape(psi.shape[:-1] + (-1, nb))) ** 2
    return jnp.sum(p * jnp.arange(nb, dtype=p.dtype), axis=(-2, -1))
