"""mkdocs hooks: build pages from the repository's own texts, so the site cannot drift.

Generated pages (`on_files`; listed in the nav by `on_config`):

- gallery/index.md and gallery/<experiment>.md from experiments/README.md and
  experiments/*/README.md, with the figures and claims that docs/make_gallery.py
  copied into docs/gallery/<experiment>/;
- benchmarks/index.md and benchmarks/results_*.md from benchmarks/*.md.

Markers in the hand-written pages, replaced in `on_page_markdown`:

    <!-- jqd:readme intro -->           README.md before its first "## " heading
    <!-- jqd:readme Ten lines -->       body of the README section whose heading starts so
    <!-- jqd:readme-from The shape -->  README.md from that heading on
    <!-- jqd:physics §2 -->             section §2 of docs/physics.md, one heading level down
    <!-- jqd:extras -->                 the optional dependencies of pyproject.toml
    <!-- jqd:cli -->                    `jqd --help` and each subcommand's help, exit codes
    <!-- jqd:example NAME.py -->        examples/NAME.py as a code block, if it exists
    <!-- jqd:api jqd.dqm _madelung -->  `::: jqd.dqm` with the names its __init__ imports
                                        from those submodules (all of them if none given;
                                        "-Name" leaves one out)

The names a package's __init__ re-exports are listed for mkdocstrings
explicitly (it does not render re-exports by itself); after the build, a
re-exported name that no page documented is a warning, so a strict build fails.

Relative links in included text are pointed at the site's own pages, or turned
into code spans when they leave the site, so `mkdocs build --strict` passes.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import logging
import os
import re
import tomllib
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
log = logging.getLogger("mkdocs.hooks.jqd")
MARKER = re.compile(r"<!-- jqd:([\w-]+)\s*(.*?)\s*-->")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
BRACKETS = re.compile(r"\[([^\]\n]*)\]\(([^)\n]*)\)")
URL = re.compile(r"#|[a-z]+:|[\w./-]+\.(md|png)(#\S*)?$")


def experiments() -> dict[str, Path]:
    """Experiment name (as `jqd list` names it) -> folder."""
    from jqdlab.registry import discover

    return {name: path.parent for name, path in discover(ROOT / "experiments").items()}


def benchmark_files() -> list[Path]:
    return sorted(ROOT.glob("benchmarks/results_*.md"))


# ---------------------------------------------------------------- links


def relink(text: str, src_dir: Path, page_dir: str, pages: dict[Path, str]) -> str:
    """Point relative links of a file in `src_dir` at site pages.

    `pages` maps repository files to their site page (a docs-relative path);
    links are rewritten relative to `page_dir`. Links to other files become
    code spans (the site does not hold them)."""

    def sub(m: re.Match) -> str:
        label, target = m.groups()
        if re.match(r"[a-z]+:|#", target) or not re.search(r"[./]", target):
            return m.group(0)  # a URL, an anchor, or a formula like f[x](y) (escape_text)
        path, _, anchor = target.partition("#")
        dest = (src_dir / path).resolve()
        if dest in pages:
            rel = os.path.relpath(pages[dest], page_dir or ".")
            return f"[{label}]({rel}{'#' + anchor if anchor else ''})"
        return label if label.startswith("`") else f"{label} (`{dest.relative_to(ROOT)}`)"

    return escape_text(LINK.sub(sub, text))


def site_pages() -> dict[Path, str]:
    pages = {(ROOT / "docs" / "physics.md").resolve(): "physics.md"}
    pages[(ROOT / "experiments" / "README.md").resolve()] = "gallery/index.md"
    for name, folder in experiments().items():
        pages[(folder / "README.md").resolve()] = f"gallery/{name}.md"
    pages[(ROOT / "benchmarks" / "RESULTS.md").resolve()] = "benchmarks/index.md"
    for f in benchmark_files():
        pages[f.resolve()] = f"benchmarks/{f.name}"
    return pages


HTML_TAGS = {"a", "b", "i", "em", "strong", "br", "sub", "sup", "code", "span", "div", "p"}
TAG = re.compile(r"<(/?)([A-Za-z][^<>\s/]*)")


def escape_text(text: str) -> str:
    """Escape what Markdown would misread in prose: formulas like "RHS[ρ∘T](z)"
    (a link) and "<a(t)>" (an HTML tag). Leaves code (fenced, indented,
    inline), real links and ordinary HTML tags alone."""
    link = lambda m: m[0] if URL.match(m[2]) else "\\" + m[0]
    tag = lambda m: m[0] if m[2].lower() in HTML_TAGS else "&lt;" + m[1] + m[2]
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and not line.startswith(("    ", "\t")):
            parts = line.split("`")
            for i in range(0, len(parts), 2):  # outside inline code spans
                parts[i] = TAG.sub(tag, BRACKETS.sub(link, parts[i]))
            line = "`".join(parts)
        out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------- gallery


def _number(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def claims_table(name: str) -> str:
    path = DOCS / "gallery" / name / "claims.json"
    if not path.is_file():
        return ""
    record = json.loads(path.read_text())
    rows = [
        "| claim | statement | measured | tolerance | result |",
        "|---|---|---|---|---|",
    ]
    for c in record["claims"]:
        cells = [c["name"], c["statement"], _number(c["measured"])]
        cells += [f"{c['op']} {_number(c['tolerance'])}", "pass" if c["passed"] else "**FAIL**"]
        cells = [html.escape(str(x), quote=False).replace("|", "\\|") for x in cells]
        rows.append("| " + " | ".join(cells) + " |")
    when = (record.get("started_utc") or "")[:10]
    head = f"Claims of the committed quick run (`jqd reproduce --quick`, {when}"
    head += f", {record['wall_time_s']:.0f} s):" if record.get("wall_time_s") else "):"
    return head + "\n\n" + "\n".join(rows)


def gallery_page(name: str, folder: Path, pages: dict[Path, str]) -> str:
    text = relink((folder / "README.md").read_text(), folder, "gallery", pages)
    figures = sorted(
        f for f in (DOCS / "gallery" / name).glob("*.png") if f.name != "thumbnail.png"
    )
    out = [text.rstrip(), "", "## Quick-mode results", ""]
    out.append(f"Source: `experiments/{folder.name}/` · `jqd run {name} --quick`\n")
    table = claims_table(name)
    out.append(table or "No committed run yet: run `docs/make_gallery.py` (see its docstring).")
    for fig in figures:
        out += ["", f"![{name}: {fig.name}]({name}/{fig.name})", "", f"*`{fig.name}`*"]
    return "\n".join(out) + "\n"


TABLE_ROW = re.compile(r"^\| \[([\w-]+)\]\(([^)]+)\) \|", re.M)


def with_thumbnails(text: str) -> str:
    """The experiments table with a first column of thumbnails (each experiment's
    docs/gallery/<name>/thumbnail.png, written by make_gallery.py), each a link
    to its page."""

    def row(m):
        name, link = m[1], m[2]
        thumb = DOCS / "gallery" / name / "thumbnail.png"
        cell = (
            f'[![{name}]({name}/thumbnail.png){{ width="160" }}]({link})' if thumb.is_file() else ""
        )
        return f"| {cell} {m[0]}"

    text = TABLE_ROW.sub(row, text)
    text = text.replace("| name | question |", "| figure | name | question |", 1)
    return re.sub(r"^\|---\|---\|", "|---|---|---|", text, count=1, flags=re.M)


def gallery_index(pages: dict[Path, str]) -> str:
    src = ROOT / "experiments" / "README.md"
    text = with_thumbnails(relink(src.read_text(), src.parent, "gallery", pages))
    return text.replace("# Experiments", "# Gallery of experiments", 1)


# ---------------------------------------------------------------- benchmarks

CODE_RESULTS = re.compile(r"`(results_\w+\.md)`")


def benchmark_page(path: Path, pages: dict[Path, str]) -> str:
    text = relink(path.read_text(), path.parent, "benchmarks", pages)
    names = {f.name for f in benchmark_files()}
    link = lambda m: f"[`{m[1]}`]({m[1]})" if m[1] in names else m[0]
    return CODE_RESULTS.sub(link, text)


# ---------------------------------------------------------------- includes


def readme_sections() -> tuple[str, list[tuple[str, str]]]:
    text = (ROOT / "README.md").read_text()
    parts = re.split(r"^## ", text, flags=re.M)
    intro = parts[0].split("\n", 1)[1]  # drop the "# jqd" title
    return intro, [tuple(p.split("\n", 1)) for p in parts[1:]]


def readme(arg: str) -> str:
    intro, sections = readme_sections()
    if arg == "intro":
        return escape_text(intro.strip())
    for heading, body in sections:
        if heading.startswith(arg):
            return escape_text(body.strip())
    raise KeyError(f"README.md has no section starting {arg!r}")


def readme_from(arg: str) -> str:
    _, sections = readme_sections()
    start = next(i for i, (h, _) in enumerate(sections) if h.startswith(arg))
    return escape_text("\n".join(f"## {h}\n{b}" for h, b in sections[start:]).strip())


def physics(arg: str) -> str:
    """Section `arg` ("§2") of docs/physics.md, up to the next section of its level."""
    lines = (DOCS / "physics.md").read_text().splitlines()
    level = None
    out = []
    for line in lines:
        m = re.match(r"(#+) (§[\d.]+) ", line)
        if level is None:
            if m and m[2] == arg:
                level = len(m[1])
                out.append(line)
            continue
        h = re.match(r"(#+) ", line)
        if h and len(h[1]) <= level:
            break
        out.append(line)
    if not out:
        raise KeyError(f"docs/physics.md has no section {arg}")
    text = "\n".join(out).strip().removesuffix("---").strip()
    text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)  # under the page's "## Physics"
    # anchors of physics.md point at the full page
    return escape_text(re.sub(r"\]\(#", "](../physics.md#", text))


def extras() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    rows = ["| extra | installs |", "|---|---|"]
    for name, reqs in project["optional-dependencies"].items():
        rows.append(f"| `{name}` | {', '.join(f'`{r}`' for r in reqs)} |")
    return "\n".join(rows)


def cli() -> str:
    from jqdlab import cli as module

    os.environ["COLUMNS"] = "90"  # argparse wraps to the terminal width
    parser = module._parser()  # built in jqdlab/cli.py
    out = ["## `jqd`", "", "```text", parser.format_help().rstrip(), "```"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        out += ["", f"## `jqd {name}`", "", "```text", p.format_help().rstrip(), "```"]
    doc = ast.get_docstring(ast.parse(Path(module.__file__).read_text())) or ""
    codes = doc[doc.index("Exit codes:") :] if "Exit codes:" in doc else ""
    out += ["", "## Exit codes", "", codes]
    return "\n".join(out)


def example(arg: str) -> str:
    path = ROOT / "examples" / arg
    if not path.is_file():
        return f"*(`examples/{arg}` is not in this checkout.)*"
    return f"`examples/{arg}`:\n\n```python\n{path.read_text().rstrip()}\n```"


def exports(package: str) -> list[tuple[str, str]]:
    """(submodule, name) for each `from .sub import name as name` of a package's __init__."""
    path = ROOT.joinpath(*package.split("."), "__init__.py")
    if not path.is_file():  # a module, e.g. jqd.stats
        path = ROOT.joinpath(*package.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text())
    return [
        (node.module or "", alias.asname or alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level > 0
        for alias in node.names
        if alias.asname == alias.name  # explicit re-export
    ]


DOCUMENTED: dict[str, set[str]] = {}  # package -> names rendered by jqd:api markers


def api(arg: str) -> str:
    """`::: package` with its re-exports from the given submodules; "-Name"
    leaves Name out of the list (for a page that renders it on its own)."""
    package, *subs = arg.split()
    skip = {s[1:] for s in subs if s.startswith("-")}
    subs = [s for s in subs if not s.startswith("-")]
    names = [n for m, n in exports(package) if not subs or m in subs]
    if not names:
        raise KeyError(f"jqd:api {arg}: no re-exported names")
    DOCUMENTED.setdefault(package, set()).update(names)
    names = [n for n in names if n not in skip]
    lines = [f"::: {package}", "    options:", "      show_root_heading: false"]
    lines += ["      show_root_toc_entry: false", "      members_order: alphabetical"]
    lines += ["      members:"]
    return "\n".join(lines + [f"        - {n}" for n in names])


INCLUDES = {
    "readme": readme,
    "readme-from": readme_from,
    "physics": physics,
    "extras": lambda _: extras(),
    "cli": lambda _: cli(),
    "example": example,
    "api": api,
}


# ---------------------------------------------------------------- mkdocs events


def on_config(config):
    """Fill the nav entries "Gallery" and "Benchmarks" with the generated pages."""
    DOCUMENTED.clear()  # `mkdocs serve` rebuilds in the same process
    entries = {
        "Gallery": ["gallery/index.md", *(f"gallery/{n}.md" for n in experiments())],
        "Benchmarks": ["benchmarks/index.md", *(f"benchmarks/{f.name}" for f in benchmark_files())],
    }
    for item in config["nav"] or []:
        if isinstance(item, dict):
            for key in item.keys() & entries.keys():
                item[key] = entries[key]
    return config


def on_files(files, config):
    pages = site_pages()
    generated = {"gallery/index.md": gallery_index(pages)}
    for name, folder in experiments().items():
        generated[f"gallery/{name}.md"] = gallery_page(name, folder, pages)
    generated["benchmarks/index.md"] = benchmark_page(ROOT / "benchmarks" / "RESULTS.md", pages)
    for f in benchmark_files():
        generated[f"benchmarks/{f.name}"] = benchmark_page(f, pages)
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    names = set(experiments())
    for folder in (DOCS / "gallery").glob("*/"):
        if folder.name not in names:
            log.warning(
                "docs/gallery/%s matches no experiment (rerun make_gallery.py)", folder.name
            )
    return files


def on_page_markdown(markdown, page, config, files):
    def sub(m: re.Match) -> str:
        kind, arg = m.groups()
        if kind not in INCLUDES:
            raise KeyError(f"{page.file.src_uri}: unknown marker jqd:{kind}")
        return INCLUDES[kind](arg)

    if page.file.src_uri == "physics.md":
        markdown = escape_text(markdown)
    return MARKER.sub(sub, markdown)


def top_level_names() -> dict[str, str]:
    """Public name -> its defining module (".schrodinger", "._evolve", ...) for
    the names `jqd/__init__.py` re-exports from modules, read without importing jqd."""
    tree = ast.parse((ROOT / "jqd" / "__init__.py").read_text())
    return {
        a.asname or a.name: f".{node.module}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for a in node.names
    }


def on_post_build(config):
    core = set(re.findall(r"^::: jqd\.(\w+)$", (DOCS / "api" / "core.md").read_text(), re.M))
    missing = [n for n, m in top_level_names().items() if m != ".schrodinger" and n not in core]
    if missing:
        log.warning("docs/api/core.md does not document jqd.%s", ", jqd.".join(missing))
    for package, names in DOCUMENTED.items():
        missing = [n for _, n in exports(package) if n not in names]
        if missing:
            log.warning("%s re-exports names no page documents: %s", package, ", ".join(missing))
