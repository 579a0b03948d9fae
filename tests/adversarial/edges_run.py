"""Issue 27's rough edges (run): bad inputs that once gave a silent answer or an
unclear error. Each `BadCase` must come out "named"."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from adversarial.battery import BadCase, _cli


def _fit_other_config():
    """`jqd fit husimi-kerr --free C --quick --set alpha0=0.6 --set cutoff=10 --data
    d.nc` with d.nc made (as `jqd fit ... --data reference` writes it: its `config`
    attribute) at alpha0 = 0.8, cutoff = 12. Once exit 0, ACCEPTABLE, C 15 stderr off."""

    def run():
        import dataclasses

        import xarray as xr

        from jqdlab import config_to_dict
        from jqdlab.registry import load

        config = dataclasses.replace(load("husimi-kerr").config.quick(), alpha0=0.8, cutoff=12)
        tmp = Path(tempfile.mkdtemp(prefix="jqd_adversarial_fit_"))
        try:
            path = tmp / "d.nc"
            attrs = {"experiment": "husimi-kerr", "data": "reference"}
            attrs["config"] = json.dumps(config_to_dict(config), sort_keys=True)
            xr.Dataset(attrs=attrs).to_netcdf(path, engine="h5netcdf")
            argv = ["fit", "husimi-kerr", "--free", "C", "--quick", "--set", "alpha0=0.6"]
            argv += ["--set", "cutoff=10", "--data", str(path), "--out", "{out}", "--no-progress"]
            return _cli(argv)()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return run


def cases() -> list[BadCase]:
    return [
        BadCase(
            "cli/fit/husimi-kerr/data-at-another-config",
            "husimi",
            "cli",
            _fit_other_config(),
            ("alpha0", "cutoff"),
            "husimi-kerr",
            "--data made at alpha0=0.8, cutoff=12; model at alpha0=0.6, cutoff=10",
        ),
    ]
