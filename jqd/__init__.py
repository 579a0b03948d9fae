"""jqd: differentiable JAX simulation of stochastic and ensemble
reformulations of quantum mechanics, next to exact quantum evolution."""

from . import copy as copy
from . import dqm as dqm
from . import experiment as experiment
from . import fock as fock
from . import husimi as husimi
from . import observables as observables
from . import reference as reference
from . import schrodinger as schrodinger
from . import stats as stats
from . import thermal as thermal
from ._checks import AccuracyWarning as AccuracyWarning
from ._evolve import Solution as Solution
from ._evolve import evolve as evolve
from ._evolve import evolve_adaptive as evolve_adaptive
from ._fit import FitResult as FitResult
from ._fit import FitTransform as FitTransform
from ._fit import fit as fit
from ._grid import Grid as Grid
from ._grid import normalize as normalize
from ._guards import Guard as Guard
from ._law import AbstractLaw as AbstractLaw
from ._monitor import BreakdownError as BreakdownError
from ._monitor import NonFiniteError as NonFiniteError
from ._monitor import Reason as Reason
from ._sharding import batch_mesh as batch_mesh
from ._sharding import pad_batch as pad_batch
from ._sharding import shard_batch as shard_batch
from .schrodinger import MatrixParams as MatrixParams
from .schrodinger import SchrodingerBasis as SchrodingerBasis
from .schrodinger import SchrodingerGrid as SchrodingerGrid
from .schrodinger import SchrodingerParams as SchrodingerParams
from .schrodinger import SchrodingerRing as SchrodingerRing
from .schrodinger import ground_state as ground_state

__version__ = "0.1.0"
