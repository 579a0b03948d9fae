"""`jqdlab.figure_check.figure_problems`: one synthetic bad figure per rule,
and a clean figure with no problems."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jqdlab.figure_check import figure_problems  # noqa: E402


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
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 4))
    x = np.linspace(0.1, 1, 20)
    a.plot(x, np.exp(-x), label=r"$e^{-x}$ at $\hbar\omega = 1$")
    a.plot([0.5], [0.5], "o", label="one point, a marker")
    a.set_title("decay")
    a.set_xlabel(r"time $t$ [$1/\omega$]")
    a.legend(fontsize=8, loc="upper right")
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
    ax.plot([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "--", label="zero dropped")  # 2 left: fine
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
    from jqdlab import Recorder
    from jqdlab.results import write_report

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


def _wide(n=1, **kw):
    """A figure of `n` panels of sane size (the shape rules are tested apart)."""
    return plt.subplots(1, n, figsize=(5 * n, 4), **kw)


def test_hidden_curve_mutant_and_fix():
    """Two curves equal to the eye drawn alike: the later hides the earlier (a
    different colour does not show it); a distinct style or marker does."""
    x = np.linspace(0, 3, 40)
    fig, ax = _wide()
    ax.plot(x, np.exp(-x), label="Madelung")
    ax.plot(x, np.exp(-x) * (1 + 1e-6), label="DQM")  # the mutant: same style on top
    ax.plot(x, np.cos(x), label="other")
    assert _one(fig, "hide").startswith("axes 0: lines 'Madelung', 'DQM' hide each other")
    ax.plot(x, np.exp(-x), color="C3", label="Bohm")  # three alike: one line names all
    assert "'Madelung', 'DQM', 'Bohm'" in _one(fig, "hide")
    ax.lines[-1].remove()
    ax.lines[1].set_linestyle("--")  # the fix: distinct styles
    assert figure_problems(fig) == []
    ax.lines[1].set_linestyle("-")
    ax.lines[1].set_marker("o")  # or markers
    assert figure_problems(fig) == []
    ax.lines[1].set_marker("None")
    ax.lines[1].set_ydata(np.exp(-x) + 0.05)  # apart by more than a point: both seen
    assert figure_problems(fig) == []
    plt.close(fig)


def test_hidden_markers_mutant():
    fig, ax = _wide()
    ax.plot([1, 2, 3], [1, 2, 3], "o", color="C0")
    ax.plot([1, 2, 3], [1, 2, 3], "o", color="C1")
    _one(fig, "hide each other")
    ax.lines[1].set_marker("x")
    ax.errorbar([1, 2, 3], [2, 3, 4], yerr=0.0, fmt="s", capsize=2)  # caps of zero bars
    assert figure_problems(fig) == []
    assert figure_problems(fig) == []
    plt.close(fig)


def test_legend_over_data_mutant_and_fix():
    x = np.linspace(0, 1, 50)
    fig, ax = _wide()
    ax.plot(x, x, label="rising")
    ax.plot(x, 1 - x, label="falling")
    ax.legend(loc="center")  # the mutant: the legend sits on the crossing
    assert "legend covers" in _one(fig, "axes 0", "legend covers")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # the fix: beside the axes
    assert figure_problems(fig) == []
    plt.close(fig)


def test_legend_over_scatter_and_figure_legend():
    rng = np.random.default_rng(0)
    fig, ax = _wide()
    ax.scatter(*rng.uniform(0, 1, (2, 400)), label="cloud")
    fig.legend(loc="center")  # a figure legend over an axes' scatter points
    _one(fig, "figure legend covers", "axes 0")
    fig.legends[0].set_visible(False)
    assert figure_problems(fig) == []
    plt.close(fig)


def test_legend_over_histogram_bars_mutant_and_fix():
    """A legend over a histogram's bars (husimi-trajectories' marginals) is
    flagged; with headroom above the bars it is not."""
    rng = np.random.default_rng(1)
    fig, ax = _wide()
    ax.hist(rng.normal(size=4000), bins=40, range=(-4, 4), label="samples")
    ax.set_xlim(-1.2, 1.2)  # only the tall middle bars in view
    ax.legend(loc="center", fontsize=30)
    _one(fig, "legend covers", "axes 0")
    ax.set_ylim(0, 3 * ax.get_ylim()[1])
    ax.legend(loc="upper right")
    assert figure_problems(fig) == []
    plt.close(fig)


def test_overlapping_panel_text_mutant_and_fix():
    """husimi-forward-backward's 2 x 5 panels at 15 x 5.5 in without a layout:
    the lower row's titles sat on the upper row's axis labels."""
    fig, axes = plt.subplots(2, 5, figsize=(15, 5.5))
    for a in axes.flat:
        a.plot([0, 1], [0, 1])
        a.set(title="t = 0.16: KS 0.0131", xlabel="Q (− coordinate)", ylabel="density")
    problems = figure_problems(fig)
    assert any("overlap those of" in p for p in problems), problems
    fig.set_size_inches(16, 7)
    fig.tight_layout()
    assert figure_problems(fig) == []
    plt.close(fig)


def test_squeezed_and_tiny_panels_mutant_and_fix():
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))  # the 2169 x 552 px
    for a in axes:
        a.plot([0, 1], [0, 1])
    axes[3].imshow(np.ones((40, 160)))  # an image 4:1 in a narrow panel: tiny
    problems = figure_problems(fig)
    assert any("figure: 20 x 4.5 in, aspect beyond" in p for p in problems), problems
    assert any(p.startswith("axes 3: panel") and "< 1.2 in" in p for p in problems), problems
    plt.close(fig)
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))  # the fix: a 2 x 2 layout
    for a in axes.flat:
        a.plot([0, 1], [0, 1])
    axes[1, 1].imshow(np.ones((40, 80)))
    assert figure_problems(fig) == []
    plt.close(fig)


def test_flat_panel_mutant():
    fig = plt.figure(figsize=(8, 6))
    ax = fig.add_axes([0.05, 0.45, 0.9, 0.25])  # 7.2 x 1.5 in: 4.8 : 1
    ax.plot([0, 1], [0, 1])
    _one(fig, "aspect beyond 4 : 1")
    ax.set_position([0.05, 0.3, 0.9, 0.4])
    assert figure_problems(fig) == []
    cbar = fig.colorbar(ax.scatter([0, 1], [0, 1], c=[0, 1]))  # a colorbar is thin by design
    assert cbar.ax in fig.axes and figure_problems(fig) == []
    plt.close(fig)


def test_panel_grid_lays_out_by_count():
    from jqdlab.toolkit import panel_grid

    for n in range(1, 10):
        rows, cols, size = panel_grid(n)
        assert rows * cols >= n > (rows - 1) * cols and cols <= 3
        fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
        for a in axes.flat:
            a.plot([0, 1], [0, 1])
        assert figure_problems(fig) == [], (n, figure_problems(fig))
        plt.close(fig)


def test_legend_over_one_curve_among_many_mutant():
    """A legend on one curve's peak is flagged though it covers little of all
    the curves (the stacked densities of nelson-equivariance)."""
    x = np.linspace(-4, 4, 200)
    fig, ax = _wide()
    for k in range(12):
        ax.plot(x, np.exp(-((x - 1.5) ** 2)) + k, label=f"t = {k}" if k == 11 else None)
    ax.plot([-3.5, -3.4], [11.6, 11.6], lw=0.5)  # a short curve under the legend too
    ax.legend(loc="upper right", fontsize=10)
    assert "legend covers" in _one(fig, "legend covers")
    ax.set_ylim(top=ax.get_ylim()[1] + 1.5)  # the fix: room above the top curve
    ax.lines[-1].remove()
    assert figure_problems(fig) == []
    plt.close(fig)
