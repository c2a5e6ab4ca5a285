"""What a run needs from outside the repository and its results, checked before any job starts.

Every input a user supplies (the image set, model checkpoints and weights packages, the hub weights'
cache, the similarity backend's weights, training checkpoints and their accuracies, the accuracy
table of Fig. 4, the IMI release, SAE dictionary files) is read from the params of the job that
uses it (``job_assets``), so that this list cannot drift from the rules: the Snakefile checks the
jobs a run is about to start (``onstart``) and stops listing every missing asset with its config
key and what to do, and ``python -m mis check-config CONFIG [TARGET …]`` reports the same for any
targets without running anything (``mis.planning``). Such inputs are params, not Snakemake inputs
(``file_state`` makes a changed file re-run its jobs): a missing Snakemake input makes Snakemake
drop the job that would rebuild an existing output and keep the output, which is how a results
folder could pass off another config's table as this one's.

No torch at import: the Snakemake process that plans the run imports this module.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Asset:
    """One thing a job reads from outside: its config key, where it is, and what is wrong (None: it
    is there, or will be fetched)."""

    key: str
    location: str
    problem: str | None = None
    note: str = ""  # e.g. "downloaded at run time"

    @property
    def missing(self) -> bool:
        return self.problem is not None


class MissingAssets(ValueError):
    """Assets that the planned jobs need are missing; the message lists every one."""


def file_state(path: str | os.PathLike | None) -> str:
    """A param that changes when the file does (size and modification time), ``absent`` while it
    is missing: Snakemake re-runs the jobs that read it."""
    if path is None:
        return "none"
    try:
        stat = os.stat(path)
    except OSError:
        return "absent"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _file(key: str, path: str | os.PathLike, what: str, remedy: str) -> Asset:
    found = Path(path).is_file()
    return Asset(key, str(path), None if found else f"{what} not found; {remedy}")


def _folder(key: str, path: str | os.PathLike, what: str, remedy: str) -> Asset:
    found = Path(path).is_dir()
    return Asset(key, str(path), None if found else f"{what} not found; {remedy}")


def architecture_asset(spec: Mapping[str, Any], key: str) -> list[Asset]:
    """The architecture of a model spec, if its library does not know it: near names suggested."""
    import difflib

    library, architecture = spec.get("library", "timm"), spec["architecture"]
    known = _architectures(library)
    name = architecture.split(".")[0] if library == "timm" else architecture
    if name in known:
        return []
    near = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    return [Asset(key, f"{library} {architecture}", f"{library} has no architecture '{name}'; near names: {near}")]


@functools.cache
def _architectures(library: str) -> tuple[str, ...]:
    if library == "timm":
        import timm

        return tuple(timm.list_models())
    if library == "torchvision":
        import torchvision

        return tuple(torchvision.models.list_models())
    import open_clip

    return tuple(open_clip.list_models())


def weights_assets(spec: Mapping[str, Any], key: str, architecture_key: str | None = None) -> list[Asset]:
    """The architecture of a model spec (its library knows it) and its weights: a package or file
    checkpoint (checked as the model loads it, checksum included), or the library's hub weights (in
    the cache, or a reachable hub)."""
    unknown = architecture_asset(spec, architecture_key or key.replace(".weights", ".architecture"))
    if unknown:
        return unknown
    weights = spec["weights"]
    if weights["source"] in ("package", "file"):
        from mis.models import WeightsError, checkpoint_path

        location = weights.get("path") or f"{weights['package']}:{weights['resource']}"
        if weights["source"] == "file" and not Path(weights["path"]).is_file():
            return [Asset(key, location, "checkpoint file not found; put it there, or correct the path")]
        try:
            checkpoint_path(weights)
        except WeightsError as error:
            return [Asset(key, location, str(error))]
        return [Asset(key, location)]
    if weights["source"] == "hub":
        return [_hub_asset(spec, key)]
    return []


def _hub_asset(spec: Mapping[str, Any], key: str) -> Asset:
    """Hub weights: fine where cached; otherwise fetched at run time, which needs the hub."""
    library, architecture = spec.get("library", "timm"), spec["architecture"]
    cached, host = _hub_cache(library, architecture, spec["weights"].get("tag"))
    location = f"{library} {architecture}" + (f" ({spec['weights']['tag']})" if spec["weights"].get("tag") else "")
    if cached or host is None:
        return Asset(key, location, note="in the cache" if cached else "not checked")
    if _offline(host):
        return Asset(
            key,
            location,
            f"not in the local cache, and the weights host {host} cannot be reached (offline); fill the cache "
            "(HF_HOME for timm and open_clip, TORCH_HOME for torchvision) on a machine with network",
        )
    return Asset(key, location, note=f"downloaded at run time from {host}")


def _hub_cache(library: str, architecture: str, tag: str | None) -> tuple[bool, str | None]:
    """(whether the weights are in the local cache, the host they come from; None if not checked)."""
    from urllib.parse import urlparse

    if library == "timm":
        import timm
        from huggingface_hub import try_to_load_from_cache

        cfg = timm.models.get_pretrained_cfg(architecture)
        if cfg is None:
            return False, None
        if cfg.hf_hub_id:
            repo = cfg.hf_hub_id.split("@")[0]
            names = (cfg.hf_hub_filename,) if getattr(cfg, "hf_hub_filename", None) else ()
            names += ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin")
            found = any(isinstance(try_to_load_from_cache(repo, name), str) for name in names)
            from huggingface_hub import constants

            return found, urlparse(constants.ENDPOINT).hostname
        return _torch_hub_cached(cfg.url), urlparse(cfg.url).hostname
    if library == "torchvision":
        from mis.models import _torchvision_weights

        url = _torchvision_weights(architecture, tag or "DEFAULT").url
        return _torch_hub_cached(url), urlparse(url).hostname
    return False, None  # open_clip: checked when the model is built


def _torch_hub_cached(url: str) -> bool:
    import torch.hub

    return (Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name).is_file()


@functools.cache
def _offline(host: str) -> bool:
    """Hugging Face's offline mode, or the host not reachable (probed once per process)."""
    from mis.models import host_reachable

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return True
    return not host_reachable(host)


def _layer(key: str, spec: Mapping[str, Any], layer: str) -> Asset:
    from mis.layers import find_layer
    from mis.models import build_model

    location = f"{layer} of {spec['architecture']}"
    try:
        find_layer(build_model(spec), layer)
    except Exception as error:  # an unknown layer, or an architecture that cannot be built
        return Asset(key, location, str(error))
    return Asset(key, location)


def _dictionary(key: str, path: str) -> Asset:
    from mis.sae.dictionary import DictionaryError, load_dictionary

    try:
        load_dictionary(path)
    except (DictionaryError, FileNotFoundError) as error:
        return Asset(key, path, f"{error}; set sae.dictionaries")
    return Asset(key, path)


def similarity_assets(similarity: Mapping[str, Any]) -> list[Asset]:
    """The weights of the similarity backend (``SimilaritySettings.params()``), checked as its
    builder checks them (``mis.similarity.backends``)."""
    from mis.models import WeightsError
    from mis.similarity.backends import backend, function

    spec = {"name": similarity["name"], "backend": similarity["backend"], **similarity["options"]}
    check = backend(spec["backend"]).check
    if check is None:  # a model's weights
        return weights_assets({"library": "timm", **spec}, "similarity.weights")
    folder = str(spec.get("weights_dir", "$TORCH_HOME/hub"))
    try:
        function(check)(spec)
    except (WeightsError, ValueError) as error:  # its message says what to put where
        return [Asset("similarity.weights_dir", folder, str(error))]
    return [Asset("similarity.weights_dir", folder)]


def imi_assets(data_dir: str, needed: list[str], doi: str) -> list[Asset]:
    """The IMI release: there (unpacked or as archives), or downloaded from Zenodo at run time."""
    folder = Path(data_dir)
    found = all(any(folder.glob(f"{'*/' * depth}{name}")) for name in needed for depth in range(3))
    note = "" if found else f"downloaded from Zenodo ({doi}) at run time"
    return [Asset("imi.data_dir", data_dir, note=note)]


# What a rule declares in its param `assets`: plain dicts (recorded by Snakemake, with each file's
# state, so that a changed file re-runs the job), resolved into Assets only when checked.


def declare_file(key: str, path: str, what: str, remedy: str) -> dict[str, Any]:
    return {"kind": "file", "key": key, "path": str(path), "what": what, "remedy": remedy, "state": file_state(path)}


def declare_folder(key: str, path: str, what: str, remedy: str) -> dict[str, Any]:
    return {"kind": "folder", "key": key, "path": str(path), "what": what, "remedy": remedy}


def declare_weights(key: str, spec: Mapping[str, Any], architecture_key: str | None = None) -> dict[str, Any]:
    """A model's architecture and weights; a checkpoint file's state is part of it."""
    state = file_state(spec["weights"]["path"]) if spec["weights"]["source"] == "file" else ""
    return {"kind": "weights", "key": key, "architecture_key": architecture_key, "spec": dict(spec), "state": state}


def declare_dictionary(name: str, path: str) -> dict[str, Any]:
    """A user's dictionary file (``mis.sae.dictionary``), checked by loading it."""
    return {"kind": "dictionary", "key": f"sae.dictionaries.{name}", "path": str(path), "state": file_state(path)}


def declare_layer(key: str, spec: Mapping[str, Any], layer: str) -> dict[str, Any]:
    """A layer the config names in a model (checked in the architecture, with random weights)."""
    spec = {**spec, "weights": {"source": "random"}}
    return {"kind": "layer", "key": key, "spec": spec, "layer": layer}


def declare_similarity(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": "similarity", "spec": dict(spec)}


def declare_imi(data_dir: str, needed: list[str], doi: str) -> dict[str, Any]:
    return {"kind": "imi", "data_dir": str(data_dir), "needed": list(needed), "doi": doi}


def resolve(declaration: Mapping[str, Any]) -> list[Asset]:
    """The assets a declaration stands for, checked now."""
    kind = declaration["kind"]
    if kind == "file":
        return [_file(declaration["key"], declaration["path"], declaration["what"], declaration["remedy"])]
    if kind == "folder":
        return [_folder(declaration["key"], declaration["path"], declaration["what"], declaration["remedy"])]
    if kind == "weights":
        return weights_assets(declaration["spec"], declaration["key"], declaration.get("architecture_key"))
    if kind == "dictionary":
        return [_dictionary(declaration["key"], declaration["path"])]
    if kind == "layer":
        return [_layer(declaration["key"], declaration["spec"], declaration["layer"])]
    if kind == "similarity":
        return similarity_assets(declaration["spec"])
    if kind == "imi":
        return imi_assets(declaration["data_dir"], declaration["needed"], declaration["doi"])
    raise ValueError(f"unknown asset kind {kind!r}")


def planned_assets(declarations: Iterable[Mapping[str, Any]]) -> list[Asset]:
    """Every asset of the declarations (the `assets` params of the jobs a run plans), each once."""
    seen: dict[str, list[Asset]] = {}
    for declaration in declarations:
        identity = repr(sorted((k, v) for k, v in declaration.items() if k != "state"))
        if identity not in seen:
            seen[identity] = resolve(declaration)
    return [asset for assets in seen.values() for asset in assets]


def report(assets: list[Asset], shown: int = 3) -> str:
    """Each asset's config key and location, under its status; of many assets with the same status
    (a sweep's hub weights), the first ``shown`` and a count."""
    if not assets:
        return "no inputs from outside the repository are needed"
    groups: dict[str, list[Asset]] = {}
    for asset in assets:
        groups.setdefault(f"MISSING: {asset.problem}" if asset.missing else (asset.note or "present"), []).append(asset)
    lines = []
    for status, members in groups.items():
        listed = members if len(members) <= shown + 1 else members[:shown]
        lines += [f"{asset.key}: {asset.location}" for asset in listed]
        if len(listed) < len(members):
            lines.append(
                f"… and {len(members) - len(listed)} more ({', '.join(a.key for a in members[len(listed) :][:2])}, …)"
            )
        lines.append(f"    {status}")
    return "\n".join(lines)


def check(declarations: Iterable[Mapping[str, Any]]) -> list[Asset]:
    """The assets of the declarations; raise MissingAssets listing every missing one."""
    assets = planned_assets(declarations)
    missing = sorted((asset for asset in assets if asset.missing), key=lambda asset: (asset.key, asset.location))
    if missing:
        raise MissingAssets(
            f"{len(missing)} input(s) from outside the repository are missing, so nothing was run:\n{report(missing)}"
        )
    return assets
