"""Fig. 2C: the human interpretability score (HIS) of the units the MIS calls easiest and hardest,
against random units, from a browser study of them (``mis.experiment``); and MIS against HIS for
these units, next to the IMI units' (Fig. 2B) when the run has an ``imi`` block.

Per model and group (and pooled over models, model ``all``): the mean HIS of the group's units with a
percentile bootstrap interval (units resampled within the group). Between the groups (easiest vs
random, hardest vs random, easiest vs hardest): a two-sided Mann–Whitney U test on the units' HIS,
Holm-corrected over the three comparisons of a model. The MIS paper's summary does not name its
test [inferred]: a rank test of unit scores fits the few, bounded, often tied per-unit proportions
(30 responses each) without assuming normality. MIS vs HIS: Spearman's ρ of the study's units.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, spearmanr

from mis.bootstrap import interval
from mis.experiment import ALL, group_order
from mis.storage import read_table

log = logging.getLogger(__name__)
PathLike = str | os.PathLike
TEST = "Mann-Whitney U (two-sided), Holm-corrected per model"
COMPARISONS = (("easiest", "random"), ("hardest", "random"), ("easiest", "hardest"))
UNIT_COLUMNS = ["source", "model", "group", "layer", "unit", "mis", "his", "n_trials", "ci_low", "ci_high"]


def study_scores(his: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """The study's units (not the practice ones) with their HIS; units without responses are left
    out (logged)."""
    study = units[units["group"] != "practice"]
    scores = his.rename(columns={"channel": "unit"})[["model", "layer", "unit", "his", "n_trials", "ci_low", "ci_high"]]
    joined = study.merge(scores, on=["model", "layer", "unit"], how="left")
    missing = joined["his"].isna()
    if missing.any():
        log.warning("%d of %d study units have no response that passed the checks", missing.sum(), len(joined))
    return joined[~missing].assign(source="study")[UNIT_COLUMNS].reset_index(drop=True)


def with_pooled(scores: pd.DataFrame) -> pd.DataFrame:
    """The units once per model and once more under the model ``all`` (when there are several)."""
    return pd.concat([scores, scores.assign(model=ALL)]) if scores["model"].nunique() > 1 else scores


def group_table(scores: pd.DataFrame, n_bootstrap: int, level: float, seed: int) -> pd.DataFrame:
    """Mean HIS per model and group with its bootstrap interval, and the mean MIS."""
    rows = []
    for (model, group), part in with_pooled(scores).groupby(["model", "group"], sort=False):
        his = part["his"].to_numpy()
        rng = np.random.default_rng([seed, len(rows)])
        boot = his[rng.integers(len(his), size=(n_bootstrap, len(his)))].mean(axis=1)
        low, high = interval(boot, level)
        rows.append(
            {
                "model": model,
                "group": group,
                "n_units": len(part),
                "n_trials": int(part["n_trials"].sum()),
                "mean_his": float(his.mean()),
                "ci_low": float(low),
                "ci_high": float(high),
                "mean_mis": float(part["mis"].mean()),
            }
        )
    table = pd.DataFrame(rows)
    order = {g: i for i, g in enumerate(group_order(table["group"]))}
    return table.sort_values(
        ["model", "group"], key=lambda c: c.map(order) if c.name == "group" else c, ignore_index=True
    )


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values."""
    order = np.argsort(p_values)
    adjusted = np.maximum.accumulate((len(p_values) - np.arange(len(p_values))) * p_values[order])
    return np.minimum(1, adjusted)[np.argsort(order)]


def group_tests(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model: the Mann–Whitney U test of each comparison whose groups both have units (Holm-
    corrected over them), and Spearman's ρ of MIS and HIS (uncorrected)."""
    rows = []
    for model, part in with_pooled(scores).groupby("model", sort=True):
        his = {group: g["his"].to_numpy() for group, g in part.groupby("group")}
        tests = []
        for a, b in COMPARISONS:
            if len(his.get(a, [])) and len(his.get(b, [])):
                result = mannwhitneyu(his[a], his[b], alternative="two-sided")
                tests.append(
                    {
                        "model": model,
                        "comparison": f"{a} vs {b}",
                        "test": TEST,
                        "n_a": len(his[a]),
                        "n_b": len(his[b]),
                        "mean_a": float(his[a].mean()),
                        "mean_b": float(his[b].mean()),
                        "difference": float(his[a].mean() - his[b].mean()),
                        "statistic": float(result.statistic),
                        "p_value": float(result.pvalue),
                    }
                )
        for test, adjusted in zip(tests, holm(np.array([t["p_value"] for t in tests])), strict=True):
            test["p_holm"] = float(adjusted)
        rows += tests
        if len(part) >= 3:
            rho = spearmanr(part["mis"], part["his"])
            rows.append(
                {
                    "model": model,
                    "comparison": "MIS vs HIS",
                    "test": "Spearman rank correlation",
                    "n_a": len(part),
                    "statistic": float(rho.statistic),
                    "p_value": float(rho.pvalue),
                    "p_holm": float(rho.pvalue),
                }
            )
    columns = ["model", "comparison", "test", "n_a", "n_b", "mean_a", "mean_b", "difference", "statistic"]
    return pd.DataFrame(rows, columns=[*columns, "p_value", "p_holm"]).astype({"n_a": "Int64", "n_b": "Int64"})


def imi_units(path: PathLike) -> pd.DataFrame:
    """The IMI units of Fig. 2B (``fit_alpha``'s unit table), in the layout of the study's."""
    table = read_table(path)
    return pd.DataFrame(
        {
            "source": "imi",
            "model": table["model"],
            "group": table["condition"],
            "layer": table["layer"],
            "unit": table["channel"],
            "mis": table["mis"],
            "his": table["his"],
            "n_trials": table["n_trials"],
            "ci_low": table["ci_low"],
            "ci_high": table["ci_high"],
        }
    )
