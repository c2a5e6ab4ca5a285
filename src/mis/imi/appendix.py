"""The IMI appendix analyses of the MIS paper (p.17 and the example units): how well each
similarity backend's MIS correlates with HIS against the noise ceiling, and the units whose MIS
overestimates their HIS most.

Similarity comparison: the human responses of each held-out unit are resampled binomially,
k* ~ Bin(n_u, HIS_u), ``n_simulations`` times (seeded); per resampling the correlation of each
backend's MIS with the resampled HIS is computed, at unit level and at model level (means per
model and condition), and the noise ceiling is the correlation of the resampled with the observed
HIS. Reported: mean and standard deviation over the resamplings (the paper's bars). Every backend
is compared on the same units: the held-out units they all share.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mis.bootstrap import CORRELATIONS
from mis.imi import CEILING, UNIT_KEYS
from mis.imi.alpha import group_means

log = logging.getLogger(__name__)


def shared_held_out(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The held-out units of every backend, one row per unit, a column ``mis_<name>`` per backend."""
    merged = None
    for name, table in tables.items():
        held = table.loc[table["split"] == "held_out", UNIT_KEYS + ["his", "n_trials", "mis"]].rename(
            columns={"mis": f"mis_{name}"}
        )
        merged = held if merged is None else merged.merge(held.drop(columns=["his", "n_trials"]), on=UNIT_KEYS)
    if merged is None or len(merged) < 3:
        raise ValueError(
            f"{0 if merged is None else len(merged)} held-out units shared by the backends {list(tables)}; need 3"
        )
    return merged.sort_values(UNIT_KEYS, ignore_index=True)


def similarity_comparison(
    tables: Mapping[str, pd.DataFrame], labels: Mapping[str, str], n_simulations: int, seed: int
) -> pd.DataFrame:
    """One row per (backend or noise ceiling, level, correlation): mean and sd over resamplings."""
    units = shared_held_out(tables)
    his, n = units["his"].to_numpy(), units["n_trials"].to_numpy()
    groups = units.groupby(["model", "condition"]).ngroup().to_numpy()
    resampled = np.random.default_rng([seed, 3]).binomial(n, his, size=(n_simulations, len(his))) / n
    predictors = {name: units[f"mis_{name}"].to_numpy() for name in tables} | {CEILING: his}
    rows = []
    for name, values in predictors.items():
        pairs = {
            "unit": (np.broadcast_to(values, resampled.shape), resampled),
            "model": (
                np.broadcast_to(group_means(values[None], groups), (n_simulations, groups.max() + 1)),
                group_means(resampled, groups),
            ),
        }
        for level, (a, b) in pairs.items():
            for correlation, (rowwise, _) in CORRELATIONS.items():
                r = rowwise(a, b)
                rows.append(
                    {
                        "similarity": name,
                        "label": labels.get(name, name),
                        "level": level,
                        "correlation": correlation,
                        "mean": float(np.nanmean(r)),
                        "sd": float(np.nanstd(r)),
                        "n_units": len(units),
                        "n_models": int(groups.max() + 1),
                        "n_simulations": n_simulations,
                    }
                )
    return pd.DataFrame(rows)


def overestimated_units(units: pd.DataFrame, trials: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` units with the largest MIS − HIS, each with its first trial's image paths."""
    ranked = units.assign(difference=units["mis"] - units["his"]).sort_values(
        "difference", ascending=False, kind="stable"
    )
    first = trials.sort_values("task").drop_duplicates(UNIT_KEYS)
    table = ranked.head(n).merge(first, on=UNIT_KEYS, how="left")
    return table[
        UNIT_KEYS
        + ["mis", "his", "difference", "n_trials", "task", "batch", "max_query", "min_query", "max_refs", "min_refs"]
    ]
