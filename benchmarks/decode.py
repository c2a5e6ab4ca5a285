"""Benchmark: decoding the photos through each model's eval transform, Pillow (the default) against
torchvision's JPEG decoder on tensors (``extraction.decoder: torchvision``), and their difference.

Prints the CPU cost per image of both loaders (interleaved repeats, benchmarks/harness.py) and the
per-pixel difference in 8-bit levels (mean, 99th percentile, max; the worst image's mean).

    python benchmarks/decode.py 2>/dev/null
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from harness import add_common_arguments, measure, note, pin_threads, report, write_results
from inputs import decoded, default_config, photos

from mis.models import build_model, eval_transform, library_of


def difference(pil: torch.Tensor, fast: torch.Tensor, transform) -> dict[str, float]:
    """Per-pixel |difference| in 8-bit levels (undoing the Normalize step's division by std)."""
    std = torch.tensor(transform.transforms[-1].std)[:, None, None]
    levels = (pil - fast).abs() * std * 255
    sample = levels[:: max(1, len(levels) // 32)].flatten()  # torch.quantile's size limit
    return {
        "mean": levels.mean().item(),
        "p99": torch.quantile(sample, 0.99).item(),
        "max": levels.max().item(),
        "worst_image_mean": levels.mean(dim=(1, 2, 3)).max().item(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, help="the first n photos (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.images, args.repeats = 4, 1
    pin_threads(args.threads)
    config = default_config()
    root, paths = photos(config, args.images)
    specs = {name: spec for name, spec in config["models"].items()} | {"similarity": config["similarity"]}
    seen = set()
    for name, spec in specs.items():
        transform, input_size = eval_transform(build_model(spec), library_of(spec))
        if repr(transform) in seen:  # same transform as a model before
            continue
        seen.add(repr(transform))
        candidates = {
            decoder: partial(decoded, root, paths, transform, input_size, decoder) for decoder in ("pil", "torchvision")
        }
        timings = measure(candidates, args.repeats, warmup=not args.smoke)
        report(f"{name}: decode + eval transform of {len(paths)} photos", timings, len(paths))
        diff = difference(
            decoded(root, paths, transform, input_size).tensors[0],
            decoded(root, paths, transform, input_size, "torchvision").tensors[0],
            transform,
        )
        note("- |pil − torchvision| in 8-bit levels: " + ", ".join(f"{k} {v:.3f}" for k, v in diff.items()))
    write_results(args.out, "Decoding: Pillow against torchvision")


if __name__ == "__main__":
    main()
