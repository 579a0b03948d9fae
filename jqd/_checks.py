"""Small helpers the laws' eager checks share (accuracy warning, ħ of params)."""

from __future__ import annotations

import warnings

from . import _guards


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


def warn_accuracy(message: str) -> None:
    warnings.warn(message, AccuracyWarning, stacklevel=3)
