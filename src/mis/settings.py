"""One typed settings object per concept, built from the validated config in one place.

The Snakefile builds them once (``Settings.from_config``) and hands each rule the one it needs; the
CLI and ``mis.api`` build the same objects from their arguments. No torch here: the workflow's
planning and the table jobs import it.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mis.similarity import backends

# The one vocabulary of layer types (config extraction.layer_types, the schema's enum, the unit
# tables' layer_type, the figures' order and colours; mis.layers holds their modules): the paper's
# five, scored by default, then the normalisations scored on request.
LAYER_TYPES = ("conv", "linear", "batchnorm", "layernorm", "groupnorm", "rmsnorm", "grn")
DEFAULT_LAYER_TYPES = LAYER_TYPES[:5]
SAE_KINDS = ("relu", "gated")
SAE_MODEL_SUFFIX = "-sae"  # <model>-sae: the model whose units are a layer's channels and dictionaries' latents


def run_field(default: Any) -> Any:
    """A field that says how a job runs (batch size, workers, checkpoint interval), not what it
    computes: its outputs are the same whatever its value, up to float rounding (README, "Determinism")."""
    return field(default=default, metadata={"run": True})


def plain(value: Any) -> Any:
    """``value`` as builtins only (dataclasses and mappings as dicts, sequences as tuples), so that
    Snakemake records it as a param and its repr is the same in every process."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(plain(item) for item in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{type(value).__name__} is not a plain value: {value!r}")


class Params:
    """Settings handed to a rule as Snakemake params, in two parts.

    Snakemake re-runs a job when a param it recorded changes, but it records builtin values only
    (``.snakemake/metadata``): a settings object passed as it is would never trigger a re-run. So a
    rule passes ``params()``, the fields that its outputs depend on, as plain values (recorded), and
    the ``run_params()`` (fields declared with ``run_field``) in its param ``run``, which Snakemake
    does not record; the script joins both with ``from_params``. Settings nested in settings (the
    similarity of the scoring settings) are split the same way.
    """

    def params(self) -> dict[str, Any]:
        """The fields the outputs depend on, as plain values: a change re-runs the job."""
        return {
            f.name: value.params() if isinstance(value, Params) else plain(value)
            for f in dataclasses.fields(self)
            if not f.metadata.get("run")
            for value in [getattr(self, f.name)]
        }

    def run_params(self) -> dict[str, Any]:
        """The fields that say how the job runs, as plain values: a change re-runs nothing."""
        values = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("run"):
                values[f.name] = plain(value)
            elif isinstance(value, Params) and value.run_params():
                values[f.name] = value.run_params()
        return values

    @classmethod
    def from_params(cls, params: Mapping[str, Any], run: Mapping[str, Any] | None = None):
        """The settings from ``params()`` and a rule's ``run`` param (which may hold other keys)."""
        run, values, types = run or {}, dict(params), typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kind = types[f.name]
            if isinstance(kind, type) and issubclass(kind, Params) and f.name in values:
                values[f.name] = kind.from_params(values[f.name], run.get(f.name))
            elif f.metadata.get("run") and f.name in run:
                values[f.name] = run[f.name]
        return cls(**values)


@dataclass(frozen=True)
class SimilaritySettings(Params):
    """The ``similarity`` config section: the backend (``mis.similarity.backends``), its own keys
    (``options``: architecture and weights, variant, weights folder, image size), and how it runs."""

    name: str
    backend: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str = run_field("")  # figure titles only
    batch_size: int = run_field(64)
    num_workers: int = run_field(0)

    @property
    def pairwise(self) -> bool:
        """A pairwise backend scores from the task images; the others from stored embeddings."""
        return backends.backend(self.backend).pairwise

    @property
    def spec(self) -> dict[str, Any]:
        """The section as the backends' builders read it (one flat mapping)."""
        return {"name": self.name, "backend": self.backend, **self.options, **self.run_params()}

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SimilaritySettings:
        """From the ``similarity`` config section (or one of ``imi.similarities``)."""
        own = {"name", "backend", "label", "batch_size", "num_workers"}
        options = {key: value for key, value in section.items() if key not in own}
        run = {key: section[key] for key in ("label", "batch_size", "num_workers") if key in section}
        return cls(section["name"], section["backend"], options, **run)


@dataclass(frozen=True)
class TaskSettings(Params):
    """The 2-AFC tasks per unit (config ``tasks`` and ``seed``)."""

    n_tasks: int = 10  # N
    n_refs: int = 5  # K, references per side
    seed: int = 0

    @property
    def images_per_side(self) -> int:
        """N·(K+1): the most (least) activating images a unit's tasks use, references and queries."""
        return self.n_tasks * (self.n_refs + 1)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TaskSettings:
        return cls(config["tasks"]["n_tasks"], config["tasks"]["n_refs"], config["seed"])


@dataclass(frozen=True)
class ScoringSettings(Params):
    """How tasks are scored: the ``similarity`` config section, α, and the constant-unit threshold
    (config ``mis``)."""

    similarity: SimilaritySettings
    alpha: float
    constant_threshold: float = 1e-8

    @property
    def pairwise(self) -> bool:
        """A pairwise backend scores from the task images; the others from stored embeddings."""
        return self.similarity.pairwise

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScoringSettings:
        similarity = SimilaritySettings.from_config(config["similarity"])
        return cls(similarity, float(config["mis"]["alpha"]), float(config["mis"]["constant_threshold"]))


@dataclass(frozen=True)
class ExtractionSettings(Params):
    """The streamed pass (config ``extraction``): which layers, k per side, the quantile levels of
    the harder IMI query conditions with ``n_near`` images each, data loading and checkpoints."""

    k: int
    batch_size: int = run_field(64)
    num_workers: int = run_field(0)
    levels: tuple[float, ...] = ()
    n_near: int = 0
    quantile_sample: int = 1000
    checkpoint_every: int = run_field(50)  # batches
    decoder: str = "pil"  # or "torchvision" (datasets.tensor_transform)
    layer_types: tuple[str, ...] = DEFAULT_LAYER_TYPES
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ExtractionSettings:
        """k = N·(K+1) per side, and N images near each quantile (one query per task)."""
        extraction, tasks = config["extraction"], TaskSettings.from_config(config)
        return cls(
            k=tasks.images_per_side,
            batch_size=extraction["batch_size"],
            num_workers=extraction["num_workers"],
            levels=tuple(extraction["query_quantiles"]),
            n_near=tasks.n_tasks,
            quantile_sample=extraction["quantile_sample"],
            checkpoint_every=extraction["checkpoint_every"],
            decoder=extraction["decoder"],
            layer_types=tuple(extraction["layer_types"]),
            include=tuple(extraction["include"]),
            exclude=tuple(extraction["exclude"]),
        )


@dataclass(frozen=True)
class BrowserSettings(Params):
    """What the unit browser shows per unit, and how many units get images (config ``browser``)."""

    n_images: int = 8  # most and least activating images per unit
    thumbnail: int = 96  # px, square
    units_with_images: int | None = None  # per layer, this many highest- and lowest-MIS units; None: all
    num_workers: int = run_field(0)  # processes decoding images for thumbnails

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BrowserSettings:
        return cls(**config.get("browser", {}))


@dataclass(frozen=True)
class SaeSettings(Params):
    """One SAE to train: its kind, sparsity weight λ and dictionary size (``expansion`` latents per
    channel), and the optimisation."""

    kind: str = "relu"
    sparsity: float = 0.1
    expansion: int = 4
    n_epochs: int = 10
    batch_size: int = 1024
    learning_rate: float = 1e-3
    seed: int = 0

    @property
    def name(self) -> str:
        """Folder-safe dictionary name, e.g. ``relu-l1_0.1-x4`` (``mis.sae.readout``)."""
        return f"{self.kind}-l1_{self.sparsity:g}-x{self.expansion}"


@dataclass(frozen=True)
class SaeStudySettings:
    """The dictionaries of one layer of one configured model (config ``sae``): SAEs trained here
    (a sweep of kinds × sparsity weights × sizes on ``n_vectors`` sampled activation vectors) and
    the user's own dictionary files, all scored as the units of one extra model, ``<model>-sae``,
    and evaluated on every ``evaluate_every``-th image."""

    model: str
    layer: str
    trained: tuple[SaeSettings, ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (name, path) of the user's own dictionaries
    n_vectors: int = 65536
    evaluate_every: int = 4

    @property
    def scored_model(self) -> str:
        """The model whose unit table holds the layer's channels and every dictionary's latents."""
        return f"{self.model}{SAE_MODEL_SUFFIX}"

    @property
    def names(self) -> list[str]:
        """Every dictionary's name: the trained ones, then the user's files."""
        return [sae.name for sae in self.trained] + [name for name, _ in self.files]

    def sae(self, name: str) -> SaeSettings:
        """The trained SAE of that name."""
        return {sae.name: sae for sae in self.trained}[name]

    def extraction(self, settings: ExtractionSettings) -> ExtractionSettings:
        """``settings`` for the SAE model's pass: its one layer, whatever ``extraction`` selects."""
        return replace(settings, layer_types=DEFAULT_LAYER_TYPES, include=(f"^{re.escape(self.layer)}$",), exclude=())

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SaeStudySettings | None:
        """None without an ``sae`` block; a name given twice fails naming the config key."""
        if "sae" not in config:
            return None
        block, train = config["sae"], config["sae"].get("train")
        trained = ()
        if train:
            optimisation = {key: train[key] for key in ("n_epochs", "batch_size", "learning_rate")}
            trained = tuple(
                SaeSettings(kind, float(sparsity), expansion, **optimisation, seed=config["seed"])
                for kind in train["kinds"]
                for expansion in train["expansion"]
                for sparsity in train["sparsity"]
            )
        files = tuple(sorted(block.get("dictionaries", {}).items()))
        n_vectors = train["n_vectors"] if train else 0
        study = cls(block["model"], block["layer"], trained, files, n_vectors, block["evaluate_every"])
        twice = sorted({name for name in study.names if study.names.count(name) > 1})
        if twice:
            raise ValueError(f"config key 'sae.dictionaries': {twice} is also a trained SAE's name")
        return study


@dataclass(frozen=True)
class ThreadSettings:
    """CPU threads per job (config block ``threads``). Inference results do not depend on the count,
    so Snakemake may cap it at --cores; CPU training's do, so training jobs use ``training`` exactly."""

    inference: int = 8
    training: int = 2

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ThreadSettings:
        return cls(**config.get("threads", {}))


@dataclass(frozen=True)
class ImageSettings(Params):
    """The image set (config ``images``): a folder (flat or class folders) or tar shards, optionally
    restricted to a listed file of paths."""

    root: str
    extensions: tuple[str, ...] = (".jpg", ".jpeg", ".png")
    file_list: str | None = None
    format: str = "auto"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageSettings:
        images = config["images"]
        return cls(str(images["root"]), tuple(images["extensions"]), images.get("file_list"), images["format"])


@dataclass(frozen=True)
class TrainingSettings(Params):
    """A training run whose listed epochs are scored (config ``training``; Fig. 7, 8): trained here
    (``train``: the optimisation, mis.classifier) or the user's checkpoints (``checkpoints``:
    ``pattern`` with ``{epoch}``, ``accuracy`` CSV, ``key_mapping``, ``key_prefix``)."""

    name: str
    architecture: str
    library: str
    epochs: tuple[int, ...]
    seed: int
    train: dict[str, Any] | None = None
    checkpoints: dict[str, Any] | None = None
    label: str = run_field("")  # figure titles only

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TrainingSettings | None:
        """None without a ``training`` block."""
        if "training" not in config:
            return None
        block = config["training"]
        return cls(
            block["name"],
            block["architecture"],
            block["library"],
            tuple(sorted(block["epochs"])),
            config["seed"],
            block.get("train"),
            block.get("checkpoints"),
            block.get("label", block["name"]),
        )


@dataclass(frozen=True)
class ValidationSettings(Params):
    """The ``imi`` config values the validation uses."""

    objective: str = "likelihood"
    fit_fraction: float = 0.5
    seed: int = 0
    n_bootstrap: int = 1000
    n_simulations: int = 1000
    ci_level: float = 0.95

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ValidationSettings:
        imi = config["imi"]
        return cls(
            objective=imi["alpha_objective"],
            fit_fraction=imi["fit_fraction"],
            seed=imi.get("seed", config["seed"]),
            n_bootstrap=imi["n_bootstrap"],
            n_simulations=imi["n_simulations"],
            ci_level=imi["ci_level"],
        )


@dataclass(frozen=True)
class ImiSettings:
    """The validation against the IMI human data (config ``imi``; Fig. 2 and its appendix), with the
    folder its trials' images come from resolved: ImageNet-train (``imagenet_train``, by default
    ``images.root``) for trials rebuilt from the file map; for the stimuli, ``stimuli_dir``, or
    None for the release's own image folder, which only the download can tell
    (``mis.imi.release.stimuli_source``)."""

    data_dir: str
    doi: str
    record_files: tuple[str, ...] | None
    sha256: dict[str, str]
    allow_unverified: bool
    timeout: float
    response_table: str
    trials_from: str
    imagenet_train: str
    stimuli_dir: str | None
    stimuli_pattern: str
    conditions: tuple[str, ...]
    similarities: tuple[SimilaritySettings, ...]  # the main backend first, then those only compared
    validation: ValidationSettings
    n_overestimated: int
    n_extreme: int

    @property
    def backends(self) -> dict[str, SimilaritySettings]:
        return {similarity.name: similarity for similarity in self.similarities}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImiSettings | None:
        """None without an ``imi`` block."""
        if "imi" not in config:
            return None
        imi = config["imi"]
        sections = [config["similarity"], *imi["similarities"]]
        return cls(
            data_dir=str(imi["data_dir"]),
            doi=imi["doi"],
            record_files=tuple(imi["record_files"]) if imi.get("record_files") else None,
            sha256=dict(imi["sha256"]),
            allow_unverified=imi["allow_unverified"],
            timeout=imi["timeout"],
            response_table=imi["response_table"],
            trials_from=imi["trials_from"],
            imagenet_train=str(imi.get("imagenet_train", config["images"]["root"])),
            stimuli_dir=imi.get("stimuli_dir"),
            stimuli_pattern=imi["stimuli_pattern"],
            conditions=tuple(imi["conditions"]),
            similarities=tuple(SimilaritySettings.from_config(section) for section in sections),
            validation=ValidationSettings.from_config(config),
            n_overestimated=imi["n_overestimated"],
            n_extreme=imi["n_extreme"],
        )


# The human study of Fig. 2C (config ``experiment``; mis.experiment).


@dataclass(frozen=True)
class DesignSettings(Params):
    """Which units the study shows, how many responses each gets and how sessions are cut."""

    n_per_group: int = 10  # per model: easiest, hardest and random units
    responses_per_unit: int = 30
    main_trials: int = 40  # per participant
    practice_trials: int = 5
    catch_trials: int = 5
    tasks_per_unit: int | None = None  # the first tasks of each unit shown; None: all N
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DesignSettings:
        block = config["experiment"]
        keys = ("n_per_group", "responses_per_unit", "main_trials", "practice_trials", "catch_trials")
        return cls(
            **{key: block[key] for key in keys}, tasks_per_unit=block["tasks_per_unit"], seed=_study_seed(config)
        )


@dataclass(frozen=True)
class CheckSettings(Params):
    """IMI's quality checks (App. A.3): a session counts only if it passes all five."""

    practice_attempts: int = 3  # rounds of practice trials within which every one must be solved
    min_instruction_seconds: float = 15.0
    min_catch_correct: int = 4
    min_total_seconds: float = 135.0
    max_total_seconds: float = 2500.0
    max_same_position: float = 0.9  # largest share of trials answered with the same query position

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CheckSettings:
        block = config["experiment"]
        return cls(practice_attempts=block["practice_attempts"], **block["checks"])


@dataclass(frozen=True)
class PageSettings(Params):
    """What the page shows and where its data goes."""

    study: str = "study"
    image_size: int = 160  # px, square JPEG stimuli
    participant_parameter: str = "PROLIFIC_PID"  # URL parameters the page reads
    study_parameter: str = "STUDY_ID"
    session_parameter: str = "SESSION_ID"
    assignment_parameter: str = "assignment"
    completion_url: str | None = None
    collector_url: str | None = None
    initial_wait_ms: int = 1500  # IMI's timings: answers accepted after, feedback after, feedback shown for
    feedback_delay_ms: int = 350
    feedback_ms: int = 1150
    seed: int = 0  # of the order of the references after the most extreme one
    num_workers: int = run_field(0)  # processes decoding images for the stimuli

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PageSettings:
        block = config["experiment"]
        parameters = {f"{name}_parameter": value for name, value in block["url_parameters"].items()}
        return cls(
            study=block["name"],
            image_size=block["image_size"],
            **parameters,
            completion_url=block.get("completion_url"),
            collector_url=block.get("collector_url"),
            **block["timing"],
            seed=_study_seed(config),
        )


def _study_seed(config: dict[str, Any]) -> int:
    """The study's seed: ``experiment.seed``, else the top-level seed."""
    return config["experiment"].get("seed", config["seed"])


@dataclass(frozen=True)
class ExperimentSettings:
    """The human study (config ``experiment``): its name, the models whose units it shows (None: the
    configured models), the user's unit list, the folder of the session files that came back (None
    until there are some: then Fig. 2C is drawn), the scoring's interval and bootstrap, whether the
    α fit takes the study's units too, and the design, checks and page of the site."""

    name: str
    models: tuple[str, ...] | None
    units: str | None
    responses_dir: str | None
    ci_level: float
    n_bootstrap: int
    fit_alpha: bool  # the α fit pools the study's units with IMI's
    design: DesignSettings
    checks: CheckSettings
    page: PageSettings

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ExperimentSettings | None:
        """None without an ``experiment`` block."""
        if "experiment" not in config:
            return None
        block = config["experiment"]
        return cls(
            name=block["name"],
            models=tuple(block["models"]) if "models" in block else None,
            units=block.get("units"),
            responses_dir=block.get("responses_dir"),
            ci_level=block["ci_level"],
            n_bootstrap=block["n_bootstrap"],
            fit_alpha=block["fit_alpha"],
            design=DesignSettings.from_config(config),
            checks=CheckSettings.from_config(config),
            page=PageSettings.from_config(config),
        )


@dataclass(frozen=True)
class Settings:
    """Every stage's settings of one validated config."""

    images: ImageSettings
    tasks: TaskSettings
    scoring: ScoringSettings
    extraction: ExtractionSettings
    browser: BrowserSettings = field(default_factory=BrowserSettings)
    sae: SaeStudySettings | None = None  # with an `sae` block only
    threads: ThreadSettings = field(default_factory=ThreadSettings)
    training: TrainingSettings | None = None  # with a `training` block only
    imi: ImiSettings | None = None  # with an `imi` block only
    experiment: ExperimentSettings | None = None  # with an `experiment` block only
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        return cls(
            ImageSettings.from_config(config),
            TaskSettings.from_config(config),
            ScoringSettings.from_config(config),
            ExtractionSettings.from_config(config),
            BrowserSettings.from_config(config),
            SaeStudySettings.from_config(config),
            ThreadSettings.from_config(config),
            TrainingSettings.from_config(config),
            ImiSettings.from_config(config),
            ExperimentSettings.from_config(config),
            config["seed"],
            config["device"],
        )
