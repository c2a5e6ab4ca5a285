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

from harness import add_common_arguments, measure, note, report, write_results
from inputs import REPO

# The package module each kind of job imports (its workflow/scripts/*.py adapter imports a function
# of it), and what the job imports once it runs whatever its work: timm where a timm network is
# built (timm imports torchvision, whose ops import torch._dynamo), torch._dynamo where an optimiser
# is built (torch.optim imports it then). The stages have their modules in mis.stages since it became
# a package; for a src folder from before, the module each stage lived in then is imported instead.
# overcomplete comes through mis.sae.compat, as train_sae imports it (a bare `import overcomplete`
# fails with matplotlib >= 3.9).


def stage(module: str, before: str) -> str:
    """Import mis.stages.<module>, or ``before`` (a statement) where the src folder predates it."""
    return f"exec('try:\\n import mis.stages.{module}\\nexcept ImportError:\\n {before}')"


JOBS = {
    "extract_activations": f"{stage('activations', 'import mis.stages')}; import timm",
    # embed_images: torch and timm only where an image is not in the store yet
    "embed_images, every image in the store": stage("embeddings", "import mis.stages"),
    "embed_images, images to embed": f"{stage('embeddings', 'import mis.stages')}; import mis.similarity, timm",
    "compute_mis": stage("scores", "import mis.scoring"),
    "analyze_convergence": stage("analysis", "import mis.analysis.convergence"),
    "sample_sae_vectors, evaluate_saes": f"{stage('sae', 'import mis.sae.stages')}; import timm",
    "train_sae": f"{stage('sae', 'import mis.sae.stages')}; import torch._dynamo, mis.sae.compat",
    "train_model": f"{stage('training', 'import mis.training')}; import timm, torch._dynamo",
    "build_unit_browser": stage("browser", "import mis.browser"),
    "sample_tasks": stage("tasks", "import mis.tasks"),
    "summarize_models": stage("scores", "import mis.results"),
    "plot_fig3": "import mis.figures, mis.figures.fig3",
    "plot_example_units": "import mis.figures, mis.figures.example_units",
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
    parser.add_argument("--before", help="a src folder to compare with (default: this checkout's, i.e. no comparison)")
    parser.add_argument("--repeats", type=int, default=5)
    add_common_arguments(parser)
    args = parser.parse_args()
    jobs = {job: JOBS[job] for job in ("sample_tasks", "plot_fig3")} if args.smoke else JOBS  # smoke: two light jobs
    repeats = 1 if args.smoke else args.repeats
    trees = {"before": args.before or str(REPO / "src"), "after": str(REPO / "src")}
    for job, statement in jobs.items():
        candidates = {name: partial(start, src, statement) for name, src in trees.items()}
        report(f"start-up of {job}", measure(candidates, repeats, warmup=not args.smoke), 1, "job")
        for name, src in trees.items():
            note(f"- {name}: imports {heavy_imports(src, statement) or 'none of ' + ', '.join(HEAVY)}")
    write_results(args.out, "Start-up and exit of the workflow's jobs")


if __name__ == "__main__":
    main()
