"""Dictionary latents as units (mis.sae): read-out against aggregate(), several dictionaries in one
pass, scoring through the API and the CLI, dictionary files, SAE training, sampling and metrics.
Models: a random-init tiny timm ResNet on demo photos, a tiny mixed-layout net on random images,
and SAEs trained on synthetic sparse vectors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_activations import TensorImages, TinyMixedNet

from mis.__main__ import main
from mis.activations import ActivationRecorder, aggregate, extract_extremes, probe_layers
from mis.api import score_layer
from mis.datasets import ImageDataset
from mis.images import build_manifest
from mis.layers import Layout, find_layer, select_layers
from mis.models import build_model, eval_transform, to_device, to_input
from mis.sae.dictionary import Dictionary, DictionaryError, identity_dictionary, load_dictionary, save_dictionary
from mis.sae.fitting import SaeSettings, train_dictionary
from mis.sae.metrics import METRIC_COLUMNS, evaluate_dictionaries
from mis.sae.readout import dictionary_label, dictionary_layer, layer_table_with_dictionaries, split_label
from mis.sae.sampling import sample_vectors
from mis.settings import ExtractionSettings
from mis.stages.sae import sample_sae_vectors
from mis.storage import read_arrays, read_table, write_table

from conftest import API_ARCHITECTURE, API_CHANNELS, API_LAYER, API_SPEC, DEMO_IMAGES

ARCHITECTURE, LAYER, CHANNELS, SPEC = API_ARCHITECTURE, API_LAYER, API_CHANNELS, API_SPEC
CPU = torch.device("cpu")


def random_dictionary(d_in: int, n_latents: int, kind: str, seed: int = 0) -> Dictionary:
    g = torch.Generator().manual_seed(seed)
    gated = {"r_mag": torch.randn(n_latents, generator=g) * 0.1, "b_mag": torch.randn(n_latents, generator=g)}
    return Dictionary(
        torch.randn(d_in, n_latents, generator=g),
        torch.randn(n_latents, generator=g),
        kind=kind,
        b_dec=torch.randn(d_in, generator=g),
        W_dec=torch.randn(n_latents, d_in, generator=g),
        **(gated if kind == "gated" else {}),
        meta={"name": f"random-{kind}"},
    )


def sparse_vectors(n: int = 4000, d_in: int = 16, seed: int = 0) -> torch.Tensor:
    """Sums of a few of 48 random directions, with an offset: what an SAE should recover."""
    g = torch.Generator().manual_seed(seed)
    atoms = torch.nn.functional.normalize(torch.randn(48, d_in, generator=g), dim=1)
    codes = torch.rand(n, 48, generator=g) * (torch.rand(n, 48, generator=g) < 0.06)
    return codes @ atoms * 3 + 1.0


# --- read-out and one pass over several dictionaries ------------------------------------------


@pytest.mark.parametrize("layout", ["nchw", "channels_last", "tokens"])
def test_identity_read_out_equals_aggregate_exactly(layout: str) -> None:
    x = torch.randn(4, 24, 7, 9, generator=torch.Generator().manual_seed(0)) * 3 + 1
    axis = 1
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "tokens":
        x, axis = x.flatten(2).transpose(1, 2).contiguous(), -1  # (B, T, C)
    identity = identity_dictionary(24)
    assert torch.equal(aggregate(identity.read_out(x, axis), Layout(axis)), aggregate(x, Layout(axis)))
    assert torch.equal(identity.reconstruct(x, axis), x)


@pytest.mark.parametrize("kind", ["linear", "relu", "gated"])
def test_read_out_encodes_every_position_then_averages(kind: str) -> None:
    dictionary = random_dictionary(6, 10, kind)
    x = torch.randn(3, 6, 5, 4)
    by_hand = torch.stack(
        [torch.stack([dictionary.encode(x[b, :, i, j]) for i in range(5) for j in range(4)]).mean(0) for b in range(3)]
    )
    torch.testing.assert_close(aggregate(dictionary.read_out(x, 1), Layout(1)), by_hand)
    if kind == "gated":  # a closed gate gives zero whatever the magnitude
        vectors = x.movedim(1, -1).reshape(-1, 6)
        closed = (vectors - dictionary.b_dec) @ dictionary.W_enc + dictionary.b_enc <= 0
        assert closed.any() and (dictionary.encode(vectors)[closed] == 0).all()


def test_one_pass_scores_channels_and_several_dictionaries_of_one_module() -> None:
    """The module's channels, its identity dictionary and a ReLU dictionary, hooked three times in
    one pass: the identity block equals the channels exactly, the ReLU block brute force."""
    torch.manual_seed(0)
    net = TinyMixedNet().eval()
    images = torch.randn(40, 3, 8, 8)
    conv, mix = select_layers(net, ["conv", "linear"])[:2]
    relu = random_dictionary(6, 9, "relu")
    layers = [
        conv,
        mix,
        dictionary_layer(conv, identity_dictionary(4), "identity"),
        dictionary_layer(mix, relu, "relu-test"),
        dictionary_layer(mix, identity_dictionary(6), "identity"),
    ]
    reached, counts, *_ = probe_layers(net, layers, (3, 8, 8), CPU)
    assert [layer.name for layer in reached] == [layer.name for layer in layers] and counts == [4, 6, 4, 9, 6]
    table = layer_table_with_dictionaries(reached, counts)
    assert table["layer"].tolist() == ["conv", "mix", "conv/identity", "mix/relu-test", "mix/identity"]
    assert table["unit_offset"].tolist() == [0, 4, 10, 14, 23]
    assert table["relative_depth"].tolist() == [0.0, 1.0, 0.0, 1.0, 1.0]  # the module's depth
    assert table["layer_type"].tolist() == ["conv", "linear", "conv", "linear", "linear"]
    result = extract_extremes(
        net, layers, TensorImages(images), sum(counts), CPU, ExtractionSettings(k=5, batch_size=7)
    )
    for name in ("top_idx", "top_val", "bottom_idx", "bottom_val", "top_ties", "bottom_ties"):
        values = getattr(result, name)
        np.testing.assert_array_equal(values[..., 10:14], values[..., 0:4], err_msg=name)
        np.testing.assert_array_equal(values[..., 23:29], values[..., 4:10], err_msg=name)
    with torch.no_grad():
        tokens = net.mix(net.ln(net.bn(net.conv(images)).permute(0, 2, 3, 1)))  # (B, H, W, 6)
        latents = relu.encode(tokens).mean(dim=(1, 2))
    np.testing.assert_allclose(result.top_val[:, 14:23], latents.sort(dim=0, descending=True).values[:5], rtol=1e-5)
    np.testing.assert_allclose(result.bottom_val[:, 14:23], latents.sort(dim=0).values[:5], rtol=1e-5)


def test_dictionary_rows_need_their_module_and_labels_are_checked() -> None:
    net = TinyMixedNet().eval()
    conv, mix = select_layers(net, ["conv", "linear"])[:2]
    with pytest.raises(ValueError, match="'mix/identity': its module 'mix' is not among the layers scored"):
        layer_table_with_dictionaries([conv, dictionary_layer(mix, identity_dictionary(6), "identity")], [4, 6])
    assert dictionary_label("features.14", "relu-l1_0.1-x4") == "features.14/relu-l1_0.1-x4"
    assert split_label("features.14/relu-l1_0.1-x4") == ("features.14", "relu-l1_0.1-x4")
    assert split_label("features.14") == ("features.14", None)
    with pytest.raises(ValueError, match="dictionary name 'a/b'"):
        dictionary_label("conv", "a/b")


def test_wrong_width_is_an_error_naming_the_dictionary_layer() -> None:
    net = TinyMixedNet().eval()
    conv = select_layers(net, ["conv"])[0]
    with pytest.raises(DictionaryError, match="reads 5 channels, the layer has 4"):
        probe_layers(net, [dictionary_layer(conv, identity_dictionary(5), "identity")], (3, 8, 8), CPU)
    recorder = ActivationRecorder([dictionary_layer(conv, identity_dictionary(4), "identity")])
    net(torch.randn(2, 3, 8, 8))
    assert recorder.collect().shape == (2, 4)
    recorder.remove()


# --- scoring through the API and the command line ----------------------------------------------


def test_identity_dictionary_scores_exactly_like_the_channels(photos: Path, channel_units: pd.DataFrame) -> None:
    units = score_layer(
        build_model(SPEC),
        LAYER,
        photos,
        n_tasks=2,
        n_refs=2,
        seed=0,
        name=ARCHITECTURE,
        dictionary=identity_dictionary(CHANNELS),
    )
    assert (units["layer"] == f"{LAYER}/identity").all()
    pd.testing.assert_frame_equal(units.drop(columns="layer"), channel_units.drop(columns="layer"))
    assert channel_units["mis"].nunique() > 1


def test_command_line_scores_a_dictionary_file(
    photos: Path, channel_units: pd.DataFrame, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "my-basis.npz"
    eye = torch.eye(CHANNELS)
    save_dictionary(Dictionary(eye, torch.zeros(CHANNELS), kind="linear"), path)  # no name in its metadata
    out = tmp_path / "units.csv"
    argv = [
        "score",
        "--model",
        ARCHITECTURE,
        "--layer",
        LAYER,
        "--images",
        str(photos),
        "--n-tasks",
        "2",
        "--n-refs",
        "2",
    ]
    assert main([*argv, "--dictionary", str(path), "--out", str(out)]) == 0
    assert f"{CHANNELS} units of {ARCHITECTURE} {LAYER}/my-basis: mean MIS" in capsys.readouterr().out
    units = pd.read_csv(out)
    assert (units["layer"] == f"{LAYER}/my-basis").all()
    pd.testing.assert_frame_equal(units.drop(columns="layer"), channel_units.drop(columns="layer"), check_dtype=False)
    bad = tmp_path / "bad.npz"
    np.savez(bad, W_enc=np.eye(CHANNELS, dtype=np.float32))
    assert main([*argv, "--dictionary", str(bad), "--out", str(tmp_path / "bad.csv")]) == 2
    assert re.search(rf"^error: dictionary {re.escape(str(bad))}: no 'b_enc'", capsys.readouterr().err)
    wide = tmp_path / "wide.npz"
    save_dictionary(identity_dictionary(CHANNELS + 1), wide)
    assert main([*argv, "--dictionary", str(wide), "--dictionary-name", "wide", "--out", str(tmp_path / "w.csv")]) == 2
    assert (
        f"dictionary layer '{LAYER}/wide': the dictionary reads 49 channels, the layer has 48"
        in capsys.readouterr().err
    )


@pytest.fixture(scope="module")
def fish_and_windmills(tmp_path_factory) -> Path:
    """8 photos of fish and 8 of windmills."""
    folder = tmp_path_factory.mktemp("two_groups")
    for group in ("fishes_fish", "renewable_windmill"):
        for path in sorted(DEMO_IMAGES.glob(f"*_{group}*.jpg"))[:8]:
            shutil.copy(path, folder / path.name)
    return folder


def test_a_latent_that_fires_on_one_group_scores_near_one(fish_and_windmills: Path) -> None:
    """A linear latent built by hand on the layer's mean activations: positive on every fish
    photo, negative on every windmill (least squares to ±1, exact with 16 images in 48 channels).
    Its most activating images are fish, its least windmills: the similarity separates them."""
    model = to_device(build_model(SPEC), CPU)
    layer = find_layer(model, LAYER)
    manifest = build_manifest(fish_and_windmills, (".jpg",))
    transform, input_size = eval_transform(model)
    dataset = ImageDataset(fish_and_windmills, manifest["path"], transform, input_size)
    recorder = ActivationRecorder([layer])
    with torch.no_grad():
        model(to_input(torch.stack([dataset[i][0] for i in range(len(dataset))]), CPU))
    pooled = recorder.collect().double()
    recorder.remove()
    fish = torch.tensor(["fish" in path for path in manifest["path"]])
    target = fish.double() * 2 - 1
    mean = pooled.mean(0)
    direction = torch.linalg.pinv(pooled - mean) @ target
    assert ((pooled - mean) @ direction > 0).tolist() == fish.tolist()
    latent = Dictionary(direction[:, None], torch.zeros(1), kind="linear", b_dec=mean, meta={"name": "fish"})
    units = score_layer(model, LAYER, fish_and_windmills, n_tasks=2, n_refs=2, dictionary=latent, name=ARCHITECTURE)
    assert units["layer"].tolist() == [f"{LAYER}/fish"] and units["hard_accuracy"].tolist() == [1.0]
    assert units["mis"].iloc[0] > 0.95


# --- dictionary files ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["linear", "relu", "gated"])
def test_save_and_load_give_the_same_dictionary(kind: str, tmp_path: Path) -> None:
    dictionary = random_dictionary(6, 10, kind)
    save_dictionary(dictionary, tmp_path / "d.npz")
    loaded = load_dictionary(tmp_path / "d.npz")
    assert loaded.kind == kind and loaded.meta == {"name": f"random-{kind}"}
    x = torch.randn(20, 6)
    assert torch.equal(loaded.encode(x), dictionary.encode(x)) and torch.equal(
        loaded.decode(loaded.encode(x)), dictionary.decode(dictionary.encode(x))
    )


def test_a_torch_state_dict_from_elsewhere_loads(tmp_path: Path) -> None:
    """SAELens's layout: W_enc (d_in, d_sae), W_dec (d_sae, d_in); its gated SAEs name the gate bias b_gate."""
    gated = random_dictionary(6, 10, "gated")
    state = {
        "W_enc": gated.W_enc,
        "b_gate": gated.b_enc,
        "r_mag": gated.r_mag,
        "b_mag": gated.b_mag,
        "W_dec": gated.W_dec,
        "b_dec": gated.b_dec,
    }
    torch.save(state, tmp_path / "sae.pt")
    loaded = load_dictionary(tmp_path / "sae.pt")
    x = torch.randn(20, 6)
    assert loaded.kind == "gated" and torch.equal(loaded.encode(x), gated.encode(x))
    torch.save({"W_enc": torch.eye(3), "b_enc": torch.zeros(3), "meta": {"name": "plain"}}, tmp_path / "plain.pth")
    plain = load_dictionary(tmp_path / "plain.pth")
    assert plain.kind == "relu" and plain.meta == {"name": "plain"}


MALFORMED = {
    "no_b_enc.npz": ({"W_enc": np.eye(4)}, r"no 'b_enc' \(keys: \['W_enc'\]\)"),
    "transposed.npz": (
        {"W_enc": np.ones((8, 4)), "b_enc": np.zeros(8)},
        re.escape("'b_enc' has shape (8,), expected (4,) for W_enc (8, 4) (W_enc is (d_in, n_latents): transpose"),
    ),
    "bad_decoder.npz": (
        {"W_enc": np.ones((4, 8)), "b_enc": np.zeros(8), "W_dec": np.ones((4, 8))},
        r"'W_dec' has shape \(4, 8\), expected \(8, 4\)",
    ),
    "gated_without_b_mag.npz": (
        {"W_enc": np.ones((4, 8)), "b_enc": np.zeros(8), "r_mag": np.zeros(8)},
        r"a gated dictionary needs 'b_mag' of shape \(8,\)",
    ),
    "kind.npz": (
        {"W_enc": np.ones((4, 8)), "b_enc": np.zeros(8), "kind": np.array("topk")},
        r"kind 'topk': choose from",
    ),
    "jumprelu.npz": (
        {"W_enc": np.ones((4, 8)), "b_enc": np.zeros(8), "threshold": np.zeros(8)},
        re.escape("unknown keys ['threshold']: a linear/relu/gated dictionary holds ['W_enc', 'b_enc', 'b_dec'"),
    ),
    "text.npz": ({"W_enc": np.array(["a", "b"]), "b_enc": np.zeros(2)}, r"'W_enc' is not an array of real numbers"),
    "vector.npz": ({"W_enc": np.ones(4), "b_enc": np.zeros(4)}, r"W_enc must be \(d_in, n_latents\), got shape \(4,\)"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_dictionary_file_names_the_file_and_the_key(name: str, tmp_path: Path) -> None:
    arrays, message = MALFORMED[name]
    np.savez(tmp_path / name, **arrays)
    with pytest.raises(DictionaryError, match=rf"^dictionary {re.escape(str(tmp_path / name))}: {message}"):
        load_dictionary(tmp_path / name)


def test_unreadable_dictionary_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "garbage.npz").write_bytes(b"not a zip")
    torch.save(torch.eye(3), tmp_path / "tensor.pt")
    (tmp_path / "d.json").write_text("{}")
    for name, message in [
        ("garbage.npz", "cannot read"),
        ("tensor.pt", "holds a Tensor"),
        ("d.json", "unknown suffix '.json'"),
    ]:
        with pytest.raises(DictionaryError, match=rf"{re.escape(str(tmp_path / name))}: .*{re.escape(message)}"):
            load_dictionary(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="dictionary file not found: .*missing.npz"):
        load_dictionary(tmp_path / "missing.npz")
    with pytest.raises(DictionaryError, match="has no decoder"):
        Dictionary(torch.eye(3), torch.zeros(3)).decode(torch.zeros(3))


# --- training -------------------------------------------------------------------------------


def fvu(dictionary: Dictionary, x: torch.Tensor) -> float:
    return float((x - dictionary.decode(dictionary.encode(x))).square().sum() / (x - x.mean(0)).square().sum())


def l0(dictionary: Dictionary, x: torch.Tensor) -> float:
    return float((dictionary.encode(x) != 0).sum(1).float().mean())


@pytest.mark.parametrize("kind", ["relu", "gated"])
def test_sparsity_sweep_gives_strictly_decreasing_l0(kind: str) -> None:
    x = sparse_vectors()
    sweep = [
        train_dictionary(x, SaeSettings(kind=kind, sparsity=s, n_epochs=10, batch_size=256)) for s in (0.01, 0.1, 1.0)
    ]
    counts = [l0(d, x) for d in sweep]
    assert counts[0] > counts[1] > counts[2] > 0, counts
    assert fvu(sweep[0], x) < fvu(sweep[2], x) and fvu(sweep[0], x) < 0.2
    assert all(d.n_latents == 64 and d.kind == kind for d in sweep)
    assert sweep[1].meta["name"] == f"{kind}-l1_0.1-x4" and sweep[1].meta["sparsity"] == 0.1


def test_gated_sae_trades_sparsity_against_fidelity_better_at_equal_weight() -> None:
    """On these vectors, as the paper's appendix reports: fewer active latents and less unexplained variance."""
    x = sparse_vectors()
    relu, gated = (
        train_dictionary(x, SaeSettings(kind=k, sparsity=0.1, n_epochs=10, batch_size=256)) for k in ("relu", "gated")
    )
    assert l0(gated, x) < l0(relu, x) and fvu(gated, x) < fvu(relu, x)


@pytest.mark.parametrize("kind", ["relu", "gated"])
def test_training_is_seeded(kind: str) -> None:
    x = sparse_vectors(1000)
    settings = SaeSettings(kind=kind, sparsity=0.1, expansion=2, n_epochs=2, batch_size=128, seed=3)
    first, second = train_dictionary(x, settings), train_dictionary(x, settings)
    other = train_dictionary(x, SaeSettings(kind=kind, sparsity=0.1, expansion=2, n_epochs=2, batch_size=128, seed=4))
    for key, array in first.arrays().items():
        np.testing.assert_array_equal(second.arrays()[key], array, err_msg=key)
    assert not torch.equal(other.W_enc, first.W_enc)


def test_training_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="SAE kind 'topk'"):
        train_dictionary(sparse_vectors(100), SaeSettings(kind="topk"))
    with pytest.raises(ValueError, match="all equal"):
        train_dictionary(torch.ones(100, 4), SaeSettings())


# --- sampling and metrics on a model ---------------------------------------------------------


def demo_dataset(folder: Path, model) -> ImageDataset:
    manifest = build_manifest(folder, (".jpg",))
    transform, input_size = eval_transform(model)
    return ImageDataset(folder, manifest["path"], transform, input_size)


def test_sampled_vectors_are_position_vectors_whatever_the_batch_size(small_image_folder: Path) -> None:
    model = to_device(build_model(SPEC), CPU)
    layer = find_layer(model, LAYER)
    dataset = demo_dataset(small_image_folder, model)
    sample = sample_vectors(model, layer, dataset, 500, seed=0, device=CPU, batch_size=5)
    assert sample.shape == (500, CHANNELS)
    # the same positions, seeded; their values as another batch size computes them (rounding: 1e-4
    # of the scale, as tests/test_activations.py's RTOL)
    other = sample_vectors(model, layer, dataset, 500, seed=0, device=CPU, batch_size=12)
    torch.testing.assert_close(other, sample, rtol=0, atol=1e-4 * float(sample.abs().max()))
    assert not torch.equal(sample_vectors(model, layer, dataset, 500, seed=1, device=CPU), sample)
    captured = []
    handle = layer.module.register_forward_hook(lambda module, inputs, output: captured.append(output.detach()))
    with torch.no_grad():
        model(to_input(torch.stack([dataset[i][0] for i in range(len(dataset))]), CPU))
    handle.remove()
    everything = captured[0].movedim(1, -1).reshape(-1, CHANNELS)  # 12 images · 20 · 20 positions (160 px input)
    assert torch.isin(sample, everything).all(dim=1).all() and len(torch.unique(sample, dim=0)) == 500
    every = sample_vectors(model, layer, dataset, 10**6, seed=0, device=CPU)
    assert len(every) == len(everything) == 12 * 20 * 20


def test_sae_passes_decode_images_as_the_extraction(small_image_folder: Path, tmp_path: Path) -> None:
    """`extraction.decoder` reaches the SAE stages: their vectors are those of a dataset decoded the
    extraction's way (torchvision's decoder gives other pixels than Pillow at sharp edges)."""
    write_table(build_manifest(small_image_folder, (".jpg",)), tmp_path / "manifest.csv")
    model = to_device(build_model(SPEC), CPU)
    manifest = read_table(tmp_path / "manifest.csv")
    sampled = {}
    for decoder in ("pil", "torchvision"):
        out = tmp_path / f"{decoder}.npz"
        sample_sae_vectors(
            SPEC, LAYER, 300, 0, small_image_folder, tmp_path / "manifest.csv", "cpu", 1, 4, 0, decoder, out
        )
        sampled[decoder] = torch.from_numpy(read_arrays(out)["vectors"])
        transform, input_size = eval_transform(model)
        dataset = ImageDataset(small_image_folder, manifest["path"], transform, input_size, decoder)
        expected = sample_vectors(model, find_layer(model, LAYER), dataset, 300, seed=0, device=CPU, batch_size=4)
        torch.testing.assert_close(sampled[decoder], expected, rtol=0, atol=1e-4 * float(expected.abs().max()))
    assert not torch.equal(sampled["pil"], sampled["torchvision"])


def test_fidelity_is_perfect_for_a_perfect_reconstruction(small_image_folder: Path) -> None:
    """On the shortcut of the first downsampling block: timm starts residual branches at zero, so
    a random-init model's output does not depend on LAYER."""
    model = to_device(build_model(SPEC), CPU)
    layer = find_layer(model, "layer2.0.downsample.2")
    dataset = demo_dataset(small_image_folder, model)
    eye = torch.eye(CHANNELS)
    dead = Dictionary(eye, torch.full((CHANNELS,), -1e6), kind="relu", W_dec=eye)  # never active: reconstructs 0
    trained = train_dictionary(
        sample_vectors(model, layer, dataset, 2000, seed=0, device=CPU),
        SaeSettings(expansion=2, n_epochs=3, batch_size=256),
    )
    metrics = evaluate_dictionaries(
        model,
        layer,
        {"identity": identity_dictionary(CHANNELS), "dead": dead, "sae": trained},
        dataset,
        CPU,
        batch_size=5,
    )
    assert list(metrics.columns) == METRIC_COLUMNS and metrics["dictionary"].tolist() == ["identity", "dead", "sae"]
    identity, dead, sae = (row for _, row in metrics.iterrows())
    assert (
        identity["top1_agreement"] == 1.0 and identity["kl"] == 0.0 and identity["fvu"] == 0.0 and identity["dead"] == 0
    )
    assert dead["l0"] == 0.0 and dead["dead"] == CHANNELS and dead["dead_fraction"] == 1.0 and dead["kl"] > 0
    assert dead["fvu"] > 1  # reconstructing zeros leaves more than the variance about the mean
    assert 0 < sae["fvu"] < 1 and 0 < sae["l0"] < 2 * CHANNELS and sae["n_latents"] == 2 * CHANNELS
    assert (metrics["n_images"] == 12).all() and (metrics["n_vectors"] == 12 * 20 * 20).all()
