"""Benchmark: activation extraction with top-k tracking over all layers vs a bare forward pass.

Prints, from one run on the same machine and the same batches (times are this process's CPU time,
which other processes on a busy machine disturb far less than wall-clock time):
- images/s of a bare forward pass and of the extraction (hooks + running top/bottom-k and,
  optionally, quantile trackers), and their ratio (target: ≤ 1.15 for resnet50 on CPU), for
  (a) a whole pass over n ≈ 2k images, the worst case where half of all images enter each top-k,
  and (b) the steady state of a large dataset (n ≫ k, e.g. ImageNet's 1.28 M images for k = 200,
  where a new image enters a unit's top-k with probability k/n): statistics prefilled with k
  extreme values per unit, so that the pass costs hooks, buffering and the candidate test only;
- the peak memory (max RSS) of extraction passes over n and 2n streamed images, each in a fresh
  process (target: flat).

    python benchmarks/extraction.py --model resnet50 --k 200
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import timm
import torch

from mis.activations import ActivationRecorder, ExtractionSettings, UnitStatistics, extract_extremes, probe_layers
from mis.layers import LAYER_TYPES, select_layers
from mis.models import to_device, to_input


class NoiseImages(torch.utils.data.Dataset):
    """Images generated on the fly (seeded by index): streaming, so memory cannot grow with n."""

    def __init__(self, n: int, size: int = 224):
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(index)
        return torch.randn(3, self.size, self.size, generator=generator), index, True


def build(model_name: str):
    model = to_device(timm.create_model(model_name, pretrained=False).eval(), torch.device("cpu"))
    layers, counts = probe_layers(model, select_layers(model, list(LAYER_TYPES)), (3, 224, 224), torch.device("cpu"))
    return model, layers, sum(counts)


def throughput(args: argparse.Namespace) -> None:
    model, layers, n_units = build(args.model)
    n = args.batches * args.batch_size
    batches = [torch.stack([NoiseImages(n)[i][0] for i in range(s, s + args.batch_size)]) for s in range(0, n, args.batch_size)]
    dataset = torch.utils.data.TensorDataset(torch.cat(batches), torch.arange(n), torch.ones(n, dtype=torch.bool))
    settings = ExtractionSettings(k=args.k, batch_size=args.batch_size, levels=tuple(args.levels), n_near=20, quantile_sample=args.batch_size * 2)
    with torch.inference_mode():
        model(to_input(batches[0], torch.device("cpu")))  # warm-up
    timings = {"bare forward": [], "extraction, whole pass": [], "extraction, steady state": []}
    device = torch.device("cpu")
    for _ in range(args.repeats):  # interleaved, so drifting machine load hits all alike
        start = time.process_time()
        with torch.inference_mode():
            for images, _, _ in torch.utils.data.DataLoader(dataset, batch_size=args.batch_size):
                model(to_input(images, device))
        timings["bare forward"].append(time.process_time() - start)
        start = time.process_time()
        extract_extremes(model, layers, dataset, n_units, device, settings)
        timings["extraction, whole pass"].append(time.process_time() - start)
        timings["extraction, steady state"].append(steady_state_pass(model, layers, dataset, n_units, settings))
    best = {name: min(times) for name, times in timings.items()}
    print(f"{args.model}: {len(layers)} layers, {n_units:,} units, k = {args.k}, quantile levels {args.levels}, "
          f"{n} images in batches of {args.batch_size}, {torch.get_num_threads()} threads (best of {args.repeats})")
    for name, seconds in best.items():
        print(f"  {name:<26} {n / seconds:7.2f} images per CPU-second   ratio to bare forward: {seconds / best['bare forward']:.3f}")


@torch.inference_mode()
def steady_state_pass(model, layers, dataset, n_units: int, settings: ExtractionSettings) -> float:
    """Seconds for a pass through statistics whose top-k and bottom-k are already full of values
    that no image beats."""
    stats = UnitStatistics(n_units, settings.k)
    # k + 1 rows: a tracker keeps one entry beyond k (to see ties across the cut) before it is full.
    extreme = torch.full((settings.k + 1, n_units), torch.finfo(torch.float32).max)
    for tracker in (stats.trackers["top"], stats.trackers["bottom"]):
        tracker.update(extreme, torch.arange(settings.k + 1))
    recorder = ActivationRecorder(layers)
    try:
        start = time.process_time()
        for images, indices, _ in torch.utils.data.DataLoader(dataset, batch_size=settings.batch_size):
            model(to_input(images, torch.device("cpu")))
            stats.update(recorder.collect(), indices)
        stats.flush()
        return time.process_time() - start
    finally:
        recorder.remove()


def peak_memory_child(args: argparse.Namespace) -> None:
    model, layers, n_units = build(args.model)
    settings = ExtractionSettings(k=args.k, batch_size=args.batch_size)
    extract_extremes(model, layers, NoiseImages(args.images), n_units, torch.device("cpu"), settings)
    print(json.dumps({"max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def peak_memory(args: argparse.Namespace) -> None:
    results = {}
    for n in (args.memory_images, 2 * args.memory_images):
        cmd = [sys.executable, __file__, "--child-images", str(n), "--model", args.model, "--k", str(args.k), "--batch-size", str(args.batch_size)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[n] = json.loads(out)["max_rss_mb"]
        print(f"  peak memory, {n:5d} images: {results[n]:8.1f} MB")
    small, large = results.values()
    print(f"  peak memory ratio (2n / n images): {large / small:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--k", type=int, default=200, help="images kept per side and unit (paper: N·(K+1) = 200)")
    parser.add_argument("--levels", type=float, nargs="*", default=[], help="quantile levels to track as well")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=13, help="batches of the throughput run (≥ 2k images in all)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--memory-images", type=int, default=416)
    parser.add_argument("--child-images", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_images:
        args.images = args.child_images
        peak_memory_child(args)
        return
    throughput(args)
    peak_memory(args)


if __name__ == "__main__":
    main()
