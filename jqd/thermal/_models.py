"""Standard local Hamiltonians as `SchrodingerLocal` laws, and symmetry sectors
(physics §7.6: mixed-field Ising, random-field Heisenberg, spin-boson; Pauli
matrices with σᶻ = diag(1, −1), site 0 the slowest index of ψ)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _guards
from ._local import LocalParams, LocalTerm, SchrodingerLocal

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


def _couplings(**values):
    """{name: value} as float arrays, each a finite real (named if not)."""
    for name, value in values.items():
        _guards.enforce(_guards.scalar(value, name))
    return {name: jnp.asarray(value, float) for name, value in values.items()}


def _ising_terms(L, boundary):
    zz = np.kron(SZ, SZ)
    terms = [LocalTerm(b, zz, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SX, "hx") for i in range(L)]
    terms += [LocalTerm((i,), SZ, "hz") for i in range(L)]
    return terms


def mixed_field_ising(L, *, J=1.0, hx=HX_MFI, hz=HZ_MFI, boundary="open", **law_kwargs):
    """(law, params) of the mixed-field Ising chain of L spins, couplings "J",
    "hx", "hz" (physics §7.6); `law_kwargs` go to `SchrodingerLocal`."""
    L = _guards.count(L, "L", minimum=2)
    law = SchrodingerLocal((2,) * L, tuple(_ising_terms(L, boundary)), **law_kwargs)
    params = LocalParams(couplings=_couplings(J=J, hx=hx, hz=hz))
    return law, params


def random_field_heisenberg(L, *, W, key, J=1.0, boundary="periodic", **law_kwargs):
    """(law, params) of the random-field Heisenberg chain: fields h_i uniform
    in [−W, W] drawn with `key`, couplings "J", "h0", "h1", ... (physics §7.6)."""
    L = _guards.count(L, "L", minimum=2)
    _guards.enforce(_guards.scalar(W, "W", nonnegative=True))
    heis = (np.kron(SX, SX) + np.kron(SY, SY).real + np.kron(SZ, SZ)) / 4
    terms = [LocalTerm(b, heis, "J") for b in _bonds(L, boundary)]
    terms += [LocalTerm((i,), SZ / 2, f"h{i}") for i in range(L)]
    h = jax.random.uniform(key, (L,), float, -1.0, 1.0) * W
    couplings = _couplings(J=J) | {f"h{i}": h[i] for i in range(L)}
    law = SchrodingerLocal((2,) * L, tuple(terms), **law_kwargs)
    return law, LocalParams(couplings=couplings)


def spin_boson(L, *, n_max, omega=1.5, g=0.5, J=1.0, hx=HX_MFI, hz=HZ_MFI, **law_kwargs):
    """(law, params) of the open mixed-field Ising chain plus one boson mode of
    n_max + 1 levels as the last (`truncated`) factor, couplings "J", "hx",
    "hz", "omega", "g" (physics §7.6)."""
    L = _guards.count(L, "L", minimum=2)
    n_max = _guards.count(n_max, "n_max", minimum=1)
    nb = n_max + 1
    a = np.diag(np.sqrt(np.arange(1.0, nb)), 1)
    terms = _ising_terms(L, "open")
    terms.append(LocalTerm((L,), np.diag(np.arange(float(nb))), "omega"))
    xa = np.kron(SX, a + a.T) / math.sqrt(L)
    terms += [LocalTerm((i, L), xa, "g") for i in range(L)]
    law = SchrodingerLocal((2,) * L + (nb,), tuple(terms), truncated=(L,), **law_kwargs)
    couplings = _couplings(J=J, hx=hx, hz=hz, omega=omega, g=g)
    return law, LocalParams(couplings=couplings)


def boson_number(law: SchrodingerLocal, psi):
    """⟨a†a⟩ of the last factor of a spin-boson state psi (..., D)."""
    psi = jnp.asarray(psi)
    nb = law.dims[-1]
    if psi.shape[-1:] != (math.prod(law.dims),):
        raise ValueError(
            f"jqd.thermal.boson_number: psi must end in the law's dimension "
            f"{math.prod(law.dims)} (dims {law.dims}); got shape {psi.shape}. Pass a state of "
            "this law (e.g. its solution's y_final)."
        )
    p = jnp.abs(psi.reshape(psi.shape[:-1] + (-1, nb))) ** 2
    return jnp.sum(p * jnp.arange(nb, dtype=p.dtype), axis=(-2, -1))


def reflection_sector(dims, parity: int = 1) -> np.ndarray:
    """The (D, D_s) real isometry P onto the reflection sector of `parity`
    (+1 or −1): P.T @ H @ P is H's block when H commutes with the reflection.

    Raises ValueError when dims is not a palindrome (e.g. a chain with a
    boson mode at its end has no reflection symmetry)."""
    dims = tuple(int(d) for d in dims)
    if dims != dims[::-1]:
        raise ValueError(
            f"dims {dims} are not symmetric under reflection (site i -> L-1-i): there is no "
            "reflection sector. Use it for chains of equal sites only."
        )
    if parity not in (1, -1):
        raise ValueError(f"parity must be +1 or -1; got {parity!r}.")
    D = math.prod(dims)
    # R(n) for every product state n: reverse the order of the site digits
    r = np.arange(D).reshape(dims).transpose(tuple(range(len(dims)))[::-1]).reshape(-1)
    n = np.arange(D)
    fixed = n[r == n] if parity == 1 else n[:0]
    pairs = n[n < r]
    cols = len(fixed) + len(pairs)
    P = np.zeros((D, cols))
    P[fixed, np.arange(len(fixed))] = 1.0
    j = len(fixed) + np.arange(len(pairs))
    P[pairs, j] = 1 / math.sqrt(2)
    P[r[pairs], j] = parity / math.sqrt(2)
    return P


def sz_sector(L: int, sz) -> np.ndarray:
    """Indices (increasing) of the product states of L spins ½ with total
    Sᶻ = sz (|↑⟩ = index 0): H[np.ix_(idx, idx)] is the block of an Sᶻ-
    conserving H, and psi[idx] the state's components."""
    L = _guards.count(L, "L")
    n_down = L / 2 - float(sz)
    if not (float(n_down).is_integer() and 0 <= n_down <= L):
        raise ValueError(f"sz must be one of -L/2, -L/2 + 1, ..., L/2 (L = {L}); got {sz!r}.")
    n = np.arange(2**L)
    downs = sum((n >> b) & 1 for b in range(L))
    return n[downs == int(n_down)]
