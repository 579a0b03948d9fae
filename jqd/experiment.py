"""The experiment contract (`Experiment`, `Recorder`, `Claim`); it lives in
`jqd.run.experiment` and is re-exported here so `jqd.experiment` keeps working."""

from .run.experiment import Claim as Claim
from .run.experiment import Experiment as Experiment
from .run.experiment import Recorder as Recorder
from .run.experiment import config_to_dict as config_to_dict
from .run.experiment import dumps as dumps
from .run.experiment import split_complex as split_complex
from .run.fit import FitSpec as FitSpec
from .run.validate import steps_fit as steps_fit

__all__ = [
    "Claim",
    "Experiment",
    "Recorder",
    "config_to_dict",
    "dumps",
    "split_complex",
    "FitSpec",
    "steps_fit",
]


def __dir__() -> list[str]:  # dir(module) shows the public API only
    return sorted(__all__)
