"""The static site of a study: a folder that any browser opens from disk (``index.html``) or any
static host serves, with nothing fetched from elsewhere; built on jsPsych (vendored, with its
licences and versions, in ``experiment_template/vendor``).

Layout (all references relative)::

    index.html, experiment.js, experiment.css   the page and its jsPsych plugin for a 2-AFC trial
    vendor/jspsych/                             jsPsych 8 and its instructions plugin
    data/study.js                               settings, checks, practice trials, number of trial lists
    data/assignment-<k>.js                      trial list k (main and catch trials), loaded once chosen
    images/<image>.jpg                          the stimuli: square JPEGs of the manifest's images
    images/catch-<c>-<side>-<i>.jpg             catch stimuli, drawn here

The trials are the project's own tasks (``results/tasks/<model>.npz``, the fair batches the MIS
scored): task t of a unit shows its maximal and minimal query and its K references per side, the
most extreme reference first and the others in a seeded order (as IMI did). Data files are scripts
(``MIS.setStudy``, ``MIS.setAssignment``), since browsers block ``fetch()`` of ``file://`` URLs.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from mis.experiment.sessions import HEADER, TRIAL_TYPE
from mis.settings import CheckSettings, PageSettings
from mis.tasks import Tasks

log = logging.getLogger(__name__)
PathLike = str | os.PathLike
TEMPLATE = Path(__file__).resolve().parent.parent / "experiment_template"
STATIC = ("index.html", "experiment.js", "experiment.css")
# Catch trials: maximal references and query one colour and shape, minimal ones another, so that
# the answer is unmistakable (IMI used hand-picked obvious stimuli).
CATCH_STYLES = (
    (("#d62728", "disc"), ("#1f5fbf", "square")),
    (("#2ca02c", "triangle"), ("#7b2d9e", "disc")),
    (("#ff9f1c", "stripes"), ("#17becf", "square")),
    (("#222222", "ring"), ("#f2c300", "triangle")),
    (("#e377c2", "square"), ("#556b2f", "stripes")),
)


def task_images(tasks: Tasks, row: int, task: int, rng: np.random.Generator) -> dict[str, Any]:
    """Image indices of one task as a trial shows them: references most extreme first, the others
    in a seeded order."""

    def references(refs: np.ndarray) -> list[int]:
        ordered = refs[row, task, ::-1]
        return [int(ordered[0]), *(int(i) for i in ordered[1:][rng.permutation(len(ordered) - 1)])]

    return {
        "min_query": int(tasks.min_queries[row, task]),
        "max_query": int(tasks.max_queries[row, task]),
        "min_references": references(tasks.min_refs),
        "max_references": references(tasks.max_refs),
    }


def draw_shape(size: int, colour: str, shape: str, rng: np.random.Generator) -> Image.Image:
    """One catch stimulus: a large shape of one colour on a light background, its size and place
    varied a little."""
    image = Image.new("RGB", (size, size), "#f4f4f4")
    draw = ImageDraw.Draw(image)
    extent = size * rng.uniform(0.55, 0.8)
    x0, y0 = rng.uniform(0.05 * size, size - extent - 0.05 * size, 2)
    box = (x0, y0, x0 + extent, y0 + extent)
    if shape == "disc":
        draw.ellipse(box, fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, size // 12))
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(x0 + extent / 2, y0), (x0, y0 + extent), (x0 + extent, y0 + extent)], fill=colour)
    else:  # stripes
        step = max(4, size // 8)
        for y in range(0, size, 2 * step):
            draw.rectangle((0, y, size, y + step), fill=colour)
    return image


def catch_trials(folder: Path, n: int, n_refs: int, size: int, seed: int) -> list[dict[str, Any]]:
    """The stimuli of ``n`` catch trials as JPEGs in ``folder``; their image paths per trial."""
    trials = []
    for catch in range(n):
        rng = np.random.default_rng([seed, catch])
        styles = dict(zip(("max", "min"), CATCH_STYLES[catch % len(CATCH_STYLES)], strict=True))
        trial: dict[str, Any] = {}
        for side, (colour, shape) in styles.items():
            names = [f"catch-{catch}-{side}-{i}.jpg" for i in range(n_refs)] + [f"catch-{catch}-{side}-query.jpg"]
            for name in names:
                draw_shape(size, colour, shape, rng).save(folder / name, format="JPEG", quality=90)
            trial[f"{side}_references"] = [f"images/{name}" for name in names[:-1]]
            trial[f"{side}_query"] = f"images/{names[-1]}"
        trials.append(trial)
    return trials


def image_path(image: int) -> str:
    return f"images/{image}.jpg"


def write_script(path: Path, call: str, *arguments: Any) -> None:
    """A data file the page loads with a script tag: ``MIS.<call>(arguments…);``."""
    data = ",".join(json.dumps(argument, separators=(",", ":"), allow_nan=False) for argument in arguments)
    path.write_text(f"MIS.{call}({data});\n")


def trial_entry(row: pd.Series, images: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of one trial: the unit (written into the response rows) and its images."""
    return {
        "kind": row["kind"],
        "model": row["model"],
        "layer": row["layer"],
        "channel": int(row["unit"]),
        "batch": int(row["task"]),
        "switched": bool(row["switched"]),
        **images,
    }


def study_payload(
    page: PageSettings, checks: CheckSettings, n_assignments: int, practice: list[dict[str, Any]]
) -> dict[str, Any]:
    """``data/study.js``: everything the page needs before a trial list is chosen."""
    return {
        "name": page.study,
        "n_assignments": n_assignments,
        "parameters": {
            "participant": page.participant_parameter,
            "study": page.study_parameter,
            "session": page.session_parameter,
            "assignment": page.assignment_parameter,
        },
        "completion_url": page.completion_url,
        "collector_url": page.collector_url,
        "timing": {
            "initial_wait_ms": page.initial_wait_ms,
            "feedback_delay_ms": page.feedback_delay_ms,
            "feedback_ms": page.feedback_ms,
        },
        "checks": checks.params(),
        "columns": HEADER,
        "trial_type": TRIAL_TYPE,
        "practice": practice,
    }
