"""Command line: ``python -m mis score`` scores the units of one layer of a model, without Snakemake.

    python -m mis score --model resnet18 --weights random --layer layer3.0.conv1 \\
        --images path/to/folder --n-tasks 10 --n-refs 5 --out units.csv

With ``--dictionary sae.npz`` it scores the latents of a dictionary (e.g. a sparse autoencoder)
read from that layer instead of its channels (file format: ``mis.sae.dictionary``).

``python -m mis check-config CONFIG [TARGET …]`` lists every input from outside the repository
that a run of the targets would need (images, weights, checkpoints, tables, the IMI release), with
its config key and whether it is there, and exits with 1 if one is missing; nothing is run.

``python -m mis install-profile`` installs profiles/slurm as the user's ``slurm`` Snakemake profile
(``make slurm-profile``); ``python -m mis config-docs`` writes config/README.md from the config
schema (``make config-docs``).

``python -m mis experiment serve --responses DIR [--site DIR]`` collects the session files of a
browser study (``mis.experiment.serve``), and serves its site if given.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from mis.api import DEFAULT_CONFIG, SCHEMA, score_layer, scoring_settings
from mis.cluster import install_profile
from mis.config import ConfigError, config_reference, read_yaml
from mis.models import WeightsError, build_model, eval_transform
from mis.results import live
from mis.storage import write_table
from mis.tasks import TooFewImages

CONFIG_README = DEFAULT_CONFIG.parent / "README.md"


def weights_spec(weights: str, seed: int) -> dict[str, Any]:
    """``random`` (seeded init), ``hub`` (the library's pretrained weights) or a checkpoint path."""
    if weights == "random":
        return {"source": "random", "seed": seed}
    if weights == "hub":
        return {"source": "hub"}
    if not Path(weights).is_file():
        raise FileNotFoundError(f"--weights: expected random, hub or a checkpoint file; no file {weights}")
    return {"source": "file", "path": weights}


def positive_int(text: str) -> int:
    """An integer ≥ 1 (argparse names the flag in its error)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m mis", description="Machine Interpretability Score without Snakemake."
    )
    commands = main.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score",
        help="score the units of one layer of a model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("--model", required=True, help="architecture name, e.g. resnet18 (timm: name[.pretrained tag])")
    score.add_argument("--library", default="timm", choices=["timm", "torchvision", "open_clip"])
    score.add_argument(
        "--weights",
        default="random",
        help="random (seeded init), hub (the library's pretrained weights) or a checkpoint file",
    )
    score.add_argument(
        "--layer", required=True, help="module name of a Conv, Linear or normalisation layer, e.g. layer3.0.conv1"
    )
    score.add_argument(
        "--dictionary",
        type=Path,
        help="score the latents of this dictionary file (.npz, .pt: W_enc, b_enc, ...) read from the layer, "
        "not its channels",
    )
    score.add_argument(
        "--dictionary-name",
        help="the dictionary's name in the unit labels <layer>/<name> (default: its metadata's name, "
        "else the file's stem)",
    )
    score.add_argument(
        "--images", required=True, type=Path, help="folder of images (flat, class folders or .tar shards)"
    )
    score.add_argument("--n-tasks", type=positive_int, default=10, help="N, tasks per unit (default 10)")
    score.add_argument("--n-refs", type=positive_int, default=5, help="K, references per side (default 5)")
    score.add_argument("--seed", type=int, default=0, help="seed of the tasks and of random weights")
    score.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="workflow config whose similarity and MIS settings to use"
    )
    score.add_argument("--batch-size", type=int, default=32)
    score.add_argument("--num-workers", type=int, default=0)
    score.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    score.add_argument("--out", required=True, type=Path, help="unit table to write (.csv or .parquet)")
    install = commands.add_parser(
        "install-profile", help="install profiles/slurm as your `slurm` Snakemake profile, unless you have one"
    )
    install.add_argument("--name", default="slurm", help="profile name (default slurm: `snakemake --profile slurm`)")
    check = commands.add_parser(
        "check-config",
        help="list the inputs from outside the repository that a run of the targets needs, and which are missing",
    )
    check.add_argument("config", type=Path, help="config file, e.g. config/paper.yaml")
    check.add_argument("targets", nargs="*", default=["all"], help="Snakemake targets (default all)")
    check.add_argument("--directory", type=Path, default=Path("."), help="the run's folder (default: here)")
    zoo = commands.add_parser(
        "check-zoo",
        help="extract every architecture of the sweep with random weights; a table of what is scored and its cost",
    )
    zoo.add_argument("--out", type=Path, default=Path("benchmarks/results/zoo.csv"), help="the table (resumable)")
    zoo.add_argument("--include", nargs="+", default=["*"], help="patterns of the sweep's model names (default: all)")
    zoo.add_argument("--timeout", type=float, default=1800, help="seconds per architecture")
    zoo.add_argument("--retry", action="store_true", help="check the architectures that failed again")
    zoo.add_argument("--workers", type=int, default=1, help="architectures checked at a time (one thread each)")
    zoo.add_argument("--one", help=argparse.SUPPRESS)  # one architecture, its row as JSON (the worker process)
    docs = commands.add_parser("config-docs", help="write config/README.md from the config schema's descriptions")
    docs.add_argument("--out", type=Path, default=CONFIG_README, help=f"default {CONFIG_README}")
    experiment = commands.add_parser("experiment", help="tools of a browser study (config block experiment)")
    serve = experiment.add_subparsers(dest="action", required=True).add_parser(
        "serve", help="collect session files sent by the study's page (POST /sessions), and serve its site"
    )
    serve.add_argument("--responses", required=True, type=Path, help="folder the session files are written to")
    serve.add_argument("--site", type=Path, help="the built study to serve too, e.g. results/experiment/study")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "install-profile":
        profile, installed = install_profile(args.name)
        if installed:
            print(f"installed profiles/slurm as {profile}: `snakemake --profile {args.name}` now submits to SLURM")
        else:
            print(f"kept the `{args.name}` profile that Snakemake already finds, {profile}; nothing installed")
        return 0
    if args.command == "check-config":
        return check_config(args.config, args.targets, args.directory)
    if args.command == "check-zoo":
        return check_zoo_command(args)
    if args.command == "experiment":
        from mis.experiment.serve import serve

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        serve(args.responses, args.host, args.port, args.site)
        return 0
    if args.command == "config-docs":
        args.out.write_text(config_reference(SCHEMA))
        print(f"wrote {args.out}")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        check_out(args.out)
        units = score(args)
    except (ValueError, OSError, WeightsError) as error:  # bad input: a message, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_table(units, args.out)
    scored = units[live(units)]
    print(
        f"{len(units)} units of {args.model} {units['layer'].iloc[0]}: mean MIS {scored['mis'].mean():.3f} "
        f"over {len(scored)} non-constant units; written to {args.out}"
    )
    return 0


def check_config(config: Path, targets: list[str], directory: Path) -> int:
    """Print the assets of the jobs a run of ``targets`` would start in ``directory``; 1 if one is
    missing, 2 if the config or the targets are wrong."""
    from mis.assets import planned_assets, report
    from mis.planning import plan

    try:
        read_yaml(config)  # a syntax error with its line: Snakemake's own message names neither
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        jobs = [job for job in plan(directory, [config], targets) if job.reason]
    except Exception as error:  # Snakemake's own errors (a bad config key, an unknown target) come in many types
        print(f"error: {error}", file=sys.stderr)
        return 2
    assets = planned_assets(declaration for job in jobs for declaration in dict(job.params).get("assets", []))
    missing = [asset for asset in assets if asset.missing]
    print(f"{len(jobs)} jobs to run for {' '.join(targets)} with {config}; inputs from outside the repository:")
    print(report(sorted(assets, key=lambda asset: (asset.missing, asset.key, asset.location))))
    print(f"{len(missing)} missing" if missing else "nothing missing")
    return 1 if missing else 0


def check_zoo_command(args: argparse.Namespace) -> int:
    from mis.zoo_check import check_model, check_zoo, summary

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.one:
        print(json.dumps(check_model(args.one)))
        return 0
    table = check_zoo(args.out, args.include, args.timeout, args.retry, args.workers)
    print(summary(table))
    return 0 if (table["status"] == "ok").all() else 1


def check_out(out: Path) -> None:
    """Before any work: ``--out`` can be written (its folder made, if need be)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"--out {out}: a part of its folder {out.parent} is a file, not a folder") from None
    if out.is_dir() or not os.access(out.parent, os.W_OK):
        raise ValueError(f"--out {out}: cannot write there")


def score(args: argparse.Namespace) -> pd.DataFrame:
    """The unit table the arguments ask for."""
    spec = {"library": args.library, "architecture": args.model, "weights": weights_spec(args.weights, args.seed)}
    model = build_model(spec)
    try:
        return score_layer(
            model,
            args.layer,
            args.images,
            n_tasks=args.n_tasks,
            n_refs=args.n_refs,
            seed=args.seed,
            scoring=scoring_settings(args.config),
            transform=eval_transform(model, args.library),
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            device=args.device,
            name=args.model,
            dictionary=args.dictionary,
            dictionary_name=args.dictionary_name,
        )
    except TooFewImages as error:  # found before the pass over the images
        raise error.named("--n-tasks", "--n-refs") from None


if __name__ == "__main__":
    sys.exit(main())
