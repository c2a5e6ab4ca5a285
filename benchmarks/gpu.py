"""Benchmark for a CUDA machine: extraction at a realistic batch, and whether channels-last and
autocast (fp16, bf16) keep the fp32 top-k.

For each model (default: the embedded default's, plus ResNet-50, random weights unless configured),
on the photos decoded once (Pillow, the default loader; batches are moved to the GPU as in the pipeline):
- the bare forward pass and the extraction (hooks + running top/bottom-k on the GPU), timed with
  CUDA synchronisation, interleaved (benchmarks/harness.py), as GPU-milliseconds per image;
- the same extraction with the model's weights in contiguous (NCHW) layout (inputs stay
  channels-last, as mis.models.to_input makes them) and under torch.autocast fp16 and bf16, with the
  agreement of their top-k and bottom-k image sets with channels-last fp32 (mean over units of
  |A ∩ B| / k).
Without CUDA it says so and exits with status 0, so that it can sit in scripts that run anywhere.

    python benchmarks/gpu.py --batch-size 256 --images 511 2>/dev/null
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from functools import partial

import numpy as np
import torch
from harness import add_common_arguments, measure, note, pin_threads, report, write_results
from inputs import decoded, default_config, photos, prepared

from mis.activations import extract_extremes
from mis.settings import ExtractionSettings


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over units of the shared fraction of two (k, units) index sets."""
    return float(np.mean([len(np.intersect1d(a[:, u], b[:, u])) / len(a) for u in range(a.shape[1])]))


def synchronised(function, device: torch.device) -> None:
    function()
    torch.cuda.synchronize(device)


@torch.inference_mode()
def bare(model, dataset, batch_size: int, device: torch.device, layout, dtype) -> None:
    with autocast(device, dtype):
        for images, _, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
            model(images.to(device, memory_format=layout, non_blocking=True))


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()


def extraction(
    model, layers, dataset, n_units: int, device: torch.device, settings, layout, dtype, out: dict, key: str
):
    """One extraction in ``layout`` under autocast ``dtype`` (None: fp32)."""
    model.to(memory_format=layout)
    with autocast(device, dtype):
        out[key] = extract_extremes(model, layers, dataset, n_units, device, settings)
    model.to(memory_format=torch.channels_last)


def bench(name: str, spec: dict, config: dict, args: argparse.Namespace, device: torch.device) -> None:
    root, paths = photos(config, args.images)
    model, layers, n_units, transform, input_size = prepared(spec, config["extraction"]["layer_types"])
    model = model.to(device, memory_format=torch.channels_last)
    dataset = decoded(root, paths, transform, input_size)
    settings = ExtractionSettings(k=args.k, batch_size=args.batch_size)
    results: dict = {}
    variants = {
        "channels-last fp32": (torch.channels_last, None),
        "contiguous fp32": (torch.contiguous_format, None),
        "channels-last fp16": (torch.channels_last, torch.float16),
        "channels-last bf16": (torch.channels_last, torch.bfloat16),
    }
    candidates = {
        "bare forward, channels-last fp32": partial(
            bare, model, dataset, args.batch_size, device, torch.channels_last, None
        )
    }
    for label, (layout, dtype) in variants.items():
        run = partial(extraction, model, layers, dataset, n_units, device, settings, layout, dtype, results, label)
        candidates[f"extraction, {label}"] = run
    timed = {key: partial(synchronised, fn, device) for key, fn in candidates.items()}
    report(
        f"{name} on {torch.cuda.get_device_name(device)}: {n_units:,} units, batch {args.batch_size}",
        measure(timed, args.repeats, warmup=not args.smoke),
        len(paths),
    )
    reference = results["channels-last fp32"]
    for label, result in results.items():
        top, bottom = overlap(reference.top_idx, result.top_idx), overlap(reference.bottom_idx, result.bottom_idx)
        note(f"- top-k agreement with channels-last fp32, {label}: top {top:.4f}, bottom {bottom:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, help="the first n photos (default: all)")
    parser.add_argument("--k", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--extra-models", nargs="*", default=["resnet50"], help="timm architectures, random weights")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.images, args.k, args.batch_size, args.repeats, args.extra_models = 8, 2, 4, 1, []
    if not torch.cuda.is_available():
        print("benchmarks/gpu.py needs a CUDA device and none is available here; nothing was measured.")
        sys.exit(0)
    pin_threads(4)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda")
    config = default_config()
    specs = dict(config["models"]) | {
        a: {"architecture": a, "weights": {"source": "random"}} for a in args.extra_models
    }
    for name, spec in list(specs.items())[: 1 if args.smoke else None]:
        bench(name, spec, config, args, device)
    write_results(args.out, "Extraction on a GPU")


if __name__ == "__main__":
    main()
