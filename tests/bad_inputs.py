"""A law's bad inputs, written beside its contract line.

Each `tests/cases_<family>.py` defines, next to `CASES = {id: factory}`,
`BAD = {id: BadInputs(...)}`: one bad initial state and one bad constant of
the law's valid problem. `helpers.BAD_INPUTS` collects them (no list to
edit), and the adversarial battery (`tests/adversarial/battery.py`) tries
each under `jax.jit`, `jax.vmap` and `jax.grad`: the run must refuse it
with an error naming the argument and the fix. The perturbations here are
functions of the valid state or params (applied when a case runs, so
nothing is built at import).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class BadInputs:
    """A law's bad state (tried under jit, and vmap where grad does not
    apply) and bad constant (under vmap and grad, or jit).

    Attributes:
        state: valid y0 -> the bad y0.
        state_what: what is wrong with it (a phrase for the report).
        state_names: the argument names a good error message mentions.
        param: valid params -> the bad params.
        param_what, param_names: likewise for the constant.
        no_grad: the state holds integer counts or classes, so the bad
            constant is tried under vmap and the bad state under vmap too,
            instead of under grad.
    """

    state: Callable
    state_what: str
    state_names: tuple[str, ...]
    param: Callable
    param_what: str
    param_names: tuple[str, ...]
    no_grad: bool = False


def at(where, new):
    """Perturbation: replace the leaf `where(tree)` by `new(old)`."""
    return lambda tree: eqx.tree_at(where, tree, new(jnp.asarray(where(tree))))


def times(k):
    return lambda x: x * k


def value(v):
    return lambda x: jnp.full_like(x, v, dtype=jnp.result_type(x.dtype, float))


def nan_first(x):
    return x.ravel().at[0].set(jnp.nan).reshape(x.shape)


def non_hermitian(H):
    return H.at[0, 1].add(0.5)


def whole(f):  # a state that is one array
    return at(lambda y: y, f)


def rho(f):
    return at(lambda y: y.rho, f)


def psi(f):
    return at(lambda y: y.psi, f)


def hbar(v):
    return at(lambda p: p.hbar, value(v))


def mass(v):
    return at(lambda p: p.mass, value(v))


def coupling_C(v):
    return at(lambda p: p.C, value(v))


def matrix_H(f):
    return at(lambda p: p.H, f)


PSI = ("psi0", "y0")


# bad inputs several laws share, as (perturbation, what, names): BadInputs(*state, *param)
NON_HERMITIAN_H = (matrix_H(non_hermitian), "H not Hermitian", ("H",))
MEMBER_CLASS_7 = (at(lambda y: y.a, lambda a: a.at[0].set(7)), "member class 7 of 3", ("a", "y0"))
