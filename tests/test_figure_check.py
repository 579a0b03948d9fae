"""`jqd.run.figure_check.figure_problems`: one synthetic bad figure per rule,
and a clean figure with no problems."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jqd.run.figure_check import figure_problems  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 2, 3], label="data")
    yield ax
    plt.close(fig)


def _one(fig, *words):
    problems = figure_problems(fig)
    assert len(problems) == 1, problems
    assert all(w in problems[0] for w in words), problems
    return problems[0]


def test_clean_figure_has_no_problems():
    fig, (a, b, c) = plt.subplots(1, 3)
    x = np.linspace(0.1, 1, 20)
    a.plot(x, np.exp(-x), label=r"$e^{-x}$ at $\hbar\omega = 1$")
    a.plot([0.5], [0.5], "o", label="one point, a marker")
    a.set_title("decay")
    a.set_xlabel(r"time $t$ [$1/\omega$]")
    a.legend(fontsize=8)
    b.semilogy(x, 10 ** (5 * x))
    c.imshow(np.ones((3, 3)))
    b.annotate("infinite-ish", (0.5, 0.5), fontsize=9)
    fig.suptitle("fitted C: not run in quick mode")
    assert figure_problems(fig) == []
    plt.close(fig)


def test_nan_in_title(ax):
    ax.set_title(f"fitted C = {float('nan'):.3f}")
    _one(ax.figure, "axes 0", "nan")
    ax.figure.suptitle("C = nan")  # reported once, though fig.texts holds it too
    assert len(figure_problems(ax.figure)) == 2


def test_inset_axes_are_checked(ax):
    inset = ax.inset_axes([0.6, 0.6, 0.3, 0.3])
    inset.plot([0, 1], [0, 1])
    inset.tick_params(labelsize=5)
    problems = figure_problems(ax.figure)
    assert problems and all(p.startswith("axes 0.0:") for p in problems), problems


def test_inf_in_suptitle_and_tick_label(ax):
    ax.figure.suptitle("ratio = -inf")
    ax.set_xticks([1], ["inf"])
    problems = figure_problems(ax.figure)
    assert any("figure: suptitle" in p for p in problems), problems
    assert any("x tick label" in p and "nan/inf" in p for p in problems), problems


def test_small_legend_font(ax):
    ax.set_title("ω(n0)")
    ax.legend(fontsize=6)
    assert _one(ax.figure, "legend") == "axes 0 'ω(n0)': legend font 6 pt < 8"


def test_small_label_and_tick_font(ax):
    ax.set_ylabel("y", fontsize=7)
    ax.tick_params(labelsize=6)
    problems = figure_problems(ax.figure)
    assert any("y label font 7 pt < 8" in p for p in problems), problems
    assert any("tick label font 6 pt < 7" in p for p in problems), problems
    ax.set_ylabel("y", fontsize=8)
    ax.tick_params(labelsize=7)  # ticks may be 7 pt
    assert figure_problems(ax.figure) == []


def test_line_with_one_point(ax):
    ax.plot([1.0], [2.0], "-", label="single")
    ax.plot([1.0, 2.0], [np.nan, 3.0], label="half nan")
    ax.plot([1.0], [2.0], "s")  # a marker is fine
    ax.set_xscale("log")
    ax.axhline(2.5)  # x in axes coordinates (0 and 1): two points even on a log x axis
    ax.plot([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], label="zero dropped")  # 2 left: fine
    problems = figure_problems(ax.figure)
    assert len(problems) == 2, problems
    assert "'single' has 1 finite point(s)" in problems[0]


def test_raw_tex_braces(ax):
    ax.set_ylabel("Re e^{iφ}")
    _one(ax.figure, "y label", "raw TeX")
    ax.set_ylabel(r"Re $e^{i\varphi}$")
    assert figure_problems(ax.figure) == []
    ax.set_title("N^(-1/2)")
    _one(ax.figure, "title", "raw TeX")


def test_log_axis_span(ax):
    ax.semilogy([0, 1, 2], [1e-30, 1.0, 1e26])
    _one(ax.figure, "log y axis", "> 1e20")


def test_empty_axes():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0, 1], [0, 1])
    b.set_title("later")
    assert figure_problems(fig) == ["axes 1 'later': nothing drawn"]
    plt.close(fig)


def test_recorder_keeps_the_problems_and_report_lists_them(tmp_path, capsys):
    from jqd.run.experiment import Recorder
    from jqd.run.results import write_report

    rec = Recorder(tmp_path / "x", physics="§1")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title(f"fitted C = {float('nan')}")
    rec.figure(fig, "bad.png")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    rec.figure(fig, "good.png")  # the 7-pt physics stamp is not counted
    fig, ax = plt.subplots()
    ax.plot([1e6, 1e6 + 1], [0, 1])
    ax.xaxis.get_offset_text().set_fontsize(5)  # the offset text exists once laid out
    rec.figure(fig, "offset.png")  # the check reads the save's layout
    assert list(rec.figure_problems) == ["bad.png", "offset.png"]
    assert rec.figure_problems["offset.png"] == ["axes 0: x offset font 5 pt < 7"]
    assert "figure bad.png: axes 0" in capsys.readouterr().err
    summary = dict(rec.summary(), wall_time_s=0.0)
    report = write_report(tmp_path, [{"name": "x", "summary": summary}], True, {}, 0.0)
    assert "- x/bad.png: axes 0" in report.read_text()
