"""The experiment contract: what an experiment module provides.

An experiment lives in `experiments/<name_with_underscores>/experiment.py`
beside a README.md (the question it answers and the answer it got) and
defines a module-level `EXPERIMENT = Experiment(...)`:

    @experiment_config(quick=dict(cutoff=32), limits={"alpha0": "> 0"})  # jqdlab.toolkit
    class Config:             # a frozen dataclass with quick() (< 1 min on CPU) and limits
        alpha0: float = 3.0
        cutoff: int = 64

    def run(config: Config, rec: Recorder) -> None:
        ...
        rec.claim("kerr <a(t)> error", "physics §4: <a(t)> = α0 exp[|α0|²(e^{-iUt}-1)]",
                  measured=err, tolerance=1e-10)          # passes if measured <= tolerance
        rec.metric("max_error", err)
        rec.figure(fig, "revival.png")
        rec.arrays(dataset, "revival.nc")                   # an xarray.Dataset
        if rec.animate:                                     # `jqd run NAME --animate`
            rec.animation(fig, update, len(ts), "revival.mp4", claim="...")

    EXPERIMENT = Experiment(description="...", physics="§4.6")

Its name, config, run and hooks are found by convention (`Experiment`'s
attributes; `jqdlab.registry.load`); configs are validated before anything
runs (`jqdlab.validate`; the fields named as times and step counts,
`RUN_LENGTH_KEYS`, are bounded by the run budget), and the `jqd` command runs
experiments in float64.
"""

from __future__ import annotations

import dataclasses
import json
import math
import operator
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_LIMIT = re.compile(r"^\s*(>=|<=|>|<)\s*([-+0-9.eE]+|inf)\s*$")
# The Config fields that set how long a run is, by name (`jqdlab.validate.check_run_length`
# bounds them by the run budget): times (`T`, `t_*`) and step counts (`n_steps`, `n_t`,
# `steps_per_*`, and `n_save` beside `steps_per_save`: jqd.evolve's steps) lengthen it,
# time steps (`dt`, `dt_*`) shorten it.
RUN_LENGTH_KEYS = re.compile(r"^(T|t_\w+|n_steps|n_t|steps_per_\w+)$")
TIME_STEP_KEYS = re.compile(r"^dt(_\w+)?$")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One checked statement: `measured op tolerance` must hold.

    Attributes:
        name: short label.
        statement: the statement it tests, citing docs/physics.md ("physics §1") or a paper label ("Z16").
        measured: the measured value (a float).
        tolerance: the bound.
        op: comparison, one of "<=", "<", ">=", ">" (default "<=").
        passed: whether `measured op tolerance` holds (NaN never passes)
            and, for a time-stepped ensemble, |step_error| <= |tolerance|.
        se: for a claim on an ensemble, the sampling standard error of
            `measured` (None: not an ensemble claim).
        step_error: for a time-stepped ensemble, `measured` at dt minus
            `measured` at dt/2 on coupled noise (a float), or a phrase where
            there is none ("exact sampler", "exact in dt"); None otherwise.
        reason: why a claim failed that its value alone would pass.
    """

    name: str
    statement: str
    measured: float
    tolerance: float
    op: str = "<="
    passed: bool = False
    se: float | None = None
    step_error: float | str | None = None
    reason: str = ""


class Recorder:
    """Collects an experiment's claims, metrics, figures and arrays, writing
    files under `out_dir` as they come."""

    def __init__(self, out_dir: str | Path, seed: int = 0, physics: str = ""):
        self.out_dir = Path(out_dir)
        self.physics = physics  # sections of docs/physics.md, stamped on every figure
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.seed = int(seed)
        self.claims: list[Claim] = []
        self.metrics: dict[str, Any] = {}
        self.figures: list[str] = []
        self.array_files: list[str] = []
        self.animations: list[str] = []
        self.figure_problems: dict[str, list[str]] = {}  # filename -> what figure_check found
        self.animate = False  # `jqd run NAME --animate`: write rec.animation(...) files
        self.progress_hook: Callable[[str], None] | None = None  # set by `jqd run`
        # False in a per-item sweep: figures and arrays are skipped (claims and metrics kept)
        self.record_files = True

    def progress(self, stage: str) -> None:
        """Say which stage the run is in (`jqd run` prints `jqd> NAME  t s  stage`
        on stderr; nothing otherwise), e.g. `rec.progress("fit: 40 of 200 steps")`.
        Runs that compile or compute for long should call it between stages:
        `jqd` also prints a heartbeat with the compile time so far."""
        if self.progress_hook is not None:
            self.progress_hook(stage)

    def claim(
        self, name, statement, measured, tolerance, op: str = "<=", *, se=None, step_error=None
    ) -> Claim:
        """Record `measured op tolerance`. A claim that rests on an ensemble
        gives its sampling standard error `se` and, for a time-stepped law,
        its `step_error` (the value at dt minus at dt/2 on coupled noise,
        `jqd.Errors`; or "exact sampler"). It then fails, whatever its value,
        when it is not converged in dt: for a bound on an error ("<=", "<")
        when |step_error| > |tolerance|; for a lower bound (">=", ">") when
        the value at dt/2, measured − step_error, fails the bound."""
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {op!r}.")
        measured = float(np.asarray(measured))
        tolerance = float(tolerance)
        passed = bool(math.isfinite(measured) and _OPS[op](measured, tolerance))
        se = None if se is None else float(np.asarray(se))
        reason = ""
        if step_error is not None and not isinstance(step_error, str):
            step_error = float(np.asarray(step_error))
            reason = _unconverged(measured, tolerance, op, step_error)
            passed = passed and not reason
        c = Claim(name, statement, measured, tolerance, op, passed, se, step_error, reason)
        self.claims.append(c)
        return c

    def key(self):
        """A `jax.random` key from the run's seed (`jqd run --seed N`)."""
        import jax

        return jax.random.key(self.seed)

    def metric(self, name: str, value) -> None:
        self.metrics[name] = _jsonable(value)

    def figure(self, fig, filename: str, dpi: int = 120) -> Path:
        """Save a matplotlib figure (PNG) and close it; `jqdlab.figure_check` then
        looks for what would make it misread (on the save's layout): its problems
        are printed and kept in the summary's `figure_problems` (REPORT.md lists them)."""
        import matplotlib.pyplot as plt

        if not self.record_files:
            plt.close(fig)
            return None
        from .figure_check import figure_problems

        self.progress(f"figure {filename}")
        path = self.out_dir / filename
        stamp = self._stamp(fig, y=0.002, fontsize=7)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        if stamp is not None:
            stamp.remove()  # the 7-pt stamp is ours, below the check's 8 pt on purpose
        problems = figure_problems(fig, laid_out=True)  # the save laid it out
        if problems:
            self.figure_problems[filename] = problems
            print(f"figure {filename}: " + "; ".join(problems), file=sys.stderr)
        plt.close(fig)
        self.figures.append(filename)
        return path

    def _stamp(self, fig, y: float, fontsize: float):
        """The physics.md sections this experiment checks, bottom right of `fig`
        (the Text; None without sections)."""
        if not self.physics:
            return None
        return fig.text(
            0.995,
            y,
            f"docs/physics.md {self.physics}",
            ha="right",
            va="bottom",
            fontsize=fontsize,
            color="0.4",
        )

    def animation(
        self,
        fig,
        update: Callable[[int], str | None],
        n_frames: int,
        filename: str,
        *,
        claim: str,
        fps: float = 8.0,
        dpi: int = 100,
    ) -> Path | None:
        """Write an animation of `fig` and close it; only when `self.animate`.

        Args:
            fig: a matplotlib figure showing frame 0; laid out once (constrained
                layout, unless it has another layout engine), for frame 0.
            update: `update(i)` redraws frame i (0 <= i < n_frames) by changing
                the figure's artists; returns the frame's time stamp (e.g.
                "Ut = 1.57"), shown under the title, or None.
            n_frames: number of frames (>= 1).
            filename: "name.mp4"; MP4 through imageio-ffmpeg's bundled ffmpeg,
                or, when imageio-ffmpeg is not installed, "name.gif" (pillow).
            claim: the claim the animation illustrates: the title of every
                frame (wrapped to the figure's width).
            fps: frames per second.
            dpi: resolution.

        Returns the path written, or None (nothing done) when `self.animate`
        is False: experiments should test `rec.animate` before computing frames.
        """
        import matplotlib.pyplot as plt

        if not self.animate:
            plt.close(fig)
            return None
        if int(n_frames) < 1:
            raise ValueError(f"animation {filename}: n_frames must be >= 1; got {n_frames}.")
        from matplotlib import animation

        try:
            import imageio_ffmpeg
        except ImportError:
            filename = str(Path(filename).with_suffix(".gif"))
            print(f"imageio-ffmpeg is not installed (pip install jqd[anim]): writing {filename}")
            writer, rc = animation.PillowWriter(fps=fps), {}
        else:
            filename = str(Path(filename).with_suffix(".mp4"))
            writer = animation.FFMpegWriter(fps=fps, codec="h264", bitrate=-1)
            rc = {"animation.ffmpeg_path": imageio_ffmpeg.get_ffmpeg_exe()}
        if fig.get_layout_engine() is None:  # room for the title and stamp
            fig.set_layout_engine("constrained")
        width = max(40, int(fig.get_figwidth() * 10))  # characters per title line
        title = _wrap(claim, width)
        suptitle = fig.suptitle(f"{title}\n{update(0) or ''}")
        self._stamp(fig, y=0.003, fontsize=8)
        path = self.out_dir / filename
        try:
            fig.canvas.draw()  # lay out frame 0, then keep that layout: frames only redraw
            with plt.rc_context(
                {"figure.autolayout": False, "figure.constrained_layout.use": False}
            ):
                fig.set_layout_engine(None)  # (no engine: one draw per frame, not two)
            with plt.rc_context(rc), writer.saving(fig, str(path), dpi):
                for i in range(int(n_frames)):
                    suptitle.set_text(f"{title}\n{update(i) or ''}")
                    writer.grab_frame()
        finally:
            plt.close(fig)
        self.animations.append(filename)
        return path

    def arrays(self, dataset, filename: str) -> Path:
        """Save an `xarray.Dataset` (labelled coordinates) as NetCDF.

        Complex variables are stored as `<name>_real` and `<name>_imag` (plain
        NetCDF has no complex type); see `split_complex`.
        """
        if not self.record_files:
            return None
        path = self.out_dir / filename
        split_complex(dataset).to_netcdf(path, engine="h5netcdf")
        self.array_files.append(filename)
        return path

    def summary(self) -> dict[str, Any]:
        return {
            "claims": [dataclasses.asdict(c) for c in self.claims],
            "metrics": self.metrics,
            "figures": self.figures,
            "arrays": self.array_files,
            "animations": self.animations,
            "figure_problems": self.figure_problems,
            "passed": all(c.passed for c in self.claims),
        }


def _unconverged(measured, tolerance, op, step) -> str:
    """Why a claim is not converged in dt (`Recorder.claim`), or ""."""
    if op in ("<=", "<"):
        if abs(step) <= abs(tolerance):  # NaN fails too
            return ""
        return f"not converged in dt: step error {step:.3g} > tolerance {tolerance:.3g}"
    fine = measured - step
    if math.isfinite(fine) and _OPS[op](fine, tolerance):
        return ""
    return f"not converged in dt: at dt/2 the value is {fine:.3g}, not {op} {tolerance:.3g}"


def _wrap(text: str, width: int) -> str:
    """`textwrap.fill`, never breaking inside a mathtext `$...$` span."""
    parts = text.split("$")
    parts[1::2] = [p.replace(" ", "\x00") for p in parts[1::2]]
    wrapped = textwrap.fill("$".join(parts), width, break_on_hyphens=False)
    return wrapped.replace("\x00", " ")


def split_complex(dataset):
    """Replace each complex data variable `v` of an `xarray.Dataset` by
    `v_real` and `v_imag` (same dims and attributes), for standard NetCDF."""
    out = dataset.copy()
    for name in list(out.data_vars):
        var = out[name]
        if np.iscomplexobj(var.values):
            out[f"{name}_real"] = var.real.assign_attrs(var.attrs, part="real")
            out[f"{name}_imag"] = var.imag.assign_attrs(var.attrs, part="imag")
            out = out.drop_vars(name)
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        return {"real": _jsonable(arr.real), "imag": _jsonable(arr.imag)}
    if arr.ndim == 0:
        return arr.item()
    return arr.tolist()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: the command-line name (dashes), e.g. "kerr-revival"; by default
            the experiment's folder name with dashes.
        description: one line for `jqd list`.
        physics: the sections of docs/physics.md it checks, e.g. "§4.6"
            (shown by `jqd list`).
        config: a frozen dataclass type with defaults and a `quick()`
            classmethod (`jqdlab.toolkit.experiment_config`); by default the
            module's `Config`.
        run: `run(config, recorder) -> None`; by default the module's `run`.
        sweep: optional vmappable `sweep(config, values) -> dict[str, Array]`,
            where `values` maps each swept config field name to a scalar array
            (one item); returns named per-item results (arrays of fixed shape).
            `jqd sweep` batches, shards and resumes it.
        sweep_coords: optional `sweep_coords(config) -> dict[str, array]`, the
            coordinates of the trailing axes of `sweep`'s outputs (e.g. times).
        sweep_keys: the float fields `sweep` reads from `values` (the only
            keys `jqd sweep --over` accepts: those that change the result);
            required with `sweep`.
        sweep_why_not: field -> why `sweep` (the vmapped mode) cannot sweep it
            (shown when asked; the per-item mode may still sweep it).
        not_sweepable: field -> why no mode sweeps it (a field that changes
            no claim or metric, e.g. a figure's resolution).
        sweep_claims: output of `sweep` -> (op, tolerance): the scalar outputs
            that are per-item claims (op as in `Recorder.claim`); a sweep writes
            their pass/fail per item and draws them against the swept keys.
        sweep_config: optional `sweep_config(config, over) -> config`: the
            config with its size parameters (cutoffs, grids) fixed for the
            whole swept range `over` (field -> values), since one compiled
            program runs every item.
        validate: optional `validate(config)` raising ValueError (naming the
            field and the fix) for what `limits` cannot say: cross-field and
            size checks. `jqd run` and `jqd sweep` (every item) call it before
            computing anything.
        animates: whether `run` writes an animation under `--animate`
            (`rec.animation`); shown by `jqd list` and `jqd show`.
        fit: optional `jqdlab.fit.FitSpec`: the constants `jqd fit` may free
            (float `sweep_keys`; `sweep` is the model) and the exact
            reference (and finite-ensemble) data it fits them to.
        compile_bound: its cold quick run is no slower with LLVM at -O0 (the
            compile shrinks by more than the compute grows, measured):
            `jqd run --quick` on the CPU then compiles it at -O0, not -O1
            (docs/internals/run.md#cpu-emitter).
    """

    description: str
    name: str = ""
    config: type | None = None
    run: Callable | None = None
    sweep: Callable | None = None
    sweep_coords: Callable | None = None
    physics: str = ""
    sweep_keys: tuple[str, ...] = ()
    sweep_why_not: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)
    sweep_config: Callable | None = None
    sweep_claims: dict[str, tuple[str, float]] = dataclasses.field(default_factory=dict, hash=False)
    not_sweepable: dict[str, str] = dataclasses.field(default_factory=dict, hash=False)
    validate: Callable | None = None
    animates: bool = False
    fit: Any = None
    compile_bound: bool = False

    def __post_init__(self):
        if self.config is None:  # checked once `registry.load` fills in config and run
            return
        if not dataclasses.is_dataclass(self.config):
            raise TypeError(f"{self.name}: config must be a dataclass type.")
        if not hasattr(self.config, "quick"):
            raise TypeError(f"{self.name}: config must define a quick() classmethod.")
        import typing

        hints = typing.get_type_hints(self.config)
        if self.sweep is not None and not self.sweep_keys:
            raise TypeError(f"{self.name}: a sweep needs sweep_keys (the fields it reads).")
        for out, (op, _tol) in self.sweep_claims.items():
            if op not in _OPS:
                raise TypeError(
                    f"{self.name}: sweep_claims[{out!r}] op {op!r} not in {sorted(_OPS)}."
                )
        for key in self.sweep_keys:
            if hints.get(key) is not float:
                raise TypeError(f"{self.name}: sweep key {key!r} is not a float config field.")

    @property
    def limits(self) -> dict[str, str]:
        """Field -> allowed range, e.g. {"alpha0": "> 0", "dims": ">= 1, <= 3"}
        (each number of a tuple field): the Config's `limits`
        (`jqdlab.toolkit.experiment_config`); see `jqdlab.validate`."""
        return getattr(self.config, "limits", {})


def parse_limits(text: str) -> list[tuple[str, float]]:
    """`"> 0, <= 50"` -> [(">", 0.0), ("<=", 50.0)]."""
    out = []
    for part in str(text).split(","):
        m = _LIMIT.match(part)
        if m is None:
            raise ValueError(f"bad limit {text!r}: use comparisons like '> 0' or '>= 1, <= 3'.")
        out.append((m.group(1), float(m.group(2))))
    return out


def config_to_dict(config) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in dataclasses.asdict(config).items()}


def dumps(obj) -> str:
    return json.dumps(_jsonable(obj), indent=2, sort_keys=True)


def _brief(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _differences(old: dict, new: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) wherever two JSON-like dicts differ (nested keys dotted)."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append((f"{prefix}{k}", a, b))
    return out
