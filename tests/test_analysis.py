"""Tables behind Figs. 4–6 and the appendix, on hand-made unit tables; the figures are written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mis.analysis.accuracy import spread_models, with_accuracy
from mis.analysis.correlation import Correlation, correlation
from mis.analysis.depth_width import layer_means
from mis.analysis.example_units import example_units, extreme_images
from mis.analysis.layer_types import conover_holm, layer_type_means
from mis.figures import FIGURES, draw
from mis.results import model_summary
from mis.stages.analysis import analyze_accuracy, analyze_depth_width, analyze_layer_types, analyze_models
from mis.storage import read_table, write_arrays, write_table

from conftest import REPO


def units_table(models: int = 6, seed: int = 0) -> pd.DataFrame:
    """Per model: conv layers score ~0.9, batchnorm ~0.6; one constant unit per model."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(models):
        for layer, layer_type, depth, width, level in (
            ("c1", "conv", 0.0, 0.5, 0.9),
            ("b1", "batchnorm", 1.0, 1.0, 0.6),
        ):
            for unit in range(4):
                rows.append((f"m{m}", layer, layer_type, unit, level + rng.normal(0, 0.01), 1.0, False, depth, width))
        rows.append((f"m{m}", "b1", "batchnorm", 4, 0.0, 0.0, True, 1.0, 1.0))
    columns = [
        "model",
        "layer",
        "layer_type",
        "unit",
        "mis",
        "hard_accuracy",
        "constant",
        "relative_depth",
        "relative_width",
    ]
    return pd.DataFrame(rows, columns=columns).assign(non_finite=False, top_ties=0, bottom_ties=0)


def test_layer_tables_exclude_constant_units() -> None:
    units = units_table()
    layers = layer_means(units)
    assert len(layers) == 12 and set(layers["n_units"]) == {4}
    m0 = units[(units["model"] == "m0") & (units["layer"] == "c1")]["mis"].mean()
    assert layers.set_index(["model", "layer"]).loc[("m0", "c1"), "mis"] == pytest.approx(m0)
    means = layer_type_means(units)
    assert list(means["layer_type"].cat.categories) == ["conv", "batchnorm"]
    assert means.groupby("layer_type", observed=True)["mis"].mean().round(1).to_dict() == {
        "conv": 0.9,
        "batchnorm": 0.6,
    }


def test_conover_separates_clearly_different_layer_types() -> None:
    pvalues = conover_holm(layer_type_means(units_table(models=8)))
    assert list(pvalues.index) == ["conv", "batchnorm"] == list(pvalues.columns)
    assert pvalues.loc["conv", "batchnorm"] == pvalues.loc["batchnorm", "conv"] < 0.01
    assert pvalues.loc["conv", "conv"] == 1


def test_correlation_and_its_bootstrap_interval() -> None:
    x = np.arange(10.0)
    corr = correlation(x, 2 * x + 1, n_bootstrap=200, seed=1)
    assert corr.n == 10 and corr.pearson == pytest.approx(1) and corr.spearman == pytest.approx(1)
    assert corr.spearman_ci == pytest.approx((1, 1))
    noisy = correlation(x, -x + np.random.default_rng(0).normal(0, 3, 10), n_bootstrap=200, seed=1)
    assert noisy.pearson_ci[0] <= noisy.pearson <= noisy.pearson_ci[1] < 0.5
    assert correlation(x, -x + np.random.default_rng(0).normal(0, 3, 10), n_bootstrap=200, seed=1) == noisy
    with pytest.raises(ValueError, match="at least 3"):
        correlation(x[:2], x[:2])


def test_correlation_table_holds_the_correlation(tmp_path: Path) -> None:
    x = np.arange(10.0)
    corr = correlation(x, x**2, n_bootstrap=100, seed=0)
    write_table(corr.to_table(), tmp_path / "corr.csv")
    row = read_table(tmp_path / "corr.csv").iloc[0]
    assert row["n"] == 10 and row["spearman"] == pytest.approx(1) and row["pearson"] == pytest.approx(corr.pearson)
    assert (row["pearson_ci_low"], row["pearson_ci_high"]) == pytest.approx(corr.pearson_ci)
    empty = Correlation.empty_table()
    assert empty.empty and list(empty.columns) == list(corr.to_table().columns)


def test_accuracy_join_and_density_models() -> None:
    summary = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d"],
            "mean_mis": [0.7, 0.8, 0.6, 0.9],
            "p05_mis": [0.5, 0.7, 0.2, 0.85],
            "p95_mis": [0.9, 0.9, 0.95, 0.95],
        }
    )
    accuracy = pd.DataFrame({"model": ["a", "b", "z"], "top1": [70.0, np.nan, 80.0], "source": ["x", "y", "z"]})
    assert list(with_accuracy(summary, accuracy)["model"]) == ["a"]
    assert spread_models(summary, 2) == ["d", "c"]  # narrowest and widest 5–95 % spread
    assert sorted(spread_models(summary, 10)) == ["a", "b", "c", "d"]


def test_shipped_accuracy_table_states_a_source_for_every_row() -> None:
    table = pd.read_csv(REPO / "resources" / "imagenet_top1.csv")
    assert table["source"].notna().all() and table["model"].is_unique
    listed = table.dropna(subset=["top1"])
    assert listed["top1"].between(0, 100).all()
    assert listed.set_index("model").loc["mobilenetv2_100", "top1"] == 71.878


def test_example_units_are_each_models_extremes() -> None:
    units = units_table(models=2)
    examples = example_units(units)
    assert list(examples["rank"]) == ["highest", "lowest"] * 2
    for example in examples.itertuples():
        model_units = units[units["model"] == example.model].reset_index(drop=True)
        assert model_units.loc[example.row, "mis"] == example.mis and not model_units.loc[example.row, "constant"]
        live = model_units[~model_units["constant"]]["mis"]
        assert example.mis == (live.max() if example.rank == "highest" else live.min())


def test_example_images_are_each_examples_extremes_in_rank_order(tmp_path: Path) -> None:
    examples = pd.DataFrame({"model": ["a", "a", "b"], "row": [1, 0, 0]})
    top = {"a": np.array([[9, 8, 7], [6, 5, 4]]), "b": np.array([[3, 2, 1]])}
    paths = {}
    for model, idx in top.items():
        paths[model] = tmp_path / f"{model}.npz"
        write_arrays(paths[model], top_idx=idx, bottom_idx=idx[:, ::-1] + 10)
    images = extreme_images(examples, paths, n_images=2)
    assert list(images.columns) == ["example", "side", "position", "image"]
    assert images.groupby("example")["image"].apply(list).to_dict() == {
        0: [6, 5, 14, 15],
        1: [9, 8, 17, 18],
        2: [3, 2, 11, 12],
    }
    assert list(images["side"][:4]) == ["top", "top", "bottom", "bottom"] and list(images["position"][:4]) == [
        0,
        1,
        0,
        1,
    ]


def test_figures_are_drawn_from_the_tables_their_analysis_wrote(tmp_path: Path, monkeypatch) -> None:
    """Each analysis stage writes the tables mis.figures.FIGURES names, and the figure draws from them
    alone: Fig. 3's rows carry label and highlight, Fig. 4's density curves and Fig. 6's bin means
    are numbers of the analysis, not of the plot."""
    monkeypatch.chdir(tmp_path)  # FIGURES' tables are paths below results/analysis/ of the run
    units = units_table()
    unit_paths = [tmp_path / f"{model}.parquet" for model in sorted(units["model"].unique())]
    for path in unit_paths:
        write_table(units[units["model"] == path.stem], path)
    write_table(model_summary(units), "models.csv")
    write_table(pd.DataFrame({"model": ["m0", "m1", "m2"], "top1": [70.0, 75.0, 80.0], "source": "x"}), "top1.csv")
    tables = {name: FIGURES[name].table_paths() for name in ("fig3", "fig4", "fig5", "fig6", "constant_units")}
    analyze_models(
        "models.csv", {"m0": "Model zero"}, ["m1"], tables["fig3"]["table"], tables["constant_units"]["table"]
    )
    fig4 = tables["fig4"]
    densities = tmp_path / "densities.csv"
    analyze_accuracy(
        "models.csv",
        sorted(units["model"].unique()),
        unit_paths,
        "top1.csv",
        3,
        0,
        fig4["table"],
        densities,
        fig4["kde"],
        fig4["correlation"],
    )
    analyze_layer_types(unit_paths, tables["fig5"]["means"], tables["fig5"]["pvalues"])
    analyze_depth_width(unit_paths, tables["fig6"]["layers"], tables["fig6"]["bins"])

    fig3 = read_table(tables["fig3"]["table"])
    assert list(fig3["mean_mis"]) == sorted(fig3["mean_mis"]) and len(fig3) == 6
    assert fig3.set_index("model").loc["m0", "label"] == "Model zero" and list(
        fig3.loc[fig3["highlighted"], "model"]
    ) == ["m1"]
    kde = read_table(fig4["kde"])
    assert kde["model"].nunique() == 3 and (kde["n_units"] == 8).all()  # the constant unit left out
    for model, curve in kde.groupby("model"):
        live_mis = units.query("model == @model and not constant")["mis"]
        assert curve["density"].to_numpy() == pytest.approx(stats.gaussian_kde(live_mis)(curve["mis"]), rel=1e-9)
        assert curve.loc[curve["density"].idxmax(), "mis"] == pytest.approx(0.9, abs=0.02)  # the conv mode
    bins = read_table(tables["fig6"]["bins"]).set_index(["axis", "layer_type"])
    assert bins.loc[("relative_depth", "conv"), "bin_centre"] == pytest.approx(0.05)
    assert bins.loc[("relative_depth", "batchnorm"), "n_layers"] == 6
    assert bins.loc[("relative_depth", "conv"), "mis"] == pytest.approx(
        units.query("layer_type == 'conv'")["mis"].mean(), abs=1e-3
    )

    options = {"fig3": {"similarity_label": "stand-in"}, "constant_units": {"threshold": 1e-8}}
    for name, paths in tables.items():
        draw(name, paths, tmp_path / f"{name}.pdf", **options.get(name, {}))
        assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF") and (
            tmp_path / f"{name}.pdf"
        ).stat().st_size > 3000
