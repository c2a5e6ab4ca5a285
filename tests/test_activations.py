"""Streaming extremes and quantiles against brute force, aggregation per tensor layout, layer
choice, and resuming an interrupted pass."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import timm
import torch
from torch import nn

from mis.activations import (
    ActivationRecorder,
    ExtractionSettings,
    RunningTopK,
    aggregate,
    extract_extremes,
    key_values,
    pass_order,
    probe_layers,
    quantiles,
    ranking_keys,
)
from mis.layers import Layout, layer_table, select_layers
from mis.results import constant_units, layer_scale, model_summary, unit_table


def stream(values: torch.Tensor, k: int, batch_size: int, low_index_first: bool = True, order=None) -> RunningTopK:
    """``values`` (images, units) fed in blocks of ``batch_size``, in ``order`` (default: index order)."""
    order = torch.arange(len(values)) if order is None else torch.as_tensor(order)
    tracker = RunningTopK(k, values.shape[1], low_index_first=low_index_first)
    for start in range(0, len(values), batch_size):
        block = order[start : start + batch_size]
        tracker.update(values[block], block)
    return tracker


# Two passes over the same images whose arithmetic differs (thread count, batch size, another CPU's
# kernels) sum in another order: float32 activations then differ by about 1e-6 of their scale (seen:
# 1.4e-6 between 1 and 2 threads on a Xeon with AVX-512 and AMX, MobileNetV2's depthwise convolutions;
# nothing on this AMD EPYC). RTOL leaves a hundredfold margin.
RTOL = 1e-4


def assert_same_extremes(one, two, activations: np.ndarray, rtol: float = RTOL) -> None:
    """The extremes of two passes whose arithmetic differs agree as far as float rounding allows:
    their values within ``rtol`` of each unit's scale, and their images wherever the choice is not a
    near-tie: an image of rank r is the same where the activations (all images × units, from any one
    pass) at ranks r − 1, r and r + 1 are more than twice that tolerance apart. Fails where fewer
    than 80 % of the ranks can be compared (the rest are ties, mostly a ReLU's zeros), so that it
    never passes by comparing nothing."""
    scale = np.abs(activations).max(axis=0)
    tolerance = rtol * scale
    compared = []
    for name, values in (("top", -activations), ("bottom", activations)):
        a_val, b_val = getattr(one, f"{name}_val"), getattr(two, f"{name}_val")
        assert (np.abs(a_val - b_val) <= tolerance).all(), f"{name}_val differ by more than {rtol} of the scale"
        ranked = np.sort(values, axis=0)[: len(a_val) + 1]  # the k + 1 most extreme, most extreme first
        gaps = np.diff(ranked, axis=0) > 2 * tolerance  # (k, units): rank r apart from rank r + 1
        separated = gaps & np.vstack([np.ones_like(gaps[:1]), gaps[:-1]])  # and from rank r − 1
        a_idx, b_idx = getattr(one, f"{name}_idx"), getattr(two, f"{name}_idx")
        np.testing.assert_array_equal(a_idx[separated], b_idx[separated], err_msg=f"{name}_idx")
        compared.append(separated.mean())
    assert min(compared) > 0.8, f"only {min(compared):.0%} of the ranks are apart from their neighbours"


def all_activations(model: nn.Module, layers: list, images: torch.Tensor) -> np.ndarray:
    """(images, units): every unit's activation on every image, through the extraction's hooks."""
    recorder = ActivationRecorder(layers)
    try:
        with torch.inference_mode():
            model(images)
            return recorder.collect().numpy()
    finally:
        recorder.remove()


def assert_apart(activations: np.ndarray, k: int, rtol: float = RTOL) -> None:
    """The precondition of comparing image indices exactly between passes whose arithmetic differs
    (another batch size): each unit's k + 1 most and least extreme activations (images × units) are
    pairwise more than twice the rounding tolerance apart, or exact zeros (a ReLU's, exact in any
    order of summation), so that rounding cannot reorder them."""
    tolerance = rtol * np.abs(activations).max(axis=0)
    for values in (-activations, activations):
        ranked = np.sort(values, axis=0)[: k + 1]
        zeros = (ranked[1:] == 0) & (ranked[:-1] == 0)
        assert ((np.diff(ranked, axis=0) > 2 * tolerance) | zeros).all(), "near-ties: compare with a tolerance"


@pytest.mark.parametrize("batch_size", [1, 7, 64, 500])
def test_running_topk_equals_brute_force(batch_size: int) -> None:
    values = torch.randn(300, 40, generator=torch.Generator().manual_seed(0))
    for keys in (values, -values):  # top and bottom
        tracker = stream(keys, k=25, batch_size=batch_size)
        order = torch.argsort(keys, dim=0, descending=True)
        torch.testing.assert_close(tracker.idx.long(), order[:25])
        torch.testing.assert_close(tracker.values, keys.gather(0, order[:25]))
        assert not tracker.tied_at_cut().any()


def test_ranking_keys_keep_the_order_of_every_float() -> None:
    values = torch.tensor([-torch.inf, -3e38, -1.5, -1e-30, -0.0, 0.0, 1e-45, 1e-30, 2.0, 3e38, torch.inf])
    keys = ranking_keys(values[:, None], torch.zeros(len(values), dtype=torch.int64), low_index_first=True)[:, 0]
    assert (keys[1:] >= keys[:-1]).all() and keys[4] == keys[5]  # -0.0 and 0.0 tie
    torch.testing.assert_close(key_values(keys), values + 0.0, rtol=0, atol=0)


def test_ties_break_by_image_index_whatever_the_pass_order_or_batch_size() -> None:
    values = torch.zeros(50, 3)
    values[:, 1] = torch.arange(50) % 3  # many ties
    values[:, 2] = torch.linspace(-1, 1, 50)  # no ties
    shuffled = torch.randperm(50, generator=torch.Generator().manual_seed(1))
    for order in (None, shuffled, torch.arange(49, -1, -1)):
        for batch_size in (1, 4, 50):
            top = stream(values, 10, batch_size, low_index_first=False, order=order)
            bottom = stream(-values, 10, batch_size, order=order)
            assert top.idx[:, 0].tolist() == list(range(49, 39, -1))  # constant unit: the two ends of one ranking
            assert bottom.idx[:, 0].tolist() == list(range(10))
            assert top.idx[:, 1].tolist() == [47, 44, 41, 38, 35, 32, 29, 26, 23, 20]
            assert bottom.idx[:, 1].tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]
            assert top.idx[:, 2].tolist() == list(range(49, 39, -1)) and bottom.idx[:, 2].tolist() == list(range(10))
            assert top.tied_at_cut().tolist() == [10, 10, 0] and bottom.tied_at_cut().tolist() == [10, 10, 0]


def test_tie_count_is_the_kept_images_sharing_the_kth_value() -> None:
    values = torch.tensor([5.0, 4.0, 3.0, 3.0, 3.0, 1.0])[:, None]
    assert stream(values, 3, 2).tied_at_cut().tolist() == [1]  # rank 3 is one of three 3.0s
    assert stream(values, 4, 2).tied_at_cut().tolist() == [2]
    assert stream(values, 5, 2).tied_at_cut().tolist() == [0]  # every 3.0 kept: the tie does not cross the cut
    assert stream(values, 6, 2).tied_at_cut().tolist() == [0]


@pytest.mark.parametrize("levels", [(), (0.9,)])
def test_top_and_bottom_are_disjoint_under_ties_whatever_the_quantile_sample(levels) -> None:
    """A ReLU-like unit, zero for most images: its most and least activating images never overlap
    when there are at least 2k images, and do not depend on the pass order the quantile sample sets."""
    net, layers, images = conv_net_and_images(40)
    with torch.no_grad():
        net.conv.weight[1], net.conv.bias[1] = 0.0, 0.0  # channel 1: zero for every image
        net.conv.weight[3], net.conv.bias[3] = 0.0, -3.0
        net.conv.weight[3, 0, 1, 1] = 1.0  # channel 3 (after the ReLU): red above 3, in a few images only
    net.conv.register_forward_hook(lambda module, inputs, output: output.clamp(min=0))  # a ReLU
    results = [
        extract_extremes(
            net,
            layers,
            TensorImages(images),
            4,
            torch.device("cpu"),
            ExtractionSettings(k=20, batch_size=batch, levels=levels, n_near=2, quantile_sample=sample),
        )
        for batch, sample in ((3, 7), (16, 40), (40, 1), (5, 7))
    ]
    acts = all_activations(net, layers, images)
    assert_apart(acts, 20)  # so that the batch sizes' rounding cannot change the extremes
    np.testing.assert_array_equal(results[3].near_idx, results[0].near_idx)  # same sample, other blocks
    for result in results:
        for unit in range(4):
            assert not set(result.top_idx[:, unit]) & set(result.bottom_idx[:, unit]), unit
        np.testing.assert_array_equal(result.top_idx, results[0].top_idx)
        np.testing.assert_array_equal(result.bottom_idx, results[0].bottom_idx)
    zero = results[0]
    assert zero.top_idx[:, 1].tolist() == list(range(39, 19, -1)) and zero.bottom_idx[:, 1].tolist() == list(range(20))
    assert zero.top_ties[1] == 20 and zero.bottom_ties[1] == 20
    n_firing = int((zero.top_val[:, 3] > 0).sum())
    assert 0 < n_firing < 20 and zero.top_ties[3] == 20 - n_firing and zero.bottom_ties[3] == 20


def test_quantiles_match_numpy() -> None:
    values = torch.randn(501, 7, generator=torch.Generator().manual_seed(2))
    probs = [0.99, 0.95, 0.85, 0.01, 0.05, 0.15]
    expected = np.quantile(values.numpy(), probs, axis=0)
    np.testing.assert_allclose(quantiles(values, probs).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_pass_order_visits_a_systematic_sample_first() -> None:
    order, n_sample = pass_order(10, 4)
    assert n_sample == 4 and order[:4].tolist() == [0, 3, 6, 9]
    assert sorted(order.tolist()) == list(range(10)) and order[4:].tolist() == [1, 2, 4, 5, 7, 8]
    order, n_sample = pass_order(10, 0)
    assert n_sample == 0 and order.tolist() == list(range(10))
    assert pass_order(5, 100)[1] == 5


def test_aggregation_per_layout() -> None:
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    torch.testing.assert_close(aggregate(x, Layout(1)), x.mean(dim=(2, 3)))  # NCHW
    channels_last = x.permute(0, 2, 3, 1)  # (B, H, W, C)
    torch.testing.assert_close(aggregate(channels_last, Layout(3)), x.mean(dim=(2, 3)))
    tokens = x.reshape(2, 3, 20).transpose(1, 2)  # (B, T=20, C=3), CLS included in the mean
    torch.testing.assert_close(aggregate(tokens, Layout(2)), tokens.mean(dim=1))
    flat = torch.randn(2, 7)
    torch.testing.assert_close(aggregate(flat, Layout(1)), flat)
    # Swin's windows: (B·nW, N, C), the 4 windows of an image next to each other
    windows = tokens.reshape(2, 4, 5, 3).reshape(8, 5, 3)
    torch.testing.assert_close(aggregate(windows, Layout(2, fold=4)), tokens.mean(dim=1))
    # heads folded into the batch of a channels-first map: (B·heads, C, H, W)
    heads = torch.arange(2 * 3 * 4 * 5 * 6, dtype=torch.float32).reshape(2, 3, 4, 5, 6)  # (B, heads, C, H, W)
    torch.testing.assert_close(aggregate(heads.reshape(6, 4, 5, 6), Layout(1, fold=3)), heads.mean(dim=(1, 3, 4)))
    # sequence-first tokens (T, B, C)
    torch.testing.assert_close(aggregate(tokens.transpose(0, 1), Layout(2, batch_axis=1)), tokens.mean(dim=1))


class TinyMixedNet(nn.Module):
    """A conv stage (NCHW), a channels-last LayerNorm + Linear, then tokens through a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.ln = nn.LayerNorm(4)
        self.mix = nn.Linear(4, 6)
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        x = self.mix(self.ln(x.permute(0, 2, 3, 1)))  # (B, H, W, 6)
        tokens = x.flatten(1, 2)  # (B, T, 6)
        return self.head(tokens.mean(1))


def test_recorder_uses_each_layers_channel_axis() -> None:
    torch.manual_seed(0)
    net = TinyMixedNet().eval()
    layers = select_layers(net, ["conv", "batchnorm", "layernorm", "linear"])
    assert [layer.name for layer in layers] == ["conv", "bn", "ln", "mix", "head"]
    recorder = ActivationRecorder(layers)
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        net(x)
        got = recorder.collect()
        conv = net.conv(x)
        mix = net.mix(net.ln(net.bn(conv).permute(0, 2, 3, 1)))
    assert got.shape == (5, 4 + 4 + 4 + 6 + 2)
    torch.testing.assert_close(got[:, :4], conv.mean(dim=(2, 3)))
    torch.testing.assert_close(got[:, 12:18], mix.mean(dim=(1, 2)))


class TensorImages(torch.utils.data.Dataset):
    """Items as ImageDataset yields them: (image, index, readable); can fail after some reads."""

    def __init__(self, images: torch.Tensor, unreadable: tuple[int, ...] = (), fail_after: int | None = None):
        self.images, self.unreadable, self.fail_after, self.reads = images, set(unreadable), fail_after, 0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise KeyboardInterrupt("killed")
        return self.images[index], index, index not in self.unreadable


def conv_net_and_images(n_images: int = 40) -> tuple[nn.Module, list, torch.Tensor]:
    torch.manual_seed(0)
    net = TinyMixedNet().eval()
    return net, select_layers(net, ["conv"]), torch.randn(n_images, 3, 8, 8)


def test_extract_extremes_skips_unreadable_images() -> None:
    net, layers, images = conv_net_and_images(12)
    settings = ExtractionSettings(k=4, batch_size=5)
    result = extract_extremes(net, layers, TensorImages(images, unreadable=(3,)), 4, torch.device("cpu"), settings)
    assert result.n_images == 12 and result.n_skipped == 1
    assert 3 not in result.top_idx and 3 not in result.bottom_idx
    with torch.no_grad():
        expected = net.conv(images).mean(dim=(2, 3))
    assert_apart(np.delete(expected.numpy(), 3, axis=0), 4)  # batches of 5 against one of 12
    expected[3] = -torch.inf
    np.testing.assert_array_equal(result.top_idx, torch.argsort(expected, dim=0, descending=True)[:4].numpy())
    with pytest.raises(ValueError, match="at least 14 are needed"):
        extract_extremes(net, layers, TensorImages(images[:13]), 4, torch.device("cpu"), ExtractionSettings(k=7))


def calls_of(module: nn.Module) -> list[int]:
    """A list that grows by one at each call of ``module``."""
    calls: list[int] = []
    module.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_the_pass_ends_at_the_last_layer_of_interest() -> None:
    net, layers, images = conv_net_and_images(20)  # the first layer only
    head = calls_of(net.head)
    result = extract_extremes(
        net, layers, TensorImages(images), 4, torch.device("cpu"), ExtractionSettings(k=4, batch_size=5)
    )
    assert len(head) == 1  # the first of 4 batches runs whole, to learn the order
    with torch.no_grad():
        expected = net.conv(images).mean(dim=(2, 3))
    assert_apart(expected.numpy(), 4)  # batches of 5 against one of 20
    np.testing.assert_array_equal(result.top_idx, torch.argsort(expected, dim=0, descending=True)[:4].numpy())
    np.testing.assert_array_equal(result.bottom_idx, torch.argsort(expected, dim=0)[:4].numpy())


class TwiceNet(nn.Module):
    """One convolution applied twice: its activations are those of the second call."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(self.conv(x)).mean(dim=(2, 3)))


def test_a_module_called_twice_is_never_cut() -> None:
    torch.manual_seed(0)
    net, images = TwiceNet().eval(), torch.randn(20, 3, 8, 8)
    head = calls_of(net.head)
    layers = select_layers(net, ["conv"])
    result = extract_extremes(
        net, layers, TensorImages(images), 3, torch.device("cpu"), ExtractionSettings(k=4, batch_size=5)
    )
    assert len(head) == 4
    with torch.no_grad():
        expected = net.conv(net.conv(images)).mean(dim=(2, 3))
    assert_apart(expected.numpy(), 4)  # batches of 5 against one of 20
    np.testing.assert_array_equal(result.top_idx, torch.argsort(expected, dim=0, descending=True)[:4].numpy())


def test_quantile_conditions_keep_the_images_closest_to_each_quantile() -> None:
    net, layers, images = conv_net_and_images(60)
    settings = ExtractionSettings(k=5, batch_size=8, levels=(0.9, 0.75), n_near=3, quantile_sample=60)
    result = extract_extremes(net, layers, TensorImages(images), 4, torch.device("cpu"), settings)
    with torch.no_grad():
        acts = net.conv(images).mean(dim=(2, 3)).numpy()
    probs = [0.9, 0.75, 0.1, 0.25]
    np.testing.assert_array_equal(result.quantile_probs, probs)
    np.testing.assert_allclose(result.quantile_val, np.quantile(acts, probs, axis=0), rtol=1e-5, atol=1e-6)
    for q in range(4):
        for unit in range(4):
            distance = np.abs(acts[:, unit] - result.quantile_val[q, unit])
            chosen = result.near_idx[q, :, unit]
            assert len(set(chosen)) == 3
            # the 3 closest, up to rounding: the quantile can lie half-way between two images (batches
            # of 8 here, one batch there: their distances differ by 2e-6 in this data)
            assert distance[chosen].max() <= np.sort(distance)[2] + RTOL * np.abs(acts).max()


def test_interrupted_pass_resumes_from_its_checkpoint(tmp_path) -> None:
    net, layers, images = conv_net_and_images(40)
    settings = ExtractionSettings(k=5, batch_size=4, levels=(0.9,), n_near=2, quantile_sample=8, checkpoint_every=1)
    checkpoint, signature = tmp_path / "extremes.npz.checkpoint", {"run": 1}
    reference = extract_extremes(net, layers, TensorImages(images), 4, torch.device("cpu"), settings)
    with pytest.raises(KeyboardInterrupt):
        extract_extremes(
            net, layers, TensorImages(images, fail_after=30), 4, torch.device("cpu"), settings, checkpoint, signature
        )
    assert checkpoint.is_file()
    resumed_data = TensorImages(images)
    resumed = extract_extremes(net, layers, resumed_data, 4, torch.device("cpu"), settings, checkpoint, signature)
    assert resumed_data.reads == 40 - 28  # the 8-image sample and 5 batches of 4 were checkpointed
    assert not checkpoint.exists()
    for name in ("top_idx", "top_val", "bottom_idx", "bottom_val", "quantile_val", "near_idx"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)
    # a checkpoint of another configuration is ignored
    with pytest.raises(KeyboardInterrupt):
        extract_extremes(
            net, layers, TensorImages(images, fail_after=30), 4, torch.device("cpu"), settings, checkpoint, signature
        )
    other = TensorImages(images)
    extract_extremes(net, layers, other, 4, torch.device("cpu"), settings, checkpoint, {"run": 2})
    assert other.reads == 40


def test_layer_selection_and_metadata_on_a_timm_model() -> None:
    model = timm.create_model("resnet18", pretrained=False)
    layers = select_layers(model, ["conv", "batchnorm", "linear"])
    types = [layer.layer_type for layer in layers]
    assert types.count("conv") == 20 and types.count("batchnorm") == 20 and types.count("linear") == 1
    only_layer4 = select_layers(model, ["conv"], include=[r"^layer4\."], exclude=[r"downsample"])
    assert [layer.name for layer in only_layer4] == [
        "layer4.0.conv1",
        "layer4.0.conv2",
        "layer4.1.conv1",
        "layer4.1.conv2",
    ]
    table = layer_table(only_layer4, [512, 512, 512, 256])
    assert table["relative_depth"].tolist() == [0, 1 / 3, 2 / 3, 1]
    assert table["relative_width"].tolist() == [1, 1, 1, 0.5]
    assert table["unit_offset"].tolist() == [0, 512, 1024, 1536]
    with pytest.raises(ValueError, match="no layers"):
        select_layers(model, ["layernorm"])


def declared_width(module: nn.Module) -> int:
    for attribute in ("out_channels", "out_features", "num_features", "num_channels"):
        if hasattr(module, attribute):
            return getattr(module, attribute)
    return module.normalized_shape[0]  # LayerNorm


@pytest.mark.parametrize("architecture", ["convnext_atto", "vit_tiny_patch16_224", "resnet18"])
def test_every_layer_yields_one_unit_per_declared_channel(architecture: str) -> None:
    """Channels-first maps, timm's LayerNorm2d, channels-last LayerNorm/Linear and ViT tokens all
    aggregate over the right axis: the unit count of each layer is its module's channel count."""
    model = timm.create_model(architecture, pretrained=False).eval()
    layers = select_layers(model, ["conv", "linear", "batchnorm", "layernorm", "groupnorm"])
    probe = probe_layers(model, layers, (3, 224, 224), torch.device("cpu"))
    assert [layer.name for layer in probe.layers] == [layer.name for layer in layers] and not probe.excluded
    assert probe.counts == [declared_width(layer.module) for layer in layers]


def test_layers_never_called_are_dropped() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(3, 8)
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)  # uses out_proj by weight only

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tokens = self.embed(x.flatten(2).transpose(1, 2))
            return self.attention(tokens, tokens, tokens)[0]

    net = Net().eval()
    layers = select_layers(net, ["linear"])
    assert [layer.name for layer in layers] == ["embed", "attention.out_proj"]
    probe = probe_layers(net, layers, (3, 4, 4), torch.device("cpu"))
    assert [layer.name for layer in probe.layers] == ["embed"] and probe.counts == [8]
    assert [(e.name, e.module_class) for e in probe.excluded] == [
        ("attention.out_proj", "NonDynamicallyQuantizableLinear")
    ]
    assert "never called" in probe.excluded[0].reason


def test_the_probe_keeps_no_layer_output_alive_during_the_pass() -> None:
    """A layer's output is freed once the next layer has consumed it, as in a bare pass: holding
    every layer's outputs for five images does not fit in 24 GiB for EfficientNet-L2 at 475 px."""
    import weakref

    first_output: list[weakref.ref] = []  # of this pass
    alive_at_the_end: list[bool] = []

    class Spy(nn.Module):  # at the end of the pass: is the first convolution's output still held?
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            alive_at_the_end.append(first_output.pop()() is not None)
            return x

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), Spy()).eval()
    net[0].register_forward_hook(lambda module, inputs, output: first_output.append(weakref.ref(output)))
    probe = probe_layers(net, select_layers(net, ["conv"]), (3, 8, 8), torch.device("cpu"))
    assert probe.counts == [4, 6] and not probe.mixes_images
    assert alive_at_the_end == [False, False, False]  # one pass of one image, two of two


def test_constant_unit_is_flagged_and_left_out_of_model_statistics() -> None:
    net, layers, images = conv_net_and_images(30)
    with torch.no_grad():
        net.conv.weight[2] = 0.0  # channel 2 outputs its bias for every image
    result = extract_extremes(net, layers, TensorImages(images), 4, torch.device("cpu"), ExtractionSettings(k=5))
    assert result.value_range[2] == 0 and (np.delete(result.value_range, 2) > 1e-3).all()
    table = layer_table(layers, [4])
    ties = (result.top_ties, result.bottom_ties)
    extent = (result.top_val[0], result.bottom_val[0])
    units = unit_table("tiny", table, extent, np.array([0.9, 0.8, 0.1, 0.7]), np.ones(4), 1e-8, ties, np.zeros(4))
    assert units["constant"].tolist() == [False, False, True, False]
    assert units["top_ties"].tolist() == [0, 0, 5, 0] and units["bottom_ties"].tolist() == [0, 0, 5, 0]
    summary = model_summary(units).iloc[0]
    assert summary["mean_mis"] == pytest.approx(0.8) and summary["n_units"] == 3 and summary["constant_ratio"] == 0.25
    assert summary["n_tied"] == 0  # the constant unit's ties do not count: it is out of the statistics


@pytest.mark.parametrize("architecture", ["mobilenetv2_050", "resnet18"])
def test_extraction_depends_on_the_thread_count_within_float_rounding(architecture: str) -> None:
    """Inference jobs' threads are capped at --cores (config key threads.inference): at 1 and 2 torch
    threads the extremes agree within RTOL on every CPU (identical where the CPU's kernels split work
    by rows: this one); at one thread count, in one process, bit for bit."""
    torch.manual_seed(0)
    model = timm.create_model(architecture, pretrained=False).eval()
    layers = select_layers(model, ["conv", "batchnorm", "linear"])
    layers, counts, *_ = probe_layers(model, layers, (3, 96, 96), torch.device("cpu"))
    pixels = torch.randn(48, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    settings = ExtractionSettings(k=5, batch_size=16)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 1):
            torch.set_num_threads(threads)
            results.append(
                extract_extremes(model, layers, TensorImages(pixels), sum(counts), torch.device("cpu"), settings)
            )
    finally:
        torch.set_num_threads(before)
    one, two, again = results
    assert_same_extremes(one, two, all_activations(model, layers, pixels))
    for field in ("top_idx", "top_val", "bottom_idx", "bottom_val", "top_ties", "bottom_ties"):
        np.testing.assert_array_equal(getattr(one, field), getattr(again, field), err_msg=field)


def test_constant_units_are_judged_against_their_layers_scale() -> None:
    """A layer whose activations are all tiny (1e-11, as in a random-init MobileNetV4 hybrid) keeps
    its units; a unit exactly constant, and a layer of zeros, are constant whatever the scale."""
    layers = pd.DataFrame({"layer": ["tiny", "zeros", "normal"], "channels": [2, 2, 2]})
    highest = np.array([3e-11, 2e-11, 0.0, 0.0, 2.0, 0.5])
    lowest = np.array([1e-11, 2e-11, 0.0, 0.0, -1.0, 0.5 - 1e-9])
    scale = layer_scale(highest, lowest, layers["channels"].tolist())
    np.testing.assert_array_equal(scale, [3e-11, 3e-11, 0, 0, 2, 2])
    constant = constant_units(highest - lowest, scale, 1e-8)
    assert constant.tolist() == [False, True, True, True, False, True]
    assert (highest - lowest < 1e-8).tolist() == [True, True, True, True, False, True]  # the absolute rule's


def test_a_windowed_layer_averages_each_images_own_windows() -> None:
    """Swin's qkv sees (images · windows, tokens, 3C): a unit's activation on an image is its mean
    over that image's windows and tokens, computed here from images passed one at a time."""
    torch.manual_seed(0)
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False).eval()
    layers = select_layers(model, ["linear"], include=[r"^layers\.2\.blocks\.1\.attn\.qkv$"])
    probe = probe_layers(model, layers, (3, 224, 224), torch.device("cpu"))
    (layer,) = probe.layers
    assert (layer.layout.batch_axis, layer.layout.fold, probe.counts) == (0, 4, [1152])  # 4 windows of 7×7 at 14×14
    images = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    alone = []
    handle = layer.module.register_forward_hook(lambda module, inputs, output: alone.append(output.mean(dim=(0, 1))))
    with torch.no_grad():
        for image in images:
            model(image[None])
    handle.remove()
    recorder = ActivationRecorder(probe.layers)
    with torch.no_grad():
        model(images)
    torch.testing.assert_close(recorder.collect(), torch.stack(alone), rtol=1e-4, atol=1e-5)
    recorder.remove()


@pytest.mark.parametrize(
    ("architecture", "module", "axis"),
    [
        ("convformer_s18", "stem.norm", 1),
        ("test_efficientnet_ln", "bn1", 1),
        ("convnext_atto", "stages.1.downsample.0", 1),
    ],
)
def test_channels_first_layernorms_are_found_by_their_output(architecture: str, module: str, axis: int) -> None:
    """timm's LayerNorm2d family (LayerNorm2dNoBias, LayerNormAct2d) normalises NCHW maps: a unit is
    a channel, not a column of the image."""
    model = timm.create_model(architecture, pretrained=False).eval()
    layers = select_layers(model, ["layernorm"], include=[rf"^{re.escape(module)}$"])
    probe = probe_layers(model, layers, (3, 96, 96), torch.device("cpu"))
    assert probe.layers[0].layout.channel_axis == axis and probe.counts == [declared_width(layers[0].module)]


def test_outputs_the_same_for_every_image_and_weight_only_layers_are_excluded_with_the_reason() -> None:
    model = timm.create_model("xcit_nano_12_p16_224", pretrained=False).eval()
    probe = probe_layers(model, select_layers(model, ["conv"]), (3, 224, 224), torch.device("cpu"))
    assert [(e.name, e.kind) for e in probe.excluded] == [("pos_embed.token_projection", "same_for_every_image")]
    model = timm.create_model("eva02_tiny_patch14_224", pretrained=False).eval()
    probe = probe_layers(
        model, select_layers(model, ["linear"], include=[r"^blocks\.0\."]), (3, 224, 224), torch.device("cpu")
    )
    assert [(e.name, e.kind) for e in probe.excluded] == [("blocks.0.attn.qkv", "never_called")]
    assert "F.linear" in probe.excluded[0].reason


def test_a_model_that_mixes_the_images_of_a_batch_is_scored_one_image_at_a_time(tmp_path) -> None:
    """timm's GCViT tiles its global queries over the windows of every image of a batch: in a batch,
    an image's activations depend on the others. The probe says so, and the extraction stage runs
    images one at a time whatever the batch size asked for: each image's activations are its own."""
    from mis.images import build_manifest
    from mis.models import eval_transform
    from mis.stages.activations import extract_activations
    from mis.storage import read_arrays, write_table

    from conftest import DEMO_IMAGES

    spec = {"architecture": "gcvit_xxtiny", "weights": {"source": "random", "seed": 0}}
    settings = ExtractionSettings(k=3, batch_size=4, include=(r"^stages\.0\.blocks\.1\.attn\.proj$",))
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in sorted(DEMO_IMAGES.glob("*.jpg"))[:8]:
        (folder / path.name).write_bytes(path.read_bytes())
    write_table(build_manifest(str(folder), [".jpg"]), tmp_path / "manifest.csv")
    out = {name: tmp_path / name for name in ("extremes.npz", "layers.csv", "meta.json")}
    extract_activations("gcvit", spec, settings, folder, tmp_path / "manifest.csv", "cpu", 1, *out.values())
    assert json.loads(out["meta.json"].read_text())["mixes_images"]
    from mis.models import build_model

    model = build_model(spec).eval()
    transform, input_size = eval_transform(model)
    layers = select_layers(model, ["linear"], include=list(settings.include))
    probe = probe_layers(model, layers, input_size, torch.device("cpu"))
    assert probe.mixes_images
    images = torch.stack([transform(_rgb(path)) for path in sorted(folder.iterdir())])
    alone = np.concatenate([all_activations(model, probe.layers, image[None]) for image in images])
    batched = all_activations(model, probe.layers, images[:4])
    assert not np.allclose(batched, alone[:4], rtol=1e-3, atol=1e-4)  # in a batch they would differ
    extremes = read_arrays(out["extremes.npz"])
    np.testing.assert_allclose(extremes["top_val"][:, 0], alone.max(axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(extremes["bottom_val"][:, 0], alone.min(axis=0), rtol=1e-4, atol=1e-5)


def _rgb(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")
