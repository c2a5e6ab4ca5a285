"""How far the embedded default's results move when only the arithmetic changes: thread counts and
CPU kernel sets, the differences between two machines.

Runs `snakemake all` on fresh clones of HEAD, once per variant, and compares each variant's outputs
with the first (the baseline): per model, the largest relative change of an activation value, the
units whose most or least activating images change (as sets, and in order), the units with a
changed task, the largest change of a unit's MIS, and of the model's mean MIS; the trained models'
checkpoints and the SAE table. Variants (environment and `--config` blocks):

- `threads.inference: 2`: two torch threads per inference job instead of one;
- `ATEN_CPU_CAPABILITY=default`: PyTorch's own kernels without SIMD (as on a CPU torch has no
  vectorised build for), instead of this CPU's AVX-512 ones;
- `ONEDNN_MAX_CPU_ISA=AVX2` (with `MKL_ENABLE_INSTRUCTIONS=AVX2` and `ATEN_CPU_CAPABILITY=avx2`):
  a CPU without AVX-512: oneDNN's convolutions, MKL's matrix products and torch's own kernels
  as they run there.

Training (`train_model`, `train_sae`) runs in every variant with the config's thread count, so the
trained networks differ only where the kernels do.

    python benchmarks/reproducibility.py --out benchmarks/results/reproducibility.md 2>/dev/null
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from harness import add_common_arguments, note, write_results
from pipeline import SNAKEMAKE, config_arguments, fresh_clone

from mis import paths
from mis.storage import read_arrays


@dataclass(frozen=True)
class Variant:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    config: tuple[str, ...] = ()  # --config entries


VARIANTS = [
    Variant("baseline: 1 thread per job, this CPU's kernels"),
    Variant("threads.inference: 2", config=("threads={inference: 2}",)),
    Variant("ATEN_CPU_CAPABILITY=default", env={"ATEN_CPU_CAPABILITY": "default"}),
    Variant(
        "no AVX-512 (oneDNN, MKL and ATen at AVX2)",
        env={"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    ),
]


def run_variant(clone: Path, variant: Variant, cores: int, configfile: Path | None, results: Path) -> None:
    """`all` from nothing in ``clone`` under ``variant``; its results and figures copied to ``results``."""
    subprocess.run(["make", "--silent", "clean"], cwd=clone, check=True)
    shutil.rmtree(clone / "results" / "embeddings", ignore_errors=True)
    command = [str(SNAKEMAKE), "--cores", str(cores), "all", *config_arguments(configfile)]
    command += ["--config", *variant.config] if variant.config else []
    log = results.with_suffix(".log")
    with log.open("w") as out:
        subprocess.run(command, cwd=clone, env={**os.environ, **variant.env}, stdout=out, stderr=out, check=True)
    shutil.copytree(clone / "results", results, ignore=shutil.ignore_patterns("browser", "cache"))


def models_of(results: Path) -> list[str]:
    return sorted(path.name for path in (results / "activations").iterdir())


def compare_model(base: Path, other: Path, model: str) -> dict[str, float]:
    """One model's differences between two runs."""
    a, b = (read_arrays(paths.located(paths.EXTREMES, run, model=model)) for run in (base, other))
    scale = np.maximum(np.abs(a["top_val"]).max(axis=1), np.abs(a["bottom_val"]).max(axis=1))[:, None]
    relative = max(float((np.abs(a[k] - b[k]) / np.maximum(scale, 1e-30)).max()) for k in ("top_val", "bottom_val"))
    sets = np.zeros(len(a["top_idx"]), dtype=bool)
    order = np.zeros_like(sets)
    for key in ("top_idx", "bottom_idx"):
        order |= (a[key] != b[key]).any(axis=1)
        sets |= (np.sort(a[key], axis=1) != np.sort(b[key], axis=1)).any(axis=1)
    ta, tb = (read_arrays(paths.located(paths.TASKS, run, model=model)) for run in (base, other))
    tasks = np.zeros_like(sets)
    for key, value in ta.items():
        tasks |= (value != tb[key]).reshape(len(value), -1).any(axis=1)
    ua, ub = (pd.read_parquet(paths.located(paths.UNITS, run, model=model)) for run in (base, other))
    mis = np.abs(ua["mis"].to_numpy() - ub["mis"].to_numpy())
    live_a, live_b = ~ua["constant"], ~ub["constant"]
    return {
        "units": len(sets),
        "max relative change of an activation": relative,
        "units with another extreme image": int(sets.sum()),
        "units with extremes in another order": int(order.sum()),
        "units with another task": int(tasks.sum()),
        "largest change of a unit's MIS": float(mis.max()),
        "change of the mean MIS": abs(ua.loc[live_a, "mis"].mean() - ub.loc[live_b, "mis"].mean()),
        "units constant in one run only": int((live_a != live_b).sum()),
    }


def markdown(table: pd.DataFrame) -> str:
    """A markdown table, models as rows (counts as integers, the rest to 2 significant digits)."""
    cells = [[f"{v:.0f}" if float(v).is_integer() and abs(v) >= 1 else f"{v:.2g}" for v in row] for row in table.values]
    header = ["model", *table.columns]
    rows = [header, ["---"] * len(header), *([model, *row] for model, row in zip(table.index, cells))]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def compare(base: Path, other: Path) -> pd.DataFrame:
    rows = {model: compare_model(base, other, model) for model in models_of(base)}
    return pd.DataFrame(rows).T


def sae_change(base: Path, other: Path) -> float:
    """The largest change of the SAE table's mean MIS of a dictionary's latents."""
    a, b = (pd.read_csv(paths.located(paths.analysis("sae"), run)) for run in (base, other))
    return float(np.abs(a["mean_mis"] - b["mean_mis"]).max())


def checkpoints_identical(base: Path, other: Path) -> bool:
    files = sorted((base / "training").rglob("*.pth"))
    return all(f.read_bytes() == (other / f.relative_to(base)).read_bytes() for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep each variant's results in this folder")
    parser.add_argument("--configfile", type=Path, help="a config in the repository instead of config/config.yaml")
    add_common_arguments(parser)
    args = parser.parse_args()
    variants = VARIANTS
    if args.smoke:  # CI's reduced config, the baseline run once and compared with itself
        args.configfile, variants = Path(".ci/reduced/config.yaml"), VARIANTS[:1] * 2
    note(f"Baseline: {variants[0].name}.")
    with tempfile.TemporaryDirectory() as tmp:
        store = args.keep or Path(tmp) / "runs"
        store.mkdir(parents=True, exist_ok=True)
        clone = fresh_clone(Path(tmp))
        runs = []
        for variant in variants:
            runs.append(store / f"variant{VARIANTS.index(variant)}")
            if not runs[-1].exists():
                run_variant(clone, variant, args.cores, args.configfile, runs[-1])
        for variant, run in zip(variants[1:], runs[1:]):
            note()
            note(f"### {variant.name}")
            note()
            note(markdown(compare(runs[0], run)))
            note()
            if paths.located(paths.analysis("sae"), runs[0]).is_file():
                note(f"- SAE table, largest change of a dictionary's mean MIS: {sae_change(runs[0], run):.2g}")
            if (runs[0] / "training").is_dir():
                note(f"- training checkpoints byte-identical: {checkpoints_identical(runs[0], run)}")
    write_results(args.out, "Reproducibility across thread counts and CPU kernel sets")


if __name__ == "__main__":
    main()
