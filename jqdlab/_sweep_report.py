"""What a finished sweep writes: results.nc (the labelled dataset of either
mode, with CF metadata: `write_netcdf`, which `jqd fit`'s data.nc shares), each
claimed (or scalar) quantity drawn against the swept keys (a claim as value /
tolerance on a log axis), and SUMMARY.md with the pass counts and each item's
claims, pass or fail with their values."""

from __future__ import annotations

import inspect
import json
import math
import re
from pathlib import Path

import numpy as np

from .experiment import _OPS, Recorder, config_to_dict, dumps, split_complex
from .registry import attribute_docs, field_types
from .storage import atomic, write_text_atomic

MAX_PANELS = 16  # per figure; more quantities go to further figures
MAX_LINES = 8  # a second swept key with more values is drawn as an image


def output_dims(name: str, shape, coords: dict) -> list[str]:
    """Dimension names of a sweep output's axes: each matched, in order, to an
    unused `sweep_coords` entry of its length, else `NAME_dimJ`."""
    dims, used = [], set()
    for j, size in enumerate(shape):
        match = next(
            (k for k, v in coords.items() if k not in used and np.shape(v) == (size,)), None
        )
        dims.append(match if match is not None else f"{name}_dim{j}")
        used.add(dims[-1])
    return dims


CF_CONVENTIONS = "CF-1.10"
_AXES = {"t": "time", "x": "position"}  # common names of `sweep_coords` axes
_NAMES = {
    "wall_time_s": "wall time of the item's run",
    "compile_time_s": "compile time in the item's run",
    "item_error": "the item's error message (empty: it ran)",
}
_SECONDS = ("wall_time_s", "compile_time_s")
_PARTS = {"real": "real part of ", "imag": "imaginary part of "}


def _first_clause(text: str, width: int = 60) -> str:
    """A help text's first clause (up to a '; ', '. ' or ': ' outside brackets),
    without its (asides) if longer than `width`: a long_name, not the whole help."""
    depth, paren, out = 0, 0, []
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        paren += (ch == "(") - (ch == ")")
        if depth == 0 and text[i : i + 2] in ("; ", ". ", ": "):
            break
        out.append((ch, paren > 0 or ch == ")"))
    clause = "".join(c for c, _ in out).rstrip(".")
    if len(clause) > width:
        clause = " ".join("".join(c for c, aside in out if not aside).split()).rstrip(" .,")
    return clause


def write_netcdf(ds, exp, config, title: str, path: Path) -> None:
    """Write `ds` (complex variables split) atomically to `path` with CF metadata: `units`
    ("1": natural units; run times "s") and a `long_name` (from the config keys' help,
    the claims' and metrics' names) on every variable, and the global attributes."""
    import jqd

    ds = split_complex(ds)

    docs = attribute_docs(exp.config)

    def long_name(name: str, var) -> str:
        if name in docs:
            return f"{name}: {_first_clause(docs[name])}"
        base, _, what = name.rpartition("__")
        if what in ("tolerance", "passed") and base in ds.variables:
            claim = ds[base].attrs.get("claim", base)
            return f"tolerance of {claim}" if what == "tolerance" else f"{claim}: passed (1) or not"
        if var.attrs.get("claim", name) != name:  # a per-item sweep's claim
            return var.attrs["claim"]
        if "metric" in var.attrs:
            return f"{var.attrs['metric']} (a metric of the run)"
        if name in ds.dims:
            return _AXES.get(name, f"{name} axis of {exp.name}'s sweep outputs")
        if var.attrs.get("part") in _PARTS:
            name = name.rsplit("_", 1)[0]
        return _NAMES.get(name, f"{name} ({exp.name})")

    for name, var in ds.variables.items():
        var.attrs.setdefault("long_name", long_name(name, var))
        var.attrs.setdefault("units", "s" if name in _SECONDS else "1")
        part = _PARTS.get(var.attrs.get("part"), "")
        if not var.attrs["long_name"].startswith(part):
            var.attrs["long_name"] = part + var.attrs["long_name"]
    summary = (inspect.getdoc(exp.config) or "").split("\n\n")[0].replace("\n", " ")
    if summary.startswith(("Attributes", "Config(")):
        summary = ""  # no summary line, or dataclass's own signature
    ds.attrs.update(
        Conventions=CF_CONVENTIONS,
        title=title,
        source=f"jqd {jqd.__version__}",
        jqd_version=jqd.__version__,
        experiment=exp.name,
        comment="numbers in the experiment's natural units (units '1')"
        + (f": {summary}" if summary else ""),
        config=json.dumps(config_to_dict(config), sort_keys=True),
    )
    with atomic(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")


def vmapped_dataset(exp, config, over, results, errors):
    """A vmapped sweep's labelled arrays: dims = swept keys (grid order) then the
    outputs' own axes; `item_error`, and `NAME__tolerance`/`__passed` for the
    experiment's `sweep_claims`."""
    import xarray as xr

    grid_shape, dims = tuple(len(v) for v in over.values()), tuple(over)
    extra = {}
    if exp.sweep_coords is not None:
        extra = {k: np.asarray(v) for k, v in exp.sweep_coords(config).items()}
    coords = {**{k: np.asarray(v) for k, v in over.items()}, **extra}
    data_vars = {}
    for name, arr in results.items():
        trailing = arr.shape[1:]
        own = output_dims(name, trailing, extra)
        data_vars[name] = (dims + tuple(own), arr.reshape(grid_shape + trailing))
    used = {d for v in data_vars.values() for d in v[0]}
    data_vars["item_error"] = (dims, np.asarray(errors).reshape(grid_shape).astype(str))
    coords = {k: v for k, v in coords.items() if k in used}
    ds = xr.Dataset(data_vars, coords=coords, attrs={"mode": "vmapped"})
    for out, (op, tol) in exp.sweep_claims.items():
        values = np.asarray(ds[out].values, float)
        ds[f"{out}__tolerance"] = (dims, np.full(values.shape, float(tol)))
        ds[f"{out}__passed"] = (dims, np.isfinite(values) & _OPS[op](values, float(tol)))
        ds[out].attrs.update(op=op, claim=out)
    return ds


def _slug(name: str, taken: set) -> str:
    """A NetCDF variable name for a claim or metric name."""
    s = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    s = "_".join(p for p in s.split("_") if p)[:60] or "claim"
    base, k = s, 2
    while s in taken:
        s, k = f"{base}_{k}", k + 1
    taken.add(s)
    return s


def per_item_dataset(exp, config, over, records: list[dict]):
    """A per-item sweep's dataset: every claim (measured, `__tolerance`,
    `__passed`; for a claim on an ensemble `__se` and `__step_error`, NaN
    where an item has none) and scalar metric (`metric_NAME`) against the
    swept keys."""
    import xarray as xr

    shape, dims = tuple(len(v) for v in over.values()), tuple(over)
    types_ = field_types(exp.config)
    taken: set = set()
    data = {}
    for column in claim_columns(records):
        key, found = _slug(column["label"], taken), column["claims"]
        measured, tolerance = np.full(len(records), np.nan), np.full(len(records), np.nan)
        passed = np.zeros(len(records), bool)
        for j, c in enumerate(found):
            if c is not None:
                measured[j], tolerance[j], passed[j] = c["measured"], c["tolerance"], c["passed"]
        attrs = {"claim": column["label"], "statement": column["statement"], "op": column["op"]}
        data[key] = xr.Variable(dims, measured.reshape(shape), attrs)
        data[f"{key}__tolerance"] = xr.Variable(dims, tolerance.reshape(shape), attrs)
        data[f"{key}__passed"] = xr.Variable(dims, passed.reshape(shape), attrs)
        data.update(_claim_errors(key, found, dims, shape, attrs))
    for name in sorted({m for r in records for m in r["metrics"]}):
        vals = np.array([r["metrics"].get(name, np.nan) for r in records], float)
        data[f"metric_{_slug(name, taken)}"] = xr.Variable(
            dims, vals.reshape(shape), {"metric": name}
        )
    for field in ("wall_time_s", "compile_time_s"):
        vals = np.array([r.get(field, np.nan) for r in records], float)
        data[field] = xr.Variable(dims, vals.reshape(shape))
    errors = np.array([r["error"] or "" for r in records], dtype=object)
    data["item_error"] = xr.Variable(dims, errors.reshape(shape).astype(str))
    coords = {
        k: np.asarray(v).astype(np.int64) if types_.get(k, int) is int else np.asarray(v)
        for k, v in over.items()
    }
    return xr.Dataset(data, coords=coords, attrs={"mode": "per-item"})


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def claim_columns(records: list[dict]) -> list[dict]:
    """A per-item sweep's claims as columns, one per claim of the run: an item's claim is
    matched by its name with its numbers taken out (a name that carries the item's value,
    "... at p0 = 0.6", stays one column) and its rank among the item's claims of that
    form, where every item that made the run's claims has as many of that form; by its
    name where they do not (a claim only some items make). Each column: label and
    statement (keeping the numbers all its items agree on, "…" for the others), op, and
    the claim of each item (None where it has none)."""
    forms: dict[str, list[list[dict]]] = {}
    for j, record in enumerate(records):
        for c in record["claims"]:
            forms.setdefault(_NUMBER.sub("#", c["name"]), [[] for _ in records])[j].append(c)
    ran = [j for j, r in enumerate(records) if r["claims"]]  # (an item that raised made none)
    columns: dict[tuple, dict] = {}
    for form, per_item in forms.items():
        by_rank = len({len(per_item[j]) for j in ran}) == 1
        for j, found in enumerate(per_item):
            for rank, c in enumerate(found):
                key = (form, rank) if by_rank else (form, c["name"])
                column = columns.setdefault(key, {"claims": [None] * len(records)})
                column["claims"][j] = c
    labels: set = set()
    for column in columns.values():
        found = [c for c in column["claims"] if c is not None]
        column["label"] = label = _common([c["name"] for c in found])
        k = 2
        while column["label"] in labels:
            column["label"], k = f"{label} [{k}]", k + 1
        labels.add(column["label"])
        column["statement"] = _common([c["statement"] for c in found])
        column["op"] = found[0]["op"]
    return list(columns.values())


def _common(texts: list[str]) -> str:
    """`texts` that differ only in their numbers as one, "…" for the numbers that differ."""
    parts = [re.split(f"({_NUMBER.pattern})", t) for t in texts]
    if len({len(p) for p in parts}) > 1:
        return texts[0]
    return "".join(p[0] if len(set(p)) == 1 else "…" for p in zip(*parts, strict=True))


def _claim_errors(key, found, dims, shape, attrs) -> dict:
    """`{key__se, key__step_error}` of a claim on an ensemble (units those of
    the claim's value; `found`: each item's claim or None); a step error given
    as a phrase ("exact sampler") goes into the variable's `step_error_kind`
    attribute."""
    import xarray as xr

    found = [c or {} for c in found]
    out = {}
    for field, what in (("se", "sampling standard error"), ("step_error", "step error")):
        values = [c.get(field) for c in found]
        if all(v is None for v in values):
            continue
        numbers = np.array([v if isinstance(v, int | float) else np.nan for v in values], float)
        phrases = sorted({v for v in values if isinstance(v, str)})
        extra = {"step_error_kind": "; ".join(phrases)} if phrases else {}
        meta = {**attrs, **extra, "long_name": f"{what} of the claim's value"}
        meta["units"] = "those of the claim's value"
        out[f"{key}__{field}"] = xr.Variable(dims, numbers.reshape(shape), meta)
    return out


def scalar_series(dataset, over) -> list[dict]:
    """The quantities to draw: every claim of a per-item sweep (with its
    tolerance and pass flags), or every scalar output of a vmapped sweep (with
    its `sweep_claims` tolerance, if any)."""
    dims = tuple(over)
    out = []
    for name, var in dataset.data_vars.items():
        if name.endswith(("__tolerance", "__passed", "__se", "__step_error")):
            continue
        if name.startswith("metric_"):
            continue
        if var.dims != dims or var.dtype.kind not in "fiub" or name in _SECONDS:
            continue
        tol = dataset.get(f"{name}__tolerance")
        passed = dataset.get(f"{name}__passed")
        tol = None if tol is None else np.asarray(tol.values, float)
        out.append(
            {
                "name": name,
                "label": var.attrs.get("claim", name),
                "op": var.attrs.get("op"),
                "values": np.asarray(var.values, float),
                "tolerance": tol,
                "passed": None if passed is None else np.asarray(passed.values, bool),
                # the items that made the claim (a per-item run may make it in some only)
                "recorded": None if tol is None else ~np.isnan(tol),
            }
        )
    return out


def drawn_values(s: dict) -> np.ndarray:
    """What `_panel` draws of a series: value / tolerance, or the values."""
    ratio = over_tolerance(s)
    return s["values"] if ratio is None else ratio


def over_tolerance(s: dict):
    """A claim's value / tolerance (> 0: values <= 0 are put a decade below the
    smallest positive ratio, so a log axis shows them), or None where the series
    has no tolerance or one that is not > 0 (items without the claim: NaN)."""
    tol = s["tolerance"]
    if tol is None or not np.any(np.isfinite(tol)) or not np.all(tol[np.isfinite(tol)] > 0):
        return None
    with np.errstate(invalid="ignore"):
        ratio = s["values"] / tol
    floor = 0.1 * np.min(ratio[np.isfinite(ratio) & (ratio > 0)], initial=1.0)
    return np.where(np.isfinite(ratio) & (ratio <= 0), floor, ratio)


def _panel(ax, s: dict, over: dict) -> None:
    """A claim as value / tolerance on a log axis, the pass line at 1 (so a reader
    sees how close each item is to failing); a quantity without one as it is."""
    keys = list(over)
    x = np.asarray(over[keys[0]], float)
    ratio = over_tolerance(s)
    v = drawn_values(s).reshape(len(x), -1)
    tol = None if s["tolerance"] is None or ratio is not None else s["tolerance"]
    tol = None if tol is None else tol.reshape(len(x), -1)
    ok = None if s["passed"] is None else s["passed"].reshape(len(x), -1)
    rest = keys[1:]
    n_lines = v.shape[1]
    finite = v[np.isfinite(v)]
    wide = finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100
    positive = ratio is not None or wide
    what = "value / tolerance" if ratio is not None else "value"
    if rest and n_lines > MAX_LINES and len(rest) == 1:
        y = np.asarray(over[rest[0]], float)
        data = np.log10(np.where(v > 0, v, np.nan)) if positive else v
        im = ax.imshow(
            data.T,
            origin="lower",
            aspect="auto",
            extent=(x.min(), x.max(), y.min(), y.max()),
            interpolation="nearest",
        )
        ax.figure.colorbar(im, ax=ax, label=f"log10({what})" if positive else what)
        if ok is not None:
            ax.contour(x, y, ok.T.astype(float), levels=[0.5], colors="w", linewidths=1)
        ax.set_ylabel(rest[0])
    else:
        mesh = np.meshgrid(*[np.asarray(over[k]) for k in rest], indexing="ij")
        combos = {k: m.reshape(-1) for k, m in zip(rest, mesh, strict=True)}
        for j in range(min(n_lines, MAX_LINES)):
            label = ", ".join(f"{k}={c[j]:g}" for k, c in combos.items())
            if np.sum(np.isfinite(v[:, j])) < 2:  # a failed (NaN) series, or one point
                (line,) = ax.plot(x, v[:, j], "s", ms=4, label=label or None)
            else:
                (line,) = ax.plot(x, v[:, j], "-", lw=1, label=label or None)
            if ok is not None:
                ax.plot(x[ok[:, j]], v[ok[:, j], j], "o", ms=3, color=line.get_color())
                ax.plot(x[~ok[:, j]], v[~ok[:, j], j], "x", ms=5, color="C3")
            if tol is not None and j == 0 and np.isfinite(tol).any():
                if np.sum(np.isfinite(tol[:, 0])) < 2:  # one item: a level, not a line
                    level = tol[np.isfinite(tol[:, 0]), 0][0]
                    ax.axhline(level, color="k", ls="--", lw=0.8, label=f"tolerance ({s['op']})")
                else:
                    ax.plot(x, tol[:, 0], "k--", lw=0.8, label=f"tolerance ({s['op']})")
        if ratio is not None:
            ax.axhline(1.0, color="k", ls="--", lw=0.8, label=f"tolerance ({s['op']})")
            ax.set_ylabel(what)
        if positive:
            ax.set_yscale("log")
        if ratio is not None:  # at least 0.3 ... 3 around the pass line: a decade's ticks
            lo, hi = ax.get_ylim()
            ax.set_ylim(min(lo, 0.3), max(hi, 3.0))
        if n_lines > 1 or tol is not None or ratio is not None:
            ax.legend(fontsize=8)
    ax.set_xlabel(keys[0])
    title = _title(s["label"])
    if ok is not None:
        made = ok.size if s.get("recorded") is None else int(s["recorded"].sum())
        title += f"\n{int(ok.sum())}/{made} pass"
    ax.set_title(title, fontsize=8)


def _title(label: str, width: int = 60) -> str:
    """A claim's name as a panel title: its superscripts `^{...}` as mathtext (a
    raw `^{` would print as typed), shortened to `width` outside any `$...$`."""
    text = re.sub(r"\^\{([^{}$]*)\}", r"$^{\1}$", label)
    if len(text) <= width:
        return text
    cut = text[: width - 3]
    if cut.count("$") % 2:  # do not end inside a mathtext span
        cut = cut[: cut.rindex("$")]
    return cut + "..."


def draw(rec, series: list[dict], over: dict, experiment: str) -> list[str]:
    """One panel per quantity with a finite value to draw (circles pass, crosses fail,
    dashed the tolerance; a claim drawn as value / tolerance on a log axis)."""
    import matplotlib.pyplot as plt

    series = [s for s in series if np.isfinite(drawn_values(s)).any()]  # no empty panels
    names = []
    for page in range(math.ceil(len(series) / MAX_PANELS)):
        chunk = series[page * MAX_PANELS : (page + 1) * MAX_PANELS]
        cols = min(4, len(chunk))
        rows = math.ceil(len(chunk) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
        for ax, s in zip(axes.ravel(), chunk, strict=False):
            _panel(ax, s, over)
        for ax in axes.ravel()[len(chunk) :]:
            ax.set_visible(False)
        fig.suptitle(f"{experiment}: sweep over {', '.join(over)}", fontsize=10)
        fig.tight_layout()
        name = "claims.png" if page == 0 else f"claims_{page + 1}.png"
        rec.figure(fig, name)
        names.append(name)
    return names


MAX_ROWS = 50  # items in SUMMARY.md's table of claims per item (more: the failing ones)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_summary_md(
    path: Path, experiment: str, mode: str, over, series, failed, wall, errors=()
) -> None:
    """SUMMARY.md: each quantity's pass count and range (`series`), then the claims
    item by item, pass or fail with the value (`errors`: each item's error or "")."""
    n = int(np.prod([len(v) for v in over.values()]))
    lines = [
        f"# {experiment}: sweep ({mode} mode)",
        "",
        f"{n} items over "
        + ", ".join(f"{k} ({len(v)} values)" for k, v in over.items())
        + f"; wall {wall:.1f} s.",
        "",
        "| # | quantity | op | tolerance | items passed | min | max |",
        "|---|---|---|---|---|---|---|",
    ]
    claims, undrawn = [], []
    for s in series:
        v = s["values"][np.isfinite(s["values"])]
        tol, tol_text, column = s["tolerance"], "", ""
        if tol is not None and np.isfinite(tol).any():
            lo, hi = np.nanmin(tol), np.nanmax(tol)
            tol_text = f"{lo:.3g}" if lo == hi else f"{lo:.3g} … {hi:.3g}"
        passed = ""
        if s["passed"] is not None:
            claims.append(s)
            column = f"c{len(claims)}"
            passed = f"{int(s['passed'].sum())}/{int(s['recorded'].sum())}"
        if not np.isfinite(drawn_values(s)).any():
            undrawn.append(s["label"])
        lo = f"{v.min():.4g}" if v.size else "nan"
        hi = f"{v.max():.4g}" if v.size else "nan"
        lines.append(
            f"| {column} | {_cell(s['label'])} | {s['op'] or ''} | {tol_text} | {passed} | "
            f"{lo} | {hi} |"
        )
    if undrawn:
        lines += ["", f"Not drawn (no finite value): {'; '.join(undrawn)}."]
    lines += _item_table(claims, over, list(errors))
    if failed:
        lines += [
            "",
            f"{len(failed)} item(s) raised an error (variable `item_error` of results.nc):",
        ]
        lines += [f"- {e}" for e in failed[:20]]
    path.write_text("\n".join(lines) + "\n")


def _item_table(claims: list[dict], over: dict, errors: list[str]) -> list[str]:
    """The claims item by item: `pass 1.2e-07`, `**FAIL** 3.4`, or `—` where the item
    made no such claim; every item up to `MAX_ROWS`, else the failing ones."""
    if not claims:
        return []
    mesh = np.meshgrid(*[np.asarray(v) for v in over.values()], indexing="ij")
    items = [m.reshape(-1) for m in mesh]
    n = items[0].size
    claims = [{k: s[k].reshape(-1) for k in ("values", "passed", "recorded")} for s in claims]
    errors = [e or "" for e in errors] or [""] * n
    bad = np.array([bool(e) for e in errors])
    for s in claims:
        bad |= s["recorded"] & ~s["passed"]
    rows = list(range(n)) if n <= MAX_ROWS else list(np.flatnonzero(bad)[:MAX_ROWS])
    note = "" if n <= MAX_ROWS else f" ({len(rows)} of the {int(bad.sum())} failing items of {n})"
    head = ["item", *over, *(f"c{k + 1}" for k in range(len(claims)))]
    head += ["error"] if any(errors) else []
    lines = [
        "",
        f"## Claims per item{note}",
        "",
        "Each claim (c1, c2, … as numbered above) pass or FAIL with its value; — : the item "
        "made no such claim.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for i in rows:
        cells = [str(i), *(f"{m[i]:g}" for m in items)]
        for s in claims:
            if not s["recorded"][i]:
                cells.append("—")
            else:
                cells.append(f"{'pass' if s['passed'][i] else '**FAIL**'} {s['values'][i]:.3g}")
        cells += [_cell(errors[i][:80])] if any(errors) else []
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def claim_counts(dataset) -> dict:
    """Claim -> {passed, items}: the items that pass it of those that made it."""
    out = {}
    for name, var in dataset.data_vars.items():
        if name.endswith("__passed"):
            base = name[: -len("__passed")]
            label = dataset[base].attrs.get("claim", base)
            made = ~np.isnan(np.asarray(dataset[f"{base}__tolerance"].values, float))
            out[label] = {"passed": int(var.values[made].sum()), "items": int(made.sum())}
    return out


def failing_claims(dataset, items: dict) -> list[str]:
    """`item I (KEY=V, ...): CLAIM: VALUE OP TOLERANCE fails` for each item that made a
    claim and failed it (`items`: the flattened grid)."""
    out = []
    for name, var in dataset.data_vars.items():
        if not name.endswith("__passed"):
            continue
        base = name[: -len("__passed")]
        value, op = dataset[base], dataset[base].attrs.get("op", "")
        tol = np.asarray(dataset[f"{base}__tolerance"].values, float).reshape(-1)
        values, ok = np.asarray(value.values, float).reshape(-1), var.values.reshape(-1)
        for i in np.flatnonzero(~np.isnan(tol) & ~ok):
            where = ", ".join(f"{k}={v[i]:g}" for k, v in items.items())
            label = value.attrs.get("claim", base)
            out.append(f"item {i} ({where}): {label}: {values[i]:.3g} {op} {tol[i]:.3g} fails")
    return out


def write_results(exp, config, out_dir, dataset, over, mode, failed, wall, summary) -> None:
    title = f"jqd sweep {exp.name} ({mode})"
    write_netcdf(dataset, exp, config, title, out_dir / "results.nc")
    series = scalar_series(dataset, over)
    rec = Recorder(out_dir, physics=exp.physics)
    summary["figures"] = draw(rec, series, over, exp.name)
    summary["figure_problems"] = rec.figure_problems
    errors = np.asarray(dataset["item_error"].values).reshape(-1).tolist()
    write_summary_md(out_dir / "SUMMARY.md", exp.name, mode, over, series, failed, wall, errors)
    write_text_atomic(out_dir / "summary.json", dumps(summary) + "\n")
