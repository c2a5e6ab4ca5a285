"""The tables of the per-model figures: Fig. 3 (average MIS per model with its 5–95 % band) and the
appendix's constant units, from the model summary (``mis.results.model_summary``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

FIG3_COLUMNS = ["model", "label", "mean_mis", "p05_mis", "p95_mis", "n_units", "highlighted"]
CONSTANT_COLUMNS = ["model", "label", "n_constant", "n_units", "constant_ratio"]


def model_tables(
    summary: pd.DataFrame, labels: Mapping[str, str], highlight: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Fig. 3's rows, sorted by average MIS; the constant units' rows, sorted by their share), each
    model with its display label; ``highlighted`` marks the models to show in red (the IMI models
    in the paper)."""
    table = summary.assign(
        label=summary["model"].map(lambda model: labels.get(model, model)), highlighted=summary["model"].isin(highlight)
    )
    fig3 = table.sort_values("mean_mis", ignore_index=True)[FIG3_COLUMNS]
    constant = table.sort_values("constant_ratio", ignore_index=True)[CONSTANT_COLUMNS]
    return fig3, constant
