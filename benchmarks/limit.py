"""Benchmark: the physical limit of the embedded default, and per-image costs for the paper's scale.

The limit is what `all` cannot do without: a bare forward pass of every model pass (the configured
models, each scored training epoch and the SAE model's two passes, which end at the SAE's layer)
over the photos, plus one embedding pass over them, on images decoded once beforehand, with the
allocator setting the jobs use (mis.allocator). Decoding is timed apart (Pillow and torchvision
paths). Also times proxies for the paper's scale (random weights): ResNet-50, a typical model of the
zoo, and ViT-B/16, three of which are DreamSim's ensemble (its weights cannot be loaded here), so
that the paper's run can be costed from per-image numbers (benchmarks/README.md).

    python benchmarks/limit.py 2>/dev/null

With ``--once FILE``, each pass is timed once and the CPU seconds written to FILE as JSON: one round
of the limit in a fresh process (benchmarks/pipeline.py).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import timm
import torch
from harness import add_common_arguments, measure, note, pin_threads, report, write_results
from inputs import CPU, decoded, default_config, model_passes, photos, prepared, sae_passes

from mis.allocator import retain_freed_memory
from mis.layers import find_layer
from mis.models import ForwardCut, build_model, eval_transform, run_forward, to_device, to_input


@torch.inference_mode()
def forward(model, dataset, batch_size: int, embed: bool = False) -> None:
    for images, _, _ in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
        x = to_input(images, CPU)
        if embed:
            model.forward_head(model.forward_features(x), pre_logits=True)
        else:
            run_forward(model, x)


def cut_at(model, layer_name: str) -> None:
    """Passes of ``model`` end at its layer ``layer_name``, as the SAE model's passes do."""

    def hook(*_) -> None:
        raise ForwardCut

    find_layer(model, layer_name).module.register_forward_hook(hook)


def limit_passes(config: dict, root, paths: list[str], batch_size: int) -> dict[str, Callable[[], None]]:
    """The limit's candidates: a bare forward pass of every model pass and one embedding pass, over
    the photos decoded beforehand."""
    candidates, cut = {}, sae_passes(config)
    for name, spec in model_passes(config, sae=True).items():
        model, _, _, transform, input_size = prepared(spec, config["extraction"]["layer_types"])
        if name in cut:
            cut_at(model, config["sae"]["layer"])
        candidates[name] = partial(forward, model, decoded(root, paths, transform, input_size), batch_size)
    embedder = to_device(build_model(config["similarity"]), CPU)
    transform, input_size = eval_transform(embedder)
    candidates["embedding"] = partial(forward, embedder, decoded(root, paths, transform, input_size), batch_size, True)
    return candidates


def time_once(config: dict, batch_size: int, images: int | None = None) -> dict[str, float]:
    """CPU seconds of each of the limit's passes in this process, warmed up once and timed once."""
    root, paths = photos(config, images)
    return {name: t.cpu[0] for name, t in measure(limit_passes(config, root, paths, batch_size), 1).items()}


# The paper's run: 835 models over ImageNet-train; the extraction's hooks cost ≈ 1.07 × a bare forward
# pass (ResNet-18's steady-state ratio, benchmarks/results/extraction.md).
PAPER_MODELS, IMAGENET_TRAIN, HOOKS = 835, 1_281_167, 1.07


def paper_costs(proxies: dict, decode: dict | None, vit: dict | None) -> None:
    """CPU core-hours of the paper's run at these per-image costs, every model priced as a ResNet-50."""
    resnet = proxies.get("resnet50 forward")
    if not resnet:
        return
    passes = PAPER_MODELS * IMAGENET_TRAIN
    extraction = resnet["ms_per_item"] * HOOKS
    note(f"- the paper's run, per CPU core: {PAPER_MODELS} models × {IMAGENET_TRAIN:,} photos, each model a ResNet-50")
    note(f"  - extraction: {extraction:.1f} ms per photo → {passes * extraction / 3.6e6:,.0f} core-hours")
    if decode:
        note(f"  - decoding once per model pass: {passes * decode['ms_per_item'] / 3.6e6:,.0f} core-hours")
    if vit:
        note(
            f"  - DreamSim on at most every photo: ≤ {IMAGENET_TRAIN * 3 * vit['ms_per_item'] / 3.6e6:,.0f} core-hours"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, help="the first n photos (default: all)")
    parser.add_argument("--proxy-images", type=int, default=32, help="photos for the proxies' timing")
    parser.add_argument(
        "--proxies",
        nargs="*",
        default=["resnet50", "vit_base_patch16_224"],
        help="timm models: a zoo model, DreamSim's backbone",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--once", help="time each pass of the limit once and write the CPU seconds to this JSON file")
    parser.add_argument("--configfile", type=Path, help="another config than config/config.yaml (paths from the repo)")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.images, args.proxy_images, args.proxies, args.batch_size, args.repeats = 4, 2, ["resnet18"], 4, 1
    pin_threads(args.threads)
    allocator = retain_freed_memory()
    config = default_config(args.configfile)
    if args.once:
        Path(args.once).write_text(json.dumps(time_once(config, args.batch_size, args.images)))
        return
    note(f"- allocator keeps freed memory: {allocator}")
    root, paths = photos(config, args.images)
    candidates = limit_passes(config, root, paths, args.batch_size)
    transform, input_size = eval_transform(build_model(config["similarity"]))  # decoding as the embedding's
    for decoder in ("pil", "torchvision"):
        candidates[f"decode ({decoder})"] = partial(decoded, root, paths, transform, input_size, decoder)
    timings = measure(candidates, args.repeats, warmup=not args.smoke)
    summary = report(f"bare passes over {len(paths)} photos, batch {args.batch_size}", timings, len(paths))
    limit = sum(v["cpu_s"] for k, v in summary.items() if not k.startswith("decode"))
    note(f"- physical limit of `all` (model passes + embedding, decode excluded): {limit:.1f} CPU s")
    proxy = decoded(root, paths[: args.proxy_images], transform, input_size)
    proxies = {a: to_device(timm.create_model(a).eval(), CPU) for a in args.proxies}
    candidates = {f"{a} forward": partial(forward, model, proxy, args.batch_size) for a, model in proxies.items()}
    timings = measure(candidates, args.repeats, warmup=not args.smoke)
    proxy_summary = report("paper-scale proxies (random weights)", timings, len(proxy))
    vit = proxy_summary.get("vit_base_patch16_224 forward")
    if vit:
        note(f"- DreamSim ensemble ≈ 3 × ViT-B/16: {3 * vit['ms_per_item']:.1f} CPU ms per image")
    paper_costs(proxy_summary, summary.get("decode (pil)"), vit)
    write_results(args.out, "The physical limit of `all`, and per-image costs at the paper's scale")


if __name__ == "__main__":
    main()
