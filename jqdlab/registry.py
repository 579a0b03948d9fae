"""Experiment discovery, base configs and typed config overrides (used by `jqdlab.cli`)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
import importlib.util
import inspect
import os
import re
import sys
import typing
from pathlib import Path
from typing import Any

from .experiment import Experiment


class UsageError(ValueError):
    """A mistake on the command line: reported in one line, exit code 2."""


def did_you_mean(word: str, choices) -> str:
    """ " (did you mean 'x'?)" for the `choices` closest to a misspelt `word`, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def experiments_dir() -> Path:
    """`JQD_EXPERIMENTS`, else the `experiments/` folder of the repository jqd is
    installed from (editable install), else `./experiments`."""
    env = os.environ.get("JQD_EXPERIMENTS")
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise UsageError(f"JQD_EXPERIMENTS={env} is not a folder.")
        return path
    repo = Path(__file__).resolve().parents[1] / "experiments"
    if repo.is_dir():
        return repo
    return Path.cwd() / "experiments"


def discover(root: Path | None = None) -> dict[str, Path]:
    """Command-line names (dashes) -> experiment.py paths, sorted by name."""
    root = experiments_dir() if root is None else Path(root)
    found = {}
    if root.is_dir():
        for sub in sorted(root.iterdir()):
            if (sub / "experiment.py").is_file() and not sub.name.startswith((".", "_")):
                found[sub.name.replace("_", "-")] = sub / "experiment.py"
    return found


def find(name: str) -> Path:
    """The experiment.py of `name` (dashes or underscores); UsageError if there is none."""
    found = discover()
    key = name.replace("_", "-")
    if key not in found:
        raise UsageError(
            f"unknown experiment {name!r}{did_you_mean(key, found)}; available: "
            f"{', '.join(found) or '(none)'} "
            f"(found in {experiments_dir()}; set JQD_EXPERIMENTS to use another folder)."
        )
    return found[key]


def load(name: str) -> Experiment:
    """Import one experiment module by path and return its `EXPERIMENT`."""
    path = find(name)
    mod_name = f"jqd_experiments.{path.parent.name}"
    if mod_name in sys.modules:
        module = sys.modules[mod_name]
    else:
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[mod_name]
            raise
    exp = getattr(module, "EXPERIMENT", None)
    if not isinstance(exp, Experiment):
        raise TypeError(f"{path} must define EXPERIMENT = jqdlab.experiment.Experiment(...).")
    # what EXPERIMENT does not name, by convention: the folder, Config, run and the hooks
    found = {"name": exp.name or path.parent.name.replace("_", "-")}
    hooks = ("sweep", "sweep_coords", "sweep_config", "validate")
    for key, attr in (("config", "Config"), ("run", "run"), *((h, h) for h in hooks)):
        found[key] = getattr(exp, key) or getattr(module, attr, None)
        if found[key] is None and key in ("config", "run"):
            raise TypeError(f"{path} must define {attr} (or pass {key}= to Experiment).")
    if any(getattr(exp, key) is not value for key, value in found.items()):
        exp = module.EXPERIMENT = dataclasses.replace(exp, **found)
    return exp


def experiment_source(path: Path) -> tuple[ast.Module, dict[str, ast.expr]] | None:
    """An experiment.py's parsed source and the keywords of its `EXPERIMENT =
    Experiment(...)` call (read, not imported: importing starts JAX); None if none."""
    try:
        tree = ast.parse(Path(path).read_text(), str(path))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "EXPERIMENT" for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            return tree, {k.arg: k.value for k in node.value.keywords}
    return None


# the names a Config field's annotation may use to be read from the source
_ANNOTATION_NAMES = {t.__name__: t for t in (int, float, bool, str, tuple)}


def source_config(path: Path) -> tuple[str, dict, dict, dict] | None:
    """(name, Config field types, literal defaults, limits) from an experiment.py's
    source, for the `--set` checks before JAX starts; None when the source does not
    say them with literals and builtin types (then the checks wait for the import)."""
    src = experiment_source(path)
    if src is None:
        return None
    tree, kw = src
    config = kw.get("config", ast.Name("Config"))
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    cls = next((c for c in classes if isinstance(config, ast.Name) and c.name == config.id), None)
    if cls is None or cls.bases:
        return None
    types_, defaults = {}, {}
    try:
        name = ast.literal_eval(kw.get("name", ast.Constant(Path(path).parent.name)))
        limits = {}  # the `limits=` of its `@experiment_config(...)`
        for deco in cls.decorator_list:
            for k in deco.keywords if isinstance(deco, ast.Call) else ():
                if k.arg == "limits":
                    limits = ast.literal_eval(k.value)
        for node in cls.body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                key = node.target.id
                annotation = compile(ast.Expression(node.annotation), str(path), "eval")
                types_[key] = eval(annotation, {"__builtins__": {}}, _ANNOTATION_NAMES)
                with contextlib.suppress(ValueError, TypeError, SyntaxError):
                    defaults[key] = ast.literal_eval(node.value)
    except (KeyError, ValueError, TypeError, SyntaxError, NameError, AttributeError):
        return None
    return name.replace("_", "-"), types_, defaults, limits


def base_config(exp: Experiment, quick: bool, seed: int | None):
    """`exp`'s default config (its `quick()` one if `quick`), with the `seed`
    field set to `seed` when given and the config has one."""
    config = exp.config.quick() if quick else exp.config()
    if seed is not None and "seed" in {f.name for f in dataclasses.fields(config)}:
        config = dataclasses.replace(config, seed=seed)
    return config


def attribute_docs(cls) -> dict[str, str]:
    """Field -> its description in the class docstring's `Attributes:` section
    (Google style; continuation lines joined)."""
    doc = inspect.getdoc(cls) or ""
    m = re.search(r"^Attributes:[ \t]*\n(.*?)(?:\n[ \t]*\n|\Z)", doc, flags=re.S | re.M)
    if not m:
        return {}
    docs: dict[str, str] = {}
    keys: list[str] = []
    lines = [ln for ln in m.group(1).splitlines() if ln.strip()]
    indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    for line in lines:
        # at the items' indent: "name: ...", "name (type): ..." or "a, b: ..."
        item = re.match(r"^(\w+(?:,\s*\w+)*)(?:\s*\([^)]*\))?:\s*(.*)$", line[indent:])
        if item and len(line) - len(line.lstrip()) == indent:
            keys = [k.strip() for k in item.group(1).split(",")]
            for key in keys:
                docs[key] = item.group(2).strip()
        elif keys:  # a continuation line
            for key in keys:
                docs[key] += " " + line.strip()
    return docs


# -- typed overrides ------------------------------------------------------------
def field_types(config_cls) -> dict[str, Any]:
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints.get(f.name, type(f.default)) for f in dataclasses.fields(config_cls)}


def _type_name(tp) -> str:
    if typing.get_origin(tp) is None and hasattr(tp, "__name__"):
        return tp.__name__
    return str(tp).replace("typing.", "")


_BOOLS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}


def _number(text: str):
    """An int if `text` reads as one ("300"), else a float ("1e5", "0.3")."""
    with contextlib.suppress(ValueError):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


def parse_value(text: str, tp):
    """Convert a command-line string to the annotated type `tp` (the field types
    experiments use: bool, int, float, str and tuples of them)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is tuple or origin is tuple:
        parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
        if tp is tuple:  # bare `tuple` (Ns, eps_grid, ...): numbers as they read
            return tuple(_number(p) for p in parts)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse_value(p, args[0]) for p in parts)
        if len(parts) != len(args):
            raise ValueError(f"needs {len(args)} comma-separated values")
        return tuple(parse_value(p, a) for p, a in zip(parts, args, strict=True))
    if tp is bool:
        if text.strip().lower() not in _BOOLS:
            raise ValueError(f"not a boolean: {text!r} (use true/false)")
        return _BOOLS[text.strip().lower()]
    if tp is int:
        with contextlib.suppress(ValueError):
            return int(text)
        with contextlib.suppress(ValueError):
            if float(text).is_integer():  # "1e3"
                return int(float(text))
        raise ValueError(f"not an integer: {text!r}")
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"not a number: {text!r}") from None
    if tp is str:
        return text
    raise ValueError(f"cannot set a field of type {_type_name(tp)} from the command line")


def valid_keys(types_: dict[str, Any]) -> str:
    """`key (type), ...` of a Config's field types (`field_types`)."""
    return ", ".join(f"{k} ({_type_name(t)})" for k, t in types_.items())


def parse_override(name: str, types_: dict[str, Any], item: str) -> tuple[str, Any]:
    """One `--set key=value` of experiment `name` (field types `types_`) as
    (key, typed value); UsageError naming the key and the fix."""
    if "=" not in item:
        raise UsageError(
            f"--set expects key=value; got {item!r}. Valid keys for {name}: {valid_keys(types_)}."
        )
    key, text = item.split("=", 1)
    key = key.strip()
    if key not in types_:
        raise UsageError(
            f"unknown key {key!r} for {name}{did_you_mean(key, types_)}; valid keys: "
            f"{valid_keys(types_)}."
        )
    try:
        return key, parse_value(text, types_[key])
    except ValueError as err:
        tp = _type_name(types_[key])
        raise UsageError(
            f"bad value for {key} ({tp}): {err}; give --set {key}=<{tp}>. Valid keys for "
            f"{name}: {valid_keys(types_)}."
        ) from None


def apply_overrides(exp: Experiment, config, overrides: list[str]):
    """`config` with `key=value` overrides applied, each type-checked."""
    types_ = field_types(exp.config)
    changes = dict(parse_override(exp.name, types_, item) for item in overrides or [])
    try:
        return dataclasses.replace(config, **changes)
    except (ValueError, TypeError) as err:  # the config's own __post_init__ checks
        raise UsageError(f"invalid config for {exp.name}: {err}") from None
