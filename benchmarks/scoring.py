"""Benchmark: vectorised MIS over all units vs a straightforward per-unit loop, and embedding throughput.

Prints, from interleaved repeats on the same inputs (benchmarks/harness.py: median, min–max, best):
- units/s of two per-unit loops (the straightforward one, task by task; and one vectorised over a
  unit's tasks) and of the vectorised computation over all units (both of its code paths: the Gram
  matrix of the task images, and gathering embeddings task by task), with the speed-ups (target: ≥ 20× over the
  straightforward loop). The loops run on the first --loop-units units (their time per unit is
  constant);
- the CPU cost per image of the embedding backend of the embedded default on its real photos.

    python benchmarks/scoring.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
from functools import partial

import numpy as np
import torch
from harness import add_common_arguments, measure, note, pin_threads, report, write_results
from inputs import REPO, default_config, photos

from mis.allocator import retain_freed_memory
from mis.embeddings import task_embeddings
from mis.scoring import task_margins
from mis.similarity import build_embedder, embed_paths
from mis.tasks import Tasks, draw_tasks, read_tasks, rows_of


def task_loop_margins(embeddings: np.ndarray, tasks: Tasks) -> np.ndarray:
    """Δ unit by unit and task by task: the straightforward implementation of method.md §3."""
    out = np.empty(tasks.shape[:2], dtype=embeddings.dtype)
    for unit in range(tasks.shape[0]):
        for task in range(tasks.shape[1]):
            qp, qn = embeddings[tasks.max_queries[unit, task]], embeddings[tasks.min_queries[unit, task]]
            ep, en = embeddings[tasks.max_refs[unit, task]], embeddings[tasks.min_refs[unit, task]]
            out[unit, task] = ((ep @ qp).mean() - (en @ qp).mean()) - ((ep @ qn).mean() - (en @ qn).mean())
    return out


def unit_loop_margins(embeddings: np.ndarray, tasks: Tasks) -> np.ndarray:
    """Δ unit by unit, each unit's tasks at once."""
    out = np.empty(tasks.shape[:2], dtype=embeddings.dtype)
    for unit in range(tasks.shape[0]):
        qp, qn = embeddings[tasks.max_queries[unit]], embeddings[tasks.min_queries[unit]]  # (N, D)
        ep, en = embeddings[tasks.max_refs[unit]], embeddings[tasks.min_refs[unit]]  # (N, K, D)

        def mean_sim(q: np.ndarray, refs: np.ndarray) -> np.ndarray:
            return np.einsum("nd,nkd->nk", q, refs).mean(axis=1)

        out[unit] = (mean_sim(qp, ep) - mean_sim(qp, en)) - (mean_sim(qn, ep) - mean_sim(qn, en))
    return out


def scoring(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(args.images, args.dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    k = args.tasks * (args.refs + 1)
    ranking = np.stack([rng.choice(args.images, size=2 * k, replace=False) for _ in range(args.units)])
    tasks = draw_tasks(ranking[:, :k], ranking[:, k:], args.tasks, args.refs, rng)
    subset = Tasks(**{name: array[: args.loop_units] for name, array in vars(tasks).items()})
    results = {}
    methods = {
        "per-unit, per-task loop": (task_loop_margins, subset),
        "per-unit loop": (unit_loop_margins, subset),
        "vectorised (Gram)": (partial(task_margins, max_gram_images=args.images), tasks),
        "vectorised (gather)": (partial(task_margins, max_gram_images=0), tasks),
    }
    candidates = {
        name: partial(keep, results, name, function, embeddings, work) for name, (function, work) in methods.items()
    }
    timings = measure(candidates, args.repeats, warmup=not args.smoke)
    for result in results.values():
        np.testing.assert_allclose(result[: args.loop_units], results["per-unit, per-task loop"], atol=1e-5, rtol=0)
    units = {name: len(work.max_queries) for name, (_, work) in methods.items()}
    title = f"MIS of {args.units:,} units (loops: the first {args.loop_units}), N = {args.tasks}, K = {args.refs}, "
    report(title + f"{args.images:,} images, D = {args.dim}", timings, units, "unit")


def keep(results: dict, name: str, function, *args) -> None:
    results[name] = function(*args)


def demo_scoring(args: argparse.Namespace) -> None:
    """The same comparison on the embedded default's real tasks (after `make run`)."""
    tasks_path = REPO / "results" / "tasks" / f"{args.demo_model}.npz"
    receipt = next((REPO / "results" / "embeddings").glob(f"*/{args.demo_model}.npz"), None)
    if not tasks_path.is_file() or receipt is None:
        note(f"(no cached results of {args.demo_model}: run `make run` first for the embedded-default comparison)")
        return
    store = json.loads(receipt.with_suffix(".json").read_text())["store"]
    images, embeddings = task_embeddings(receipt, REPO / store)
    tasks = rows_of(read_tasks(tasks_path), images, receipt)
    subset = Tasks(**{name: array[: args.loop_units] for name, array in vars(tasks).items()})
    candidates = {
        "per-unit, per-task loop": partial(task_loop_margins, embeddings, subset),
        "vectorised": partial(task_margins, embeddings, tasks),
    }
    units = f"{tasks.shape[0]:,} units of {args.demo_model}"
    title = f"MIS of the embedded default's {units} (loop: the first {args.loop_units})"
    report(
        title,
        measure(candidates, args.repeats, warmup=not args.smoke),
        {"per-unit, per-task loop": args.loop_units, "vectorised": tasks.shape[0]},
        "unit",
    )


def embedding(args: argparse.Namespace) -> None:
    config = default_config()
    root, paths = photos(config, args.embed_images)
    embedder = build_embedder(config["similarity"], torch.device("cpu"))
    candidates = {"embedding": partial(embed_paths, embedder, str(root), paths, config["similarity"]["batch_size"], 0)}
    report(
        f"embedding, {config['similarity']['label']}, {len(paths)} photos (decode included)",
        measure(candidates, args.repeats, warmup=not args.smoke),
        len(paths),
    )


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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.units, args.images, args.dim, args.tasks, args.refs, args.loop_units = 40, 100, 16, 3, 2, 10
        args.embed_images, args.repeats, args.demo_model = 4, 1, ""
    pin_threads(args.threads)
    retain_freed_memory()  # as in every job of the workflow (the Snakefile's GLIBC_TUNABLES)
    scoring(args)
    if args.demo_model:
        demo_scoring(args)
    embedding(args)
    write_results(args.out, "Scoring and embedding")


if __name__ == "__main__":
    main()
