"""The one input-checking path: `Check`s that raise at once for concrete
inputs and in-graph for traced ones, and the one validator of scalars and
constants. Why: docs/internals/core.md#validation.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


class Check(NamedTuple):
    """One value check.

    Attributes:
        ok: boolean array, True where valid (any shape; all must hold).
        message: what is wrong and the fix, naming the argument. With one
            `value`, `{value}` shows its worst entry (the first where `ok`
            fails, else the largest |value|); with `value` a dict, `{name}`
            shows that entry as it is (a vector as "a, b"; a format spec may
            follow, `{dt:.3g}`). A plain run fills them from the values its
            program returns; in-graph they read "?".
        value: the offending quantity: an array, a dict of them, or None.
    """

    ok: Any
    message: str
    value: Any = None


def is_traced(*trees) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(trees))


def _worst(value, ok, xp):
    """The entry of `value` a message shows: the first where `ok` fails (same
    size), else the largest in magnitude."""
    v = xp.ravel(xp.asarray(value))
    if v.size <= 1:  # nothing to pick (no ops in a program)
        return v.reshape(()) if v.size else v
    failed = xp.ravel(~xp.asarray(ok, bool))
    i = xp.argmax(xp.abs(v))
    if failed.size == v.size:
        i = xp.where(xp.any(failed), xp.argmax(failed), i)
    return v[i]


def shown(check: Check, xp=jnp) -> dict:
    """`{placeholder: array}`: what `check.message` shows of its value,
    computed with `xp` (jax.numpy inside a program, NumPy eagerly)."""
    if check.value is None:
        return {}
    if isinstance(check.value, dict):
        return {k: xp.asarray(v) for k, v in check.value.items()}
    return {"value": _worst(check.value, check.ok, xp)}


def _text(x, spec: str) -> str:
    """A value as a message shows it: "?" unknown, a vector's entries joined."""
    a = None if x is None else np.asarray(x)
    if a is None or a.size == 0:
        return "?"
    if a.ndim:
        return ", ".join(_text(e, spec) for e in a.ravel())
    v = a.item()
    return str(v) if isinstance(v, bool) else format(v, spec or ".4g")


_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


def filled(message: str, values: dict | None) -> str:
    """`message` with its placeholders replaced by `values` (host arrays;
    None: every placeholder of `message` as "?"). Other braces stay."""

    def sub(m):
        if values is not None and m.group(1) not in values:
            return m.group(0)
        return _text(None if values is None else values[m.group(1)], m.group(2) or "")

    return _FIELD.sub(sub, message)


def enforce(guards, x=None, caller: str = ""):
    """Raise `ValueError` (prefixed by `caller`) for a failed concrete `Check`
    (None entries skipped); return `x` with the traced ones `stage`d on it."""
    guards = [g for g in guards if g is not None]
    for g in guards:
        if not is_traced(g.ok) and not np.all(np.asarray(g.ok)):
            prefix = f"{caller}: " if caller else ""
            raise ValueError(prefix + filled(g.message, shown(g, np)))
    staged = [g for g in guards if is_traced(g.ok)]
    return stage(staged, x, caller) if staged and x is not None else x


def evaluated(guards) -> tuple:
    """Inside a program: `(failed, values, messages)` of `guards`, each
    check's failure flag, the values its message shows and the message, for
    `raise_first` on the host. The values are picked behind an optimization
    barrier: XLA would fold the pick from a grid-sized constant (a free
    particle's V = 0) at compile time (17 s at 128³)."""
    guards = [g for g in guards if g is not None]
    failed = [~jnp.all(jnp.asarray(g.ok, bool)) for g in guards]
    failed = jnp.stack(failed) if failed else jnp.zeros((0,), bool)
    barrier = jax.lax.optimization_barrier
    values = [
        shown(g._replace(ok=barrier(jnp.asarray(g.ok)), value=barrier(g.value))) for g in guards
    ]
    return failed, values, [g.message for g in guards]


def raise_first(failed, values, messages, caller: str = "") -> None:
    """On the host: raise `ValueError` for the first failed check of
    `evaluated`'s output (nothing if none failed)."""
    failed = np.asarray(failed)
    if failed.any():
        i = int(np.argmax(failed))
        prefix = f"{caller}: " if caller else ""
        host = {k: np.asarray(v) for k, v in values[i].items()}
        raise ValueError(prefix + filled(messages[i], host))


def stage(guards, x, caller: str = ""):
    """`x` with `guards` attached by one `eqx.branched_error_if` on its first
    inexact leaf (the check then runs whenever x is used)."""
    if not guards:
        return x
    prefix = f"{caller}: " if caller else ""
    messages = [prefix + filled(g.message, None) + " (raised inside jit/vmap/grad)" for g in guards]
    leaves, treedef = jax.tree_util.tree_flatten(x)
    for i, leaf in enumerate(leaves):
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact):
            bad = jnp.stack([~jnp.all(jnp.asarray(g.ok, bool)) for g in guards])
            leaves[i] = eqx.branched_error_if(leaf, jnp.any(bad), jnp.argmax(bad), messages)
            break
    return jax.tree_util.tree_unflatten(treedef, leaves)


NONFINITE_FIX = (
    "Pass finite values (look for a division by zero or an overflow where it was built)."
)


def scalar(
    value,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    finite: bool = True,
    fix: str = "",
) -> list[Check]:
    """Checks for a real scalar (or array of them): finite, and > 0 or >= 0."""
    if isinstance(value, complex) or (
        hasattr(value, "dtype") and jnp.issubdtype(value.dtype, jnp.complexfloating)
    ):
        raise ValueError(f"{name} must be real; got {value!r}.")
    if not is_traced(value):
        try:
            if isinstance(value, str | bytes):
                raise TypeError
            value = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a real number; got {value!r}.") from None
    says = lambda what: f"{name} must be {what}; got {{value}}. {fix}".strip()
    out = [Check(array_module(value).isfinite(value), says("finite"), value)] if finite else []
    if positive:
        out.append(Check(value > 0, says("positive"), value))
    elif nonnegative:
        out.append(Check(value >= 0, says(">= 0"), value))
    return out


def arguments(caller: str, nonnegative=(), real=(), **values) -> None:
    """Refuse concrete `values` that are not finite and > 0 (>= 0 for the names
    in `nonnegative`, any sign in `real`), naming `caller` and the argument.
    Traced values pass: a closed form has no state to attach a check to."""
    guards = []
    for name, v in values.items():
        if isinstance(v, float | int) and not isinstance(v, bool) and math.isfinite(v):
            if v > 0 or name in real or (v == 0 and name in nonnegative):
                continue  # the common case, without NumPy (a plain call's hot path)
        if not is_traced(v):
            positive = name not in nonnegative and name not in real
            guards += scalar(v, name, positive=positive, nonnegative=name in nonnegative)
    enforce(guards, caller=caller)


def count(value, name: str, *, minimum: int = 1) -> int:
    """`value` as an int >= `minimum` (static: it sets array sizes); accepts
    integral floats (3.0), refuses 2.5, NaN, bools and tracers."""
    if isinstance(value, bool) or is_traced(value):
        raise TypeError(
            f"{name} must be a Python int (it fixes array sizes, so it cannot be traced); "
            f"got {type(value).__name__}."
        )
    try:
        n = operator.index(value)
    except TypeError:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an integer; got {value!r}.") from None
        if not (math.isfinite(f) and f.is_integer()):
            raise ValueError(
                f"{name} must be an integer; got {value!r} (it is not rounded)."
            ) from None
        n = int(f)
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {n}.")
    return n


def params_guards(params, name: str = "params") -> list[Check]:
    """Every inexact leaf of `params` finite; ħ and masses positive."""
    out = finite(params, name)
    for key in ("hbar", "mass", "m"):
        value = params.get(key) if isinstance(params, dict) else getattr(params, key, None)
        if value is not None and not callable(value):
            out += scalar(value, f"{name}.{key}", positive=True)
    return out


def _precision(dtype) -> int:
    """Bits of a float (per real component of a complex); 0 if not inexact."""
    return jnp.finfo(dtype).bits if jnp.issubdtype(dtype, jnp.inexact) else 0


def _dtype_of(x):
    dtype = getattr(x, "dtype", None)
    return jnp.asarray(x).dtype if dtype is None else dtype


def check_precision(y0, *others, names=("params",)) -> None:
    """Refuse silent demotion: no inexact leaf of `others` (params, the law's
    operators) below the state's precision."""
    leaves = jax.tree_util.tree_leaves(y0)
    state_bits = max((_precision(_dtype_of(x)) for x in leaves), default=0)
    for tree, name in zip(others, names, strict=True):
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
            bits = _precision(leaf.dtype) if hasattr(leaf, "dtype") else 0  # Python scalars adapt
            if 0 < bits < state_bits:
                leaf_name = name + jax.tree_util.keystr(path)
                raise ValueError(
                    f"{leaf_name} is {leaf.dtype} but the state is {state_bits}-bit: the run "
                    f"would silently lose precision. Cast it, e.g. {leaf_name.split('.')[-1]}"
                    f".astype(jnp.{'complex128' if jnp.iscomplexobj(leaf) else 'float64'}), "
                    "or run the state in single precision."
                )


def normalized(norm, name: str = "psi0", tol: float = 1e-6) -> list[Check]:
    """‖state‖ (or a trace) equal to 1 within `tol`, and finite."""
    xp = array_module(norm)
    dev = xp.abs(xp.asarray(norm) - 1.0)
    return finite(norm, name) + [
        Check(
            xp.all(dev <= tol),
            f"{name} is not normalized (norm - 1 = {{value}}, tolerance {tol:g}); "
            f"normalize it first, e.g. with jqd.normalize({name}, ...).",
            dev,
        ),
    ]


def hermitian(H, name: str = "H", rtol: float = 1e-10) -> list[Check]:
    """max|H − H†| ≤ rtol · max|H| (eigh silently reads one triangle)."""
    xp = array_module(H)
    H = xp.asarray(H)
    dev = xp.max(xp.abs(H - xp.conj(xp.swapaxes(H, -1, -2))))
    scale = xp.maximum(xp.max(xp.abs(H)), 1e-300)
    return finite(H, name) + [
        Check(
            dev <= rtol * scale,
            f"{name} is not Hermitian: max|{name} - {name}^†| / max|{name}| = {{value}} > "
            f"{rtol:g}. Use ({name} + {name}.conj().T) / 2 if the asymmetry is round-off, "
            f"or check how {name} was built.",
            dev / scale,
        ),
    ]


def finite(y, name: str = "y0") -> list[Check]:
    """Every inexact leaf finite, one check per leaf, named by its path (`y0.phi`)."""
    out = []
    for path, x in jax.tree_util.tree_flatten_with_path(y)[0]:
        if hasattr(x, "dtype") or isinstance(x, float | complex):
            xp = array_module(x)
            x = xp.asarray(x)
            if jnp.issubdtype(x.dtype, jnp.inexact):
                message = f"{name}{jax.tree_util.keystr(path)} contains NaN or Inf. {NONFINITE_FIX}"
                out.append(Check(xp.all(xp.isfinite(x)), message))
    return out


def probabilities(p, name: str) -> list[Check]:
    """Entries in [0, 1] (a rate times dt above 1 is not a probability)."""
    xp = array_module(p)
    p = xp.asarray(p)
    return [
        Check(
            xp.all((p >= 0) & (p <= 1)),
            f"{name} must lie in [0, 1]; got {{value}}. Reduce dt (rates x dt must stay "
            "below 1) or use the exact Gillespie law.",
            p,
        )
    ]


def on_host(tree):
    """`tree` with concrete arrays as NumPy (an eager check then compiles
    nothing); a traced `tree` as it is."""
    return tree if is_traced(tree) else jax.tree_util.tree_map(np.asarray, tree)


def array_module(*trees):
    """NumPy for concrete values, jax.numpy for traced ones."""
    return jnp if is_traced(*trees) else np


def to_device(x, dtype=None):
    """`jnp.asarray(x, dtype)` without compiling a program for concrete `x`."""
    if is_traced(x):
        return jnp.asarray(x, dtype)
    if isinstance(x, jax.Array) and (
        dtype is None or x.dtype == jax.dtypes.canonicalize_dtype(dtype)
    ):
        return x  # already on the device: no round trip through the host
    x = np.asarray(x, dtype)
    return jax.device_put(x.astype(jax.dtypes.canonicalize_dtype(x.dtype)))


def as_arrays(tree, dtype):
    """`tree` with its Python floats as NumPy scalars of `dtype` (complexes of
    its complex counterpart): `eqx.filter_jit` traces arrays and keys its
    programs on everything else, so a new dt, t0 or constant reuses the
    compiled program (ints and bools stay static: they may size arrays or
    steer Python control flow). The state's precision, as a Python float
    (weakly typed) would take; NumPy, as `jnp.asarray` would compile a
    program and `jax.device_put` costs ~30 us a value."""
    complex_dtype = jnp.result_type(dtype, 1j)
    return jax.tree_util.tree_map(
        lambda x: (
            np.asarray(x, complex_dtype if isinstance(x, complex) else dtype)
            if isinstance(x, float | complex)
            else x
        ),
        tree,
    )


def round_down(x, digits: int = 4):
    """x rounded down to `digits` significant digits (x > 0): a largest safe
    value shown in a message is then itself safe."""
    xp = array_module(x)
    x = xp.asarray(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (xp.floor(xp.log10(xp.where(x > 0, x, 1.0))) - (digits - 1))
        return xp.where(xp.isfinite(x) & (x > 0), xp.floor(x / scale) * scale, x)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _no_derivative(x, message: str):
    return x


@_no_derivative.defjvp
def _no_derivative_jvp(message, primals, tangents):
    raise TypeError(message)  # at trace time, only where a tangent is not zero


def no_derivative(tree, message: str, name: str = "params"):
    """`tree` unchanged, but a non-zero tangent of any of its float arrays
    raises `TypeError(message)` at trace time (laws piecewise constant in
    them), under every transform that differentiates (grad, jvp, jacfwd,
    vmap of them); `{name}` in `message` becomes the leaf's path (`name.H`)."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    out = [
        _no_derivative(x, message.replace("{name}", name + jax.tree_util.keystr(path)))
        if eqx.is_inexact_array(x)
        else x
        for path, x in leaves
    ]
    return jax.tree_util.tree_unflatten(treedef, out)
