"""The tasks stage: a model's fair-batches 2-AFC tasks (method.md §2)."""

from __future__ import annotations

import os

from mis.settings import TaskSettings
from mis.storage import read_arrays, write_arrays
from mis.tasks import Tasks, draw_tasks, task_rng


def sample_tasks(
    model: str, extremes_path: str | os.PathLike, settings: TaskSettings, tasks_path: str | os.PathLike
) -> Tasks:
    """Sample a model's tasks from its extremes file and store them (arrays units-first)."""
    extremes = read_arrays(extremes_path)
    rng = task_rng(settings.seed, model)
    tasks = draw_tasks(extremes["top_idx"], extremes["bottom_idx"], settings.n_tasks, settings.n_refs, rng)
    write_arrays(tasks_path, **vars(tasks))
    return tasks
