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
- hidden curves: two visible lines of one axes within HIDDEN_PT of each
  other at every point, drawn with the same line style, marker and width:
  the later one hides the earlier (a different colour does not show it).
  Where curves coincide by physics, draw them with distinct line styles or
  markers and say so in a label or title.
- legend over data: a legend (of an axes or the figure) whose box holds more
  than LEGEND_COVER of an axes' data (line vertices, and points every
  LEGEND_STEP_PT along each drawn line segment; scatter points), or more
  than LEGEND_COVER_LINE of one line's.
- overlapping text: an axes' title or axis label overlapping another axes'
  title, labels or tick labels (or the suptitle) by more than OVERLAP_PT in
  both directions: panels too close for their labels.
- panel shape: a main axes (not a colorbar or an inset) smaller than
  MIN_PANEL_IN inches on a side, or wider or taller than MAX_PANEL_ASPECT : 1,
  as drawn; a figure wider or taller than MAX_FIGURE_ASPECT : 1 (lay panels
  out by their count: `jqdlab.toolkit.panel_grid`).

Call it before adding the caller's own decorations (e.g. a provenance stamp).
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.container import ErrorbarContainer
from matplotlib.patches import Rectangle

MIN_TEXT_PT = 8.0
MIN_TICK_PT = 7.0
MAX_LOG_SPAN = 1e20
HIDDEN_PT = 1.0  # curves closer than this everywhere look like one
LEGEND_COVER = 0.02  # fraction of an axes' data samples a legend may cover
LEGEND_COVER_LINE = 0.05  # ... and of one line's
LEGEND_STEP_PT = 4.0  # sampling step along drawn line segments
MIN_PANEL_IN = 1.2
MAX_PANEL_ASPECT = 4.0
MAX_FIGURE_ASPECT = 4.0
OVERLAP_PT = 2.0  # text boxes of two panels overlapping by more than this collide

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


def _data_lines(ax):
    """(line, display xy of its finite points) for each visible Line2D of `ax`
    in data coordinates on both axes (not axhline/axvline, not error-bar caps)."""
    caps = {id(cap) for c in ax.containers if isinstance(c, ErrorbarContainer) for cap in c[1]}
    out = []
    for line in ax.lines:
        if not line.get_visible() or line.get_alpha() == 0 or id(line) in caps:
            continue
        if not all(line.get_transform().contains_branch_seperately(ax.transData)):
            continue
        try:
            x = np.asarray(line.get_xdata(), dtype=float).ravel()
            y = np.asarray(line.get_ydata(), dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        n = min(x.size, y.size)
        if n == 0:
            continue
        with np.errstate(all="ignore"):
            xy = line.get_transform().transform(np.column_stack([x[:n], y[:n]]))
        out.append((line, xy))
    return out


def _style(line) -> tuple:
    dashes = line._unscaled_dash_pattern if hasattr(line, "_unscaled_dash_pattern") else None
    marker = line.get_marker() if line.get_marker() not in ("", " ", None) else "None"
    drawn = line.get_linestyle() not in ("None", " ", "")
    return (drawn, str(dashes) if drawn else "", str(marker), round(line.get_linewidth(), 1))


def _label(line) -> str:
    label = line.get_label()
    return repr(label) if label and not label.startswith("_") else "(unlabelled)"


def _hidden_problems(where, lines, pt_per_px) -> list[str]:
    """One line per group of curves drawn alike within HIDDEN_PT of each other."""
    group = list(range(len(lines)))  # each line's first look-alike drawn before it
    for j, (b, xy_b) in enumerate(lines):
        for i, (a, xy_a) in enumerate(lines[:j]):
            if group[i] != i or xy_a.shape != xy_b.shape or _style(a) != _style(b):
                continue
            ok = np.isfinite(xy_a).all(1) & np.isfinite(xy_b).all(1)
            if not ok.any() or (ok.sum() < 2 and xy_a.shape[0] > 1):
                continue
            if np.max(np.hypot(*(xy_a[ok] - xy_b[ok]).T)) * pt_per_px < HIDDEN_PT:
                group[j] = i
                break
    out = []
    for i in sorted(set(group)):
        members = [lines[j][0] for j in range(len(lines)) if group[j] == i]
        if len(members) > 1:
            names = ", ".join(_label(m) for m in members)
            out.append(
                f"{where}: lines {_short(names, 60)} hide each other (drawn alike, within "
                f"{HIDDEN_PT:g} pt everywhere): give coinciding curves distinct styles or "
                "markers and say so"
            )
    return out


def _samples(lines, ax, px_per_pt) -> list[np.ndarray]:
    """Display points of `ax`'s data inside it, one array per line, scatter or
    set of bars: line vertices, points every LEGEND_STEP_PT along drawn
    segments, scatter offsets, the tops of bars."""
    parts = []
    box = ax.bbox
    for line, xy in lines:
        xy = xy[np.isfinite(xy).all(1)]
        if xy.shape[0] == 0:
            continue
        if line.get_linestyle() not in ("None", " ", "") and xy.shape[0] > 1:
            seg = np.diff(xy, axis=0)
            k = np.clip(np.ceil(np.hypot(*seg.T) / (LEGEND_STEP_PT * px_per_pt)), 1, 200)
            k = k.astype(int)
            starts = np.repeat(xy[:-1], k, axis=0)
            steps = np.repeat(seg / k[:, None], k, axis=0)
            frac = np.concatenate([np.arange(m) for m in k])[:, None]
            xy = np.vstack([starts + steps * frac, xy[-1:]])
        parts.append(xy)
    for c in ax.collections:
        offsets = c.get_offsets() if c.get_visible() else None
        if offsets is None or len(offsets) < 2 or c.get_offset_transform() is not ax.transData:
            continue
        try:
            with np.errstate(all="ignore"):
                parts.append(ax.transData.transform(np.asarray(offsets, dtype=float)))
        except (TypeError, ValueError):
            continue
    bars = [  # the data end of each histogram or bar-chart bar
        (b.get_x() + 0.5 * b.get_width(), b.get_y() + b.get_height())
        for b in ax.patches
        if isinstance(b, Rectangle)
        and b.get_visible()
        and b.get_height() != 0
        and b.get_data_transform() is ax.transData
    ]
    if len(bars) > 1:
        with np.errstate(all="ignore"):
            parts.append(ax.transData.transform(np.asarray(bars, dtype=float)))
    out = []
    for pts in parts:
        inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1)
        inside &= (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
        if inside.any():
            out.append(pts[inside])
    return out


def _covered(legend, parts) -> float:
    """The fraction of all of `parts` under `legend`, or of one part when that
    is over LEGEND_COVER_LINE (scaled so that either bound reads as > LEGEND_COVER)."""
    if not parts:
        return 0.0
    box = legend.get_window_extent()
    under = []
    for pts in parts:
        inside = (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1)
        inside &= (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
        under.append(inside)
    total = float(np.concatenate(under).mean())
    worst = max(float(u.mean()) for u in under)
    return max(total, worst) if worst > LEGEND_COVER_LINE else total


def _shape_problems(where, ax, fig) -> list[str]:
    if not ax.get_visible() or hasattr(ax, "_colorbar") or not ax.axison and not ax.images:
        return []
    pos = ax.get_position()
    w, h = pos.width * fig.get_figwidth(), pos.height * fig.get_figheight()
    out = []
    if min(w, h) < MIN_PANEL_IN:
        out.append(f"{where}: panel {w:.2f} x {h:.2f} in, a side < {MIN_PANEL_IN:g} in")
    if max(w / h, h / w) > MAX_PANEL_ASPECT:
        out.append(f"{where}: panel {w:.2f} x {h:.2f} in, aspect beyond {MAX_PANEL_ASPECT:g} : 1")
    return out


def _layout_problems(fig, main) -> list[str]:
    """Hidden curves, legends over data and panel shapes (needs a laid-out figure)."""
    out = []
    pt_per_px = 72.0 / fig.dpi
    w, h = fig.get_size_inches()
    if max(w / h, h / w) > MAX_FIGURE_ASPECT:
        out.append(
            f"figure: {w:g} x {h:g} in, aspect beyond {MAX_FIGURE_ASPECT:g} : 1 "
            "(lay the panels out by their count)"
        )
    samples = []
    for i, ax in main:
        where = _axes_name(i, ax)
        lines = _data_lines(ax)
        out += _hidden_problems(where, lines, pt_per_px)
        pts = _samples(lines, ax, 1.0 / pt_per_px)
        samples.append((where, pts))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            cover = _covered(legend, pts)
            if cover > LEGEND_COVER:
                out.append(
                    f"{where}: legend covers {cover:.0%} of the data drawn (of one curve or all)"
                )
        if "." not in i:
            out += _shape_problems(where, ax, fig)
    for legend in fig.legends:
        if not legend.get_visible():
            continue
        for where, pts in samples:
            cover = _covered(legend, pts)
            if cover > LEGEND_COVER:
                out.append(
                    f"figure legend covers {cover:.0%} of the data drawn in {where} (of one curve or all)"
                )
    return out


def _texts(ax) -> list[tuple[bool, object]]:
    """(is a title or axis label, text) of `ax`'s visible title, axis labels
    and tick labels."""
    major = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
    ticks = []
    for axis in (ax.xaxis, ax.yaxis):
        try:  # the ticks drawn: get_ticklabels() also holds those outside the view limits
            drawn = axis._update_ticks()
        except Exception:  # (a private method; without it, leave the ticks out)
            drawn = []
        ticks += [label for t in drawn for label in (t.label1, t.label2)]
    out = [(True, t) for t in major] + [(False, t) for t in ticks]
    return [(m, t) for m, t in out if t.get_visible() and t.get_text().strip()]


def _overlap_problems(fig, main) -> list[str]:
    """A title or axis label of one panel over another panel's text (or the
    suptitle); two tick labels touching at a corner are left alone."""
    renderer = fig.canvas.get_renderer()
    pad = OVERLAP_PT * fig.dpi / 72.0
    boxes = []
    for i, ax in main:
        texts = [(m, t.get_window_extent(renderer)) for m, t in _texts(ax)]
        boxes.append((_axes_name(i, ax), texts))
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_visible() and sup.get_text().strip():
        boxes.append(("the suptitle", [(True, sup.get_window_extent(renderer))]))

    def hit(p, q):
        return min(p.x1, q.x1) - max(p.x0, q.x0) > pad and min(p.y1, q.y1) - max(p.y0, q.y0) > pad

    out = []
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            if any((m or n) and hit(p, q) for m, p in boxes[a][1] for n, q in boxes[b][1]):
                out.append(
                    f"{boxes[a][0]}: its labels or title overlap those of {boxes[b][0]} "
                    "(more room between panels: fig.tight_layout() or a larger figure)"
                )
    return out


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
    main = _all_axes(fig)
    for i, ax in main:
        out += _axes_problems(i, ax)
    return out + _layout_problems(fig, main) + _overlap_problems(fig, main)
