"""Does a matplotlib figure read correctly? `figure_problems(fig)` lists what
would make a saved figure look like a failure, before it is saved.

The rules (each problem is one line naming the axes, by title or index):

- text: no "nan" or "inf" (as words) in any visible text: suptitle, figure
  texts, axes titles, axis labels, legend entries and titles, annotations,
  tick labels. A quantity that was not computed should say so in words.
- font size: legend entries and every other text >= 8 pt; tick labels
  >= 7 pt (dense axes may use smaller ticks, never smaller labels).
- lines: a visible Line2D drawn as a line (linestyle not 'None') needs >= 2
  finite points (positive ones on a log axis); one point draws nothing.
- TeX: no raw `^`, `_{` or `{...}` outside `$...$` mathtext (they would
  be printed literally: write `$N^{-1/2}$`, `$e^{i\\varphi}$`).
- log axes: limits spanning more than 1e20 (a quantity blew up or has zeros).
- empty axes: a visible axes with nothing drawn in it.

Call it before adding the caller's own decorations (e.g. a provenance stamp).
"""

from __future__ import annotations

import re

import numpy as np

MIN_TEXT_PT = 8.0
MIN_TICK_PT = 7.0
MAX_LOG_SPAN = 1e20

_NONFINITE = re.compile(r"(?<![\w\\])[+\-−]?(nan|inf)(?!\w)", re.IGNORECASE)
_RAW_TEX = re.compile(r"\^|_\{|\{[^{}]*\}")


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _outside_math(s: str) -> str:
    """The parts of `s` outside `$...$` (all of it if the dollars are unbalanced)."""
    parts = re.split(r"(?<!\\)\$", s)
    if len(parts) % 2 == 0:
        return s
    return " ".join(parts[0::2])


def _text_problems(where: str, what: str, text, min_pt: float) -> list[str]:
    s = text.get_text() if text is not None and text.get_visible() else ""
    if not s.strip():
        return []
    out, short = [], _short(s, 40)
    if _NONFINITE.search(s):
        out.append(f"{where}: {what} {short!r} shows nan/inf")
    size = float(text.get_fontsize())
    if size < min_pt:
        out.append(f"{where}: {what} font {size:g} pt < {min_pt:g}")
    if _RAW_TEX.search(_outside_math(s)):
        out.append(f"{where}: {what} {short!r} has raw TeX (^ or braces) outside $...$")
    return out


def _legend_problems(where: str, legend) -> list[str]:
    if legend is None or not legend.get_visible():
        return []
    out = _text_problems(where, "legend title", legend.get_title(), MIN_TEXT_PT)
    for t in legend.get_texts():
        out += _text_problems(where, "legend", t, MIN_TEXT_PT)
    return list(dict.fromkeys(out))  # one line per distinct problem


def _finite_points(line, ax) -> int | None:
    try:
        x = np.asarray(line.get_xdata(), dtype=float).ravel()
        y = np.asarray(line.get_ydata(), dtype=float).ravel()
    except (TypeError, ValueError):
        return None  # dates, units, categories: not ours to judge
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    x_data, y_data = line.get_transform().contains_branch_seperately(ax.transData)
    if x_data and ax.get_xscale() == "log":
        ok &= x > 0  # a log axis drops the rest
    if y_data and ax.get_yscale() == "log":
        ok &= y > 0
    return int(ok.sum())


def _axes_name(i, ax) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    return f"axes {i} {_short(title, 30)!r}" if title else f"axes {i}"


def _all_axes(fig):
    """(index, axes) for every axes, insets included ("2.0": inset 0 of axes 2)."""
    out = [(str(i), ax) for i, ax in enumerate(fig.axes)]
    return out + [(f"{i}.{j}", c) for i, ax in out for j, c in enumerate(ax.child_axes)]


def _axes_problems(i: str, ax) -> list[str]:
    where = _axes_name(i, ax)
    out = []
    for title in (ax.title, ax._left_title, ax._right_title):
        out += _text_problems(where, "title", title, MIN_TEXT_PT)
    axes = [("x", ax.xaxis), ("y", ax.yaxis)] + ([("z", ax.zaxis)] if hasattr(ax, "zaxis") else [])
    for name, axis in axes:
        out += _text_problems(where, f"{name} label", axis.label, MIN_TEXT_PT)
        out += _text_problems(where, f"{name} offset", axis.get_offset_text(), MIN_TICK_PT)
        for tick in axis.get_ticklabels(which="both"):
            out += _text_problems(where, f"{name} tick label", tick, MIN_TICK_PT)
    for t in ax.texts:
        out += _text_problems(where, "text", t, MIN_TEXT_PT)
    out += _legend_problems(where, ax.get_legend())
    for line in ax.lines:
        if not line.get_visible() or line.get_linestyle() == "None":
            continue
        n = _finite_points(line, ax)
        if n is not None and n < 2:
            label = line.get_label()
            named = f" {label!r}" if label and not label.startswith("_") else ""
            out.append(f"{where}: line{named} has {n} finite point(s); a line needs >= 2")
    for name in "xy":
        scale, lim = getattr(ax, f"get_{name}scale")(), getattr(ax, f"get_{name}lim")()
        lo, hi = sorted(abs(v) for v in lim)
        if scale == "log" and lo > 0 and hi / lo > MAX_LOG_SPAN:
            out.append(f"{where}: log {name} axis spans {lo:.0e} to {hi:.0e} (> 1e20)")
    drawn = ax.lines or ax.collections or ax.images or ax.patches or ax.texts or ax.tables
    if ax.get_visible() and not (drawn or ax.artists or ax.get_legend()):
        out.append(f"{where}: nothing drawn")
    return list(dict.fromkeys(out))


def figure_problems(fig, laid_out: bool = False) -> list[str]:
    """What would make `fig` (a matplotlib Figure) read wrongly; [] if nothing.

    See the module docstring for the rules. Lays the figure out once
    (without rendering) so that tick labels exist, unless `laid_out` (it was
    just drawn or saved: a second layout adds about 40 % to a save's time).
    """
    if not laid_out:
        fig.draw_without_rendering()
    out = []
    sup = {what: getattr(fig, f"_{what}", None) for what in ("suptitle", "supxlabel", "supylabel")}
    for what, text in sup.items():
        out += _text_problems("figure", what, text, MIN_TEXT_PT)
    for t in fig.texts:
        if not any(t is s for s in sup.values()):  # fig.texts holds the suptitle too
            out += _text_problems("figure", "text", t, MIN_TEXT_PT)
    for legend in fig.legends:
        out += _legend_problems("figure", legend)
    for i, ax in _all_axes(fig):
        out += _axes_problems(i, ax)
    return out
