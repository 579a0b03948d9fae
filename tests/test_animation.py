"""Animations: `Recorder.animation` (MP4 through imageio-ffmpeg, else GIF through
pillow) and `jqd run NAME --animate` end to end."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from jqdlab import Recorder
from jqdlab.cli import main

ANIMATED = (
    "husimi-kerr",
    "husimi-trajectories",
    "nelson-equivariance",
    "madelung-nodes",
    "copy-finite-N",
)


def _tiny(rec: Recorder, n_frames: int, filename: str = "tiny.mp4"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 2 * np.pi, 50)
    (line,) = ax.plot(x, np.sin(x))

    def update(i):
        line.set_ydata(np.sin(x - 0.5 * i))
        return f"t = {i}"

    return rec.animation(fig, update, n_frames, filename, claim="a sine travels", fps=5, dpi=50)


def mp4_frames(path) -> int:
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def test_mp4_frame_count_and_size(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    rec = Recorder(tmp_path, physics="§0")
    rec.animate = True
    path = _tiny(rec, 7)
    assert path == tmp_path / "tiny.mp4" and rec.summary()["animations"] == ["tiny.mp4"]
    assert path.stat().st_size > 1000
    assert mp4_frames(path) == 7


def test_gif_without_imageio_ffmpeg(tmp_path, monkeypatch, capsys):
    from PIL import Image

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import raises ImportError
    rec = Recorder(tmp_path)
    rec.animate = True
    path = _tiny(rec, 6)
    assert path == tmp_path / "tiny.gif" and rec.animations == ["tiny.gif"]
    assert "tiny.gif" in capsys.readouterr().out  # says it fell back
    assert path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.n_frames == 6


def test_nothing_written_unless_animate(tmp_path):
    import matplotlib.pyplot as plt

    rec = Recorder(tmp_path)
    assert rec.animate is False
    assert _tiny(rec, 5) is None
    assert list(tmp_path.iterdir()) == [] and rec.summary()["animations"] == []
    assert not plt.get_fignums()  # the figure was closed anyway


def test_list_and_show_mark_the_animated_experiments(capsys):
    assert main(["list"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.strip()}
    assert {n for n, ln in lines.items() if "[animates]" in ln} == set(ANIMATED)
    assert main(["show", "husimi-kerr"]) == 0
    assert "--animate" in capsys.readouterr().out


FAKE = """
from dataclasses import dataclass
from jqdlab import Experiment

@dataclass(frozen=True)
class Config:
    n: int = 4
    @classmethod
    def quick(cls):
        return cls()

def run(config, rec):
    rec.claim("c", "stmt", measured=0.5, tolerance=1.0)
    if rec.animate:
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(2, 2))
        (line,) = ax.plot([0, 1], [0, 0])
        def update(i):
            line.set_ydata([0, i])
            return f"t = {{i}}"
        rec.animation(fig, update, config.n, "a.mp4", claim="a line turns", dpi=40)

EXPERIMENT = Experiment(name="{name}", description="test", config=Config, run=run,
                        animates={animates})
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """Two tiny experiments, one that animates and one that does not (fresh names)."""
    suffix = tmp_path.name.replace("_", "-")
    for name, animates in (("animated", True), ("plain", False)):
        folder = tmp_path / "exps" / f"{name}_{tmp_path.name}"
        folder.mkdir(parents=True)
        text = FAKE.format(name=f"{name}-{suffix}", animates=animates)
        (folder / "experiment.py").write_text(text)
    monkeypatch.setenv("JQD_EXPERIMENTS", str(tmp_path / "exps"))
    return lambda name: f"{name}-{suffix}"


def test_run_animate_flag(fakes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", fakes("animated"), "--animate", "--set", "n=6", "--out", str(out)]) == 0
    assert str(out / "a.mp4") in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["animations"] == ["a.mp4"]
    assert mp4_frames(out / "a.mp4") == 6
    # without the flag: nothing written, the rest of the summary unchanged
    plain = tmp_path / "plain"
    assert main(["run", fakes("animated"), "--set", "n=6", "--out", str(plain)]) == 0
    assert not (plain / "a.mp4").exists()
    s0, s1 = (json.loads((d / "summary.json").read_text()) for d in (plain, out))
    assert s0["animations"] == [] and s0["claims"] == s1["claims"]


def test_animate_on_an_experiment_without_one_says_so(fakes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", fakes("plain"), "--animate", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "has no animation" in err and fakes("animated") in err
    assert json.loads((out / "summary.json").read_text())["animations"] == []


def _run_animated(name, tmp_path, capsys, *extra):
    pytest.importorskip("imageio_ffmpeg")
    rc = main(["run", name, "--quick", "--animate", "--out", str(tmp_path), *extra])
    out = capsys.readouterr().out
    assert rc == 0, out
    summary = json.loads((tmp_path / "summary.json").read_text())
    (anim,) = summary["animations"]
    path = tmp_path / anim
    assert path.suffix == ".mp4" and str(path) in out
    assert path.stat().st_size > 10_000
    return path, summary


@pytest.mark.slow  # ~25 s on 2 cores (the quick run itself); the fakes above cover the CLI
def test_run_husimi_kerr_quick_animate(tmp_path, capsys):
    path, summary = _run_animated("husimi-kerr", tmp_path, capsys)
    assert mp4_frames(path) == 33  # Ut = kπ/16, k = 0 … 32
    assert summary["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ANIMATED[1:])
def test_run_quick_animate_other_experiments(name, tmp_path, capsys):
    path, summary = _run_animated(name, tmp_path, capsys)
    assert mp4_frames(path) >= 20
    assert summary["passed"]
