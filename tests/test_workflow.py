"""The Snakemake workflow end to end on a reduced config: figure, sane tables, determinism,
and clean failures (bad config key, missing image) that leave no outputs behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mis.storage import read_arrays
from mis.tasks import read_tasks, task_images

from conftest import DEMO_IMAGES, REPO

pytestmark = pytest.mark.workflow
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", "2"]
N_IMAGES = 60
REDUCED_CONFIG = REPO / ".ci" / "reduced" / "config.yaml"


def embedding_reports(workdir: Path) -> dict[str, dict]:
    """embed_images' report of each model."""
    folder = workdir / "results" / "embeddings" / "lite0-standin"
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def reduced_config(workdir: Path) -> Path:
    """CI's reduced config (.ci/reduced/config.yaml, which the cluster test runs too): the embedded
    default on 60 photos, two models, N = 3, K = 2, without the training, SAE and IMI blocks (they
    have their own tests), its image root made absolute and its file list copied, for a run in ``workdir``."""
    config = yaml.safe_load(REDUCED_CONFIG.read_text())
    file_list = workdir / "images.txt"  # a copy, which a test may change
    file_list.write_text((REPO / config["images"]["file_list"]).read_text())
    config["images"] = {"root": str(REPO / config["images"]["root"]), "file_list": str(file_list)}
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_reduced_config_is_the_default_reduced() -> None:
    """Every key is the embedded default's but the photos (every 8th), the models (two of its own),
    N and K, the batch size and the optional blocks."""
    reduced = yaml.safe_load(REDUCED_CONFIG.read_text())
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    reduced_keys = {"images", "models", "tasks", "extraction"}
    assert {key: reduced.get(key) for key in set(default) - reduced_keys - {"training", "sae", "imi"}} == {
        key: default[key] for key in set(default) - reduced_keys - {"training", "sae", "imi"}
    }
    assert all(default["models"][name] == spec for name, spec in reduced["models"].items())
    assert {**reduced["extraction"], "batch_size": 64} == default["extraction"]
    listed = [line for line in (REPO / reduced["images"]["file_list"]).read_text().splitlines() if line[0] != "#"]
    assert listed == sorted(p.name for p in DEMO_IMAGES.glob("*.jpg"))[::8][:N_IMAGES]


def run(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake with targets and flags ``args``; --configfile comes last since it takes a list."""
    return subprocess.run(
        [*SNAKEMAKE, *args, "--directory", str(workdir), "--configfile", str(config)],
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    result = run(workdir, reduced_config(workdir), "all")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_figure_and_tables(finished_run: Path) -> None:
    for name in (
        "fig3.pdf",
        "fig4.pdf",
        "fig5.pdf",
        "fig6.pdf",
        "constant_units.pdf",
        "example_units.pdf",
        "convergence.pdf",
    ):
        figure = finished_run / "figures" / name
        assert figure.read_bytes().startswith(b"%PDF") and figure.stat().st_size > 5000, name
    summary = pd.read_csv(finished_run / "results" / "mis" / "models.csv")
    assert set(summary["model"]) == {"mobilenetv2_100", "resnet18-untrained"}
    units = pd.read_parquet(finished_run / "results" / "mis" / "mobilenetv2_100" / "units.parquet")
    assert list(units.columns[:7]) == ["model", "layer", "layer_type", "unit", "mis", "hard_accuracy", "constant"]
    layers = pd.read_csv(finished_run / "results" / "activations" / "mobilenetv2_100" / "layers.csv")
    assert len(units) == layers["channels"].sum()
    assert set(units["layer_type"]) == {"conv", "batchnorm", "linear"}
    assert units["mis"].between(0, 1).all()
    assert set(np.round(units["hard_accuracy"] * 3).unique()) <= {0, 1, 2, 3}  # multiples of 1/N
    row = summary.set_index("model").loc["mobilenetv2_100"]
    live = units[~units["constant"]]
    assert row["n_units"] == len(live)
    assert row["mean_mis"] == pytest.approx(live["mis"].mean())
    assert row["p05_mis"] < row["mean_mis"] < row["p95_mis"]
    # the trained model's units are more interpretable than a random network's
    assert row["mean_mis"] > summary.set_index("model").loc["resnet18-untrained", "mean_mis"]
    assert (finished_run / "results" / "browser" / "index.html").is_file()
    analysis = finished_run / "results" / "analysis"
    fig4 = pd.read_csv(analysis / "fig4.csv").set_index("model")
    assert fig4.loc["mobilenetv2_100", "top1"] == 71.878 and fig4["density"].all()
    fig5 = pd.read_csv(analysis / "fig5.csv")
    assert set(fig5["layer_type"]) == {"conv", "batchnorm", "linear"} and len(fig5) == 2 * 3
    assert pd.read_csv(analysis / "fig5_conover_holm.csv").set_index("layer_type").shape == (3, 3)
    fig6 = pd.read_csv(analysis / "fig6.csv")
    all_units = pd.concat(pd.read_parquet(p) for p in (finished_run / "results" / "mis").glob("*/units.parquet"))
    assert (
        len(fig6) == all_units[~all_units["constant"]].groupby(["model", "layer"]).ngroups
    )  # all-constant layers left out
    assert fig6["relative_depth"].between(0, 1).all() and fig6["relative_width"].between(0, 1).all()
    assert len(pd.read_csv(analysis / "example_units.csv")) == 4
    convergence = pd.read_csv(finished_run / "results" / "analysis" / "convergence.csv")
    assert sorted(set(convergence["n_tasks"])) == [1, 2, 3] and len(convergence) == 2 * 2 * 3
    assert (convergence.loc[convergence["n_tasks"] == 3, "mean_abs_diff"] == 0).all()
    assert (convergence.loc[convergence["n_tasks"] == 1, "mean_abs_diff"] > 0).all()
    reports = embedding_reports(finished_run)
    needed = {
        model: set(task_images(read_tasks(finished_run / "results" / "tasks" / f"{model}.npz"))) for model in reports
    }
    assert all(report["requested"] == len(needed[model]) for model, report in reports.items())
    # one embedding job per model over one store: every image embedded once, by whichever job needed it first
    assert sum(report["embedded"] for report in reports.values()) == len(set.union(*needed.values()))
    tasks = read_arrays(finished_run / "results" / "tasks" / "mobilenetv2_100.npz")
    assert tasks["max_refs"].shape == (len(units), 3, 2)
    for unit in (0, len(units) // 2, len(units) - 1):
        used = np.concatenate([a[unit].ravel() for a in tasks.values()])
        assert len(set(used)) == 18 and used.max() < N_IMAGES


def test_same_config_gives_identical_outputs(finished_run: Path, tmp_path: Path) -> None:
    first = {p.relative_to(finished_run): read_arrays(p) for p in (finished_run / "results").rglob("*.npz")}
    units = pd.read_parquet(finished_run / "results" / "mis" / "mobilenetv2_100" / "units.parquet")
    result = run(finished_run, finished_run / "config.yaml", "all", "--forceall")
    assert result.returncode == 0, result.stderr[-3000:]
    for rel, arrays in first.items():
        again = read_arrays(finished_run / rel)
        for name, array in arrays.items():
            np.testing.assert_array_equal(again[name], array, err_msg=f"{rel}:{name}")
    pd.testing.assert_frame_equal(
        pd.read_parquet(finished_run / "results" / "mis" / "mobilenetv2_100" / "units.parquet"), units
    )
    for report in embedding_reports(finished_run).values():  # every image from the store
        assert report["embedded"] == 0 and report["from_cache"] == report["requested"] > 0


def test_invalid_config_fails_naming_the_key(tmp_path: Path) -> None:
    config_path = reduced_config(tmp_path)
    config = yaml.safe_load(config_path.read_text())
    config["tasks"]["n_tasks"] = -1
    config_path.write_text(yaml.safe_dump(config))
    result = run(tmp_path, config_path, "all")
    assert result.returncode != 0
    assert "config key 'tasks.n_tasks'" in result.stderr
    assert not (tmp_path / "results").exists()


def test_missing_image_fails_naming_the_file_and_leaves_no_output(tmp_path: Path) -> None:
    config_path = reduced_config(tmp_path)
    with open(tmp_path / "images.txt", "a") as handle:
        handle.write("no_such_photo.jpg\n")
    result = run(tmp_path, config_path, "all")
    assert result.returncode != 0
    log = (tmp_path / "logs" / "prepare_images.log").read_text()
    assert "image file not found" in log and "no_such_photo.jpg" in log
    assert not (tmp_path / "results" / "images" / "manifest.csv").exists()
    assert not list((tmp_path / "results").rglob("*.*"))


def test_training_dynamics_from_a_real_training_run(tmp_path: Path) -> None:
    """Fig. 7, 8 on the reduced set: train_model trains the default's tiny ResNet for two epochs on
    the 7 classes of >= 4 of the 60 photos; each epoch's checkpoint is scored like any model."""
    config_path = reduced_config(tmp_path)
    config = yaml.safe_load(config_path.read_text())
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["training"]
    config["training"] = {
        **default,
        "epochs": [0, 1, 2],
        "train": {**default["train"], "min_images": 4, "batch_size": 8},
    }
    config_path.write_text(yaml.safe_dump(config))
    figures = ["figures/fig7.pdf", "figures/fig8.pdf", "figures/fig8_all_epochs.pdf"]
    result = run(tmp_path, config_path, *figures)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in figures:
        assert (tmp_path / name).read_bytes().startswith(b"%PDF") and (tmp_path / name).stat().st_size > 5000, name
    run_dir = tmp_path / "results" / "training" / default["name"]
    split = pd.read_csv(run_dir / "split.csv")
    assert split["class"].nunique() == 7 and len(split) == 37
    accuracy = pd.read_csv(run_dir / "accuracy.csv")
    assert accuracy["epoch"].tolist() == [0, 1, 2] and accuracy["top1"].between(0, 100).all()
    epochs = pd.read_csv(tmp_path / "results" / "analysis" / "fig7.csv")
    models = [f"{default['name']}-epoch{e}" for e in (0, 1, 2)]
    assert epochs["model"].tolist() == models and epochs["top1"].tolist() == accuracy["top1"].tolist()
    for model, row in epochs.set_index("model").iterrows():
        units = pd.read_parquet(tmp_path / "results" / "mis" / model / "units.parquet")
        assert row["n_units"] == (~units["constant"]).sum()
        assert row["mean_mis"] == pytest.approx(units.loc[~units["constant"], "mis"].mean())
    layers = pd.read_csv(tmp_path / "results" / "analysis" / "fig8.csv")
    assert len(layers) == 3 * units["layer"].nunique() and layers["relative_depth"].between(0, 1).all()
    first = layers[layers["epoch"] == 1].set_index("layer")
    initial = layers[layers["epoch"] == 0].set_index("layer")
    np.testing.assert_allclose(first["delta_previous"], first["mean_mis"] - initial["mean_mis"])


def test_config_file_replaces_the_default(tmp_path: Path) -> None:
    """`--configfile` replaces config/config.yaml instead of merging into it (config/paper.yaml must
    not score the demo's models or train its tiny ResNet); without one the default applies."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text((REPO / "config" / "config.yaml").read_text())
    given = run(tmp_path, reduced_config(tmp_path), "--dry-run", "all")
    assert given.returncode == 0, given.stderr[-3000:]
    assert "mobilenetv2_100-untrained" not in given.stdout and "train_model" not in given.stdout
    assert "resnet18-untrained" in given.stdout
    default = subprocess.run(
        [*SNAKEMAKE, "--dry-run", "--directory", str(tmp_path), "all"], capture_output=True, text=True, timeout=300
    )
    assert default.returncode == 0, default.stderr[-3000:]
    assert "mobilenetv2_100-untrained" in default.stdout and "train_model" in default.stdout
