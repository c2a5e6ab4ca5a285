"""A small IMI release in the real layout, built from the demo photos, for tests and for trying the
IMI stage offline: ``python -m mis.imi.demo <folder> [photos]``.

It writes ``<folder>/release/human_responses/responses_main.csv`` (the 45 columns in order,
practice and catch rows, floats for batch and channel, dict strings in the ``*_details``),
``<folder>/release/image_data/imagenet_exemplars_file_map.json`` (model → "<layer>/channel_<c>"
→ "batch_<b>" → {max,min}_{0..9}.png → path), an "ImageNet-train" tree ``<folder>/train/<wnid>/``
whose files are the photos, and the same files as the release's stimulus images
(``image_data/<model>/<layer>/channel_<c>/natural_images/batch_<b>/``), byte for byte. Its units
are units of the embedded default's models, with IMI-style layer names.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from mis.imi.release import FILE_MAP, RESPONSES
from mis.imi.responses import CHECKS, COLUMNS
from mis.imi.stimuli import N_ITEMS

N_BATCHES = 2
EXTRACTED = (
    "instruction_time_details_extracted",
    "total_response_time_details_extracted",
    "row_variability_details_details_upper_extracted",
    "row_variability_details_details_lower_extracted",
    "catch_trials_details_ratio_extracted",
    "catch_trials_details_correctly_answered_extracted",
    "demo_trials_details_ratio_extracted",  # [invented] the seventh name is not documented
)
# (model as the release names it, layer, channel) → outcomes of its main trials (1 = correct).
OUTCOMES = {
    ("mobilenetv2_100", "blocks_1_0_conv_pw", 3): [1, 1, 0, 1],
    ("mobilenetv2_100", "blocks_2_1_conv_dw", 5): [1, 0, 0, 1, 1, 1],
    ("mobilenetv2_100", "blocks_4_0_bn1", 2): [0, 1, 1, 1, 1],
    ("mobilenetv2_100", "conv_head", 7): [1, 1, 1, 1, 0, 1],
    ("resnet18-untrained", "layer1_0_conv1", 1): [1, 1, 1, 1, 0],
    ("resnet18-untrained", "layer2_1_bn2", 4): [0, 1, 0, 1],
    ("resnet18-untrained", "layer3_0_conv2", 0): [0, 0, 1, 0, 1],
    ("resnet18-untrained", "fc", 6): [1, 0, 1, 1],
    ("mobilenetv2_100_hard85", "blocks_1_0_conv_pw", 3): [0, 1, 0],
    ("resnet18-untrained", "layer4_1_conv1", 8): [1, 1, 0],  # responses only: not in the file map
}
OPTIMIZED = {("mobilenetv2_100", "conv_head", 7): [1, 1, 0]}  # synthetic references: not in the map
MAP_ONLY = [("mobilenetv2_100", "blocks_5_0_conv_pwl", 9)]  # in the file map, without responses
DETAILS = "{'ratio': 1.0, 'correctly_answered': [True, True, True, True, True]}"


def _row(
    model: str,
    layer: str,
    channel: int,
    mode: str,
    correct: int,
    trial: int,
    batch: float | None,
    catch: bool = False,
    demo: bool = False,
) -> dict:
    session = trial % 3
    row = {
        "rt": 1500 + 10 * trial,
        "button_pressed": trial % 2,
        "switched_queries": bool(trial % 2),
        "confidence": 1 + trial % 3,
        "choice": "upper",
        "correct": bool(correct),
        "min_query": "anonymized",
        "max_query": "anonymized",
        "min_references": "anonymized",
        "max_references": "anonymized",
        "catch_trial": catch,
        "is_demo": demo,
        "trial_type": "2afc-image-confidence-response",
        "trial_index": trial,
        "time_elapsed": 1000 * trial,
        "internal_node_id": f"0.0-4.0-0.{trial}",
        "response_index": session,
        "participant_id": "anonymized",
        "corrected_trial_index": trial,
        "task_id": f"{model}_{mode}-{session}",
        "task_number": session,
        "batch": batch,
        "channel": None if demo else float(channel),
        "layer": layer,
        "mode": mode,
        "model": model,
        "passed_checks": True,
    }
    row.update({f"{check}_result": True for check in CHECKS})
    row.update({f"{check}_details": DETAILS for check in CHECKS})
    row.update({name: 1.0 for name in EXTRACTED})
    row["multi_participation"] = False
    return row


def response_table() -> pd.DataFrame:
    rows, trial = [], 0
    for mode, outcomes in (("natural", OUTCOMES), ("optimized", OPTIMIZED)):
        for (model, layer, channel), results in outcomes.items():
            for i, correct in enumerate(results):
                rows.append(_row(model, layer, channel, mode, correct, trial, float(i % N_BATCHES)))
                trial += 1
    # practice and catch trials, wrong on purpose: they must not count
    rows += [_row("", "", 0, "natural", 0, t, None, demo=True) for t in range(3)]
    rows += [_row("catch/manual", "manual_4c_0_4", 1, "catch_trial", 0, t, None, catch=True) for t in range(3)]
    extracted = iter(EXTRACTED)
    return pd.DataFrame(rows)[[name if name is not None else next(extracted) for name in COLUMNS]]


def map_unit_keys() -> list[tuple[str, str, int]]:
    return [key for key in OUTCOMES if key[1] != "layer4_1_conv1"] + MAP_ONLY


def write_demo_release(folder: str | Path, photos: list[Path]) -> dict[str, Path]:
    """The release, the train tree and the stimulus copies below ``folder``; their paths."""
    folder = Path(folder)
    release, train = folder / "release", folder / "train"
    (release / RESPONSES.format(table="main")).parent.mkdir(parents=True, exist_ok=True)
    response_table().to_csv(release / RESPONSES.format(table="main"), index=False)
    per_unit = N_BATCHES * 2 * N_ITEMS
    if len(photos) < per_unit * len(map_unit_keys()):
        raise ValueError(f"{len(photos)} photos, the demo release needs {per_unit * len(map_unit_keys())}")
    file_map: dict = {}
    photo = iter(photos)
    for number, (model, layer, channel) in enumerate(map_unit_keys()):
        batches = file_map.setdefault(model, {}).setdefault(f"{layer}/channel_{channel}", {})
        for batch in range(N_BATCHES):
            items = batches[f"batch_{batch}"] = {}
            for side in ("max", "min"):
                for item in range(N_ITEMS):
                    source = next(photo)
                    wnid = f"n{number:08d}"
                    relative = f"{wnid}/{wnid}_{source.stem}.JPEG"
                    (train / wnid).mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, train / relative)
                    stimulus = (
                        release
                        / "image_data"
                        / model
                        / layer
                        / f"channel_{channel}"
                        / "natural_images"
                        / f"batch_{batch}"
                    )
                    stimulus.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, stimulus / f"{side}_{item}.png")
                    items[f"{side}_{item}.png"] = relative
    (release / FILE_MAP).write_text(json.dumps(file_map, indent=1))
    return {
        "release": release,
        "train": train,
        "responses": release / RESPONSES.format(table="main"),
        "file_map": release / FILE_MAP,
        "stimuli": release / "image_data",
    }


if __name__ == "__main__":
    photo_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "resources/demo-images")
    print(write_demo_release(sys.argv[1], sorted(photo_dir.glob("*.jpg"))))
