"""The shape of the library, checked on its syntax trees (`ast`, never regexes).

- No import cycles inside `jqd`: every import counts (module- and
  function-level, and a name `jqd/__init__.py` re-exports counts as its
  defining module), so dependencies point one way and each module can be
  read, tested and changed without the ones that use it.
- Time loops live in `jqd/_evolve.py` and `jqd/_evolve_adaptive.py`: a loop
  over a law's time steps is written once, where saving, monitors, guards
  and batching are. Any other `lax.scan` / `while_loop` / `fori_loop`, in the
  library or in experiments/, is
  listed in `NOT_TIME_LOOPS` with why it is not one (or, until it moves,
  in `KNOWN_TIME_LOOPS`); an entry whose loop is gone fails too.
- optax is imported only by the fit driver (`jqd/_fit.py`): the optimizer
  is one replaceable piece.
- No `jax._src`: JAX's private internals change without notice.
- Nothing imports upward: the library (`jqd/`) never imports the lab
  (`jqdlab/`, the `jqd` command and the experiment runner built on top of it).
"""

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "jqd"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}
TREES = {m: ast.parse(p.read_text(), str(p)) for m, p in FILES.items()}


def _rel(module: str) -> str:
    return str(FILES[module].relative_to(ROOT))


# -------------------------------------------------------------- import graph


def _root_names() -> dict[str, str]:
    """Names `jqd/__init__.py` re-exports -> the module defining them."""
    out = {}
    for node in TREES["jqd"].body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for a in node.names:  # `from .module import name`, `from . import family`
                out[a.asname or a.name] = f"jqd.{node.module or a.name}"
    return out


ROOT_NAMES = _root_names()


def _imported_from(module: str, node: ast.ImportFrom) -> str | None:
    if not node.level:
        return node.module
    base = module.split(".")
    if FILES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> set[str]:
    """The `jqd` modules `module` imports, anywhere in its body."""
    out = set()
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in FILES and a.name != "jqd"}
        elif isinstance(node, ast.ImportFrom) and (name := _imported_from(module, node)):
            for alias in node.names:
                if f"{name}.{alias.name}" in FILES:  # a submodule
                    out.add(f"{name}.{alias.name}")
                elif name == "jqd" and alias.name in ROOT_NAMES:
                    out.add(ROOT_NAMES[alias.name])
                elif name in FILES:
                    out.add(name)
    return out - {module}


GRAPH = {m: _imports(m) for m in FILES}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def _shortest_cycle(start: str) -> list[str]:
    parent, todo = {}, deque([start])
    while todo:
        m = todo.popleft()
        for nxt in sorted(GRAPH[m]):
            if nxt == start:
                path = [m]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if nxt not in parent:
                parent[nxt] = m
                todo.append(nxt)
    return []


def test_no_import_cycles():
    reach = {m: _reachable(m) for m in GRAPH}
    cycles = []
    for m in sorted(GRAPH):
        component = {n for n in reach[m] if m in reach[n]}
        if component and m == min(component):
            cycles.append(" -> ".join(_shortest_cycle(m)))
    assert not cycles, "import cycles in jqd:\n  " + "\n  ".join(cycles)


def test_nothing_imports_the_lab():
    """The library never imports the lab (`jqdlab`, the sibling package of the
    `jqd` command and the experiment runner), at any level of any module."""
    upward = [
        f"{_rel(m)}:{node.lineno} imports {name}"
        for m, tree in sorted(TREES.items())
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if name == "jqdlab" or name.startswith("jqdlab.")
    ]
    assert not upward, "the library imports the lab:\n  " + "\n  ".join(upward)


# ------------------------------------------------------ names used in the code


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it is bound to by an import."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:  # `import jax.lax` binds `jax`
                top = a.name.split(".")[0]
                out[a.asname or top] = a.name if a.asname else top
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _resolve(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute) and (head := _resolve(node.value, aliases)):
        return f"{head}.{node.attr}"
    return None


def _uses(tree: ast.Module):
    """(dotted name, qualified name of the enclosing function) of every
    imported name or attribute chain the module refers to."""
    aliases = _aliases(tree)

    def visit(node, scope):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = (*scope, node.name)
        if isinstance(node, ast.Name | ast.Attribute) and (name := _resolve(node, aliases)):
            yield name, ".".join(scope) or "<module>"
        for child in ast.iter_child_nodes(node):
            yield from visit(child, scope)

    yield from visit(tree, ())


def _imported_modules(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_optax_only_in_the_fit_driver():
    users = {
        _rel(m)
        for m, tree in TREES.items()
        if any(name.split(".")[0] == "optax" for name in _imported_modules(tree))
    }
    assert users <= {"jqd/_fit.py"}, users


def test_no_private_jax():
    private = lambda name: name == "jax._src" or name.startswith("jax._src.")
    users = {
        _rel(m)
        for m, tree in TREES.items()
        if any(map(private, _imported_modules(tree)))
        or any(private(name) for name, _ in _uses(tree))
    }
    assert not users, users


# ---------------------------------------------------------------- time loops

LOOPS = {"jax.lax.scan", "jax.lax.while_loop", "jax.lax.fori_loop"}
EVOLVE = {"jqd/_evolve.py", "jqd/_evolve_adaptive.py"}

# "file:function" -> why its loop does not run over a law's time steps
NOT_TIME_LOOPS = {
    "jqd/_steppers.py:rk4": "scan_stages=True: the four stages of one RK4 step "
    "(an expensive vector field traced once)",
    "jqd/schrodinger/_grid.py:ground_state.body": "a block of ground_state's imaginary-time "
    "relaxation, a renormalized fixed-point iteration, not a law's steps",
    "jqd/copy/_tau_leap.py:_multinomial_moves": "within one tau-leap step: a multinomial "
    "drawn as a chain of conditional binomials over the classes",
    "jqd/_sparse.py:chebyshev_apply": "Chebyshev three-term recurrence over the "
    "polynomial orders of one propagator e^{-isH} y",
    "jqd/schrodinger/_grid.py:ground_state.run": "ground_state's convergence loop: "
    "imaginary-time blocks until the energy stops changing",
    "jqd/thermal/_local.py:SchrodingerLocal.step": "inside one step: Chebyshev "
    "recurrence over the polynomial orders of the step's propagator",
    "jqd/thermal/_chebyshev.py:_bessel_j": "Miller's backward recurrence over Bessel orders",
    "jqd/husimi/_linear_fp.py:_weierstrass": "sum over the diagonal shift k of the "
    "Weierstrass transform's coefficients",
    "jqd/husimi/_linear_fp.py:_hermite_sums": "Hermite recurrence over polynomial degree",
    "jqd/husimi/_states.py:_husimi_single_mode_ket": "Horner's scheme over polynomial degree",
    "jqd/husimi/_galerkin_blocks.py:taylor_expm": "the squarings of scaling-and-squaring",
    "jqd/copy/_faithful_mobius.py:moments": "power moments M[a, k] over k = 0..K",
    "jqd/copy/_gillespie.py:_pick_member": "rejection sampling of a member of one class",
    "jqd/copy/_gillespie.py:AbstractThinningCopy.thin": "the law's own step: the random "
    "number of thinning candidates (copy events) from t to t + dt; evolve loops over the "
    "steps",
    "jqd/copy/_faithful_leap.py:CopyFaithfulTauLeap.step": "the law's own step: its "
    "sub-steps from t to t + dt (more than one only near a class's extinction)",
    "jqd/copy/_faithful_leap.py:_binomial_from": "inversion: the terms of one binomial draw's cdf",
    "jqd/copy/_faithful_leap.py:_when": "not a time loop: at most one pass, a branch "
    "that under vmap runs only when some ensemble takes it (a cond would run it for all)",
    "jqd/copy/_faithful_leap.py:multinomial": "one multinomial draw: the levels of its "
    "binary tree of binomial splits",
    "jqd/dqm/_ensemble_checks.py:kth_largest": "one radix select: its passes over the "
    "bits of the key",
    "jqd/copy/_faithful_mobius.py:_run_batch": "the event loop of one step of "
    "CopyMembersFaithfulMobius (t to t + dt), B ensembles side by side",
    "jqd/copy/_faithful_mobius.py:_run_batch.outer_body": "that event loop's candidates "
    "between two re-bases or random-number refills",
    "jqd/thermal/_well.py:curvature_frequency": "power iteration for the largest curvature "
    "of a user's potential at y0 (the accuracy bound's ω)",
    "jqd/_law.py:half_steps": "inside one coupled step (jqd.Errors): the two dt/2 steps "
    "of the fine run beside one dt step, scanned so the fine step is traced once",
    "jqd/copy/_tau_leap.py:CopyCountsTauLeap.coupled_step": "inside one coupled step: "
    "the two dt/2 leaps of the fine run (each beside half of the dt leap), scanned",
    "jqd/copy/_binomial.py:_inversion": "one binomial draw: the inversion sampler's "
    "geometric waiting times",
    "jqd/copy/_binomial.py:_btrs": "one binomial draw: the rejection sampler's tries",
}

# "file:function" -> a real time loop outside evolve, to be moved there (issue 52 item 5)
_LNA = "RK4 of a reference's moment ODE (mean, covariance), no jqd law: as an ODE law"
KNOWN_TIME_LOOPS: dict[str, str] = {
    "experiments/copy_coalescence/experiment.py:_lna_departure": _LNA + " (linear noise)",
    "experiments/copy_coalescence/experiment.py:_lna_departure.save": _LNA + " (its saves)",
    "experiments/copy_composite/experiment.py:system_size_expansion": _LNA + " (c1, μ)",
    "experiments/copy_composite/experiment.py:system_size_expansion.block": _LNA + " (saves)",
    "experiments/copy_composite/experiment.py:system_size_expansion.rk4": _LNA + " (stages)",
    "experiments/copy_factorization/experiment.py:scheme_lna.one": "the linear-noise "
    "covariance along a scheme's mean step (its Jacobian by differences): as an ODE law",
    "experiments/copy_factorization/experiment.py:scheme_lna.one.save": "its saves",
    "experiments/nelson_equivariance/experiment.py:_coupled": "Nelson at dt and dt/2 on "
    "one Brownian path, positions at the end only: jqd.evolve(errors=) or jqd.Coupled",
    "experiments/nelson_equivariance/experiment.py:_crossings": "an observable of every "
    "step (nodal-cell changes between steps): needs evolve to reduce over steps, not saves",
    "experiments/nelson_fermions/experiment.py:_advance": "the same per-step count "
    "(particle-order changes between steps)",
    "experiments/nelson_fermions/experiment.py:_advance_fine": "its dt/2 run on a "
    "Brownian bridge of the first particles' noise: jqd.Coupled once the count moves",
    "experiments/nelson_fermions/experiment.py:_advance_fine.body": "its two half steps",
    "experiments/nelson_gas_statistics/experiment.py:_simulate.one_run": "a discrete-state "
    "gas (kicks of ψ, collisions, guided moves) written in the experiment: as a law",
}


# the experiments' own modules: physics, so their time loops go through evolve too
EXPERIMENT_TREES = {
    str(p.relative_to(ROOT)): ast.parse(p.read_text(), str(p))
    for p in sorted((ROOT / "experiments").rglob("*.py"))
}


def _loop_sites() -> set[str]:
    trees = {_rel(m): tree for m, tree in TREES.items()} | EXPERIMENT_TREES
    return {
        f"{path}:{scope}"
        for path, tree in trees.items()
        if path not in EVOLVE
        for name, scope in _uses(tree)
        if name in LOOPS
    }


def test_time_loops_live_in_evolve():
    listed = NOT_TIME_LOOPS.keys() | KNOWN_TIME_LOOPS.keys()
    sites = _loop_sites()
    assert sites <= listed, f"loops outside evolve, not listed: {sorted(sites - listed)}"
    assert listed <= sites, f"stale entries (no loop there now): {sorted(listed - sites)}"


def test_every_jit_site_says_why(monkeypatch):
    """A compiled program must earn its place: every `jax.jit` / `eqx.filter_jit` in
    jqd/ carries a comment on its line or right above it saying why
    (benchmarks/design_measures.py lists them with it)."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import design_measures

    silent = [site for site, why in design_measures.jit_reasons().items() if not why]
    assert not silent, f"jit sites without a comment saying why: {silent}"


# -------------------------------------------------------------- public names

PUBLIC_MODULES = ("jqd", *(m for m in FILES if m.count(".") == 1 and "._" not in m))
PUBLIC_NAME_BUDGET = 380  # docs/api/core.md: a new public name retires one past this


def _bindings(module: str) -> dict[str, tuple[str, str] | None]:
    """Public top-level names of `module` -> (module, name) they are imported
    from, or None where `module` defines them."""
    out = {}
    for node in TREES[module].body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            source = _imported_from(module, node)
            for a in node.names:
                out[a.asname or a.name] = (source, a.name) if source in FILES else None
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            out[node.name] = None
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.update({t.id: None for t in targets if isinstance(t, ast.Name)})
    return {k: v for k, v in out.items() if not k.startswith("_")}


def _listed(module: str) -> set[str]:
    """`__all__` where it is a literal list, else every public binding."""
    for node in TREES[module].body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "__all__" for t in node.targets
        ):
            if isinstance(node.value, ast.List | ast.Tuple):
                return {ast.literal_eval(e) for e in node.value.elts}
    return set(_bindings(module))


def _defined_at(module: str, name: str) -> tuple[str, str]:
    """Where `module.name` is defined, following re-exports."""
    seen = set()
    while (source := _bindings(module).get(name)) is not None and (module, name) not in seen:
        seen.add((module, name))
        module, name = source
    return module, name


def public_names() -> set[tuple[str, str]]:
    """The distinct objects a user can import from jqd's public modules (a
    re-export counts once; modules themselves do not count)."""
    return {
        _defined_at(m, n)
        for m in PUBLIC_MODULES
        for n in _listed(m)
        if f"{m}.{n}" not in FILES and f"jqd.{n}" not in FILES
    }


def test_public_names_within_budget():
    count = len(public_names())
    print(f"public names: {count} (budget {PUBLIC_NAME_BUDGET})")
    assert count <= PUBLIC_NAME_BUDGET, (
        f"{count} public names, over the budget of {PUBLIC_NAME_BUDGET} (docs/api/core.md): "
        "make a helper private, or retire a name for the one you add."
    )
