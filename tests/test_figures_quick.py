"""A new-eye review of quick figures: an experiment's quick run, in-process,
and `jqdlab.figure_check` on every figure it saves (hidden curves, legends
over data, squeezed panels, and the text rules).

The default set checks the figures of a few fast experiments (about 20 s in
all on 2 cores), among them those whose figures issue 54 named; every
experiment's quick figures are checked by `test_unmutated_quick_run_passes`
in tests/test_mutants.py (`pytest -m mutants`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from jqdlab import registry  # noqa: E402
from jqdlab.experiment import Recorder  # noqa: E402

FAST = ["husimi-amplification", "copy-nodes", "husimi-bose-hubbard", "thermal-block-collision"]


@pytest.mark.parametrize("name", FAST)
def test_quick_figures_pass_the_checker(name, tmp_path):
    exp = registry.load(name)
    rec = Recorder(tmp_path, seed=0)
    exp.run(exp.config.quick(), rec)
    assert rec.figures, f"{name} saved no figure"
    assert rec.figure_problems == {}, rec.figure_problems
    assert all(c.passed for c in rec.claims), [c for c in rec.claims if not c.passed]
