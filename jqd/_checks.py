"""Small helpers the laws' eager checks share (accuracy warning, ħ of params)."""

from __future__ import annotations

import warnings


class AccuracyWarning(UserWarning):
    """A run is outside its documented accuracy range (but not invalid)."""


def hbar_of(params) -> float:
    """`params.hbar` (or `params["hbar"]`) if present, else 1."""
    if isinstance(params, dict):
        return params.get("hbar", 1.0)
    return getattr(params, "hbar", 1.0)


def warn_accuracy(message: str) -> None:
    warnings.warn(message, AccuracyWarning, stacklevel=3)
