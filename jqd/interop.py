"""QuTiP and dynamiqs objects in and out of jqd: kets `(dim, 1)` become
vectors `(dim,)`. Every jqd entry point that takes a Hamiltonian, a state or
an operator passes it through `as_array`, so a `Qobj` or `QArray` goes in
directly; `to_qutip` and `to_dynamiqs` import those libraries when called
(`pip install "jqd[interop]"`).
"""

from __future__ import annotations

import importlib
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._solution import Solution

__all__ = ["as_array", "from_qutip", "from_dynamiqs", "to_qutip", "to_dynamiqs"]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)


def _library(x) -> str | None:
    root = type(x).__module__.partition(".")[0]
    return root if root in ("qutip", "dynamiqs") else None


def _squeeze_ket(a, isket: bool, isbra: bool):
    if isket:
        return a[..., :, 0]
    if isbra:  # a bra ⟨ψ| is stored conjugated: give back the ket's amplitudes
        return jnp.conj(a[..., 0, :])
    return a


def as_array(x, name: str = "argument"):
    """`x` as a JAX array: a QuTiP `Qobj` or dynamiqs `QArray` converted
    (kets and bras to vectors `(dim,)`), anything else returned unchanged."""
    library = _library(x)
    if library is None:
        return x
    if library == "qutip":
        if type(x).__name__ == "QobjEvo":
            raise TypeError(
                f"{name}: a qutip.QobjEvo (time-dependent) cannot be converted to one matrix. "
                "Write H as a function: jqd.SchrodingerBasis(hamiltonian=lambda t, params: ..., "
                "time_dependent=True), with jqd.interop.from_qutip for its constant parts."
            )
        if not hasattr(x, "full"):
            raise TypeError(f"{name}: cannot convert a {type(x).__name__} from QuTiP to an array.")
        if getattr(x, "issuper", False):
            raise TypeError(
                f"{name}: a QuTiP super-operator has no jqd counterpart; pass kets, density "
                "matrices or operators."
            )
        return _squeeze_ket(jnp.asarray(x.full()), x.isket, x.isbra)
    if not hasattr(x, "to_jax"):  # a dynamiqs result or method, not a QArray
        raise TypeError(
            f"{name}: cannot convert a {type(x).__name__} from dynamiqs to an array "
            "(results go through jqd.interop.from_dynamiqs)."
        )
    return _squeeze_ket(x.to_jax(), x.isket(), x.isbra())


def from_qutip(obj) -> Any:
    """A QuTiP object as jqd data.

    Args:
        obj: a `Qobj` (ket → `(dim,)`, bra → the ket's `(dim,)`, operator or
            density matrix → `(dim, dim)`), or a `qutip.solver.Result`.

    Returns:
        An array, or for a `Result` a `jqd.Solution`: its times, its
        expectation values (a list, one array per e_op) or else its states
        stacked, and its final state (None when not stored).
    """
    if _library(obj) != "qutip":
        raise TypeError(f"from_qutip: expected a qutip Qobj or Result; got {type(obj).__name__}.")
    if type(obj).__name__.endswith("Result"):
        states = [as_array(s, "result.states") for s in (obj.states or [])]
        final = obj.final_state
        return _solution(
            ts=np.asarray(obj.times, dtype=float),
            expect=[jnp.asarray(e) for e in obj.expect],
            states=states,
            y_final=None if final is None else as_array(final, "result.final_state"),
            stats={"solver": str(obj.solver)},
        )
    return as_array(obj, "from_qutip")


def from_dynamiqs(obj) -> Any:
    """A dynamiqs object as jqd data.

    Args:
        obj: a `QArray` (kets `(..., dim, 1)` → `(..., dim)`, operators and
            density matrices unchanged), or a solver result such as
            `dq.sesolve(...)`'s.

    Returns:
        An array, or for a result a `jqd.Solution` (as `from_qutip`).
    """
    if _library(obj) != "dynamiqs":
        raise TypeError(
            f"from_dynamiqs: expected a dynamiqs QArray or result; got {type(obj).__name__}."
        )
    if hasattr(obj, "tsave"):
        states = None if obj.states is None else as_array(obj.states, "result.states")
        expects = obj.expects
        return _solution(
            ts=jnp.asarray(obj.tsave),
            expect=[] if expects is None else list(jnp.asarray(expects)),
            states=states,
            y_final=None if obj.final_state is None else as_array(obj.final_state),
            stats={"solver": type(obj.method).__name__},
        )
    return as_array(obj, "from_dynamiqs")


def _solution(ts, expect, states, y_final, stats):
    if expect:
        observables = expect
    elif states is not None and len(states):
        observables = jnp.stack(list(states)) if isinstance(states, list) else states
    else:
        observables = None
    return Solution(ts=ts, observables=observables, y_final=y_final, stats=stats)


def _import(library: str):
    try:
        return importlib.import_module(library)
    except ImportError as err:
        raise ImportError(
            f"{library} is not installed: pip install 'jqd[interop]' (or pip install {library})."
        ) from err


def to_qutip(x, dims=None):
    """jqd data as QuTiP objects.

    Args:
        x: a vector `(dim,)` → ket `Qobj`; a matrix `(dim, dim)` → operator
            `Qobj`; a `jqd.Solution` whose observables are the states (the
            default `observe`) → a `qutip.solver.Result` with those states
            and times (and `final_state`).
        dims: QuTiP dims for the tensor structure, e.g. `[[2, 20], [1, 1]]`
            for a qubit ⊗ mode ket (default: one subsystem).
    """
    qutip = _import("qutip")

    if isinstance(x, Solution):
        states = np.asarray(x.observables)
        if states.ndim not in (2, 3) or not np.iscomplexobj(states):
            raise ValueError(
                "to_qutip(solution): the solution's observables must be its states (run "
                "jqd.evolve with observe=None); convert other observables with np.asarray."
            )
        from qutip.solver.result import Result

        result = Result(
            {}, {"store_states": True, "store_final_state": True}, solver="jqd", stats=x.stats
        )
        for t, s in zip(np.asarray(x.ts), states):
            result.add(float(t), to_qutip(s, dims))
        return result
    a = np.asarray(x)
    if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[0] != a.shape[1]):
        raise ValueError(f"to_qutip: expected a vector or a square matrix; got shape {a.shape}.")
    try:
        n = a.shape[-1]
        default = [[n], [1]] if a.ndim == 1 else [[n], [n]]
        return qutip.Qobj(a[:, None] if a.ndim == 1 else a, dims=default if dims is None else dims)
    except (ValueError, TypeError) as err:
        if dims is None:
            raise
        n, example = a.shape[0], "[[2, 20], [1, 1]]" if a.ndim == 1 else "[[2, 20], [2, 20]]"
        raise ValueError(
            f"to_qutip: dims={dims!r} does not fit the {'ket' if a.ndim == 1 else 'operator'} "
            f"of shape {a.shape}: dims must be [rows, cols] lists whose products are "
            f"{n} and {1 if a.ndim == 1 else n} (e.g. {example} for dim 40), or leave dims out "
            f"(QuTiP: {err})."
        ) from None


def to_dynamiqs(x, dims=None):
    """jqd data as a dynamiqs `QArray`.

    Args:
        x: a vector `(..., dim)` → ket `(..., dim, 1)`; a matrix `(..., dim,
            dim)` → operator; a `jqd.Solution` whose observables are the
            states → those states as one batched `QArray` (dynamiqs results
            are made only by its solvers).
        dims: dynamiqs dims, e.g. `(2, 20)` for a qubit ⊗ mode (default:
            one subsystem).
    """
    dq = _import("dynamiqs")

    if isinstance(x, Solution):
        kets = jnp.ndim(x.y_final) == 1
        a = jnp.asarray(x.observables)
        states = jnp.iscomplexobj(a)  # real observables are expectation values
    else:
        kets = jnp.ndim(x) == 1
        a = jnp.asarray(x)
        a, states = a.astype(jnp.result_type(a, jnp.complex64)), True
    if not states or a.ndim == 0 or (not kets and a.shape[-1] != a.shape[-2]):
        raise ValueError(
            f"to_dynamiqs: expected kets (dim,) or square matrices; got {a.dtype} {a.shape}. "
            "For a Solution, run jqd.evolve with observe=None so that it holds the states."
        )
    return dq.asqarray(a[..., None] if kets else a, dims=dims)
