"""Every "physics §k" citation (claims, figures, docstrings, READMEs, `jqd list`)
names a section that exists in docs/physics.md, so a fresh clone can look it up."""

import pathlib
import re

import pytest

from jqdlab import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "physics.md"
SECTIONS = set(re.findall(r"^#+ (§\d+(?:\.\d+)?)", DOC.read_text(), flags=re.M))
CITE = re.compile(r"physics (§\d+(?:\.\d+)?)")
FILES = sorted(
    p
    for d in ("jqd", "jqdlab", "experiments", "examples", "benchmarks")
    for p in (ROOT / d).rglob("*")
    if p.suffix in (".py", ".md")
) + [ROOT / "README.md"]


def test_sections_found():
    assert {"§1", "§4", "§4.2", "§5.3", "§7"} <= SECTIONS


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_citations_exist(path):
    cited = set(CITE.findall(path.read_text()))
    assert cited <= SECTIONS, f"{path}: no such section in docs/physics.md: {cited - SECTIONS}"


@pytest.mark.parametrize("name", sorted(registry.discover()))
def test_experiment_names_its_sections(name):
    exp = registry.load(name)
    cited = set(re.findall(r"§\d+(?:\.\d+)?", exp.physics))
    assert cited, f"{name}: Experiment(physics=...) is empty"
    assert cited <= SECTIONS, cited - SECTIONS
