"""The lab: the `jqd` command and its records, built on the library `jqd`
(which never imports it): the experiment contract (`jqdlab.experiment`), the
registry of experiments, run summaries and reports, resumable sweeps and
`jqd fit`. No physics here."""

from .experiment import Claim as Claim
from .experiment import Experiment as Experiment
from .experiment import Recorder as Recorder
from .experiment import config_to_dict as config_to_dict
from .experiment import dumps as dumps
from .experiment import split_complex as split_complex
from .fit import FitSpec as FitSpec
from .validate import steps_fit as steps_fit
