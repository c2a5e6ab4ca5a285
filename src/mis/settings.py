"""One typed settings object per concept, built from the validated config in one place.

The Snakefile builds them once (``Settings.from_config``) and hands each rule the one it needs; the
CLI and ``mis.api`` build the same objects from their arguments. No torch here: the workflow's
planning and the table jobs import it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Backends that compare image pairs (no embedding per image): scored from the task images.
PAIRWISE_BACKENDS = ("lpips", "dists")
DEFAULT_LAYER_TYPES = ("conv", "linear", "batchnorm", "layernorm", "groupnorm")
SAE_KINDS = ("relu", "gated")
SAE_MODEL_SUFFIX = "-sae"  # <model>-sae: the model whose units are a layer's channels and dictionaries' latents
# Keys of the `similarity` section that say how embeddings are computed or shown, not what they are
# (the embedding store's key leaves them out too).
SIMILARITY_RUN_KEYS = ("label", "batch_size", "num_workers")


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
    the ``run_params()`` (fields declared with ``run_field``, and the keys ``run_keys`` names of a
    mapping field) in its param ``run``, which Snakemake does not record; the script joins both
    with ``from_params``.
    """

    def params(self) -> dict[str, Any]:
        """The fields the outputs depend on, as plain values: a change re-runs the job."""
        values = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("run"):
                continue
            if f.metadata.get("run_keys"):
                value = {key: item for key, item in value.items() if key not in f.metadata["run_keys"]}
            values[f.name] = plain(value)
        return values

    def run_params(self) -> dict[str, Any]:
        """The fields that say how the job runs, as plain values: a change re-runs nothing."""
        values = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("run"):
                values[f.name] = plain(value)
            elif f.metadata.get("run_keys"):
                values[f.name] = plain({key: value[key] for key in f.metadata["run_keys"] if key in value})
        return values

    @classmethod
    def from_params(cls, params: Mapping[str, Any], run: Mapping[str, Any] | None = None):
        """The settings from ``params()`` and a rule's ``run`` param (which may hold other keys)."""
        values = dict(params)
        for f in dataclasses.fields(cls):
            if f.name not in (run or {}):
                continue
            if f.metadata.get("run"):
                values[f.name] = run[f.name]
            elif f.metadata.get("run_keys"):
                values[f.name] = {**values[f.name], **run[f.name]}
        return cls(**values)


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

    similarity: dict[str, Any] = field(metadata={"run_keys": SIMILARITY_RUN_KEYS})
    alpha: float
    constant_threshold: float = 1e-8

    @property
    def pairwise(self) -> bool:
        """A pairwise backend scores from the task images; the others from cached embeddings."""
        return self.similarity["backend"] in PAIRWISE_BACKENDS

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScoringSettings:
        return cls(config["similarity"], float(config["mis"]["alpha"]), float(config["mis"]["constant_threshold"]))


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
class Settings:
    """Every stage's settings of one validated config."""

    tasks: TaskSettings
    scoring: ScoringSettings
    extraction: ExtractionSettings
    browser: BrowserSettings = field(default_factory=BrowserSettings)
    sae: SaeStudySettings | None = None  # with an `sae` block only
    threads: ThreadSettings = field(default_factory=ThreadSettings)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        return cls(
            TaskSettings.from_config(config),
            ScoringSettings.from_config(config),
            ExtractionSettings.from_config(config),
            BrowserSettings.from_config(config),
            SaeStudySettings.from_config(config),
            ThreadSettings.from_config(config),
        )
