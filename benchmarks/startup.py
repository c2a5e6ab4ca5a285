"""Benchmark: start-up and exit of the workflow's jobs, i.e. a fresh process that sets up its log as
the rule scripts do, makes the imports its rule script and its work make and exits, this checkout against
another source tree (``--before``: a ``src`` folder, e.g. ``git archive REV src | tar -x -C
/tmp/before``), interleaved (benchmarks/harness.py). Also lists the heavy libraries each job ends up
importing.

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
# of it), and what the job imports once it runs whatever its work: timm where a timm network is
# built (timm imports torchvision, whose ops import torch._dynamo), torch._dynamo where an optimiser
# is built (torch.optim imports it then). Module imports, so that any revision's src folder can be
# compared.
EMBED = "import importlib.util as u; __import__('mis.embeddings' if u.find_spec('mis.embeddings') else 'mis.stages')"
JOBS = {
    "extract_activations": "import mis.stages, timm",
    # embed_images: mis.embeddings since it left mis.stages; torch and timm only where an image is
    # not in the store yet
    "embed_images, every image in the store": EMBED,
    "embed_images, images to embed": f"{EMBED}; import mis.similarity, timm",
    # compute_mis: mis.scoring's since it left mis.stages (the torch stages)
    "compute_mis": "import mis.scoring as s; hasattr(s, 'compute_mis') or __import__('mis.stages')",
    "analyze_convergence": "import mis.analysis.convergence",
    "sample_sae_vectors, evaluate_saes": "import mis.sae.stages, timm",
    "train_sae": "import mis.sae.stages, mis.sae.training, torch._dynamo",
    "train_model": "import mis.training, timm, torch._dynamo",
    "analyze_accuracy": "import mis.analysis.accuracy",
    "build_unit_browser": "import mis.browser",
    "sample_tasks": "import mis.tasks",
    "summarize_models": "import mis.results",
    "plot_fig3": "import mis.figures.fig3",
    "plot_example_units": "import mis.figures.example_units",
}
HEAVY = ("torch", "torch._dynamo", "torchvision", "timm", "open_clip", "overcomplete", "sklearn", "matplotlib", "scipy")


def start(src: str, statement: str) -> None:
    """A job's process without its work: log set up as the rule scripts do, imports, exit."""
    env = os.environ | {"PYTHONPATH": src}
    setup = "import os, mis.runlog; mis.runlog.log_to(os.devnull)"
    subprocess.run([sys.executable, "-c", f"{setup}; {statement}"], env=env, check=True)


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
