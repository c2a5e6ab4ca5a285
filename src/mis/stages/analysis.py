"""The analysis stages: the tables behind the figures, under results/analysis/ (``mis.analysis``
computes them; the plot rules only draw them, ``mis.figures``). No torch."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from mis.analysis.accuracy import densities as kde_densities
from mis.analysis.accuracy import spread_models, with_accuracy
from mis.analysis.convergence import convergence_table
from mis.analysis.correlation import Correlation, correlation
from mis.analysis.depth_width import layer_bins, layer_means
from mis.analysis.dynamics import (
    accuracy_correlation,
    epoch_table,
    first_epoch_depth_correlation,
    layer_changes,
    read_accuracy_table,
)
from mis.analysis.example_units import example_units, extreme_images
from mis.analysis.layer_types import conover_holm, layer_type_means
from mis.analysis.models import model_tables
from mis.analysis.sae import sae_table, sae_unit_mis
from mis.embeddings import task_embeddings
from mis.results import live, read_units
from mis.settings import SaeSettings, TaskSettings
from mis.storage import read_arrays, read_table, write_table
from mis.tasks import rows_in

PathLike = str | os.PathLike


def analyze_accuracy(
    summary_path: PathLike,
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    accuracy_path: PathLike,
    n_density_models: int,
    seed: int,
    table_path: PathLike,
    densities_path: PathLike,
    kde_path: PathLike,
    correlation_path: PathLike,
) -> pd.DataFrame:
    """The tables of Fig. 4: per model its summary, top-1 accuracy and source (where listed) and a
    ``density`` flag for panel B; the per-unit MIS of the flagged models' live units, and their
    density curves; the accuracy–MIS correlation (no row below 3 models with an accuracy). Only the
    flagged models' unit tables are read (``units_paths`` are the ``models``' in order)."""
    summary = read_table(summary_path)
    listed = with_accuracy(summary, pd.read_csv(accuracy_path))
    corr = correlation(listed["top1"], listed["mean_mis"], seed=seed) if len(listed) >= 3 else None
    picked = spread_models(summary, n_density_models)
    units = read_units([path for model, path in zip(models, units_paths, strict=True) if model in picked])
    scored = units[live(units)]
    densities = pd.concat([scored.loc[scored["model"] == m, ["model", "mis"]] for m in picked], ignore_index=True)
    table = summary.merge(listed[["model", "top1", "source"]], on="model", how="left")
    table = table.assign(density=table["model"].isin(picked))
    write_table(table, table_path)
    write_table(densities, densities_path)
    write_table(kde_densities(densities, picked), kde_path)
    write_table(corr.to_table() if corr else Correlation.empty_table(), correlation_path)
    return table


def analyze_convergence(
    models: list[str],
    extremes_paths: list[str],
    units_paths: list[str],
    embeddings_paths: list[str],
    cache_dir: str,
    tasks: TaskSettings,
    alpha: float,
    table_path: str,
) -> pd.DataFrame:
    """The convergence table of every model, from cached extremes, unit tables and embeddings
    (embed_images' receipts, gathered from the store at ``cache_dir``)."""
    n_tasks, n_refs, seed = tasks.n_tasks, tasks.n_refs, tasks.seed
    tables = []
    for model, extremes_path, units_path, embeddings_path in zip(models, extremes_paths, units_paths, embeddings_paths):
        images, embeddings = task_embeddings(embeddings_path, cache_dir)
        extremes = read_arrays(extremes_path)
        top, bottom = (rows_in(images, extremes[k], embeddings_path) for k in ("top_idx", "bottom_idx"))
        scored = live(read_table(units_path)).to_numpy()
        tables.append(convergence_table(model, top, bottom, scored, embeddings, n_tasks, n_refs, alpha, seed))
    table = pd.concat(tables, ignore_index=True)
    write_table(table, table_path)
    return table


def analyze_depth_width(units_paths: Sequence[PathLike], table_path: PathLike, bins_path: PathLike) -> pd.DataFrame:
    """Fig. 6's tables: mean MIS per layer, and per layer type its mean in bins of depth and width."""
    layers = layer_means(read_units(units_paths))
    write_table(layers, table_path)
    write_table(layer_bins(layers), bins_path)
    return layers


def analyze_models(
    summary_path: PathLike,
    labels: Mapping[str, str],
    highlight: Sequence[str],
    fig3_path: PathLike,
    constant_path: PathLike,
) -> None:
    """The tables of Fig. 3 and of the constant-unit figure, from the model summary."""
    fig3, constant = model_tables(read_table(summary_path), labels, highlight)
    write_table(fig3, fig3_path)
    write_table(constant, constant_path)


def select_example_units(
    models: Sequence[str],
    units_paths: Sequence[PathLike],
    extremes_paths: Sequence[PathLike],
    manifest_path: PathLike,
    n_images: int,
    table_path: PathLike,
    images_path: PathLike,
) -> pd.DataFrame:
    """The example units, and their images with the path of each (relative to the image root)."""
    examples = example_units(read_units(units_paths))
    images = extreme_images(examples, dict(zip(models, extremes_paths, strict=True)), n_images)
    images["path"] = read_table(manifest_path)["path"].to_numpy()[images["image"].to_numpy()]
    write_table(examples, table_path)
    write_table(images, images_path)
    return examples


def analyze_layer_types(units_paths: Sequence[PathLike], table_path: PathLike, pvalues_path: PathLike) -> pd.DataFrame:
    """Per (model, layer type) means, and their Conover p-values (rows and columns in layer-type
    order)."""
    means = layer_type_means(read_units(units_paths))
    write_table(means.assign(layer_type=means["layer_type"].astype(str)), table_path)
    write_table(conover_holm(means).rename_axis("layer_type").reset_index(), pvalues_path)
    return means


def analyze_sae(
    units_path: PathLike,
    metrics_path: PathLike,
    trained: Mapping[str, SaeSettings],
    layer: str,
    table_path: PathLike,
    unit_mis_path: PathLike,
) -> None:
    """The SAE table (results/analysis/sae.csv) and the per-unit MIS behind its distributions."""
    units, metrics = read_table(units_path), read_table(metrics_path)
    write_table(sae_table(units, metrics, trained, layer), table_path)
    write_table(sae_unit_mis(units, metrics, layer), unit_mis_path)


def analyze_training(
    units_paths: Sequence[PathLike],
    epochs: Mapping[str, int],
    accuracy_path: PathLike,
    epochs_path: PathLike,
    correlation_path: PathLike,
    layers_path: PathLike,
    depth_path: PathLike,
) -> None:
    """The tables of Figs. 7 and 8: per epoch, its accuracy–MIS correlation, per layer and epoch,
    and the first epoch's change against depth."""
    units = read_units(units_paths)
    table = epoch_table(units, epochs, read_accuracy_table(accuracy_path))
    rho, n = accuracy_correlation(table)
    layers = layer_changes(units, epochs)
    first, second, r, n_layers = first_epoch_depth_correlation(layers)
    write_table(table, epochs_path)
    write_table(pd.DataFrame([{"spearman": rho, "n_epochs": n}]), correlation_path)
    write_table(layers, layers_path)
    write_table(
        pd.DataFrame([{"first_epoch": first, "second_epoch": second, "pearson": r, "n_layers": n_layers}]), depth_path
    )
