"""jqd: differentiable JAX simulation of stochastic and ensemble
reformulations of quantum mechanics, next to exact quantum evolution."""

from . import copy as copy
from . import dqm as dqm
from . import experiment as experiment
from . import fock as fock
from . import husimi as husimi
from . import observables as observables
from . import reference as reference
from ._checks import AccuracyWarning as AccuracyWarning
from ._checks import NonFiniteError as NonFiniteError
from ._evolve import Solution as Solution
from ._evolve import evolve as evolve
from ._evolve import evolve_adaptive as evolve_adaptive
from ._grid import Grid as Grid
from ._grid import normalize as normalize
from ._law import AbstractLaw as AbstractLaw
from ._schrodinger_basis import MatrixParams as MatrixParams
from ._schrodinger_basis import SchrodingerBasis as SchrodingerBasis
from ._schrodinger_grid import SchrodingerGrid as SchrodingerGrid
from ._schrodinger_grid import SchrodingerParams as SchrodingerParams
from ._schrodinger_grid import ground_state as ground_state
from ._sharding import batch_mesh as batch_mesh
from ._sharding import pad_batch as pad_batch
from ._sharding import shard_batch as shard_batch

__version__ = "0.1.0"
