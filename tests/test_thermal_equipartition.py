"""thermal-equipartition's long chains (`run_chain`): a run stopped and resumed
from its checkpoint is the uninterrupted run bit for bit, also when a longer
t_max extends a finished one; and the band helpers the claims read."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jqd.thermal import FPUTParams
from jqdlab import registry


class _Quiet:
    def progress(self, stage):
        pass


def _module():
    return registry.load("thermal-equipartition").run.__globals__


def _config(m, folder, **kw):
    base = m["Config"].quick()
    return dataclasses.replace(
        base, large_save_every=5.0, large_bands=31, coarse_bands=8, checkpoint=str(folder), **kw
    )


def test_resumed_chain_equals_uninterrupted(tmp_path):
    m = _module()
    params = FPUTParams(beta=1.0)
    run = lambda folder, t_max: m["run_chain"](  # noqa: E731
        _config(m, folder), _Quiet(), params, 255, 0, 0.1, t_max
    )
    whole = run(tmp_path / "a", 20.0)
    run(tmp_path / "b", 10.0)  # "interrupted" after two of four calls
    resumed = run(tmp_path / "b", 20.0)
    for f in ("ts", "fine", "coarse", "energies"):
        np.testing.assert_array_equal(getattr(resumed, f), getattr(whole, f), err_msg=f)
    assert whole.ts.tolist() == [5.0, 10.0, 15.0, 20.0]
    # a checkpoint of a longer run gives a shorter one its start
    short = run(tmp_path / "a", 10.0)
    np.testing.assert_array_equal(short.fine, whole.fine[:2])
    assert len(short.energies) == 3
    # a chain written in another precision is refused, not resumed
    z = dict(np.load(tmp_path / "a" / "chain_N255_dt0.1_seed0.npz"))
    np.savez(tmp_path / "a" / "chain_N255_dt0.1_seed0.npz", **(z | {"q": z["q"].astype("f4")}))
    with pytest.raises(ValueError, match="holds a float32 chain"):
        run(tmp_path / "a", 20.0)


def test_bands_and_late_average():
    m = _module()
    E = np.arange(10.0)
    np.testing.assert_array_equal(m["bands"](E, 3), [2.0, 5.0, 8.0])  # the last 9 modes
    np.testing.assert_array_equal(m["bands"](np.stack([E, 2 * E]), 3)[1], [4.0, 10.0, 16.0])
    ts = np.array([1.0, 2.0, 3.0, 4.0])
    spectra = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert m["late"](ts, spectra, 4.0)[0] == 3.0  # snapshots at t in [2, 4]
    np.testing.assert_array_equal(m["band_lowest_mode"](10, 3), [2, 5, 8])
    omega = m["band_omega"](255, 8)
    assert omega.shape == (8,) and np.all(np.diff(omega) > 0)
