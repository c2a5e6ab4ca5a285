"""Benchmark: the whole pipeline against its physical limit, both measured in the same run.

Each round runs, interleaved (benchmarks/harness.py):
- `snakemake --cores N all` on a clone of this repository's HEAD, from nothing (results, figures,
  logs and the embedding cache removed before every run), with this checkout's virtual environment;
- the limit (benchmarks/limit.py --once, a fresh process each round): a bare forward pass of every
  model pass, the SAE model's two included, and one embedding pass, over the photos decoded
  beforehand, at --threads threads; the limit is the median over rounds of their sum;
- the training that `all` does, in this one warm process: train_model's run (mis.stages.training) and
  every SAE of the sweep (mis.sae.fitting), on the vectors and manifest of the pipeline's warm-up run.

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
from harness import add_common_arguments, measure, note, pin_threads, report, spread, write_results
from inputs import CPU, REPO, default_config, photos

from mis import paths
from mis.allocator import retain_freed_memory
from mis.sae.fitting import train_dictionary
from mis.settings import Settings
from mis.stages.training import train_model
from mis.storage import read_arrays

SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def fresh_clone(workdir: Path) -> Path:
    """A clone of HEAD that runs with this checkout's virtual environment."""
    clone = workdir / "mis"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    return clone


def config_arguments(configfile: Path | None) -> list[str]:
    """Snakemake's arguments for another config than the embedded default (a path in the repository)."""
    return ["--replace-workflow-config", "--configfile", str(configfile)] if configfile else []


def run_all(clone: Path, cores: int, configfile: Path | None, log: Path) -> None:
    """`all` from nothing: the outputs of an earlier run, and its embedding cache, removed first by
    `make clean`."""
    subprocess.run(["make", "--silent", "clean"], cwd=clone, check=True)
    command = [str(SNAKEMAKE), "--cores", str(cores), "all", *config_arguments(configfile)]
    with log.open("w") as out:
        subprocess.run(command, cwd=clone, stdout=out, stderr=out, check=True)


def train_everything(clone: Path, config: dict, settings: Settings, scratch: Path) -> None:
    """train_model's run and every SAE of the sweep, in this process (those the config has)."""
    if settings.sae:
        vectors = read_arrays(clone / paths.SAE_VECTORS.format(model=settings.sae.model))["vectors"]
        for sae in settings.sae.trained:
            train_dictionary(torch.from_numpy(vectors), sae, CPU)
    if not settings.training or not settings.training.train:
        return
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


def startup(clone: Path, cores: int, configfile: Path | None) -> float:
    """Wall seconds of a dry run of the finished workflow: Snakemake's start-up and DAG."""
    start = time.perf_counter()
    command = [str(SNAKEMAKE), "--cores", str(cores), "-n", "all", *config_arguments(configfile)]
    subprocess.run(command, cwd=clone, capture_output=True, check=True)
    return time.perf_counter() - start


def limit_round(
    threads: int, batch_size: int, configfile: Path | None, out: Path, rounds: list[dict[str, float]]
) -> None:
    """One round of the limit (limit.py --once) in a new process, as the pipeline's jobs are: an
    effect of the process (EfficientNet-Lite0's heap given back after every batch in about half of
    the processes, under a 1 GiB trim threshold) is invisible to rounds in one process."""
    command = [sys.executable, str(Path(__file__).with_name("limit.py")), "--once", str(out)]
    command += ["--threads", str(threads), "--batch-size", str(batch_size)]
    command += ["--configfile", str(REPO / configfile)] if configfile else []
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
    parser.add_argument("--configfile", type=Path, help="a config in the repository instead of config/config.yaml")
    add_common_arguments(parser)
    args = parser.parse_args()
    if args.smoke:  # CI's reduced config (no training, SAE or IMI blocks), one round
        args.configfile, args.repeats = Path(".ci/reduced/config.yaml"), 1
    if subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip():
        print("note: uncommitted changes; the pipeline runs HEAD's workflow with this tree's package (editable)")
    pin_threads(args.threads)
    retain_freed_memory()
    config = default_config(args.configfile and REPO / args.configfile)
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
            pipeline: partial(run_all, clone, args.cores, args.configfile, workdir / "all.log"),
            limit_row: partial(
                limit_round, args.threads, args.batch_size, args.configfile, workdir / "limit.json", rounds
            ),
            training: partial(train_everything, clone, config, settings, workdir),
        }
        timings = measure(candidates, args.repeats, warmup=not args.smoke)
        if not args.smoke:
            del rounds[0]  # the warm-up's
        dry_runs = [startup(clone, args.cores, args.configfile) for _ in range(1 if args.smoke else 3)]
        plugin = statistics.median(plugin_import() for _ in range(1 if args.smoke else 3))
    summary = report(f"`all` and its limit over {len(image_paths)} photos", timings, len(image_paths))
    note(f"The limit's passes, each round in a fresh process (CPU s, {len(rounds)} rounds; median [min–max]):")
    note()
    note("| pass | CPU s |")
    note("|---|---|")
    for name in rounds[0]:
        note(f"| {name} | {spread([r[name] for r in rounds])} |")
    sums = [sum(r.values()) for r in rounds]
    note(f"| sum | {spread(sums)} |")
    note()
    walls = timings[pipeline].wall
    wall = statistics.median(walls)
    limit = statistics.median(sums)
    training_cpu = summary[training]["cpu_s"]
    note(f"- `all`: {wall:.1f} s wall [{min(walls):.1f}–{max(walls):.1f}] on --cores {args.cores}")
    note(
        f"- limit (bare forward of every model pass + one embedding pass): {limit:.1f} CPU s, ratio {wall / limit:.2f}"
    )
    with_training = limit + training_cpu
    note(f"- limit + training ({training_cpu:.1f} CPU s): {with_training:.1f} CPU s, ratio {wall / with_training:.2f}")
    note(f"- Snakemake start-up (dry run of the finished workflow): {statistics.median(dry_runs):.1f} s wall")
    note(f"- of which the SLURM executor plugin's import: {plugin:.1f} s")
    note(f"- `all` without it: {wall - plugin:.1f} s wall, ratio {(wall - plugin) / limit:.2f}")
    write_results(args.out, "The whole pipeline against its physical limit")


if __name__ == "__main__":
    main()
