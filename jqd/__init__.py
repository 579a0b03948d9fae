"""jqd: differentiable JAX simulation of stochastic and ensemble
reformulations of quantum mechanics, next to exact quantum evolution.

Plain imports: `import jqd` loads every law family and JAX (about a second);
the `jqd` command (the lab, `jqdlab`) answers `list`, `--help` and usage
errors without importing it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import copy as copy
from . import dqm as dqm
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

__all__ = [
    "AbstractLaw",
    "AccuracyWarning",
    "BreakdownError",
    "Check",
    "Coupled",
    "ErrorEstimate",
    "Errors",
    "FitResult",
    "FitTransform",
    "Grid",
    "MatrixParams",
    "NonFiniteError",
    "Reason",
    "SchrodingerBasis",
    "SchrodingerGrid",
    "SchrodingerParams",
    "SchrodingerRing",
    "Solution",
    "batch_mesh",
    "copy",
    "covariance_from",
    "dqm",
    "evolve",
    "evolve_adaptive",
    "fit",
    "fit_covariance",
    "fock",
    "gather_batch",
    "ground_state",
    "husimi",
    "interop",
    "normalize",
    "observables",
    "pad_batch",
    "profile_likelihood",
    "random_normal",
    "reference",
    "schemes",
    "schrodinger",
    "shard_batch",
    "stats",
    "thermal",
]


def __dir__() -> list[str]:  # dir(jqd) shows the public API only
    return __all__
