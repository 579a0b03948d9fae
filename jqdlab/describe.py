"""What an experiment says about itself, for `jqd list`, `jqd show NAME` and
`jqd run NAME --help`: `jqd list` reads the sources (importing starts JAX, seconds
per experiment), the others import the experiment."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import shutil
import textwrap
from pathlib import Path

from .registry import (
    _type_name,
    attribute_docs,
    discover,
    experiment_source,
    experiments_dir,
    field_types,
    load,
)


def summary_line(path: Path) -> dict | None:
    """`{name, description, physics, animates, sweep_keys}` from the source's `EXPERIMENT =
    Experiment(...)` keywords when they are literals; None if they are not (then load it)."""
    src = experiment_source(path)
    if src is None:
        return None
    found = {"name": Path(path).parent.name.replace("_", "-")}  # unless it names itself
    for key, value in src[1].items():
        if key in ("name", "description", "physics", "animates", "sweep_keys"):
            try:
                found[key] = ast.literal_eval(value)
            except ValueError:
                return None
    if "description" in found:
        found["sweep_keys"] = tuple(found.get("sweep_keys", ()))
        return {"physics": None, "animates": False, **found}
    return None


def config_keys(exp) -> list[dict]:
    """One row per Config field: key, type, default, quick value, meaning (its
    `Attributes:` entry) and range (`jqdlab.validate.field_range`, or None)."""
    from .validate import field_range

    default, quick = exp.config(), exp.config.quick()
    docs = attribute_docs(exp.config)
    return [
        {
            "key": f.name,
            "type": _type_name(tp),
            "default": getattr(default, f.name),
            "quick": getattr(quick, f.name),
            "meaning": docs.get(f.name, ""),
            "range": field_range(exp, f.name, tp),
        }
        for f, tp in zip(
            dataclasses.fields(exp.config), field_types(exp.config).values(), strict=True
        )
    ]


def format_keys(exp, width: int | None = None) -> str:
    """The config keys as a plain-text table (`jqd show`, `--help`), wrapped to
    `width` (default: the terminal's, as argparse does)."""
    rows = config_keys(exp)
    if not rows:
        return "  (no config keys)"
    width = width or shutil.get_terminal_size((100, 24)).columns
    k = max(len(r["key"]) for r in rows)
    t = max(len(r["type"]) for r in rows)
    indent = " " * (k + 6)
    lines = []
    for r in rows:
        quick = "" if r["quick"] == r["default"] else f"  [quick: {r['quick']!r}]"
        head = f"  {r['key']:<{k}}  {r['type']:<{t}}  = {r['default']!r}{quick}"
        lines.append(head)
        limit = f"[range: {r['range']}]".replace(" ", "\xa0")  # (kept on one line)
        text = f"{r['meaning']} {limit}" if r["range"] else r["meaning"]
        wrapped = textwrap.wrap(
            text,
            max(width - 2, len(indent) + 40),
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        lines += [line.replace("\xa0", " ") for line in wrapped]
    from .sweep import sweepable_keys

    keys = sweepable_keys(exp)
    vmapped = [k for k, m in keys.items() if m == "vmapped"]
    per_item = [k for k, m in keys.items() if m == "per-item"]
    lines.append("")
    lines.append(f"  jqd sweep, vmapped (batched, sharded): {', '.join(vmapped) or 'none'}")
    lines.append(f"  jqd sweep, per-item (its run once per item): {', '.join(per_item) or 'none'}")
    return "\n".join(lines)


def describe_json(exp) -> dict:
    """`jqd list --json`'s entry: keys (type, default, quick, meaning, sweep mode),
    `sweepable_keys` and, for the keys no mode sweeps, `why_not`."""
    from .sweep import sweepable_keys, why_not_sweepable, why_not_vmapped

    modes = sweepable_keys(exp)
    keys = []
    for row in config_keys(exp):
        row = {k: list(v) if isinstance(v, tuple) else v for k, v in row.items()}
        row["sweep"] = modes.get(row["key"])
        if row["sweep"] == "per-item":
            row["why_not_vmapped"] = why_not_vmapped(exp, row["key"])
        keys.append(row)
    fit = getattr(exp, "fit", None)
    return {
        "name": exp.name,
        "description": exp.description,
        "physics": exp.physics,
        "animates": exp.animates,
        "config_keys": keys,
        "sweepable_keys": modes,
        "vmapped_keys": [k for k, m in modes.items() if m == "vmapped"],
        "why_not": {r["key"]: why_not_sweepable(exp, r["key"]) for r in keys if r["sweep"] is None},
        "sweep_claims": {k: list(v) for k, v in exp.sweep_claims.items()},
        "fit_keys": list(getattr(fit, "keys", ()) or ()),
    }


def listing_json() -> list[dict]:
    """Every experiment as `describe_json` (imports each; a failure is listed as such)."""
    out = []
    for name in discover():
        try:
            out.append(describe_json(load(name)))
        except Exception as err:  # noqa: BLE001 - list the rest anyway
            out.append({"name": name, "error": f"{type(err).__name__}: {err}"})
    return out


def show(name: str) -> str:
    """`jqd show NAME`: what the experiment checks, where its answer is, its keys."""
    exp = load(name)
    readme = discover()[exp.name].parent / "README.md"
    lines = [f"{exp.name}: {exp.description}"]
    if exp.physics:
        lines.append(f"checks physics {exp.physics} (docs/physics.md)")
    if readme.is_file():
        lines.append(f"question, method and measured answer: {readme}")
    if exp.animates:
        lines.append(
            f"animation: jqd run {exp.name} --animate (MP4, or GIF without imageio-ffmpeg)"
        )
    lines += [
        "",
        "config keys (jqd run NAME --set KEY=VALUE; type, default, [quick value], meaning, "
        "[allowed range]):",
        format_keys(exp),
    ]
    return "\n".join(lines)


def listing_markdown() -> str:
    """`jqd list --markdown`: the experiments as experiments/README.md's table (name,
    question, vmapped sweep keys), read as `jqd list` reads them."""
    rows = ["| name | question | vmapped sweep keys |", "|---|---|---|"]
    for name, path in discover().items():
        exp = summary_line(path) or vars(load(name))
        keys = ", ".join(f"`{k}`" for k in exp["sweep_keys"]) or "—"
        question = exp["description"].replace("|", "\\|")
        rows.append(f"| [{name}]({path.parent.name}/README.md) | {question} | {keys} |")
    return "\n".join(rows)


def listing() -> str:
    """`jqd list`: one line per experiment, read from the sources."""
    found = discover()
    if not found:
        return f"no experiments found in {experiments_dir()}"
    width = max(len(n) for n in found)
    lines = []
    for name, path in found.items():
        try:
            exp = summary_line(path) or vars(load(name))  # the source, else import it
            desc = exp["description"] + (f"  [physics {exp['physics']}]" if exp["physics"] else "")
            desc += "  [animates]" if exp.get("animates") else ""
            if exp.get("sweep_keys"):
                desc += f"  [vmapped sweep: {', '.join(exp['sweep_keys'])}]"
        except Exception as err:  # noqa: BLE001 - list the rest anyway
            desc = f"(failed to load: {type(err).__name__}: {err})"
        lines.append(f"{name:<{width}}  {desc}")
    lines.append(
        "\nEvery experiment sweeps its numeric keys per item (`jqd sweep NAME --over KEY=...`); "
        "those marked [vmapped sweep] also in one batched, sharded program. `jqd list --json` "
        "gives every key and its mode."
    )
    return "\n".join(lines)


def animated() -> list[str]:
    """The experiments that write an animation under `--animate` (read from the sources)."""
    names = []
    for name, path in discover().items():
        with contextlib.suppress(Exception):  # one that fails to load has no animation
            if (summary_line(path) or vars(load(name)))["animates"]:
                names.append(name)
    return names


def experiment_help(argv: list[str]) -> str | None:
    """NAME when argv is `run NAME ... --help` (or sweep): then show its keys too."""
    if len(argv) >= 3 and argv[0] in ("run", "sweep") and not argv[1].startswith("-"):
        if any(a in ("-h", "--help") for a in argv[2:]):
            return argv[1]
    return None
