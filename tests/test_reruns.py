"""A changed config re-runs what it changes, and nothing else.

Snakemake re-runs a job when a param it recorded changed, and records builtin values only: every
param of every rule must be a plain value (mis.settings.Params), except ``run``, which holds how a
job runs and is derived from its threads so that Snakemake does not record it. On a folder where
the reduced config (with training, SAE and IMI blocks) ran, each change of a setting must plan
exactly the jobs whose params it changes and everything downstream of them.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from planning import downstream, pretend_finished
from test_workflow import reduced_config, run

from mis.planning import PlannedJob, plan

from conftest import REPO, TINY_SIMILARITY

pytestmark = pytest.mark.workflow
PLAIN = (type(None), bool, int, float, str)


def every_block(workdir: Path) -> dict[str, Any]:
    """The reduced config with a training run, an SAE sweep, the IMI validation and a human study
    whose sessions came back: every rule."""
    config = yaml.safe_load(reduced_config(workdir).read_text())
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["training"] = {**default["training"], "epochs": [0, 1]}
    config["sae"] = {
        "model": "mobilenetv2_100",
        "layer": "blocks.3.3.bn3",
        "train": {"n_vectors": 256, "kinds": ["relu"], "sparsity": [0.1], "expansion": [2], "n_epochs": 1},
    }
    config["imi"] = {
        "data_dir": str(workdir / "imi"),
        "allow_unverified": True,
        "imagenet_train": str(workdir / "imi" / "train"),
        "similarities": [TINY_SIMILARITY],
    }
    config["experiment"] = {"n_per_group": 2, "practice_trials": 2, "responses_dir": str(workdir / "responses")}
    return config


def write(workdir: Path, name: str, config: dict[str, Any]) -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(config))
    return path


def is_plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(map(is_plain, value))
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain(item) for key, item in value.items())
    return isinstance(value, PLAIN)


def test_every_param_is_recorded_except_how_a_job_runs(tmp_path: Path) -> None:
    """A guard against the next settings object: Snakemake would not record it, and a change of it
    would never re-run anything."""
    jobs = plan(tmp_path, [write(tmp_path, "config.yaml", every_block(tmp_path))], forceall=True)
    rules = {job.rule for job in jobs}
    assert {"train_model", "train_sae", "evaluate_saes", "compute_imi_mis", "fit_alpha", "build_unit_browser"} <= rules
    for job in jobs:
        names = [name for name, _ in job.params]
        for name, value in job.params:
            assert is_plain(value), f"rule {job.rule}: param {name} is not plain ({type(value).__name__})"
        assert job.recorded == len(names) - ("run" in names), f"rule {job.rule}: a param other than run is not recorded"
        if "run" in names:
            run = dict(job.params)["run"]
            assert {"device", "threads"} <= set(run), f"rule {job.rule}: run lacks device or threads"


def changed(config: dict[str, Any], **paths: Any) -> dict[str, Any]:
    """``config`` with the dotted keys (``__`` for ``.``) set."""
    config = copy.deepcopy(config)
    for dotted, value in paths.items():
        *parents, key = dotted.split("__")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    return config


MODELS = ["mobilenetv2_100", "resnet18-untrained"]
EPOCHS = ["test_resnet-demo-epoch0", "test_resnet-demo-epoch1"]
SAE_MODEL = "mobilenetv2_100-sae"
ALL_MODELS = MODELS + EPOCHS + [SAE_MODEL]
BACKENDS = ["lite0-standin", "tiny-vit"]


def jobs_of(rule: str, **wildcards: list[str]) -> set[tuple]:
    """The keys of ``rule``'s jobs for every combination of the wildcard values given."""
    names = sorted(wildcards)
    return {(rule, tuple(zip(names, values))) for values in itertools.product(*(wildcards[n] for n in names))}


# Each setting, the new value, and the jobs whose own params it changes (everything downstream of
# them re-runs too); the reduced config's value in the comment.
CHANGES = {
    "alpha": (
        {"mis__alpha": 8.0},  # 16
        jobs_of("compute_mis", model=ALL_MODELS)
        | jobs_of("analyze_convergence")
        | jobs_of("compute_imi_mis", backend=BACKENDS),
    ),
    "n_tasks": (
        {"tasks__n_tasks": 2},  # 3
        jobs_of("extract_activations", model=ALL_MODELS)
        | jobs_of("sample_tasks", model=ALL_MODELS)
        | jobs_of("analyze_convergence"),
    ),
    "n_refs": (
        {"tasks__n_refs": 3},  # 2
        jobs_of("extract_activations", model=ALL_MODELS)
        | jobs_of("sample_tasks", model=ALL_MODELS)
        | jobs_of("analyze_convergence"),
    ),
    "seed": (
        {"seed": 1},  # 0; the random-init models' weights have their own seed
        jobs_of("sample_tasks", model=ALL_MODELS)
        | jobs_of("analyze_convergence")
        | jobs_of("analyze_accuracy")
        | jobs_of("train_model")
        | jobs_of("sample_sae_vectors")
        | {("train_sae", (("dictionary", "relu-l1_0.1-x2"), ("model", "mobilenetv2_100")))}
        | jobs_of("fit_alpha", backend=BACKENDS)
        | jobs_of("compare_similarities"),
    ),
    # the SAE model reads its one layer, whatever `extraction` selects
    "layer_types": (
        {"extraction__layer_types": ["conv"]},
        jobs_of("extract_activations", model=MODELS + EPOCHS),
    ),
    "include": ({"extraction__include": ["^blocks"]}, jobs_of("extract_activations", model=MODELS + EPOCHS)),
    "exclude": ({"extraction__exclude": ["bn"]}, jobs_of("extract_activations", model=MODELS + EPOCHS)),
    "query_quantiles": (
        {"extraction__query_quantiles": [0.9]},
        jobs_of("extract_activations", model=ALL_MODELS),
    ),
    "decoder": (  # the SAE passes decode images as the extraction does
        {"extraction__decoder": "torchvision"},
        jobs_of("extract_activations", model=ALL_MODELS) | jobs_of("sample_sae_vectors") | jobs_of("evaluate_saes"),
    ),
    "similarity": (
        {"similarity__weights": {"source": "random", "seed": 1}},
        jobs_of("embed_images", model=ALL_MODELS, similarity=["lite0-standin"])
        | jobs_of("compute_mis", model=ALL_MODELS)
        | jobs_of("compute_imi_mis", backend=["lite0-standin"]),
    ),
    "constant_threshold": ({"mis__constant_threshold": 1e-6}, jobs_of("compute_mis", model=ALL_MODELS)),
    "training": ({"training__train__lr": 0.1}, jobs_of("train_model")),
    "sae_epochs": (
        {"sae__train__n_epochs": 2},
        {("train_sae", (("dictionary", "relu-l1_0.1-x2"), ("model", "mobilenetv2_100")))} | jobs_of("analyze_sae"),
    ),
    "sae_vectors": ({"sae__train__n_vectors": 512}, jobs_of("sample_sae_vectors")),
    "sae_evaluate_every": ({"sae__evaluate_every": 2}, jobs_of("evaluate_saes")),
    "imi_bootstrap": ({"imi__n_bootstrap": 50}, jobs_of("fit_alpha", backend=BACKENDS)),
    "imi_simulations": (
        {"imi__n_simulations": 50},
        jobs_of("fit_alpha", backend=BACKENDS) | jobs_of("compare_similarities"),
    ),
    "imi_extreme": ({"imi__n_extreme": 3}, jobs_of("select_extreme_units")),
    "highlight": ({"highlight_models": ["resnet18-untrained"]}, jobs_of("analyze_models")),
    "label": (
        {"similarity__label": "another label"},
        jobs_of("plot_fig3")
        | jobs_of("plot_fig7")
        | jobs_of("plot_fig8")
        | jobs_of("plot_fig8_all_epochs")
        | jobs_of("plot_sae")
        | jobs_of("plot_fig2")
        | jobs_of("compare_similarities"),
    ),
    # how jobs run, not what they compute: nothing re-runs
    "inference_threads": ({"threads__inference": 2}, set()),
    "batch_size": ({"extraction__batch_size": 8, "similarity__batch_size": 16}, set()),
    "num_workers": ({"extraction__num_workers": 1, "similarity__num_workers": 1}, set()),
    "device": ({"device": "cpu"}, set()),
    "checkpoint_every": ({"extraction__checkpoint_every": 5}, set()),
    # training's thread count is part of the trained weights
    "training_threads": (
        {"threads__training": 2},
        jobs_of("train_model") | {("train_sae", (("dictionary", "relu-l1_0.1-x2"), ("model", "mobilenetv2_100")))},
    ),
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict[str, Any], list[PlannedJob]]:
    """A folder where the config with every block ran (outputs as empty files, Snakemake's metadata
    as a run records it)."""
    workdir = tmp_path_factory.mktemp("reruns")
    config = every_block(workdir)
    jobs = pretend_finished(workdir, write(workdir, "config.yaml", config))
    return workdir, config, jobs


def test_the_same_config_plans_nothing(finished) -> None:
    workdir, config, _ = finished
    assert [job.key for job in plan(workdir, [write(workdir, "same.yaml", config)]) if job.reason] == []


@pytest.mark.parametrize("setting", CHANGES)
def test_a_changed_setting_reruns_exactly_what_it_changes(finished, setting: str) -> None:
    workdir, config, jobs = finished
    values, direct = CHANGES[setting]
    keys = {job.key for job in jobs}
    assert direct <= keys, f"not jobs of the workflow: {sorted(direct - keys)}"
    planned = plan(workdir, [write(workdir, f"{setting}.yaml", changed(config, **values))])
    reasons = {job.key: job.reason for job in planned if job.reason}
    expected = downstream(jobs, direct)
    unexpected = {key: reasons[key] for key in set(reasons) - expected}
    assert unexpected == {}, "re-run without cause"
    assert expected - set(reasons) == set(), f"stale: {sorted(expected - set(reasons))}"
    for key in direct:  # those not downstream of another: Snakemake names the first cause only
        if key not in downstream(jobs, direct - {key}):
            assert reasons[key].startswith("Params have changed"), (key, reasons[key])


def test_a_block_given_with_config_on_the_command_line_reruns_the_same(finished) -> None:
    """`--config 'mis={alpha: 8}'` (Snakemake passes the block's values as strings; the config
    validation reads them as the schema's types) plans what the edited config file plans."""
    workdir, config, jobs = finished
    result = run(workdir, workdir / "config.yaml", "--dry-run", "--config", "mis={alpha: 8}")
    assert result.returncode == 0, result.stderr[-3000:]
    stats = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", result.stdout, re.DOTALL)[1]
    planned = {rule: int(count) for rule, count in (line.split() for line in stats.splitlines())}
    expected = Counter(rule for rule, _ in downstream(jobs, CHANGES["alpha"][1]))
    assert planned == {**expected, "all": 1}
