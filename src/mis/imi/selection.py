"""The highest- and lowest-MIS units of each model: the units of the paper's interventional study
(Fig. 2C), which asks new participants about them; the workflow makes the selection, not the study.

Chosen among all non-constant units of a model (its unit table from ``compute_mis``), not among the
IMI units, since the study needs units without human data. Ties are broken by the unit table's order.
"""

from __future__ import annotations

import logging

import pandas as pd

from mis.results import live

log = logging.getLogger(__name__)
COLUMNS = ["model", "extreme", "rank", "layer", "layer_type", "unit", "mis", "hard_accuracy", "relative_depth"]


def extreme_units(units: pd.DataFrame, n: int) -> pd.DataFrame:
    """Per model, the ``n`` highest-MIS and the ``n`` lowest-MIS non-constant units (fewer, and never
    the same unit twice, when a model has under 2·n)."""
    parts = []
    for model, group in units[live(units)].groupby("model", sort=True):
        ranked = group.sort_values("mis", ascending=False, kind="stable")
        per_side = min(n, len(ranked) // 2)
        if per_side < n:
            log.warning("%s has %d non-constant units: %d per side instead of %d", model, len(ranked), per_side, n)
        highest = ranked.head(per_side).assign(extreme="highest", rank=range(1, per_side + 1))
        lowest = ranked.iloc[::-1].head(per_side).assign(extreme="lowest", rank=range(1, per_side + 1))
        parts += [highest, lowest]
    return pd.concat(parts, ignore_index=True)[COLUMNS]
