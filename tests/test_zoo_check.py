"""The zoo check on a sample of the sweep: one small variant of each of 35 families, among them
every layout the extraction has to resolve (windows, patches, heads and flattened tokens folded
into the batch; channels-first LayerNorms; tables the same for every image; weight-only layers; a
model that mixes the images of a batch). Each is built with random weights and really extracted
(mis.zoo_check.check_model); `python -m mis check-zoo` runs all 918 (benchmarks/results/zoo.csv)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from mis import zoo_check
from mis.storage import write_table
from mis.zoo import timm_sweep
from mis.zoo_check import ROW, check_model, run_one, summary

# Tagged names as in the sweep; the comment says what the model has that others do not.
SAMPLE = {
    "resnet18.a1_in1k": "",
    "mobilenetv2_050.lamb_in1k": "depthwise convolutions",
    "efficientnet_b0.ra_in1k": "",
    "convnext_atto.d2_in1k": "LayerNorm2d (channels first) and channels-last LayerNorm/Linear",
    "convnextv2_atto.fcmae_ft_in1k": "GlobalResponseNorm (not a default type)",
    "vit_tiny_patch16_224.augreg_in21k_ft_in1k": "tokens",
    "deit_tiny_patch16_224.fb_in1k": "",
    "swin_tiny_patch4_window7_224.ms_in1k": "windows folded into the batch",
    "swinv2_cr_tiny_ns_224.sw_in1k": "windows; a relative-position MLP the same for every image",
    "levit_128s.fb_dist_in1k": "BatchNorm1d on tokens flattened into the batch",
    "mobilevit_xxs.cvnets_in1k": "patches folded into the batch",
    "xcit_nano_12_p16_224.fb_in1k": "a positional encoding the same for every image",
    "mvitv2_tiny.fb_in1k": "attention heads folded into the batch",
    "efficientvit_m0.r224_in1k": "cascaded group attention",
    "gcvit_xxtiny.in1k": "mixes the images of a batch",
    "efficientnetv2_rw_t.ra2_in1k": "deep: one image and a pair differ by more than rounding's tolerance",
    "maxvit_rmlp_pico_rw_256.sw_in1k": "windows and grids folded into the batch",
    "convformer_s18.sail_in1k": "LayerNorm2dNoBias (channels first)",
    "test_efficientnet_ln.r160_in1k": "LayerNormAct2d (channels first)",
    "eva02_tiny_patch14_336.mim_in22k_ft_in1k": "a fused qkv used by weight only",
    "regnetx_002.pycls_in1k": "",
    "ghostnet_100.in1k": "",
    "resmlp_12_224.fb_in1k": "Affine (not a layer type)",
    "pit_ti_224.in1k": "",
    "poolformer_s12.sail_in1k": "GroupNorm",
    "edgenext_xx_small.in1k": "",
    "fastvit_t8.apple_in1k": "",
    "repvit_m1.dist_in1k": "",
    "hrnet_w18_small.gluon_in1k": "",
    "dla34.in1k": "",
    "pvt_v2_b0.in1k": "",
    "inception_next_atto.sail_in1k": "",
    "lcnet_050.ra2_in1k": "",
    "crossvit_9_240.in1k": "two token streams",
    "coat_lite_mini.in1k": "",
}


def test_the_sample_is_of_the_sweep_and_has_30_families() -> None:
    families = {name.split("_")[0].rstrip("0123456789") for name in SAMPLE}
    assert set(SAMPLE) <= set(timm_sweep()) and len(families) >= 30


@pytest.mark.parametrize("name", SAMPLE)
def test_every_unit_is_a_channel_of_its_module(name: str) -> None:
    row = check_model(name, repeats=1)
    assert row["status"] == "ok" and row["layers"] > 0
    assert row["units"] == row["width_units"]  # every scored layer yields one unit per declared channel
    kinds = row["excluded_kinds"]
    if "folded into the batch" in SAMPLE[name] or "windows" in SAMPLE[name]:
        assert row["folded_layers"] > 0
    if "the same for every image" in SAMPLE[name]:
        assert "same_for_every_image" in kinds
    if "used by weight only" in SAMPLE[name]:
        assert "never_called" in kinds
    assert row["mixes_images"] == (SAMPLE[name] == "mixes the images of a batch")


def test_a_model_killed_for_memory_is_a_row_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def killed(command, **kwargs):
        return subprocess.CompletedProcess(command, -9, stdout="", stderr="")

    monkeypatch.setattr(zoo_check.subprocess, "run", killed)
    row = run_one("maxvit_xlarge_tf_512.in21k_ft_in1k", timeout=60)
    assert row["status"] == "error" and row["error"] == "killed by SIGKILL (out of memory?)"


def test_the_summary_reads_a_table_with_a_failed_row(tmp_path: Path) -> None:
    ok = {column: "" for column in ROW} | {"status": "ok", "layers": 3, "units": 30, "excluded": 0, "overhead": 1.2}
    rows = [ok | {"model": "a"}, ok | {"model": "b", "excluded": 2, "overhead": 1.5}]
    rows.append({"model": "c", "status": "error", "error": "killed by SIGKILL (out of memory?)"})
    write_table(pd.DataFrame(rows, columns=ROW), tmp_path / "zoo.csv")  # the failed row's counts are empty
    table = pd.read_csv(tmp_path / "zoo.csv", keep_default_na=False)
    assert summary(table) == (
        "2 of 3 architectures pass; 1 of them with excluded layers; "
        "extraction overhead over a bare forward pass: median 1.35, worst 1.50 (b)"
    )
