"""Every output path of the workflow, in one place: the rules, the notebook, the API and the tests
name files through these patterns (``{model}``-style fields are Snakemake wildcards); the unit
browser is written into ``BROWSER`` and reads nothing from here (its pages link relative paths).

Paths are relative to the run's working directory; ``located`` finds a file of a run whose
``results/`` folder is elsewhere (a copied or downloaded run).
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = "results"
FIGURES = "figures"
LOGS = "logs"

MANIFEST = f"{RESULTS}/images/manifest.csv"
EXTREMES = f"{RESULTS}/activations/{{model}}/extremes.npz"
LAYERS = f"{RESULTS}/activations/{{model}}/layers.csv"
EXTRACTION_META = f"{RESULTS}/activations/{{model}}/meta.json"
TASKS = f"{RESULTS}/tasks/{{model}}.npz"
EMBEDDINGS = f"{RESULTS}/embeddings/{{similarity}}/{{model}}.npz"  # a receipt: the vectors are in the store
EMBEDDING_REPORT = f"{RESULTS}/embeddings/{{similarity}}/{{model}}.json"
UNITS = f"{RESULTS}/mis/{{model}}/units.parquet"
MODEL_SUMMARY = f"{RESULTS}/mis/models.csv"
ANALYSIS = f"{RESULTS}/analysis/{{name}}.csv"  # the table(s) behind a figure
FIGURE = f"{FIGURES}/{{name}}.pdf"
BROWSER = f"{RESULTS}/browser"

TRAINING = f"{RESULTS}/training/{{run}}"
CHECKPOINT = f"{TRAINING}/epoch{{epoch}}.pth"
TRAINING_ACCURACY = f"{TRAINING}/accuracy.csv"
TRAINING_SPLIT = f"{TRAINING}/split.csv"

SAE = f"{RESULTS}/sae/{{model}}"  # {model}: the configured model whose layer the dictionaries read
SAE_VECTORS = f"{SAE}/vectors.npz"
SAE_DICTIONARY = f"{SAE}/{{dictionary}}.npz"
SAE_METRICS = f"{SAE}/metrics.csv"

IMI = f"{RESULTS}/imi"
IMI_FILES = f"{IMI}/files.json"
HUMAN_TRIALS = f"{IMI}/responses/{{table}}_trials.parquet"
HUMAN_SCORES = f"{IMI}/responses/{{table}}_his.csv"
HUMAN_MODELS = f"{IMI}/responses/{{table}}_models.csv"
IMI_MARGINS = f"{IMI}/{{backend}}/margins.parquet"
IMI_UNITS = f"{IMI}/{{backend}}/units.csv"
IMI_TRIALS = f"{IMI}/{{backend}}/trials.csv"
IMI_COVERAGE = f"{IMI}/{{backend}}/coverage.csv"
UNIT_JOIN = f"{IMI}/{{backend}}/unit_join.csv"
UNIT_JOIN_SUMMARY = f"{IMI}/{{backend}}/unit_join.json"
EXTREME_UNITS = f"{IMI}/extreme_units.csv"

# The browser study of Fig. 2C (mis.experiment): the static site, and the study's units, trial
# lists, merged responses and human scores.
EXPERIMENT = f"{RESULTS}/experiment/{{study}}"
STUDY = f"{RESULTS}/study/{{study}}"
STUDY_UNITS = f"{STUDY}/units.csv"
STUDY_TRIALS = f"{STUDY}/trials.csv"
STUDY_RESPONSES = f"{STUDY}/human_responses/responses_{{table}}.csv"
STUDY_SESSIONS = f"{STUDY}/sessions.csv"
STUDY_MARGINS = f"{STUDY}/margins.parquet"  # the study units' task margins, for the α fit
STUDY_HUMAN_TRIALS = f"{STUDY}/responses/{{table}}_trials.parquet"
STUDY_HUMAN_SCORES = f"{STUDY}/responses/{{table}}_his.csv"
STUDY_HUMAN_MODELS = f"{STUDY}/responses/{{table}}_models.csv"


def analysis(name: str) -> str:
    """The table ``name`` an analysis rule writes for a figure (``.csv``, unless ``name`` has a suffix)."""
    return ANALYSIS.format(name=name) if "." not in name else f"{RESULTS}/analysis/{name}"


def figure(name: str) -> str:
    return FIGURE.format(name=name)


def log(rule: str, *wildcards: str) -> str:
    """A rule's log: ``logs/<rule>.log``, or ``logs/<rule>/<wildcards>.log`` for a rule that runs per
    model (backend, table …); ``wildcards`` are Snakemake patterns such as ``"{model}"``."""
    return f"{LOGS}/{rule}/{'-'.join(wildcards)}.log" if wildcards else f"{LOGS}/{rule}.log"


def located(pattern: str, results: str | os.PathLike = RESULTS, **wildcards: str) -> Path:
    """The path of a run's file whose ``results/`` folder is ``results``."""
    relative = Path(pattern.format(**wildcards)).relative_to(RESULTS)
    return Path(results) / relative
