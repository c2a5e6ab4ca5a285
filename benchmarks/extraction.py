"""Benchmark: activation extraction (hooks + running top/bottom-k) against a bare forward pass, on
every model pass of the embedded default, on its real photos decoded by the project's loader.

Per model, interleaved repeats (benchmarks/harness.py) of
- a bare forward pass over the same decoded batches (the baseline);
- the extraction of this checkout, over the whole set (at n = 511 and k = 60 most images enter
  some unit's top-k: the merges' worst case);
- the steady state of a large dataset (n ≫ k: statistics prefilled with values no image beats, so
  the pass costs hooks, buffering and the candidate test only);
- with ``--against REV``, the extraction of ``src/mis/activations.py`` at git revision REV, whose
  results must be identical (indices, values, tie counts).
A digest of each model's results is printed, so that runs under other allocator settings (e.g.
GLIBC_TUNABLES in the environment) or batch sizes can be checked for identical results.

    python benchmarks/extraction.py --against a94b268
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from harness import add_common_arguments, measure, note, pin_threads, report, write_results
from inputs import CPU, REPO, decoded, default_config, model_passes, photos, prepared

import mis.activations
from mis.models import to_input
from mis.settings import ExtractionSettings


def module_at(revision: str, folder: Path) -> types.ModuleType:
    """``mis.activations`` as it was at a git revision (the "before" of a comparison)."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:src/mis/activations.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = folder / f"activations_{revision}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def digest(extremes) -> str:
    """Hash of every result array of an extraction."""
    arrays = [extremes.top_idx, extremes.top_val, extremes.bottom_idx, extremes.bottom_val]
    arrays += [extremes.top_ties, extremes.bottom_ties]
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()[:16]


@torch.inference_mode()
def bare_forward(model, dataset, batch_size: int) -> None:
    for images, _, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
        model(to_input(images, CPU))


@torch.inference_mode()
def steady_state(module, model, layers, dataset, n_units: int, k: int, batch_size: int) -> None:
    """A pass through statistics whose top-k and bottom-k already hold k + 1 values no image beats."""
    stats = module.UnitStatistics(n_units, k)
    extreme = torch.full((k + 1, n_units), torch.finfo(torch.float32).max)
    for tracker in (stats.trackers["top"], stats.trackers["bottom"]):
        tracker.update(extreme, torch.arange(k + 1))
    recorder = module.ActivationRecorder(layers)
    try:
        for images, indices, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
            model(to_input(images, CPU))
            stats.update(recorder.collect(), indices)
        stats.flush()
    finally:
        recorder.remove()


def bench_model(name: str, spec: dict, config: dict, args: argparse.Namespace, before) -> dict:
    """Time one model's candidates and check that its results match the "before" revision's."""
    root, paths = photos(config, args.images)
    model, layers, n_units, transform, input_size = prepared(spec, config["extraction"]["layer_types"])
    dataset = decoded(root, paths, transform, input_size)
    settings = ExtractionSettings(k=args.k, batch_size=args.batch_size)
    results = {}

    def extraction(module, key: str):
        return lambda: results.__setitem__(key, module.extract_extremes(model, layers, dataset, n_units, CPU, settings))

    candidates = {
        "bare forward": lambda: bare_forward(model, dataset, args.batch_size),
        "extraction": extraction(mis.activations, "after"),
        "extraction, steady state": lambda: steady_state(
            mis.activations, model, layers, dataset, n_units, args.k, args.batch_size
        ),
    }
    if before:
        candidates[f"extraction at {args.against}"] = extraction(before, "before")
    title = (
        f"{name}: {len(layers)} layers, {n_units:,} units, k = {args.k}, {len(dataset)} photos, batch {args.batch_size}"
    )
    timings = measure(candidates, args.repeats, warmup=not args.smoke)
    summary = report(title, timings, len(dataset)) | {"digest": digest(results["after"])}
    if before:
        fields = ("top_idx", "top_val", "bottom_idx", "bottom_val", "top_ties", "bottom_ties")
        same = all(np.array_equal(getattr(results["after"], f), getattr(results["before"], f)) for f in fields)
        summary["identical_to_before"] = same
        note(f"- results identical to {args.against}: {same}")
    note(f"- result digest: {summary['digest']}")
    return summary


def run(args: argparse.Namespace) -> dict:
    config = default_config()
    passes = model_passes(config)
    names = args.models or [n for n in passes if "-epoch" not in n or n.endswith("-epoch0")]
    with tempfile.TemporaryDirectory() as folder:
        before = module_at(args.against, Path(folder)) if args.against else None
        return {name: bench_model(name, passes[name], config, args, before) for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", help="model passes of the default (default: each architecture once)")
    parser.add_argument("--images", type=int, help="the first n photos (default: all)")
    parser.add_argument("--k", type=int, default=60, help="images kept per side and unit (default: N·(K+1) = 60)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--against", help="git revision whose extraction is compared (timing and results)")
    parser.add_argument("--json", help="also write the medians and digests to this file")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.models, args.images, args.k, args.batch_size, args.repeats = ["resnet18-untrained"], 8, 2, 4, 1
    pin_threads(args.threads)
    summary = run(args)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=1)
    write_results(args.out, "Extraction against a bare forward pass")


if __name__ == "__main__":
    main()
