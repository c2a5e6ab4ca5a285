"""Similarity backends offline: the DreamSim architecture with random weights, the clear error for a
missing weights folder before dreamsim runs, LPIPS/DISTS with random backbones (identity, the
pairwise margins against a direct computation), the errors for missing backbone files, the config."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
import yaml
from PIL import Image

from mis.config import ConfigError, validate_config
from mis.models import WeightsError
from mis.similarity import build_embedder, build_pairwise, embed_paths, pairwise_task_margins
from mis.similarity.dreamsim_embedder import VARIANTS, _local_hub_load, build_dreamsim, release_url
from mis.similarity.pairwise import build_dists, build_lpips, square_transform
from mis.similarity.weights import offline_torch_hub
from mis.tasks import draw_tasks

from conftest import REPO, SCHEMA

CPU = torch.device("cpu")
PAIR_SIZE = 32  # small images keep the pairwise tests fast (VGG-16 takes ~1 s per pair here)


@pytest.fixture(scope="module")
def random_ensemble():
    return build_dreamsim("ensemble", None, CPU)


@pytest.fixture(scope="module")
def random_pairwise() -> dict:
    return {"lpips": build_lpips("alex", None, PAIR_SIZE, CPU), "dists": build_dists(None, PAIR_SIZE, CPU)}


def photos(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# DreamSim


def test_dreamsim_ensemble_architecture_embeds_unit_norm_1792(random_ensemble, small_image_folder: Path) -> None:
    paths = photos(small_image_folder)[:2]
    embeddings, readable = embed_paths(random_ensemble, str(small_image_folder), paths, batch_size=2, num_workers=0)
    assert embeddings.shape == (2, 1792) and embeddings.dtype == np.float32 and readable.all()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(embeddings[0], embeddings[1])
    again, _ = embed_paths(random_ensemble, str(small_image_folder), paths[:1], batch_size=1, num_workers=0)
    np.testing.assert_allclose(again[0], embeddings[0], atol=1e-5)  # same image alone: same embedding


def test_dreamsim_transform_is_224_bicubic_in_unit_range(random_ensemble, small_image_folder: Path) -> None:
    transform, size = random_ensemble.transform_and_size
    with Image.open(small_image_folder / photos(small_image_folder)[0]) as image:
        tensor = transform(image.convert("RGB"))
    assert size == (3, 224, 224) and tensor.shape == size
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0


def test_dreamsim_patch_variant_compares_cls_and_mean_patch() -> None:
    embedder = build_dreamsim("dino_vitb16_patch", None, CPU)
    embedding = embedder.embed(torch.rand(1, 3, 224, 224))
    assert embedding.shape == (1, 2 * 768)
    assert embedding.norm() == pytest.approx(1.0, abs=1e-5)


def test_missing_weights_dir_fails_before_dreamsim_runs(tmp_path: Path, monkeypatch) -> None:
    import dreamsim

    def must_not_run(*args, **kwargs):
        raise AssertionError("dreamsim or a download was reached")

    monkeypatch.setattr(dreamsim, "dreamsim", must_not_run)
    monkeypatch.setattr(torch.hub, "download_url_to_file", must_not_run)
    absent = tmp_path / "dreamsim-weights"
    spec = {"backend": "dreamsim", "variant": "ensemble", "weights_dir": str(absent)}
    with pytest.raises(WeightsError, match="config key 'similarity.weights_dir'") as error:
        build_embedder(spec, CPU)
    message = str(error.value)
    assert "does not exist" in message
    expected = ["clip_vitb16_pretrain.pth.tar", "ensemble_lora/adapter_config.json"]
    expected += [
        "facebookresearch_dino_main/hubconf.py",
        "checkpoints/dino_vitbase16_pretrain.pth",
        release_url("ensemble"),
    ]
    for name in expected:
        assert name in message
    assert not absent.exists()


def test_incomplete_weights_dir_names_only_the_missing_files(tmp_path: Path) -> None:
    for name in [
        "dino_vitb16_pretrain.pth",
        "dino_vitb16_single_lora/adapter_config.json",
        "checkpoints/dino_vitbase16_pretrain.pth",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    with pytest.raises(WeightsError, match="is incomplete") as error:
        build_dreamsim("dino_vitb16", tmp_path, CPU)
    missing = str(error.value).split("missing: ")[1].split(". On a machine")[0]
    assert missing == (
        "dino_vitb16_single_lora/adapter_model.safetensors or dino_vitb16_single_lora/adapter_model.bin, "
        "facebookresearch_dino_main/hubconf.py"
    )


def test_variant_table_matches_dreamsim() -> None:
    """The offline file table follows the installed dreamsim (its variants and release zips)."""
    from dreamsim.config import dreamsim_args, dreamsim_weights

    assert set(VARIANTS) == set(dreamsim_args["model_config"])
    assert {name: release_url(name) for name in VARIANTS} == dreamsim_weights


def test_dreamsim_hub_calls_go_to_the_local_copy(tmp_path: Path) -> None:
    """dreamsim names DINOv2 without a branch, which makes torch.hub ask GitHub first."""
    calls = []
    local_load = _local_hub_load(tmp_path, lambda *args, **kwargs: calls.append((args, kwargs)))
    local_load("facebookresearch/dinov2", "dinov2_vitb14")
    assert calls == [((str(tmp_path / "facebookresearch_dinov2_main"), "dinov2_vitb14"), {"source": "local"})]
    with pytest.raises(WeightsError, match="facebookresearch/xcit"):
        local_load("facebookresearch/xcit", "xcit_small_12_p16")


def test_offline_torch_hub_refuses_downloads_and_restores_the_folder(tmp_path: Path) -> None:
    before = torch.hub.get_dir()
    with offline_torch_hub(tmp_path):
        assert torch.hub.get_dir() == str(tmp_path)
        with pytest.raises(WeightsError, match="refusing to download"):
            torch.hub.load_state_dict_from_url("https://example.invalid/weights.pth")
    assert torch.hub.get_dir() == before


# LPIPS and DISTS


@pytest.mark.parametrize("backend", ["lpips", "dists"])
def test_identical_images_are_the_most_similar(random_pairwise: dict, small_image_folder: Path, backend: str) -> None:
    similarity = random_pairwise[backend]
    transform, size = similarity.transform_and_size
    images = []
    for name in photos(small_image_folder)[:4]:
        with Image.open(small_image_folder / name) as image:
            images.append(transform(image.convert("RGB")))
    images = torch.stack(images)
    assert images.shape == (4, *size)
    pairs = similarity.pair_similarity(images.repeat_interleave(4, dim=0), images.repeat(4, 1, 1, 1))
    assert pairs.shape == (16,)
    matrix = pairs.reshape(4, 4)
    off_diagonal = matrix.masked_fill(torch.eye(4, dtype=torch.bool), -torch.inf)
    assert (matrix.diagonal() > off_diagonal.max(dim=1).values).all()
    assert matrix.diagonal() == pytest.approx(0.0 if backend == "lpips" else 1.0, abs=1e-5)


def direct_margins(similarity, folder: Path, paths: list[str], tasks) -> np.ndarray:
    """Δ from the definition, one pair at a time."""
    transform, _ = similarity.transform_and_size

    def load(index: int) -> torch.Tensor:
        with Image.open(folder / paths[index]) as image:
            return transform(image.convert("RGB"))[None]

    def mean_sim(query: int, refs: np.ndarray) -> float:
        return float(np.mean([similarity.pair_similarity(load(query), load(ref)).item() for ref in refs]))

    n_units, n_tasks, _ = tasks.shape
    out = np.zeros((n_units, n_tasks))
    for u in range(n_units):
        for t in range(n_tasks):
            qp, qn = tasks.max_queries[u, t], tasks.min_queries[u, t]
            ep, en = tasks.max_refs[u, t], tasks.min_refs[u, t]
            out[u, t] = (mean_sim(qp, ep) - mean_sim(qp, en)) - (mean_sim(qn, ep) - mean_sim(qn, en))
    return out


def tiny_tasks(n_images: int):
    """Two units, N = 2 tasks, K = 2 references: 12 images per unit."""
    rng = np.random.default_rng(0)
    ranking = np.stack([rng.permutation(n_images) for _ in range(2)])
    return draw_tasks(ranking[:, :6], ranking[:, ::-1][:, :6], n_tasks=2, n_refs=2, rng=rng)


def test_pairwise_margins_equal_direct_computation(random_pairwise: dict, small_image_folder: Path) -> None:
    """With LPIPS, the fast one: the bookkeeping does not depend on the backend."""
    paths = photos(small_image_folder)
    tasks = tiny_tasks(len(paths))
    similarity = random_pairwise["lpips"]
    got = pairwise_task_margins(similarity, tasks, small_image_folder, paths, batch_size=5)
    assert got.shape == (2, 2) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), direct_margins(similarity, small_image_folder, paths, tasks), atol=1e-5)


def test_pairwise_margins_are_nan_for_tasks_with_an_unreadable_image(
    random_pairwise: dict, small_image_folder: Path
) -> None:
    paths = photos(small_image_folder)
    tasks = tiny_tasks(len(paths))
    broken = tasks.max_queries[0, 0]
    (small_image_folder / paths[broken]).write_bytes(b"not an image")
    margins = pairwise_task_margins(random_pairwise["lpips"], tasks, small_image_folder, paths, batch_size=8).numpy()
    assert np.isnan(margins[0, 0]) and np.isfinite(margins[0, 1])


@pytest.mark.parametrize(
    "spec, file",
    [
        ({"backend": "lpips", "variant": "alex"}, "alexnet-owt-7be5be79.pth"),
        ({"backend": "lpips", "variant": "vgg"}, "vgg16-397923af.pth"),
        ({"backend": "dists"}, "vgg16-397923af.pth"),
    ],
)
def test_missing_backbone_weights_name_the_file(tmp_path: Path, spec: dict, file: str) -> None:
    spec = {**spec, "image_size": PAIR_SIZE, "weights_dir": str(tmp_path)}
    with pytest.raises(WeightsError, match="config key 'similarity.weights_dir'") as error:
        build_pairwise(spec, CPU)
    assert str(tmp_path / "checkpoints" / file) in str(error.value)
    assert f"https://download.pytorch.org/models/{file}" in str(error.value)


def test_backbone_weights_default_to_torch_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsError, match=str(tmp_path / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth")):
        build_pairwise({"backend": "lpips", "variant": "alex", "image_size": PAIR_SIZE}, CPU)


def test_lpips_reads_the_backbone_from_weights_dir(tmp_path: Path) -> None:
    """The real loading path, with SqueezeNet (5 MB) saved as torchvision's checkpoint file."""
    state = torchvision.models.squeezenet1_1().state_dict()
    (tmp_path / "checkpoints").mkdir()
    torch.save(state, tmp_path / "checkpoints" / "squeezenet1_1-b8a52dc0.pth")
    before = torch.hub.get_dir()
    similarity = build_pairwise(
        {"backend": "lpips", "variant": "squeeze", "image_size": PAIR_SIZE, "weights_dir": str(tmp_path)}, CPU
    )
    assert torch.equal(similarity.model.net.slice1[0].weight, state["features.0.weight"])
    assert torch.hub.get_dir() == before


def test_backends_of_the_other_kind_are_refused() -> None:
    with pytest.raises(ValueError, match="build_pairwise"):
        build_embedder({"backend": "dists"}, CPU)
    with pytest.raises(ValueError, match="build_embedder"):
        build_pairwise({"backend": "dreamsim"}, CPU)


def test_square_transform_size() -> None:
    transform, size = square_transform(32)
    assert transform(Image.new("RGB", (50, 20))).shape == size == (3, 32, 32)


# config


def config_with(similarity: dict) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["similarity"] = {"name": "s", "label": "S", **similarity}
    return config


@pytest.mark.parametrize(
    "similarity, key",
    [
        ({"backend": "dreamsim"}, "similarity.weights_dir"),
        ({"backend": "dreamsim", "weights_dir": "w", "variant": "dino_vits8"}, "similarity.variant"),
        ({"backend": "lpips", "variant": "resnet"}, "similarity.variant"),
        ({"backend": "clip"}, "similarity.backend"),
        ({"backend": "timm_features", "weights": {"source": "random"}}, "similarity.architecture"),
        ({"backend": "dists", "image_size": 8}, "similarity.image_size"),
    ],
)
def test_invalid_similarity_config_names_the_key(similarity: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate_config(config_with(similarity), SCHEMA)


def test_similarity_defaults_per_backend() -> None:
    dreamsim = validate_config(config_with({"backend": "dreamsim", "weights_dir": "w"}), SCHEMA)["similarity"]
    lpips = validate_config(config_with({"backend": "lpips"}), SCHEMA)["similarity"]
    dists = validate_config(config_with({"backend": "dists"}), SCHEMA)["similarity"]
    assert dreamsim["variant"] == "ensemble" and "image_size" not in dreamsim
    assert (lpips["variant"], lpips["image_size"], dists["image_size"]) == ("alex", 224, 224)
    default = validate_config(copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text())), SCHEMA)[
        "similarity"
    ]
    assert default["backend"] == "timm_features" and "variant" not in default
