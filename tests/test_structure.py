"""The shape of src/mis, which its layout states: ``mis.stages`` holds the stages (file in, file out;
one module per rule family), ``mis.figures`` the drawing, everything else libraries that neither
call a stage nor draw; no import cycle; the stages that need no network run without torch; and the
vocabularies that the config, the code and the schema share exist once."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mis.settings import LAYER_TYPES
from mis.similarity.backends import BACKENDS

from conftest import REPO, SCHEMA

SRC = REPO / "src"
STAGES = sorted(path.stem for path in (SRC / "mis" / "stages").glob("*.py") if path.stem != "__init__")
TORCH_FREE_STAGES = ["images", "tasks", "embeddings", "scores", "imi", "analysis", "experiment"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SRC.joinpath("mis").rglob("*.py")}


def mis_imports(path: Path) -> set[str]:
    """The mis modules a file imports anywhere, lazy imports in functions included (a module's
    parent packages run too, and are counted)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name in MODULES}


def import_cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    graph = {name: mis_imports(path) - {name} for name, path in MODULES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return cycles


def test_the_import_graph_is_found() -> None:
    assert {"mis.formula", "mis.stages.scores", "mis.figures.fig3"} <= set(MODULES)
    assert "mis.formula" in mis_imports(MODULES["mis.scoring"])


def test_no_import_cycle() -> None:
    assert import_cycles() == []


def test_libraries_call_no_stage_and_draw_nothing() -> None:
    """Only stages import stages; only figures (and the stages that draw nothing) import figures'
    registry; no library imports a figure module."""
    for name, path in MODULES.items():
        if name.startswith("mis.stages"):
            continue
        imported = mis_imports(path)
        assert not {m for m in imported if m.startswith("mis.stages")}, f"{name} imports a stage"
        if not name.startswith("mis.figures"):
            assert not {m for m in imported if m.startswith("mis.figures.")}, f"{name} imports a figure module"


def test_one_stage_module_per_rule_family() -> None:
    """Every workflow script calls a stage of mis.stages, or draws a figure (plot_figure.py)."""
    scripts = sorted((REPO / "workflow" / "scripts").glob("*.py"))
    for script in scripts:
        imported = {m for m in mis_imports(script) if m.startswith(("mis.stages.", "mis.figures"))}
        if script.stem == "plot_figure":
            assert imported == {"mis.figures"}
        else:
            assert any(m.removeprefix("mis.stages.") in STAGES for m in imported), f"{script.name} calls no stage"
    assert {"images", "activations", "tasks", "embeddings", "scores", "imi", "analysis"} <= set(STAGES)


@pytest.mark.parametrize("stage", TORCH_FREE_STAGES)
def test_stages_that_need_no_network_import_without_torch(stage: str) -> None:
    code = f"import sys, mis.stages.{stage}; assert 'torch' not in sys.modules, 'torch'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"mis.stages.{stage} imports torch:\n{result.stderr[-2000:]}"


def schema_property(*keys: str) -> dict:
    node = yaml.safe_load(SCHEMA.read_text())
    for key in keys:
        node = node["properties"][key]
    return node


def test_layer_types_are_one_vocabulary() -> None:
    """The schema's enum is mis.settings.LAYER_TYPES, and mis.layers knows the modules of each."""
    from mis.layers import EXTRA_LAYER_CLASSES, LAYER_CLASSES
    from mis.settings import DEFAULT_LAYER_TYPES

    layer_types = schema_property("extraction", "layer_types")
    assert tuple(layer_types["items"]["enum"]) == LAYER_TYPES
    assert tuple(layer_types["default"]) == DEFAULT_LAYER_TYPES == tuple(LAYER_CLASSES)
    assert (*LAYER_CLASSES, *EXTRA_LAYER_CLASSES) == LAYER_TYPES


def test_similarity_backends_are_one_registry() -> None:
    """The schema's backends are mis.similarity.backends.BACKENDS, each with a config branch."""
    similarity = schema_property("similarity")
    assert tuple(similarity["properties"]["backend"]["enum"]) == tuple(BACKENDS)
    branches = {rule["if"]["properties"]["backend"]["const"] for rule in similarity.get("allOf", [])}
    assert branches <= set(BACKENDS)
