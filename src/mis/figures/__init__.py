"""One module per paper figure; each only draws, from tables an analysis rule wrote under
results/analysis/, into a vector PDF.

``FIGURES`` is the one table of that contract, which the rule files (workflow/rules/figures.smk
builds every plot rule from it) and tests/test_figures.py read: each figure's analysis rule (its
function in ``mis.stages``), the tables it writes and the plot reads (``results/analysis/<table>``,
``.csv`` unless named otherwise), each under the name of the drawing function's argument, and that
function (``mis.figures.<module>.<function>``). Tables named with ``{backend}`` are per similarity
backend; the figure draws the main backend's. This module imports nothing heavy: the Snakefile
reads it while planning.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Figure:
    analysis: str  # the rule (and mis.stages function) that writes the tables
    tables: Mapping[str, str]  # argument of the drawing function: table under results/analysis/
    draw: str  # "<module>:<function>" in mis.figures
    reads_images: bool = False  # draws image thumbnails (the torch env, for the decoders)

    def table_paths(self, **wildcards: str) -> dict[str, str]:
        """The figure's tables by argument, ``{backend}`` and other wildcards filled in."""
        from mis import paths

        return {argument: paths.analysis(table.format(**wildcards)) for argument, table in self.tables.items()}

    def function(self) -> Callable[..., None]:
        module, name = self.draw.split(":")
        return getattr(importlib.import_module(f"mis.figures.{module}"), name)


FIGURES: dict[str, Figure] = {
    "fig2": Figure(
        "fit_alpha",
        {"summary": "fig2_{backend}_alpha.json", "units": "fig2_{backend}_units", "models": "fig2_{backend}_models"},
        "fig2:plot",
    ),
    "fig2c": Figure("analyze_fig2c", {"groups": "fig2c", "tests": "fig2c_tests", "units": "fig2c_units"}, "fig2c:plot"),
    "fig3": Figure("analyze_models", {"table": "fig3"}, "fig3:plot"),
    "fig4": Figure(
        "analyze_accuracy", {"table": "fig4", "kde": "fig4_kde", "correlation": "fig4_correlation"}, "fig4:plot"
    ),
    "fig5": Figure("analyze_layer_types", {"means": "fig5", "pvalues": "fig5_conover_holm"}, "fig5:plot"),
    "fig6": Figure("analyze_depth_width", {"layers": "fig6", "bins": "fig6_bins"}, "fig6:plot"),
    "fig7": Figure("analyze_training", {"table": "fig7", "correlation": "fig7_correlation"}, "fig7:plot"),
    "fig8": Figure("analyze_training", {"table": "fig8", "depth": "fig8_first_epoch"}, "fig8:plot_first_epoch"),
    "fig8_all_epochs": Figure("analyze_training", {"table": "fig8"}, "fig8:plot_all_epochs"),
    "constant_units": Figure("analyze_models", {"table": "constant_units"}, "constant_units:plot"),
    "example_units": Figure(
        "select_example_units",
        {"examples": "example_units", "images": "example_units_images"},
        "example_units:plot",
        reads_images=True,
    ),
    "convergence": Figure("analyze_convergence", {"table": "convergence"}, "convergence:plot"),
    "sae": Figure("analyze_sae", {"table": "sae", "unit_mis": "sae_mis"}, "sae:plot"),
    "similarity_comparison": Figure(
        "compare_similarities", {"table": "similarity_comparison"}, "similarity_comparison:plot"
    ),
    "imi_overestimated_units": Figure(
        "find_overestimated_units", {"table": "imi_overestimated_units"}, "overestimated_units:plot"
    ),
}


def read_figure_table(path: PathLike) -> Any:
    """A table (``mis.storage.read_table``), or a JSON summary as a dict."""
    from mis.storage import read_table

    if os.fspath(path).endswith(".json"):
        with open(path) as handle:
            return json.load(handle)
    return read_table(path)


def draw(name: str, tables: Mapping[str, PathLike], path: PathLike, **options: Any) -> None:
    """Draw figure ``name`` into ``path`` from its tables (by argument) and the plot ``options``
    (labels and the like, which the rules pass)."""
    figure = FIGURES[name]
    figure.function()(
        **{argument: read_figure_table(tables[argument]) for argument in figure.tables}, path=path, **options
    )
