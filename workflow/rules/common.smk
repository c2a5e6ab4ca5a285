import hashlib
import json
import os
import re

from mis import paths
from mis.assets import (
    check,
    declare_dictionary,
    declare_file,
    declare_folder,
    declare_imi,
    declare_layer,
    declare_similarity,
    declare_weights,
)
from mis.embedding_cache import STORE_FORMAT
from mis.figures import FIGURES
from mis.images import image_set_signature
from mis.settings import Settings

# Every stage's settings, built once from the validated config; rules pass the one they need and
# read nothing else (tests/test_rules.py: no `config[` in a rule body).
SETTINGS = Settings.from_config(config)
IMAGES_ROOT = SETTINGS.images.root
SIMILARITY_LABEL = SETTINGS.scoring.similarity.label
HIGHLIGHT_MODELS = config["highlight_models"]
IMI = SETTINGS.imi  # None without an `imi` block
EXPERIMENT = SETTINGS.experiment  # None without an `experiment` block

MODEL_SPECS = dict(config["models"])
if "sweep" in config:  # the large-scale sweep: timm's pretrained ImageNet-1k models
    from mis.zoo import timm_sweep

    MODEL_SPECS.update(timm_sweep(config["sweep"]["include"], tuple(config["sweep"]["exclude"])))
MODELS = list(MODEL_SPECS)
# A relative accuracy table is one shipped in the repository (resources/), wherever the run is.
ACCURACY_TABLE = os.path.join(workflow.basedir, config["accuracy_table"])
MODEL_LABELS = {name: spec.get("label", name) for name, spec in MODEL_SPECS.items()}

# Training dynamics (Fig. 7, 8; training.smk): every listed epoch of a training run is a model,
# <name>-epoch<e>, whose weights are that epoch's checkpoint. They are scored like the others but
# kept out of MODELS, so Fig. 3-6 and results/mis/models.csv show the configured models only;
# ALL_MODEL_SPECS and ALL_MODELS hold every model whose units are scored.
TRAINING = SETTINGS.training
TRAINING_EPOCHS = {f"{TRAINING.name}-epoch{e}": e for e in TRAINING.epochs} if TRAINING else {}


def training_checkpoint(epoch):
    """An epoch's checkpoint: the user's (`training.checkpoints.pattern`) or train_model's."""
    if TRAINING.checkpoints:
        return TRAINING.checkpoints["pattern"].format(epoch=epoch)
    return paths.CHECKPOINT.format(run=TRAINING.name, epoch=epoch)


def training_model_spec(epoch):
    options = {k: v for k, v in (TRAINING.checkpoints or {}).items() if k in ("key_mapping", "key_prefix")}
    weights = {"source": "file", "path": training_checkpoint(epoch), **options}
    return {"library": TRAINING.library, "architecture": TRAINING.architecture, "weights": weights}


def model_config_key(model):
    """The config entry a model's weights come from, for error messages."""
    if model in SAE_MODEL_SPECS:
        return f"models.{SAE.model}.weights"
    if model not in TRAINING_EPOCHS:
        return f"models.{model}.weights"
    return "training.checkpoints.pattern" if TRAINING.checkpoints else "training.train"


def architecture_key(model):
    """The config entry a model's architecture comes from, for error messages."""
    if model in TRAINING_EPOCHS:
        return "training.architecture"
    return f"models.{SAE.model if model in SAE_MODEL_SPECS else model}.architecture"


def training_checkpoint_input(wildcards):
    """A checkpoint train_model writes is an input of its epoch's extraction, so that train_model
    runs first; a user's checkpoint is an asset (model_assets), not an input."""
    epoch = TRAINING_EPOCHS.get(wildcards.model)
    return [] if epoch is None or TRAINING.checkpoints else training_checkpoint(epoch)


if set(TRAINING_EPOCHS) & set(MODEL_SPECS):
    raise ValueError(
        f"config key 'models' names a training epoch's model: {sorted(set(TRAINING_EPOCHS) & set(MODEL_SPECS))}"
    )

# Sparse autoencoders (sae.smk): the dictionaries of one layer of a configured model, the SAEs
# trained here and the user's own files, are read from that layer in one pass as the units of one
# more model, <model>-sae, whose unit table holds the layer's channels and every dictionary's
# latents (layers <layer>/<dictionary>). Like the training epochs, it is kept out of MODELS.
SAE = SETTINGS.sae
SAE_MODEL_SPECS = {}
SAE_DICTIONARIES = {}  # scored model: {dictionary name: file}, trained ones then the user's
if SAE:
    if SAE.model not in MODEL_SPECS:
        raise ValueError(f"config key 'sae.model': '{SAE.model}' is not a model of `models`")
    SAE_MODEL_SPECS = {SAE.scored_model: MODEL_SPECS[SAE.model]}
    SAE_DICTIONARIES = {
        SAE.scored_model: {
            **{sae.name: paths.SAE_DICTIONARY.format(model=SAE.model, dictionary=sae.name) for sae in SAE.trained},
            **dict(SAE.files),
        }
    }
    MODEL_LABELS[SAE.scored_model] = f"{MODEL_LABELS[SAE.model]}: {SAE.layer} and its dictionaries"


def check_assets(jobs):
    """Raise mis.assets.MissingAssets listing every missing input from outside that ``jobs`` need."""
    check([declaration for job in jobs for declaration in job.params.get("assets", [])])


def image_assets(images):
    """The param `assets` of prepare_images: the image folder, and the file list if there is one."""
    declared = [declare_folder("images.root", images.root, "image folder", "set images.root")]
    if images.file_list:
        declared.append(declare_file("images.file_list", images.file_list, "file list", "set images.file_list"))
    return declared


def trained_dictionaries(model):
    """The dictionary files of the SAE model that train_sae writes (inputs of its jobs)."""
    return [file for name, file in SAE_DICTIONARIES.get(model, {}).items() if name not in dict(SAE.files)]


def model_assets(model):
    """The param `assets` of a job that builds ``model`` (mis.assets): its weights, unless
    train_model writes them, and the user's dictionary files of the SAE model."""
    declared = (
        []
        if model in TRAINING_EPOCHS and TRAINING.train
        else [declare_weights(model_config_key(model), ALL_MODEL_SPECS[model], architecture_key(model))]
    )
    user_files = dict(SAE.files) if model in SAE_MODEL_SPECS else {}
    if model in SAE_MODEL_SPECS:
        declared.append(declare_layer("sae.layer", ALL_MODEL_SPECS[model], SAE.layer))
    return declared + [declare_dictionary(name, path) for name, path in user_files.items()]


def extraction_settings(model):
    """The SAE model reads its one layer, whatever `extraction` selects for the others."""
    return SAE.extraction(SETTINGS.extraction) if model in SAE_MODEL_SPECS else SETTINGS.extraction


clashes = (set(TRAINING_EPOCHS) | set(MODEL_SPECS)) & set(SAE_MODEL_SPECS)
if clashes:
    raise ValueError(f"config key 'models' names the SAE model {sorted(clashes)}: rename that model")
ALL_MODEL_SPECS = {
    **MODEL_SPECS,
    **{model: training_model_spec(e) for model, e in TRAINING_EPOCHS.items()},
    **SAE_MODEL_SPECS,
}
ALL_MODELS = list(ALL_MODEL_SPECS)
# The unit browser shows the configured models and the SAE model, its latents as layers <layer>/<dictionary>.
BROWSER_MODELS = MODELS + list(SAE_MODEL_SPECS)
# The models whose units the human study shows (experiment.smk): its own list, or the configured models.
STUDY_MODELS = list(EXPERIMENT.models or MODELS) if EXPERIMENT else []
if set(STUDY_MODELS) - set(BROWSER_MODELS):
    raise ValueError(
        f"config key 'experiment.models': {sorted(set(STUDY_MODELS) - set(BROWSER_MODELS))} are not models of `models`"
    )
# The α fit takes the study's units too (imi.smk's fit_alpha of the main similarity) with
# `experiment.fit_alpha`, which needs the IMI validation and the study's sessions.
STUDY_ALPHA = bool(EXPERIMENT and EXPERIMENT.fit_alpha)
if STUDY_ALPHA and not (IMI and EXPERIMENT.responses_dir):
    raise ValueError("config key 'experiment.fit_alpha' needs an `imi` block and experiment.responses_dir")
SIMILARITY = SETTINGS.scoring.similarity.name
EMBEDDING_BACKEND = not SETTINGS.scoring.pairwise

# Cluster sizes live with the rules (threads, mem_mb, runtime in minutes, gpu), so that a generic
# SLURM profile (executor, account, partition) submits each job at its size; locally, threads are
# capped at --cores and the other resources constrain nothing unless --resources names them. The
# rules that run networks get one GPU per job only where `device` asks for CUDA: `auto` requests
# none, so that it runs on CPU-only clusters too (and uses a GPU if the node it lands on has one).
GPUS = 1 if SETTINGS.device.startswith("cuda") else 0


def job_run(settings=None, **values):
    """The param `run` of a rule: how its jobs run (the device, the job's threads, the `run_field`s of
    ``settings``: batch sizes, data-loading workers, checkpoint interval, and ``values``), which their
    outputs do not depend on beyond float rounding. Every other param is a plain value that
    Snakemake records and re-runs the job on when it changes (mis.settings.Params); this one is a
    function of the job's threads, and Snakemake records no param derived from threads, input,
    output or resources, so changing these re-runs nothing."""
    run_values = {**(settings.run_params() if settings else {}), **values}
    return lambda wildcards, threads: {"device": SETTINGS.device, "threads": threads, **run_values}


def per_attempt(amount):
    """A resource amount times the attempt: a job retried after OUT_OF_MEMORY or TIMEOUT (retries in
    profiles/default) gets twice, then three times as much."""
    return lambda wildcards, attempt: amount * attempt


# The embedding store of this backend and image root: files are remembered by their paths below
# the root, and any setting that changes embeddings (backend, variant, weights) or the store's
# format selects another store.
_STORE_KEY = json.dumps(
    [STORE_FORMAT, os.path.realpath(IMAGES_ROOT), SETTINGS.scoring.similarity.params()], sort_keys=True
)
EMBEDDING_CACHE = os.path.join(
    config["embedding_cache"], f"{SIMILARITY}-{hashlib.sha256(_STORE_KEY.encode()).hexdigest()[:12]}"
)

# The figures of this config (mis.figures.FIGURES; figures.smk draws each): the convergence
# analysis re-scores every unit for n = 1 … N tasks, embedding backends only; training dynamics
# (Fig. 7, 8) with a `training` block, the IMI validation (Fig. 2 and its appendix figures) with an
# `imi` block, the SAE appendix with an `sae` block.
FIGURE_NAMES = ["fig3", "fig4", "fig5", "fig6", "constant_units", "example_units"]
FIGURE_NAMES += ["convergence"] if EMBEDDING_BACKEND else []
FIGURE_NAMES += ["fig7", "fig8", "fig8_all_epochs"] if TRAINING else []
FIGURE_NAMES += ["fig2", "similarity_comparison", "imi_overestimated_units"] if IMI else []
FIGURE_NAMES += ["sae"] if SAE else []
# The human study (experiment.smk): its site, and Fig. 2C once sessions came back (responses_dir).
FIGURE_NAMES += ["fig2c"] if EXPERIMENT and EXPERIMENT.responses_dir else []
ALL_FIGURES = [paths.figure(name) for name in FIGURE_NAMES]
# The units of the interventional study and the IMI units joined with the project's own scores.
if IMI:
    ALL_FIGURES += [paths.UNIT_JOIN.format(backend=SIMILARITY), paths.EXTREME_UNITS]
if EXPERIMENT:
    ALL_FIGURES.append(paths.EXPERIMENT.format(study=EXPERIMENT.name))


def similarity_inputs(wildcards):
    """Embedding backends score from the model's embeddings; pairwise ones read the task images."""
    if EMBEDDING_BACKEND:
        return {"embeddings": paths.EMBEDDINGS.format(similarity=SIMILARITY, model=wildcards.model)}
    return {"manifest": paths.MANIFEST}


wildcard_constraints:
    model="|".join(map(re.escape, ALL_MODELS)),
    similarity=re.escape(SIMILARITY),


def study_similarity_inputs(wildcards):
    """The study models' embeddings (embedding backends) or the manifest (pairwise ones)."""
    if EMBEDDING_BACKEND:
        return {"embeddings": expand(paths.EMBEDDINGS, similarity=SIMILARITY, model=STUDY_MODELS)}
    return {"manifest": paths.MANIFEST}


def study_alpha_inputs(wildcards):
    """With experiment.fit_alpha, the human study's HIS and task margins join the main similarity's fit."""
    if not STUDY_ALPHA or wildcards.backend != SIMILARITY:
        return {}
    return {
        "study_his": paths.STUDY_HUMAN_SCORES.format(study=EXPERIMENT.name, table="main"),
        "study_margins": paths.STUDY_MARGINS.format(study=EXPERIMENT.name),
    }
