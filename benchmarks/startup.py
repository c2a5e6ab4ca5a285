"""Benchmark: start-up of the workflow's jobs, i.e. the imports each rule script makes, in fresh
processes, this checkout against another source tree (``--before``: a ``src`` folder, e.g.
``git archive REV src | tar -x -C /tmp/before``), interleaved (benchmarks/harness.py). Also lists
the heavy libraries each job ends up importing.

    python benchmarks/startup.py --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from functools import partial

from harness import measure, report
from inputs import REPO

# The package module each kind of job imports (its workflow/scripts/*.py adapter imports a function
# of it): module imports, so that any revision's src folder can be compared.
JOBS = {
    "extract_activations, embed_images, compute_mis": "import mis.stages",
    "train_model": "import mis.training",
    "sample_tasks": "import mis.tasks",
    "summarize_models": "import mis.results",
    "plot_fig3": "import mis.figures.fig3",
    "plot_example_units": "import mis.figures.example_units",
}
HEAVY = ("torch", "torchvision", "timm", "open_clip", "matplotlib", "scipy")


def start(src: str, statement: str) -> None:
    env = os.environ | {"PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", f"import mis.runlog; {statement}"], env=env, check=True)


def heavy_imports(src: str, statement: str) -> str:
    probe = f"import sys, mis.runlog; {statement}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = os.environ | {"PYTHONPATH": src}
    return subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a src folder to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    trees = {"before": args.before, "after": str(REPO / "src")}
    for job, statement in JOBS.items():
        candidates = {name: partial(start, src, statement) for name, src in trees.items()}
        report(f"start-up of {job}", measure(candidates, args.repeats), 1, "job")
        for name, src in trees.items():
            print(f"  {name}: imports {heavy_imports(src, statement) or 'none of ' + ', '.join(HEAVY)}")


if __name__ == "__main__":
    main()
