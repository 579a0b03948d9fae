"""Issue 52's design measures, read from the source (`ast`, no imports of jqd):

    python benchmarks/design_measures.py [--reproduce DIR] [--tests-s S] [--json]

| measure | how it is counted |
|---|---|
| validation : step code lines | code lines (docstrings and blank lines out) of the library's checking code: methods `__check_init__`, `check`, `checks`, `monitor`, functions named `check*`, `*_guards`, `*_checks`, and the modules `_guards.py`, `_checks.py`, `_ensemble_checks.py`; against the lines of every `step` method |
| checking sites per law | per `AbstractLaw` subclass, which of `__check_init__`, `check`, `checks`, `monitor` it defines itself (the most, and how many laws have each count) |
| `AbstractLaw` hooks `evolve` calls | the `AbstractLaw` methods and attributes read in jqd/_evolve.py's code (not its docstrings) as `law.NAME`, `type(law).NAME` (an unbound call) or `stepper.NAME` (the law `prepare` returned) |
| aliases | module-level `NAME = OTHER` in jqd/ where OTHER is a bare or dotted name of a class or function (not a constant) |
| one-call wrappers | public library functions whose body, docstring aside, is one `return` of a call to `evolve` |
| time loops outside `evolve` | `lax.scan` / `fori_loop` / `while_loop` calls outside jqd/_evolve*.py: in the library, in experiments/ |
| jit sites in the library | `jax.jit` / `eqx.filter_jit` / `jit(` calls and decorators in jqd/, and how many say why (a comment on the line or right above it; listed with it) |
| arrows up | imports of the lab (`jqdlab`) in jqd/ |
| public names | distinct objects exported by `jqd` and its public modules, re-exports once (tests/test_architecture.py's `public_names`), against its budget |
| programs in a cold quick reproduce | the REPORT.md of `--reproduce DIR` (its "all" row) |
| default tests | `--tests-s` (seconds, measured elsewhere) |

The counts are rules, stated here, so that two passes compare; what a rule
misses (a check written inside `step`, a loop in a helper the experiment
imports) it misses the same way each time.
"""

from __future__ import annotations

import argparse
import ast
import collections
import functools
import io
import json
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "jqd"
CHECK_METHODS = ("__check_init__", "check", "checks", "monitor")
CHECK_MODULES = ("_guards.py", "_checks.py", "_ensemble_checks.py")
LOOPS = ("scan", "fori_loop", "while_loop")


def _trees(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


@functools.cache
def _file_code_lines(path: Path) -> frozenset[int]:
    """The lines of `path` holding code (not docstrings, comments or blanks)."""
    text = path.read_text()
    docs = set()
    for n in ast.walk(ast.parse(text)):
        body = getattr(n, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            c = body[0].value
            if isinstance(c, ast.Constant) and isinstance(c.value, str):
                docs |= set(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER):  # fmt: skip
            continue
        lines |= set(range(tok.start[0], tok.end[0] + 1))
    return frozenset(lines - docs)


def _code_lines(path: Path, node: ast.AST | None = None) -> int:
    """Code lines in `node` (or the whole file)."""
    lines = _file_code_lines(path)
    if node is None:
        return len(lines)
    return sum(node.lineno <= line <= node.end_lineno for line in lines)


def _is_check_function(name: str) -> bool:
    return (
        name in CHECK_METHODS
        or name.startswith(("check", "_check"))
        or name.endswith(("_guards", "_checks"))
    )


def validation_and_step():
    validation = step = 0
    for path, tree in _trees(LIB):
        if path.name in CHECK_MODULES:
            validation += _code_lines(path)
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name == "step":
                    step += _code_lines(path, node)
                elif _is_check_function(node.name):
                    validation += _code_lines(path, node)
    return validation, step


def _laws():
    """{class name: (bases, defined method names)} of the library's classes."""
    classes = {}
    for _, tree in _trees(LIB):
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                ]
                defs = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
                classes[node.name] = (bases, defs)
    laws, todo = set(), ["AbstractLaw"]
    while todo:
        parent = todo.pop()
        for name, (bases, _) in classes.items():
            if parent in bases and name not in laws:
                laws.add(name)
                todo.append(name)
    return {n: classes[n][1] for n in laws if not n.startswith("Abstract")}


def checking_sites():
    per_law = {n: sorted(d & set(CHECK_METHODS)) for n, d in _laws().items()}
    counts = collections.Counter(len(v) for v in per_law.values())
    return per_law, dict(sorted(counts.items()))


def hooks_evolve_calls():
    law_tree = ast.parse((LIB / "_law.py").read_text())
    cls = next(n for n in law_tree.body if isinstance(n, ast.ClassDef) and n.name == "AbstractLaw")
    members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    members |= {t.target.id for t in cls.body if isinstance(t, ast.AnnAssign)}
    path = LIB / "_evolve.py"
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute) or node.lineno not in _file_code_lines(path):
            continue
        owner = node.value  # law.NAME, stepper.NAME (law.prepare's) or type(law).NAME
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "type":
            owner = owner.args[0] if owner.args else owner
        if isinstance(owner, ast.Name) and owner.id in ("law", "stepper"):
            used.add(node.attr)
    return sorted(used & members)


def aliases():
    defined = set()
    trees = list(_trees(LIB))
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                defined.add(node.name)
    out = []
    for path, tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
                name = (
                    value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", None)
                )
                if isinstance(target, ast.Name) and name in defined and target.id != name:
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno} {target.id} = {name}")
    return out


def one_call_wrappers():
    out = []
    for path, tree in _trees(LIB):
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            body = [
                s
                for s in node.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            ]
            calls = [
                n for s in body for n in ast.walk(s)
                if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) == "evolve"
            ]  # fmt: skip
            if len(calls) == 1 and isinstance(body[-1], ast.Return) and len(body) <= 4:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return out


def _loop_calls(folder: Path, skip=()):
    out = []
    for path, tree in _trees(folder):
        if path.name in skip:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in LOOPS:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    return out


def jit_sites():
    """Lines naming `jit` or `filter_jit` (a call, a decorator or a reference)."""
    return sorted(
        {
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for path, tree in _trees(LIB)
            for node in ast.walk(tree)
            if getattr(node, "attr", getattr(node, "id", None)) in ("jit", "filter_jit")
            and isinstance(node, ast.Attribute | ast.Name)
        }
    )


@functools.cache
def _comments(path: Path) -> tuple[list[str], dict[int, str]]:
    """(the lines of `path`, line -> the text of the comment on it)."""
    text = path.read_text()
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        if tok.type == tokenize.COMMENT
    }
    return text.splitlines(), comments


def jit_reasons() -> dict[str, str | None]:
    """Each jit site -> why it exists: the comment on its line, else the comment
    lines right above it (None: no comment there)."""
    out = {}
    for site in jit_sites():
        path, line = site.rsplit(":", 1)
        lines, comments = _comments(ROOT / path)
        n = int(line)
        above = []
        while n - 1 - len(above) >= 1 and lines[n - 2 - len(above)].strip().startswith("#"):
            above.insert(0, comments[n - 1 - len(above)])
        out[site] = comments.get(n) or " ".join(above) or None
    return out


def arrows_up():
    out = []
    for path, tree in _trees(LIB):
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )  # fmt: skip
            out += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for n in names
                if n.split(".")[0] == "jqdlab"
            ]
    return out


def public_names() -> tuple[int, int]:
    """(distinct public objects, budget): tests/test_architecture.py's rule."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("arch", ROOT / "tests" / "test_architecture.py")
    arch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(arch)
    return len(arch.public_names()), arch.PUBLIC_NAME_BUDGET


def reproduce_programs(folder: str | None):
    if not folder:
        return None
    for line in (Path(folder) / "REPORT.md").read_text().splitlines():
        if line.startswith("| **all"):
            return int(line.split("|")[5])
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reproduce", help="a `jqd reproduce --quick` output folder (cold cache)")
    ap.add_argument("--tests-s", type=float, help="the default test run's wall time, measured")
    ap.add_argument("--json", action="store_true", help="also print the measures as one JSON line")
    args = ap.parse_args()
    validation, step = validation_and_step()
    per_law, site_counts = checking_sites()
    lib_loops = _loop_calls(LIB, skip=("_evolve.py", "_evolve_adaptive.py"))
    exp_loops = _loop_calls(ROOT / "experiments")
    hooks, alias_list, wrappers = hooks_evolve_calls(), aliases(), one_call_wrappers()
    reasons = jit_reasons()
    rows = {
        "validation : step code lines": f"{validation} : {step} = {validation / step:.1f}",
        "checking sites per law (most; laws per count)": f"{max(site_counts)}; {site_counts}",
        "AbstractLaw hooks evolve calls": f"{len(hooks)}: {', '.join(hooks)}",
        "aliases / one-call wrappers": f"{len(alias_list)} / {len(wrappers)}",
        "time loops outside evolve (library + experiments)": f"{len(lib_loops)} + {len(exp_loops)}",
        "jit sites in the library (with a why)": (
            f"{len(reasons)} ({sum(r is not None for r in reasons.values())})"
        ),
        "arrows up (jqd imports jqdlab)": str(len(arrows_up())),
        "public names (budget)": "{} ({})".format(*public_names()),
        "programs in a cold quick reproduce": str(
            reproduce_programs(args.reproduce) or "not given"
        ),
        "default tests (s)": f"{args.tests_s:g}" if args.tests_s else "not given",
    }
    print("| measure | now |\n|---|---|")
    for k, v in rows.items():
        print(f"| {k} | {v} |")
    print("\naliases:", *alias_list or ["none"], sep="\n  ")
    print("one-call wrappers:", *wrappers or ["none"], sep="\n  ")
    print("time loops in experiments:", *exp_loops or ["none"], sep="\n  ")
    print("jit sites, why:", *(f"{k} {v or 'NO REASON'}" for k, v in reasons.items()), sep="\n  ")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
