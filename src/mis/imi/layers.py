"""IMI layer names → the model's module names, and the join of IMI units with the project's own
per-unit MIS of the same model.

IMI writes a module path with ``_`` for ``.`` (``layer3_4_conv1`` is torchvision's
``layer3.4.conv1``). Since module names contain ``_`` themselves (``conv_head``), the name is
not split but matched: a module whose path with ``.`` replaced by ``_`` equals the IMI name. Two
such modules make the name ambiguous, an error; none leaves the unit unmatched (reported).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from mis.results import read_units

log = logging.getLogger(__name__)


class LayerNameError(ValueError):
    """An IMI layer name matches several modules of the model."""


def module_names(spec: dict[str, Any]) -> list[str]:
    """Module names of a model spec's architecture (random weights: only the names are needed)."""
    from mis.models import build_model  # torch: imported only where a model is built

    model = build_model({**spec, "weights": {"source": "random", "seed": 0}})
    return [name for name, _ in model.named_modules() if name]


def map_layer_names(imi_layers: Iterable[str], modules: Sequence[str], model: str) -> dict[str, str | None]:
    """IMI layer name → module name (None when no module matches)."""
    by_imi_name: dict[str, list[str]] = {}
    for module in modules:
        by_imi_name.setdefault(module.replace(".", "_"), []).append(module)
    mapping = {}
    for layer in sorted(set(imi_layers)):
        candidates = by_imi_name.get(layer, [])
        if len(candidates) > 1:
            raise LayerNameError(f"model {model}: IMI layer {layer!r} matches several modules {candidates}")
        mapping[layer] = candidates[0] if candidates else None
    return mapping


def join_unit_tables(
    imi_units: pd.DataFrame, specs: Mapping[str, dict[str, Any]], unit_tables: Mapping[str, str | os.PathLike]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each IMI unit with its module name and the project's MIS of that unit (``unit_tables``: model
    → its unit table), for the IMI models that are configured models; counts of matches."""
    table = imi_units.copy()
    table["module"] = None
    for model, group in table.groupby("model"):
        if model in specs:
            mapping = map_layer_names(group["layer"], module_names(specs[model]), model)
            table.loc[group.index, "module"] = group["layer"].map(mapping)
    paths = [unit_tables[m] for m in sorted(set(table["model"]) & set(unit_tables))]
    own = read_units(paths)[["model", "layer", "unit", "mis", "hard_accuracy", "constant"]] if paths else None
    if own is not None:
        own = own.rename(
            columns={
                "layer": "module",
                "unit": "channel",
                "mis": "project_mis",
                "hard_accuracy": "project_hard_accuracy",
                "constant": "project_constant",
            }
        )
        table = table.merge(own, on=["model", "module", "channel"], how="left")
    else:
        table = table.assign(project_mis=float("nan"), project_hard_accuracy=float("nan"), project_constant=None)
    table["matched"] = table["project_mis"].notna()
    summary = {
        "n_imi_units": len(table),
        "n_layer_names_mapped": int(table["module"].notna().sum()),
        "n_matched": int(table["matched"].sum()),
        "models_not_configured": sorted(set(table["model"]) - set(specs)),
        "per_model": {m: {"units": int(len(g)), "matched": int(g["matched"].sum())} for m, g in table.groupby("model")},
    }
    log.info("%d of %d IMI units matched to the project's own unit tables", summary["n_matched"], len(table))
    return table, summary
