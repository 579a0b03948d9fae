"""The `jqd` command and its records: the experiment contract, the registry of
experiments, run summaries and reports, resumable sweeps. No physics here."""

from .experiment import Claim as Claim
from .experiment import Experiment as Experiment
from .experiment import Recorder as Recorder
