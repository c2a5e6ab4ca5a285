"""Each figure needs only what it shows, and a results folder never passes off another config's
numbers: Snakemake drops the job that would rebuild an existing file when that job lacks an input,
and keeps the file, so no job may have an input that no rule makes (user files are assets, checked
before the first job, mis.assets); and a figure's DAG holds the models it shows, not the others'."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from planning import pretend_finished
from test_reruns import every_block, write
from test_workflow import run

from mis.planning import plan

from conftest import REPO

pytestmark = pytest.mark.workflow
EPOCHS = {"test_resnet-demo-epoch0", "test_resnet-demo-epoch1"}
MODELS = {"mobilenetv2_100", "resnet18-untrained"}
SAE_MODEL = "mobilenetv2_100-sae"


SCORING = {"extract_activations", "sample_tasks", "embed_images", "compute_mis"}


def models_in(jobs) -> set[str]:
    """The models whose units the jobs score."""
    return {value for job in jobs if job.rule in SCORING for name, value in job.wildcards if name == "model"}


def test_every_input_is_made_by_a_rule(tmp_path: Path) -> None:
    """So that Snakemake can never keep a stale output because its producer lacks an input."""
    jobs = plan(tmp_path, [write(tmp_path, "config.yaml", every_block(tmp_path))], forceall=True)
    made = {path for job in jobs for path, _ in job.outputs}
    for job in jobs:
        assert set(job.inputs) <= made, f"rule {job.rule}: inputs no rule makes: {sorted(set(job.inputs) - made)}"


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("figures/fig3.pdf", MODELS),
        ("figures/fig4.pdf", MODELS),
        ("figures/fig5.pdf", MODELS),
        ("figures/fig6.pdf", MODELS),
        ("figures/convergence.pdf", MODELS),
        ("figures/fig7.pdf", EPOCHS),
        ("figures/sae.pdf", {SAE_MODEL}),
        ("figures/fig2.pdf", set()),
    ],
)
def test_each_figure_needs_only_the_models_it_shows(tmp_path: Path, target: str, shown: set[str]) -> None:
    jobs = plan(tmp_path, [write(tmp_path, "config.yaml", every_block(tmp_path))], [target], forceall=True)
    assert models_in(jobs) == shown
    assert ("train_model" in {job.rule for job in jobs}) == (target == "figures/fig7.pdf")


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """A folder where the reduced config with every block ran."""
    workdir = tmp_path_factory.mktemp("stale")
    pretend_finished(workdir, write(workdir, "config.yaml", every_block(workdir)))
    return workdir


def another_config(workdir: Path) -> dict:
    """The issue's scenario: one more model, the similarity renamed, training checkpoints that are
    not there (as config/paper.yaml in a folder where `make run` ran)."""
    config = every_block(workdir)
    config["models"]["resnet18-again"] = {"architecture": "resnet18", "weights": {"source": "random", "seed": 1}}
    config["similarity"]["name"] = "renamed"
    config["training"] = {
        "name": "elsewhere",
        "architecture": "resnet18",
        "epochs": [0, 1],
        "checkpoints": {"pattern": str(workdir / "absent" / "epoch{epoch}.pth"), "accuracy": str(workdir / "a.csv")},
    }
    return config


@pytest.mark.parametrize(
    ("target", "tables"),
    [
        ("figures/fig3.pdf", {"summarize_models"}),
        ("figures/fig4.pdf", {"summarize_models", "analyze_accuracy"}),
        ("figures/fig5.pdf", {"analyze_layer_types"}),
        ("figures/fig6.pdf", {"analyze_depth_width"}),
        ("figures/fig2.pdf", {"compute_imi_mis", "fit_alpha"}),
    ],
)
def test_another_configs_figure_is_never_drawn_from_this_folders_tables(
    demo_folder: Path, target: str, tables: set[str]
) -> None:
    config = write(demo_folder, "another.yaml", another_config(demo_folder))
    planned = [job for job in plan(demo_folder, [config], [target]) if job.reason]
    rules = {job.rule for job in planned}
    assert tables | {f"plot_{Path(target).stem}"} <= rules, f"planned: {sorted(rules)}"
    if target != "figures/fig2.pdf":
        assert models_in(planned) == MODELS | {"resnet18-again"}  # every model scored with the renamed similarity
        assert {job.key for job in planned if job.rule == "embed_images"} == {
            ("embed_images", (("model", model), ("similarity", "renamed"))) for model in MODELS | {"resnet18-again"}
        }


def test_missing_inputs_from_outside_stop_the_run_before_any_job(demo_folder: Path) -> None:
    """Fig. 7 of that config needs the absent checkpoints: the run lists them all and runs nothing."""
    config = write(demo_folder, "another.yaml", another_config(demo_folder))
    result = run(demo_folder, config, "figures/fig7.pdf")
    assert result.returncode != 0
    assert "input(s) from outside the repository are missing, so nothing was run" in result.stderr
    for epoch in (0, 1):
        assert f"training.checkpoints.pattern: {demo_folder / 'absent' / f'epoch{epoch}.pth'}" in result.stderr
    assert f"training.checkpoints.accuracy: {demo_folder / 'a.csv'}" in result.stderr
    assert not (demo_folder / "logs" / "extract_activations" / "elsewhere-epoch0.log").exists()


def test_the_papers_fig3_plans_the_sweep_without_training_checkpoints(tmp_path: Path) -> None:
    """In a clean folder, as the README types it: every model of the sweep, no training epoch."""
    jobs = plan(tmp_path, [REPO / "config" / "paper.yaml"], ["figures/fig3.pdf"])
    models = models_in(jobs)
    assert len(models) > 900 and not any("epoch" in model for model in models)
    assert {"resnet50", "convnext_b", "resnet50.a1_in1k"} <= models
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert not Path(config["training"]["checkpoints"]["pattern"].format(epoch=0)).exists()
