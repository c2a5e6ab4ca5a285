"""Benchmark: vectorised MIS over all units vs a straightforward per-unit loop, and embedding throughput.

Prints, from one run on the same inputs:
- units/s of two per-unit loops (the straightforward one, task by task; and one vectorised over a
  unit's tasks) and of the vectorised computation over all units (both of its code paths: the Gram
  matrix of the task images, and embedding_bag), with the speed-ups (target: ≥ 20× over the
  straightforward loop). The loops run on the first --loop-units units (their time per unit is
  constant);
- images/s of the embedding backend of the embedded default on real photos.

    python benchmarks/scoring.py
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import yaml

from mis.scoring import normalise, task_margins
from mis.similarity import build_embedder, embed_paths
from mis.storage import read_arrays
from mis.tasks import Tasks, read_tasks, rows_of, draw_tasks

REPO = Path(__file__).resolve().parents[1]


def task_loop_margins(embeddings: torch.Tensor, tasks: Tasks) -> torch.Tensor:
    """Δ unit by unit and task by task: the straightforward implementation of method.md §3."""
    out = torch.empty(tasks.shape[:2], dtype=embeddings.dtype)
    for unit in range(tasks.shape[0]):
        for task in range(tasks.shape[1]):
            qp, qn = embeddings[tasks.max_queries[unit, task]], embeddings[tasks.min_queries[unit, task]]
            ep, en = embeddings[tasks.max_refs[unit, task]], embeddings[tasks.min_refs[unit, task]]
            out[unit, task] = ((ep @ qp).mean() - (en @ qp).mean()) - ((ep @ qn).mean() - (en @ qn).mean())
    return out


def unit_loop_margins(embeddings: torch.Tensor, tasks: Tasks) -> torch.Tensor:
    """Δ unit by unit, each unit's tasks at once."""
    out = torch.empty(tasks.shape[:2], dtype=embeddings.dtype)
    for unit in range(tasks.shape[0]):
        qp, qn = embeddings[tasks.max_queries[unit]], embeddings[tasks.min_queries[unit]]  # (N, D)
        ep, en = embeddings[tasks.max_refs[unit]], embeddings[tasks.min_refs[unit]]  # (N, K, D)

        def mean_sim(q: torch.Tensor, refs: torch.Tensor) -> torch.Tensor:
            return torch.einsum("nd,nkd->nk", q, refs).mean(dim=1)

        out[unit] = (mean_sim(qp, ep) - mean_sim(qp, en)) - (mean_sim(qn, ep) - mean_sim(qn, en))
    return out


def timed(function, *args, **kwargs) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def scoring(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    embeddings = normalise(torch.from_numpy(rng.normal(size=(args.images, args.dim)).astype(np.float32)))
    k = args.tasks * (args.refs + 1)
    ranking = np.stack([rng.choice(args.images, size=2 * k, replace=False) for _ in range(args.units)])
    tasks = draw_tasks(ranking[:, :k], ranking[:, k:], args.tasks, args.refs, rng)
    subset = Tasks(**{name: array[: args.loop_units] for name, array in vars(tasks).items()})
    rates, results = {}, {}
    for name, function, work, units in (
        ("per-unit, per-task loop", task_loop_margins, subset, args.loop_units),
        ("per-unit loop", unit_loop_margins, subset, args.loop_units),
        ("vectorised (Gram)", partial(task_margins, max_gram_images=args.images), tasks, args.units),
        ("vectorised (embedding_bag)", partial(task_margins, max_gram_images=0), tasks, args.units),
    ):
        seconds, results[name] = timed(function, embeddings, work)
        rates[name] = units / seconds
    for name, result in results.items():
        torch.testing.assert_close(result[: args.loop_units], results["per-unit, per-task loop"], atol=1e-5, rtol=0)
    print(f"MIS of {args.units:,} units, N = {args.tasks}, K = {args.refs}, {args.images:,} images, D = {args.dim}, "
          f"{torch.get_num_threads()} threads")
    for name, rate in rates.items():
        print(f"  {name:<28} {rate:10,.0f} units/s   speed-up over the per-task loop: {rate / rates['per-unit, per-task loop']:7.1f}x"
              f"   over the per-unit loop: {rate / rates['per-unit loop']:5.1f}x")


def demo_scoring(args: argparse.Namespace) -> None:
    """The same comparison on the embedded default's real tasks (after `make run`)."""
    tasks_path = REPO / "results" / "tasks" / f"{args.demo_model}.npz"
    embeddings_path = next((REPO / "results" / "embeddings").glob("*.npz"), None)
    if not tasks_path.is_file() or embeddings_path is None:
        print(f"(no cached results of {args.demo_model}: run `make run` first for the embedded-default comparison)")
        return
    stored = read_arrays(embeddings_path)
    tasks = rows_of(read_tasks(tasks_path), stored["image"], embeddings_path)
    embeddings = torch.from_numpy(stored["embeddings"])
    subset = Tasks(**{name: array[: args.loop_units] for name, array in vars(tasks).items()})
    loop_seconds, _ = timed(task_loop_margins, embeddings, subset)
    seconds, _ = timed(task_margins, embeddings, tasks)
    loop_rate, rate = args.loop_units / loop_seconds, tasks.shape[0] / seconds
    print(f"MIS of the embedded default's {tasks.shape[0]:,} units of {args.demo_model} (N = {tasks.shape[1]}, "
          f"K = {tasks.shape[2]}, {len(stored['image'])} images, D = {embeddings.shape[1]}):")
    print(f"  per-unit, per-task loop {loop_rate:10,.0f} units/s")
    print(f"  vectorised              {rate:10,.0f} units/s   speed-up: {rate / loop_rate:.0f}x")


def embedding(args: argparse.Namespace) -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    root = REPO / config["images"]["root"]
    paths = sorted(p.name for p in root.glob("*.jpg"))[: args.embed_images]
    embedder = build_embedder(config["similarity"], torch.device("cpu"))
    embed_paths(embedder, str(root), paths[:8], 8, 0)  # warm-up
    start = time.perf_counter()
    embed_paths(embedder, str(root), paths, config["similarity"]["batch_size"], 0)
    s = time.perf_counter() - start
    print(f"embedding, {config['similarity']['label']}: {len(paths)} photos in {s:.1f} s = {len(paths) / s:.1f} images/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--images", type=int, default=6000)
    parser.add_argument("--dim", type=int, default=1792, help="DreamSim ensemble: 1792")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--refs", type=int, default=9)
    parser.add_argument("--loop-units", type=int, default=300)
    parser.add_argument("--demo-model", default="mobilenetv2_100")
    parser.add_argument("--embed-images", type=int, default=128)
    args = parser.parse_args()
    scoring(args)
    demo_scoring(args)
    embedding(args)


if __name__ == "__main__":
    main()
