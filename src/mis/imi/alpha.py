"""Fitting α on IMI units, and how well MIS then predicts human scores (method.md §3, Fig. 2).

Objective (config key ``imi.alpha_objective``):
- ``likelihood`` (default): maximise the binomial likelihood of the human responses,
  Σ_u k_u log p_u(α) + (n_u − k_u) log(1 − p_u(α)) with p_u(α) = mean_t σ(α·Δ_ut): MIS claims that a
  human picks the right query of a unit with probability p_u, and its HIS is k_u correct out of n_u
  such trials, so this is the model's own likelihood, and units with more trials weigh more;
- ``least_squares``: minimise Σ_u (p_u(α) − HIS_u)², the fit to the score as a number.
α is one positive scalar: a grid over log α, then a bounded Brent refinement (scipy) around the best
grid point, which finds the global optimum even where the objective is not convex.

Validation: the units are split at random (seeded; stratified by model and condition, so that every
model is in both parts) into units that fit α and held-out units; correlations are reported on the
held-out units only, at unit level (MIS vs HIS) and at model level (mean MIS vs mean HIS per model
and condition), with percentile bootstrap intervals (units resampled within each model).
Noise ceiling (the paper's simulations): each held-out unit's responses are resampled binomially,
k* ~ Bin(n_u, HIS_u), and the resampled HIS is correlated with the observed HIS: how well a
predictor that knew the observed scores exactly could do against responses as noisy as IMI's.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from mis.bootstrap import CORRELATIONS, correlations, interval
from mis.formula import hard_accuracy, unit_mis
from mis.imi import UNIT_KEYS
from mis.settings import ValidationSettings

log = logging.getLogger(__name__)
OBJECTIVES = ("likelihood", "least_squares")
LOG_ALPHA_RANGE = (np.log(1e-3), np.log(1e4))
GRID_POINTS = 281
EPS = 1e-12


@dataclass(frozen=True)
class AlphaFit:
    alpha: float
    loss: float
    at_bound: bool  # the optimum is at the end of the searched range: α is not identified by the data
    objective: str


def loss(alpha: float, margins: np.ndarray, n_correct: np.ndarray, n_trials: np.ndarray, objective: str) -> float:
    p = unit_mis(margins, alpha)
    if objective == "likelihood":
        p = np.clip(p, EPS, 1 - EPS)
        return -float(np.sum(n_correct * np.log(p) + (n_trials - n_correct) * np.log1p(-p)))
    return float(np.sum((p - n_correct / n_trials) ** 2))


def best_alpha(margins: np.ndarray, n_correct: np.ndarray, n_trials: np.ndarray, objective: str) -> AlphaFit:
    """α minimising ``objective`` over 1e-3 … 1e4."""
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown α objective '{objective}' (config key 'imi.alpha_objective'); choose from {OBJECTIVES}"
        )

    def objective_of(log_alpha: float) -> float:
        return loss(float(np.exp(log_alpha)), margins, n_correct, n_trials, objective)

    grid = np.linspace(*LOG_ALPHA_RANGE, GRID_POINTS)
    values = np.array([objective_of(g) for g in grid])
    best = int(np.argmin(values))
    bounds = (grid[max(best - 1, 0)], grid[min(best + 1, GRID_POINTS - 1)])
    refined = minimize_scalar(objective_of, bounds=bounds, method="bounded", options={"xatol": 1e-8})
    log_alpha, value = (refined.x, refined.fun) if refined.fun <= values[best] else (grid[best], values[best])
    return AlphaFit(float(np.exp(log_alpha)), float(value), best in (0, GRID_POINTS - 1), objective)


def split_units(groups: np.ndarray, fit_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """True for the units that fit α: a random ``fit_fraction`` (rounded) of every group."""
    fit = np.zeros(len(groups), bool)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        fit[rng.permutation(members)[: int(np.floor(fit_fraction * len(members) + 0.5))]] = True
    return fit


def stratified_resamples(groups: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, units) indices: each row resamples the units with replacement within each group, the
    columns ordered by group (``groups[result]`` is the same for every row)."""
    members = [np.flatnonzero(groups == group) for group in np.unique(groups)]
    return np.concatenate([m[rng.integers(0, len(m), (n, len(m)))] for m in members], axis=1)


def group_means(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(rows, units) → (rows, groups): the mean over each group's columns, groups in sorted order."""
    labels, inverse = np.unique(groups, return_inverse=True)
    weights = np.zeros((len(groups), len(labels)))
    weights[np.arange(len(groups)), inverse] = 1.0
    return values @ (weights / weights.sum(axis=0))


def noise_ceiling(
    his: np.ndarray, n_trials: np.ndarray, groups: np.ndarray, n: int, rng: np.random.Generator, level: float
) -> dict[str, Any]:
    """Correlation of binomially resampled HIS with the observed HIS, at unit and model level."""
    resampled = rng.binomial(n_trials, his, size=(n, len(his))) / n_trials
    observed = np.broadcast_to(his, resampled.shape)
    pairs = {"unit": (resampled, observed), "model": (group_means(resampled, groups), group_means(observed, groups))}
    ceiling: dict[str, Any] = {}
    for level_name, (a, b) in pairs.items():
        ceiling[level_name] = {}
        for name, (rowwise, _) in CORRELATIONS.items():
            r = rowwise(a, b)
            low, high = map(float, interval(r, level))
            ceiling[level_name][name] = {"mean": float(np.nanmean(r)), "ci_low": low, "ci_high": high}
    return ceiling


def join_units(his: pd.DataFrame, margins: pd.DataFrame, conditions: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Units with both human scores (in ``conditions``) and task margins, sorted by unit, and their
    margins as a (units, N) matrix (NaN-padded when units have different N)."""
    his = his[his["condition"].isin(conditions)]
    stimulus_units = margins[UNIT_KEYS].drop_duplicates()
    table = his.merge(stimulus_units, on=UNIT_KEYS).sort_values(UNIT_KEYS, ignore_index=True)
    log.info(
        "%d units with human scores and stimuli; %d only with human scores, %d only with stimuli",
        len(table),
        len(his) - len(table),
        len(stimulus_units) - len(table),
    )
    if table.empty:
        raise ValueError(
            f"no IMI unit in conditions {conditions} has both human scores and stimuli; human scores for e.g. "
            f"{his[UNIT_KEYS].head(3).to_dict('records')}, stimuli for e.g. {stimulus_units.head(3).to_dict('records')}"
        )
    rows = margins.merge(table[UNIT_KEYS].assign(row=np.arange(len(table))), on=UNIT_KEYS)
    matrix = np.full((len(table), int(rows["task"].max())), np.nan)
    matrix[rows["row"].to_numpy(), rows["task"].to_numpy() - 1] = rows["margin"].to_numpy()
    return table, matrix


def model_table(units: pd.DataFrame, boot_means: dict[str, np.ndarray], level: float) -> pd.DataFrame:
    """Per model and condition (held-out units): mean MIS and HIS with bootstrap intervals from
    ``boot_means`` (resamples × groups, per column), ranks."""
    table = (
        units.groupby(["model", "condition"], sort=True)
        .agg(n_units=("his", "size"), mean_mis=("mis", "mean"), mean_his=("his", "mean"))
        .reset_index()
    )
    for column in ("mis", "his"):
        table[f"{column}_ci_low"], table[f"{column}_ci_high"] = interval(boot_means[column], level, axis=0)
        table[f"rank_{column}"] = table[f"mean_{column}"].rank(ascending=False, method="min").astype(int)
    return table


def validate(
    units: pd.DataFrame, margins: np.ndarray, settings: ValidationSettings
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fit α on a seeded split of ``units`` (UNIT_KEYS, his, n_correct, n_trials; rows of ``margins``)
    and measure the held-out correlations; the summary, the unit table and the model table."""
    groups = units.groupby(["model", "condition"], sort=True).ngroup().to_numpy()
    fit = split_units(groups, settings.fit_fraction, np.random.default_rng([settings.seed, 0]))
    held = ~fit
    if fit.sum() < 1 or held.sum() < 3:
        raise ValueError(
            f"{len(units)} units split into {fit.sum()} to fit α and {held.sum()} held out; need at least 1 and 3 "
            "(config key 'imi.fit_fraction')"
        )
    k, n = units["n_correct"].to_numpy(float), units["n_trials"].to_numpy(float)
    result = best_alpha(margins[fit], k[fit], n[fit], settings.objective)
    if result.at_bound:
        log.warning("fitted α = %g is at the end of the searched range: the data do not determine it", result.alpha)
    table = units.assign(
        mis=unit_mis(margins, result.alpha),
        hard_accuracy=hard_accuracy(margins),
        n_tasks=(~np.isnan(margins)).sum(axis=1),
        split=np.where(fit, "fit", "held_out"),
    )
    held_units, held_groups = table[held].reset_index(drop=True), groups[held]
    boot = stratified_resamples(held_groups, settings.n_bootstrap, np.random.default_rng([settings.seed, 1]))
    mis, his = held_units["mis"].to_numpy(), held_units["his"].to_numpy()
    boot_groups = held_groups[boot[0]]
    boot_means = {"mis": group_means(mis[boot], boot_groups), "his": group_means(his[boot], boot_groups)}
    models = model_table(held_units, boot_means, settings.ci_level)
    summary = {
        "alpha": result.alpha,
        "objective": result.objective,
        "loss": result.loss,
        "alpha_at_search_bound": result.at_bound,
        "n_fit_units": int(fit.sum()),
        "n_held_out_units": int(held.sum()),
        "settings": asdict(settings),
        "held_out": {
            "unit": correlations(mis, his, mis[boot], his[boot], settings.ci_level),
            "model": correlations(
                models["mean_mis"].to_numpy(),
                models["mean_his"].to_numpy(),
                boot_means["mis"],
                boot_means["his"],
                settings.ci_level,
            ),
        },
        "noise_ceiling": noise_ceiling(
            his,
            held_units["n_trials"].to_numpy(),
            held_groups,
            settings.n_simulations,
            np.random.default_rng([settings.seed, 2]),
            settings.ci_level,
        ),
    }
    return summary, table, models
