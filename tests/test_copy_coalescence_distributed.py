"""copy-coalescence's quick sweep over N (N = 99, 300 and the tau-leap law at
300) run by two processes with `jax.distributed` (coordinator on 127.0.0.1,
one CPU device each, each running half of the 32 ensembles) gives the
one-process result bit for bit under XLA's default CPU emitter: every claim
and metric (timings aside) and every checkpointed array (V, n/N, class
phases, events, final states) of the exact-event law. The tau-leap run's
counts, events and claims are the same bits too; its type phases round
differently in the two-process program (≤ 2e-14, V ≤ 4.4e-16 at t ≤ 40;
measured 2026-11-27), so they are compared to 1e-12."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_sweep_distributed import _env, _free_port
from test_sweep_distributed import _jqd as _run_jqd

TIMINGS = ("seconds_per_N", "seconds_coalescence")
LEAP = "N300_other"  # the tau-leap run of the quick config (compare_N)
LEAP_ROUNDED = ("y1", "V", "phic")  # its type phases and what is computed from them


def _jqd(tmp_path, name, *extra, **env):
    args = ["copy-coalescence", "--quick", "--no-cache", "--out", str(tmp_path / name)]
    args += ["--set", f"checkpoint={tmp_path / f'{name}_checkpoint'}", *extra]
    # One CPU device per process, and XLA's default CPU emitter, as full configs
    # run: under the elemental emitter that --quick picks for compile speed, the
    # two-process (SPMD) program rounds differently from the one-process program
    # (phases differ by <= 7e-14 at N = 300; measured 2026-11-27).
    flags = "--xla_force_host_platform_device_count=1 --xla_cpu_use_fusion_emitters=true"
    return _run_jqd(args, _env(1, **env) | {"XLA_FLAGS": flags}, command="run")


def _checkpoints(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.glob("N*.npz")):
        with np.load(path) as z:
            out.update({f"{path.stem}/{k}": z[k] for k in z.files if k != "wall"})
    for path in sorted(folder.glob("N*_rms.json")):
        rms = json.loads(path.read_text())  # spread -> [RMS of n/N - |psi|^2, max V]
        out[path.stem] = np.array([rms[k] for k in sorted(rms)])
    return out


@pytest.mark.slow
def test_two_processes_match_one_process_bitwise(tmp_path):
    port = _free_port()
    job = dict(JQD_COORDINATOR=f"127.0.0.1:{port}", JQD_NUM_PROCESSES="2")
    procs = [
        _jqd(tmp_path, "multi", "--distributed", **job, JQD_PROCESS_ID=str(i)) for i in range(2)
    ]
    single = _jqd(tmp_path, "one")
    outs = [p.communicate(timeout=600)[0] for p in [*procs, single]]
    for p, out in zip([*procs, single], outs, strict=True):
        assert p.returncode == 0, out
    one, multi = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "multi"))
    assert multi["environment"]["devices"] == ["cpu:0", "cpu:2048"]  # the job's two devices
    assert one["environment"]["devices"] == ["cpu:0"]
    assert [c["name"] for c in multi["claims"]] == [c["name"] for c in one["claims"]]
    for a, b in zip(multi["claims"], one["claims"], strict=True):
        assert (a["measured"], a["passed"]) == (b["measured"], b["passed"]), a["name"]
    assert multi["metrics"].keys() == one["metrics"].keys()
    for k in one["metrics"].keys() - set(TIMINGS) - {"compare_N300"}:
        assert json.dumps(multi["metrics"][k]) == json.dumps(one["metrics"][k]), k
    cmp = [multi["metrics"]["compare_N300"], one["metrics"]["compare_N300"]]
    assert cmp[0]["ks_p"] == cmp[1]["ks_p"]  # events and n/N: the same bits
    for key in cmp[1]["exact_vs_leap"]:
        np.testing.assert_allclose(*(c["exact_vs_leap"][key] for c in cmp), rtol=1e-12)
    # the saves of every run over N, written by process 0 alone
    got, want = (_checkpoints(tmp_path / f"{d}_checkpoint") for d in ("multi", "one"))
    assert got.keys() == want.keys() and {"N99/V", "N300/V", "N300_other/V"} <= got.keys()
    for k in want:
        if k.startswith(LEAP + "/") and k.split("/")[1] in LEAP_ROUNDED:
            np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-12, err_msg=k)
        else:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert sorted(p.name for p in (tmp_path / "multi").iterdir()) == [
        "coalescence.png",
        "summary.json",
    ]
