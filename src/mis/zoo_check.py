"""The zoo check: does the extraction score every architecture of the sweep right?

For each timm architecture (``mis.zoo.timm_sweep``: one tagged name per architecture), with random
weights at its default input size: the layers of interest are selected and probed as the workflow
does (``mis.activations.probe_layers``: layouts found from the outputs, layers that cannot be
scored excluded with the reason), then the real extraction (``extract_extremes``) runs over two
batches of a few demo photos, and is timed against a bare forward pass over the same images in
the same process. One row per architecture (``ROW``); a model that fails is a row with its error,
never left out.

    python -m mis check-zoo --out benchmarks/results/zoo.csv        # all 918; resumable
    python -m mis check-zoo --out zoo.csv --include 'swin*' 'levit*'  # some

Each architecture runs in its own process (``--one``), with a time limit, so that one that crashes
or exhausts memory is a row too; the table is rewritten after each, and a run that is stopped
resumes where it was (rows already there are kept; ``--retry`` runs the failed ones again).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mis.storage import write_table

log = logging.getLogger(__name__)
DEMO_IMAGES = Path(__file__).resolve().parents[2] / "resources" / "demo-images"
ROW = [
    "model",
    "status",  # ok, error, timeout
    "input_size",
    "params_m",
    "layers",  # scored
    "units",
    "width_units",  # what the scored modules' declared widths add up to: equal to units where status is ok
    "folded_layers",  # scored layers whose images hold several parts (windows, patches, heads)
    "mixes_images",  # an image's activations depend on its batch: scored in batches of one
    "excluded",
    "excluded_kinds",  # kind: count
    "excluded_layers",
    "constant_absolute",  # units whose range over the images is below 1e-8 (the rule before)
    "constant_relative",  # units whose range is at most 1e-8 of their layer's largest |activation| (the rule now)
    "s_per_image",  # the extraction's CPU seconds per image
    "overhead",  # the extraction's CPU time over the bare forward's, same images, same process
    "check_s",  # wall seconds of the whole check, its process included
    "error",
]
COUNTS = ["layers", "units", "width_units", "folded_layers", "excluded", "constant_absolute", "constant_relative"]


def check_model(name: str, n_images: int = 4, batch_size: int = 2, repeats: int = 2) -> dict[str, Any]:
    """One architecture's row (with random weights; ``status`` ok), or an exception."""
    import torch

    from mis.activations import extract_extremes, probe_layers
    from mis.layers import declared_width, select_layers
    from mis.models import build_model, eval_transform, run_forward
    from mis.results import constant_units, layer_scale
    from mis.settings import DEFAULT_LAYER_TYPES, ExtractionSettings

    torch.set_num_threads(1)
    model = build_model({"architecture": name, "weights": {"source": "random", "seed": 0}}).eval()
    transform, input_size = eval_transform(model)
    layers = select_layers(model, DEFAULT_LAYER_TYPES)
    probe = probe_layers(model, layers, input_size, torch.device("cpu"))
    batch_size = 1 if probe.mixes_images else batch_size  # as the workflow scores it
    images = torch.stack([transform(_photo(path)) for path in sorted(DEMO_IMAGES.glob("*.jpg"))[:n_images]])
    dataset = _Images(images)
    settings = ExtractionSettings(k=n_images // 2, batch_size=batch_size)

    def bare() -> None:
        with torch.inference_mode():
            for start in range(0, n_images, batch_size):
                run_forward(model, images[start : start + batch_size])

    def extraction():
        return extract_extremes(model, probe.layers, dataset, sum(probe.counts), torch.device("cpu"), settings)

    bare()  # warm-up
    costs: dict[str, list[float]] = {"bare": [], "extraction": []}
    results = []
    for _ in range(repeats):  # interleaved; the median of each
        for what, run in (("bare", bare), ("extraction", extraction)):
            start = time.process_time()
            results.append(run())
            costs[what].append(time.process_time() - start)
    bare_cost, extraction_cost = (float(np.median(costs[what])) for what in ("bare", "extraction"))
    extremes = results[1]
    value_range = extremes.top_val[0] - extremes.bottom_val[0]
    scale = layer_scale(extremes.top_val[0], extremes.bottom_val[0], probe.counts)  # the workflow's constant rule
    kinds = Counter(layer.kind for layer in probe.excluded)
    return {
        "model": name,
        "status": "ok",
        "input_size": "x".join(map(str, input_size)),
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "layers": len(probe.layers),
        "units": sum(probe.counts),
        "width_units": sum(declared_width(layer.module) or count for layer, count in zip(probe.layers, probe.counts)),
        "folded_layers": sum(layer.layout.fold > 1 or layer.layout.batch_axis != 0 for layer in probe.layers),
        "mixes_images": probe.mixes_images,
        "excluded": len(probe.excluded),
        "excluded_kinds": "; ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items())),
        "excluded_layers": " ".join(layer.name for layer in probe.excluded),
        "constant_absolute": int((value_range < 1e-8).sum()),
        "constant_relative": int(constant_units(value_range, scale, 1e-8).sum()),
        "s_per_image": round(extraction_cost / n_images, 4),
        "overhead": round(extraction_cost / bare_cost, 3) if bare_cost > 0 else None,
        "error": "",
    }


def _photo(path: Path):
    from PIL import Image

    from mis.datasets import to_rgb

    with Image.open(path) as image:
        return to_rgb(image)


class _Images:
    """Decoded images as the extraction's datasets yield them: (image, index, readable)."""

    def __init__(self, images):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], index, True


def architectures(include: list[str]) -> list[str]:
    """The sweep's tagged names matching any of the ``include`` patterns (fnmatch)."""
    from mis.zoo import timm_sweep

    return [name for name in timm_sweep() if any(fnmatch.fnmatch(name, pattern) for pattern in include)]


def run_one(name: str, timeout: float) -> dict[str, Any]:
    """``check_model`` in a process of its own: a crash, a timeout or an exception is a row too."""
    command = [sys.executable, "-m", "mis", "check-zoo", "--one", name]
    start = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": name, "status": "timeout", "error": f"over {timeout:.0f} s", "check_s": round(timeout)}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode == 0 and lines:
        row = json.loads(lines[-1])
    elif result.returncode < 0:  # killed: SIGKILL is how the kernel ends a process out of memory
        what = signal.Signals(-result.returncode).name
        hint = " (out of memory?)" if what == "SIGKILL" else ""
        row = {"model": name, "status": "error", "error": f"killed by {what}{hint}"}
    else:
        error = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        row = {"model": name, "status": "error", "error": error[:500]}
    return {**row, "check_s": round(time.monotonic() - start, 1)}


def check_zoo(out: Path, include: list[str], timeout: float, retry: bool, workers: int = 1) -> pd.DataFrame:
    """Rows for every architecture matching ``include``, added to ``out`` as each is done, by
    ``workers`` processes at a time (each architecture's timing is CPU time of its own process)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    table = _typed(pd.read_csv(out, keep_default_na=False) if out.is_file() else pd.DataFrame(columns=ROW))
    if retry:
        table = table[table["status"] == "ok"]
    done = set(table["model"])
    todo = [name for name in architectures(include) if name not in done]
    log.info("%d architectures to check, %d already in %s", len(todo), len(done), out)
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(run_one, name, timeout) for name in todo]
        for position, future in enumerate(as_completed(futures), 1):
            row = future.result()
            what = f"{row['model']}: {row['status']} in {row['check_s']:.0f} s {row.get('error', '')}"
            log.info("%d/%d %s", position, len(todo), what)
            table = _typed(pd.concat([table, pd.DataFrame([row], columns=ROW)], ignore_index=True))
            write_table(table.sort_values("model", ignore_index=True), out)
    return table


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """Counts as integers, empty where a model failed (a failed row would make them floats)."""
    return table.assign(**{column: pd.to_numeric(table[column]).astype("Int64") for column in COUNTS})


def summary(table: pd.DataFrame) -> str:
    """How many passed, and the extraction's overhead over them (median, worst)."""
    table = _typed(table)
    ok = table[table["status"] == "ok"]
    overhead = pd.to_numeric(ok["overhead"], errors="coerce")
    worst = ok.loc[overhead.idxmax(), "model"] if len(ok) else "-"
    return (
        f"{len(ok)} of {len(table)} architectures pass; {int((ok['excluded'] > 0).sum())} of them with "
        f"excluded layers; extraction overhead over a bare forward pass: median {overhead.median():.2f}, "
        f"worst {overhead.max():.2f} ({worst})"
    )
