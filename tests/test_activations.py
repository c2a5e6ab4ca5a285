"""Streaming extremes against a brute-force sort, aggregation per tensor layout, and layer choice."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from torch import nn

from mis.activations import ActivationRecorder, RunningExtremes, aggregate, extract_extremes
from mis.layers import layer_table, select_layers


def stream(values: torch.Tensor, k: int, batch_size: int) -> RunningExtremes:
    extremes = RunningExtremes(k, values.shape[1])
    for start in range(0, len(values), batch_size):
        extremes.update(values[start : start + batch_size], torch.arange(start, min(start + batch_size, len(values))))
    return extremes


@pytest.mark.parametrize("batch_size", [1, 7, 64, 500])
def test_running_topk_equals_brute_force(batch_size: int) -> None:
    values = torch.randn(300, 40, generator=torch.Generator().manual_seed(0))
    extremes = stream(values, k=25, batch_size=batch_size)
    order = torch.argsort(values, dim=0, descending=True)
    torch.testing.assert_close(extremes.top_idx, order[:25])
    torch.testing.assert_close(extremes.top_val, values.gather(0, order[:25]))
    order = torch.argsort(values, dim=0)
    torch.testing.assert_close(extremes.bot_idx, order[:25])
    torch.testing.assert_close(extremes.bot_val, values.gather(0, order[:25]))


def test_ties_go_to_the_lower_image_index_whatever_the_batch_size() -> None:
    values = torch.zeros(50, 2)
    values[:, 1] = torch.arange(50) % 3  # many ties
    for batch_size in (1, 4, 50):
        extremes = stream(values, k=10, batch_size=batch_size)
        assert extremes.top_idx[:, 0].tolist() == list(range(10))  # constant unit
        assert extremes.bot_idx[:, 0].tolist() == list(range(10))
        assert extremes.top_idx[:, 1].tolist() == [2, 5, 8, 11, 14, 17, 20, 23, 26, 29]
        assert extremes.bot_idx[:, 1].tolist() == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]


def test_aggregation_per_layout() -> None:
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    torch.testing.assert_close(aggregate(x, 1), x.mean(dim=(2, 3)))  # NCHW
    channels_last = x.permute(0, 2, 3, 1)  # (B, H, W, C)
    torch.testing.assert_close(aggregate(channels_last, -1), x.mean(dim=(2, 3)))
    tokens = x.reshape(2, 3, 20).transpose(1, 2)  # (B, T=20, C=3), CLS included in the mean
    torch.testing.assert_close(aggregate(tokens, -1), tokens.mean(dim=1))
    flat = torch.randn(2, 7)
    torch.testing.assert_close(aggregate(flat, -1), flat)


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
    assert [l.name for l in layers] == ["conv", "bn", "ln", "mix", "head"]
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


def test_extract_extremes_skips_unreadable_images() -> None:
    net = TinyMixedNet().eval()
    layers = select_layers(net, ["conv"])
    images = torch.randn(12, 3, 8, 8)
    ok = torch.ones(12, dtype=torch.bool)
    ok[3] = False
    batches = [(images[i : i + 5], torch.arange(i, min(i + 5, 12)), ok[i : i + 5]) for i in range(0, 12, 5)]
    result = extract_extremes(net, layers, batches, k=4, n_units=4, device=torch.device("cpu"))
    assert result.n_images == 12 and result.n_skipped == 1
    assert 3 not in result.top_idx and 3 not in result.bottom_idx
    with torch.no_grad():
        expected = net.conv(images).mean(dim=(2, 3))
    expected[3] = -torch.inf
    np.testing.assert_array_equal(result.top_idx, torch.argsort(expected, dim=0, descending=True)[:4].numpy())


def test_layer_selection_and_metadata_on_a_timm_model() -> None:
    model = timm.create_model("resnet18", pretrained=False)
    layers = select_layers(model, ["conv", "batchnorm", "linear"])
    types = [l.layer_type for l in layers]
    assert types.count("conv") == 20 and types.count("batchnorm") == 20 and types.count("linear") == 1
    only_layer4 = select_layers(model, ["conv"], include=[r"^layer4\."], exclude=[r"downsample"])
    assert [l.name for l in only_layer4] == ["layer4.0.conv1", "layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"]
    table = layer_table(only_layer4, [512, 512, 512, 256])
    assert table["relative_depth"].tolist() == [0, 1 / 3, 2 / 3, 1]
    assert table["relative_width"].tolist() == [1, 1, 1, 0.5]
    assert table["unit_offset"].tolist() == [0, 512, 1024, 1536]
    with pytest.raises(ValueError, match="no layers"):
        select_layers(model, ["layernorm"])
