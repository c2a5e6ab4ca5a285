"""One contract for every figure (mis.figures.FIGURES): its plot rule reads exactly the tables the
table names, all under results/analysis/ and all written by the figure's analysis rule, a stage
function of that name; the drawing function takes those tables, the output path and the options the
rule passes; and the figure modules only draw, in the env the rule names."""

from __future__ import annotations

import importlib
import inspect

import pytest
from test_reruns import every_block, write

from mis.figures import FIGURES
from mis.planning import plan

from conftest import REPO
from test_envs import PROVIDERS, load_env, normalize, provided, third_party_imports

pytestmark = pytest.mark.workflow
STAGES = REPO / "src" / "mis" / "stages"
# What a figure may need: reading tables and drawing (PIL for thumbnails); torch and torchvision
# only where it reads images (the decoders of mis.datasets).
DRAWING = {"matplotlib", "numpy", "pandas", "PIL"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> tuple[dict, list]:
    """A config with every block, and its DAG, in which every figure is planned."""
    workdir = tmp_path_factory.mktemp("figures")
    config = every_block(workdir)
    return config, plan(workdir, [write(workdir, "config.yaml", config)], forceall=True)


def test_every_figure_has_a_plot_rule(planned) -> None:
    _, jobs = planned
    assert {job.rule.removeprefix("plot_") for job in jobs if job.rule.startswith("plot_")} == set(FIGURES)


@pytest.mark.parametrize("name", FIGURES)
def test_figure_reads_only_its_tables_from_its_analysis(planned, name: str) -> None:
    config, jobs = planned
    figure = FIGURES[name]
    plot = next(job for job in jobs if job.rule == f"plot_{name}")
    producer = {path: job.rule for job in jobs for path, _ in job.outputs}
    tables = figure.table_paths(backend=config["similarity"]["name"])
    assert sorted(plot.inputs) == sorted(tables.values())
    assert all(path.startswith("results/analysis/") for path in tables.values())
    assert {producer[path] for path in tables.values()} == {figure.analysis}
    stage_modules = [importlib.import_module(f"mis.stages.{path.stem}") for path in STAGES.glob("[!_]*.py")]
    assert any(hasattr(module, figure.analysis) for module in stage_modules), f"no stage {figure.analysis}()"
    # The drawing function takes the tables, the path and the rule's options, and needs nothing else.
    options = dict(plot.params)["options"]
    parameters = inspect.signature(figure.function()).parameters
    required = {key for key, parameter in parameters.items() if parameter.default is parameter.empty}
    given = set(tables) | {"path"} | set(options)
    assert required <= given <= set(parameters), f"{figure.draw}{inspect.signature(figure.function())}"


@pytest.mark.parametrize("name", FIGURES)
def test_figure_module_only_draws_in_its_env(name: str) -> None:
    figure = FIGURES[name]
    module = REPO / "src" / "mis" / "figures" / f"{figure.draw.split(':')[0]}.py"
    needed = third_party_imports(module)
    allowed = DRAWING | ({"torch", "torchvision"} if figure.reads_images else set())
    assert needed <= allowed, f"{module.name} computes with {sorted(needed - allowed)}"
    env = load_env(REPO / "envs" / ("torch.yaml" if figure.reads_images else "plots.yaml"))
    missing = {p for p in needed if not {normalize(n) for n in PROVIDERS.get(p, {p})} & provided(env)}
    assert not missing, f"{module.name} needs {sorted(missing)}"
