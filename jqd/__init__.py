"""jqd: differentiable JAX simulation of stochastic and ensemble
reformulations of quantum mechanics, next to exact quantum evolution.

Names load on first use (PEP 562 `__getattr__`): `import jqd` costs
milliseconds, so the `jqd` command answers `list` and `--help` without
starting JAX; `jqd.evolve` or `jqd.thermal` imports what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_FAMILIES = (
    "copy",
    "dqm",
    "fock",
    "husimi",
    "interop",
    "observables",
    "reference",
    "schemes",
    "schrodinger",
    "stats",
    "thermal",
)
# public name -> the module defining it
_NAMES = {
    "AccuracyWarning": "._checks",
    "Coupled": "._errors",
    "Errors": "._errors",
    "ErrorEstimate": "._errors",
    "Solution": "._solution",
    "evolve": "._evolve",
    "evolve_adaptive": "._evolve_adaptive",
    "FitResult": "._fit",
    "FitTransform": "._fit",
    "fit": "._fit",
    "fit_covariance": "._fit",
    "covariance_from": "._fit_covariance",
    "profile_likelihood": "._fit_covariance",
    "Grid": "._grid",
    "normalize": "._grid",
    "Check": "._guards",
    "AbstractLaw": "._law",
    "BreakdownError": "._monitor",
    "NonFiniteError": "._monitor",
    "Reason": "._monitor",
    "random_normal": "._random",
    "batch_mesh": "._sharding",
    "gather_batch": "._sharding",
    "pad_batch": "._sharding",
    "shard_batch": "._sharding",
    "MatrixParams": ".schrodinger",
    "SchrodingerBasis": ".schrodinger",
    "SchrodingerGrid": ".schrodinger",
    "SchrodingerParams": ".schrodinger",
    "SchrodingerRing": ".schrodinger",
    "ground_state": ".schrodinger",
}


__all__ = sorted({*_FAMILIES, *_NAMES})


def __getattr__(name: str):
    if name in _FAMILIES:
        module = importlib.import_module(f".{name}", __name__)
    elif name in _NAMES:
        module = getattr(importlib.import_module(_NAMES[name], __name__), name)
    else:
        raise AttributeError(f"module 'jqd' has no attribute {name!r}")
    globals()[name] = module  # later lookups skip __getattr__
    return module


def __dir__() -> list[str]:  # dir(jqd) shows the public API only
    return __all__


if TYPE_CHECKING:  # what type checkers and IDEs see
    from . import copy as copy
    from . import dqm as dqm
    from . import experiment as experiment
    from . import fock as fock
    from . import husimi as husimi
    from . import interop as interop
    from . import observables as observables
    from . import reference as reference
    from . import schemes as schemes
    from . import schrodinger as schrodinger
    from . import stats as stats
    from . import thermal as thermal
    from ._checks import AccuracyWarning as AccuracyWarning
    from ._errors import Coupled as Coupled
    from ._errors import ErrorEstimate as ErrorEstimate
    from ._errors import Errors as Errors
    from ._evolve import evolve as evolve
    from ._evolve_adaptive import evolve_adaptive as evolve_adaptive
    from ._fit import FitResult as FitResult
    from ._fit import FitTransform as FitTransform
    from ._fit import fit as fit
    from ._fit import fit_covariance as fit_covariance
    from ._fit_covariance import covariance_from as covariance_from
    from ._fit_covariance import profile_likelihood as profile_likelihood
    from ._grid import Grid as Grid
    from ._grid import normalize as normalize
    from ._guards import Check as Check
    from ._law import AbstractLaw as AbstractLaw
    from ._monitor import BreakdownError as BreakdownError
    from ._monitor import NonFiniteError as NonFiniteError
    from ._monitor import Reason as Reason
    from ._random import random_normal as random_normal
    from ._sharding import batch_mesh as batch_mesh
    from ._sharding import gather_batch as gather_batch
    from ._sharding import pad_batch as pad_batch
    from ._sharding import shard_batch as shard_batch
    from ._solution import Solution as Solution
    from .schrodinger import MatrixParams as MatrixParams
    from .schrodinger import SchrodingerBasis as SchrodingerBasis
    from .schrodinger import SchrodingerGrid as SchrodingerGrid
    from .schrodinger import SchrodingerParams as SchrodingerParams
    from .schrodinger import SchrodingerRing as SchrodingerRing
    from .schrodinger import ground_state as ground_state
