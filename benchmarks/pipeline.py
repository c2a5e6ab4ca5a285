"""Benchmark: the whole pipeline against its physical limit, both measured in the same run.

Each round runs, interleaved (benchmarks/harness.py):
- `snakemake --cores N all` on a clone of this repository's HEAD, from nothing (results, figures,
  logs and the embedding cache removed before every run), with this checkout's virtual environment;
- the limit (benchmarks/limit.py --once, a fresh process each round): a bare forward pass of every
  model pass, the SAE model's two included, and one embedding pass, over the photos decoded
  beforehand, at --threads threads; the limit is the median over rounds of their sum;
- the training that `all` does, in this one warm process: train_model's run (mis.training) and every
  SAE of the sweep (mis.sae.training), on the vectors and manifest of the pipeline's warm-up run.

Prints the wall time of `all` over the limit (the target is ≤ 2) and over the limit plus the
training, and Snakemake's own start-up (a dry run of the finished workflow). Where SLURM's client
is installed but no controller answers, that start-up includes 10 s of the SLURM executor plugin's
`scontrol show config`, which Snakemake imports on every run: the plugin's import is timed too, and
the ratio without it printed (a workstation without SLURM, or a cluster whose controller answers).

    python benchmarks/pipeline.py --repeats 2 2>/dev/null
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from harness import measure, pin_threads, report, spread
from inputs import CPU, REPO, default_config, photos

from mis import paths
from mis.allocator import retain_freed_memory
from mis.sae.training import train_dictionary
from mis.settings import Settings
from mis.storage import read_arrays
from mis.training import train_model

SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def fresh_clone(workdir: Path) -> Path:
    """A clone of HEAD that runs with this checkout's virtual environment."""
    clone = workdir / "mis"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    return clone


def run_all(clone: Path, cores: int, log: Path) -> None:
    """`all` from nothing: the outputs of an earlier run, and its embedding cache, removed first by
    `make clean`."""
    subprocess.run(["make", "--silent", "clean"], cwd=clone, check=True)
    with log.open("w") as out:
        subprocess.run([str(SNAKEMAKE), "--cores", str(cores), "all"], cwd=clone, stdout=out, stderr=out, check=True)


def train_everything(clone: Path, config: dict, settings: Settings, scratch: Path) -> None:
    """train_model's run and every SAE of the sweep, in this process."""
    training = config["training"]
    checkpoints = {epoch: scratch / f"epoch{epoch}.pth" for epoch in training["epochs"]}
    train_model(
        architecture=training["architecture"],
        train=training["train"],
        epochs=training["epochs"],
        seed=config["seed"],
        images_root=REPO / config["images"]["root"],
        manifest_path=clone / paths.MANIFEST,
        device="cpu",
        threads=torch.get_num_threads(),
        checkpoints=checkpoints,
        accuracy_path=scratch / "accuracy.csv",
        split_path=scratch / "split.csv",
    )
    vectors = torch.from_numpy(read_arrays(clone / paths.SAE_VECTORS.format(model=settings.sae.model))["vectors"])
    for sae in settings.sae.trained:
        train_dictionary(vectors, sae, CPU)


def startup(clone: Path, cores: int) -> float:
    """Wall seconds of a dry run of the finished workflow: Snakemake's start-up and DAG."""
    start = time.perf_counter()
    subprocess.run([str(SNAKEMAKE), "--cores", str(cores), "-n", "all"], cwd=clone, capture_output=True, check=True)
    return time.perf_counter() - start


def limit_round(threads: int, batch_size: int, out: Path, rounds: list[dict[str, float]]) -> None:
    """One round of the limit (limit.py --once) in a new process, as the pipeline's jobs are: an
    effect of the process (EfficientNet-Lite0's heap given back after every batch in about half of
    the processes, under a 1 GiB trim threshold) is invisible to rounds in one process."""
    command = [sys.executable, str(Path(__file__).with_name("limit.py")), "--once", str(out)]
    command += ["--threads", str(threads), "--batch-size", str(batch_size)]
    subprocess.run(command, capture_output=True, check=True)
    rounds.append(json.loads(out.read_text()))


def plugin_import() -> float:
    """Wall seconds of importing the SLURM executor plugin, which every Snakemake run does: where
    SLURM's client is installed but no controller answers, its `scontrol show config` times out."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import snakemake_executor_plugin_slurm"], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the limit and the training")
    args = parser.parse_args()
    if subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip():
        print("note: uncommitted changes; the pipeline runs HEAD's workflow with this tree's package (editable)")
    pin_threads(args.threads)
    retain_freed_memory()
    config = default_config()
    settings = Settings.from_config(config)
    _, image_paths = photos(config)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clone = fresh_clone(workdir)
        pipeline, limit_row, training = (
            f"all, --cores {args.cores}",
            "limit round (process, set-up incl.)",
            "training (train_model, every SAE)",
        )
        rounds: list[dict[str, float]] = []
        candidates = {
            pipeline: partial(run_all, clone, args.cores, workdir / "all.log"),
            limit_row: partial(limit_round, args.threads, args.batch_size, workdir / "limit.json", rounds),
            training: partial(train_everything, clone, config, settings, workdir),
        }
        timings = measure(candidates, args.repeats)
        del rounds[0]  # the warm-up's
        dry_runs = [startup(clone, args.cores) for _ in range(3)]
        plugin = statistics.median(plugin_import() for _ in range(3))
    summary = report(f"`all` and its limit over {len(image_paths)} photos", timings, len(image_paths))
    print(f"the limit's passes, each round in a fresh process (CPU s, {len(rounds)} rounds; median [min–max]):")
    for name in rounds[0]:
        print(f"  {name:<40} {spread([r[name] for r in rounds]):>22}")
    sums = [sum(r.values()) for r in rounds]
    print(f"  {'sum':<40} {spread(sums):>22}")
    walls = timings[pipeline].wall
    wall = statistics.median(walls)
    limit = statistics.median(sums)
    training_cpu = summary[training]["cpu_s"]
    print(f"`all`: {wall:.1f} s wall [{min(walls):.1f}–{max(walls):.1f}] on --cores {args.cores}")
    print(f"limit (bare forward of every model pass + one embedding pass): {limit:.1f} CPU s, ratio {wall / limit:.2f}")
    with_training = limit + training_cpu
    print(f"limit + training ({training_cpu:.1f} CPU s): {with_training:.1f} CPU s, ratio {wall / with_training:.2f}")
    print(f"Snakemake start-up (dry run of the finished workflow): {statistics.median(dry_runs):.1f} s wall")
    print(f"of which the SLURM executor plugin's import: {plugin:.1f} s")
    print(f"`all` without it: {wall - plugin:.1f} s wall, ratio {(wall - plugin) / limit:.2f}")


if __name__ == "__main__":
    main()
