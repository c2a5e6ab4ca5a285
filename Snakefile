"""Machine Interpretability Score: from images and models to the paper's figures."""

import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# The tested logic lives in src/mis; rule scripts (and SLURM jobs) import it from there.
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))
# Torch's OpenMP threads sleep instead of spinning while they wait: on a machine shared with other
# jobs a spinning thread waits for one that is descheduled, and a 2-thread extraction then took 16-60 s
# instead of 6-8 s (benchmarks/README.md, "Threads on a shared machine"); set it yourself to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mis.allocator import glibc_tunables

# glibc keeps freed memory in every job (mmap and trim thresholds at 2 GiB), so that a batch's large
# tensors stop page-faulting anew; mis.allocator does the same from Python for the extraction and
# embedding stages, this reaches training and the SAE jobs too (measured: benchmarks/README.md).
os.environ.setdefault("GLIBC_TUNABLES", glibc_tunables())

from mis.config import validate_config

# The embedded default, unless config files are given: `--configfile` replaces it instead of being
# merged into it, so that config/paper.yaml runs the paper's models only, not the demo's as well.
# Single keys still override the default with `--config key=value`.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


validate_config(config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml"))


include: "workflow/rules/common.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/tasks.smk"
include: "workflow/rules/embeddings.smk"
include: "workflow/rules/scores.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/sae.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/imi.smk"
include: "workflow/rules/browser.smk"
include: "workflow/rules/experiment.smk"


rule all:
    input:
        ALL_FIGURES,
        rules.build_unit_browser.output.browser,


# Before the first job: every input from outside the repository that the planned jobs need (the
# `assets` params: images, weights, checkpoints, tables, the IMI release) is there, or the run stops
# here listing each missing one with its config key and what to do (mis.assets).
onstart:
    check_assets(workflow.dag.needrun_jobs())
