"""Eager argument checks shared by laws and integrators.

Checks run on concrete values only (never on tracers), before anything is
traced, and raise errors that name the argument and the fix.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np

from . import _guards
from ._monitor import NonFiniteError as NonFiniteError


class AccuracyWarning(UserWarning):
    """A run is outside its documented accuracy range (but not invalid)."""


def is_concrete(*trees) -> bool:
    """True when no leaf of the trees is a tracer (so values can be inspected)."""
    return not _guards.is_traced(*trees)


def hbar_of(params) -> float:
    """`params.hbar` (or `params["hbar"]`) if present, else 1."""
    if isinstance(params, dict):
        return params.get("hbar", 1.0)
    return getattr(params, "hbar", 1.0)


def check_hermitian(H, name: str = "H", rtol: float = 1e-10) -> None:
    """Raise if the concrete matrix `H` (or batch of matrices) is not Hermitian."""
    if not is_concrete(H):
        return
    H = np.asarray(H)
    if H.ndim < 2 or H.shape[-1] != H.shape[-2]:
        raise ValueError(f"{name} must be a square matrix (..., n, n); got shape {H.shape}.")
    _guards.enforce(_guards.hermitian(H, name, rtol))


def check_normalized(norm, name: str = "psi0", tol: float = 1e-6) -> None:
    """Raise if a concrete norm differs from 1 by more than `tol`."""
    if is_concrete(norm):
        _guards.enforce(_guards.normalized(norm, name, tol))


def check_finite(y, name: str = "y0") -> None:
    if is_concrete(y):
        _guards.enforce(_guards.finite(y, name))


def check_positive(value, name: str, fix: str = "") -> None:
    if is_concrete(value):
        _guards.enforce(_guards.scalar(value, name, positive=True, fix=fix))


def warn_accuracy(message: str) -> None:
    warnings.warn(message, AccuracyWarning, stacklevel=3)


def real_dtype_of(x) -> jnp.dtype:
    """The real dtype matching an array (float32 for complex64, ...)."""
    return jnp.finfo(jnp.asarray(x).dtype).dtype
