"""The static unit browser, built from a tiny hand-made result set: its data files and thumbnails,
and the page itself in headless Chromium over file:// (it loads, sorts by MIS on a header click,
and every image of an opened unit resolves)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mis import paths
from mis.results import unit_table
from mis.settings import BrowserSettings
from mis.stages.analysis import select_example_units
from mis.stages.browser import build_unit_browser
from mis.stages.scores import summarize_models
from mis.storage import read_table, write_arrays, write_table
from mis.tasks import draw_tasks, task_rng

from conftest import DEMO_IMAGES

MODELS = ("alpha-net", "beta-net")
LAYERS = pd.DataFrame(
    {
        "layer": ["conv1", "bn1", "fc"],
        "layer_type": ["conv", "batchnorm", "linear"],
        "channels": [4, 3, 2],
        "relative_depth": [0.0, 0.5, 1.0],
        "relative_width": [1.0, 0.75, 0.5],
    }
)
N_UNITS = int(LAYERS["channels"].sum())
N_TASKS, N_REFS = 2, 2
K = N_TASKS * (N_REFS + 1)  # images per side
N_PHOTOS = 2 * K
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NO_CHROMIUM = (
    "Chromium is not installed: the unit browser's page was not tested. Install Debian's headless "
    "Chromium and its driver (`sudo apt-get install chromium chromium-driver`; CI's .ci/run does)"
)


def result_paths(results: Path, model: str) -> dict[str, Path]:
    """Where the workflow keeps a model's results (mis.paths)."""
    return {
        "units": paths.located(paths.UNITS, results, model=model),
        "extremes": paths.located(paths.EXTREMES, results, model=model),
        "tasks": paths.located(paths.TASKS, results, model=model),
    }


def write_fake_results(results: Path, seed: int = 0) -> Path:
    """Results of two models on 12 demo photos, in the workflow's layout and formats: manifest,
    extremes (each unit's ranking a random permutation), tasks sampled by the real code, unit tables
    with random scores (bn1 unit 0 constant), and models.csv. Returns the image root."""
    rng = np.random.default_rng(seed)
    photos = sorted(p.name for p in DEMO_IMAGES.glob("*.jpg"))[:N_PHOTOS]
    manifest = paths.located(paths.MANIFEST, results)
    write_table(pd.DataFrame({"image": range(N_PHOTOS), "path": photos, "category": "demo", "bytes": 1}), manifest)
    for model in MODELS:
        files = result_paths(results, model)
        ranking = np.argsort(rng.random((N_UNITS, N_PHOTOS)), axis=1).astype(np.int32)
        top_val = np.sort(rng.random((N_UNITS, K)).astype(np.float32), axis=1)[:, ::-1] + 1
        bottom_val = np.sort(rng.random((N_UNITS, K)).astype(np.float32), axis=1) - 1
        top_val[4], bottom_val[4] = 0.5, 0.5  # bn1 unit 0: constant
        write_arrays(
            files["extremes"],
            top_idx=ranking[:, :K],
            top_val=top_val,
            bottom_idx=ranking[:, ::-1][:, :K].copy(),
            bottom_val=bottom_val,
            quantile_probs=np.zeros(0),
            quantile_val=np.zeros((N_UNITS, 0), np.float32),
            near_idx=np.zeros((N_UNITS, 0, 0), np.int32),
        )
        tasks = draw_tasks(ranking[:, :K], ranking[:, ::-1][:, :K], N_TASKS, N_REFS, task_rng(0, model))
        write_arrays(files["tasks"], **vars(tasks))
        mis = rng.permutation(np.linspace(0.3, 0.95, N_UNITS))
        hard = rng.integers(0, N_TASKS + 1, N_UNITS) / N_TASKS
        no_ties = (np.zeros(N_UNITS, np.int32),) * 2
        write_table(
            unit_table(model, LAYERS, (top_val[:, 0], bottom_val[:, 0]), mis, hard, 1e-8, no_ties, np.zeros(len(mis))),
            files["units"],
        )
    files = [result_paths(results, m) for m in MODELS]
    summarize_models([f["units"] for f in files], paths.located(paths.MODEL_SUMMARY, results))
    select_example_units(
        MODELS,
        [f["units"] for f in files],
        [f["extremes"] for f in files],
        manifest,
        5,
        paths.located(paths.analysis("example_units"), results),
        paths.located(paths.analysis("example_units_images"), results),
    )
    return DEMO_IMAGES


def build(results: Path, out: Path, **settings: int) -> dict:
    """The browser of the two models, with ``settings`` of BrowserSettings."""
    files = [result_paths(results, m) for m in MODELS]
    return build_unit_browser(
        MODELS,
        [f["units"] for f in files],
        [f["extremes"] for f in files],
        [f["tasks"] for f in files],
        results / "images" / "manifest.csv",
        DEMO_IMAGES,
        out,
        BrowserSettings(**settings),
    )


def registered(path: Path) -> tuple[str, dict]:
    """Key and payload of a data script ``MIS.register(key,data);``."""
    text = path.read_text().strip()
    assert text.startswith("MIS.register(") and text.endswith(");")
    key, _, data = text[len("MIS.register(") : -2].partition(",")
    return json.loads(key), json.loads(data)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    write_fake_results(root / "results")
    build(root / "results", root / "browser")
    return root


def test_data_files_follow_the_results(browser: Path) -> None:
    results, out = browser / "results", browser / "browser"
    units = read_table(result_paths(results, "beta-net")["units"])
    key, payload = registered(out / "data" / "1" / "units.js")
    assert key == "1/units" and payload["model"] == "beta-net"
    assert payload["layers"]["name"] == ["conv1", "bn1", "fc"] and payload["layers"]["channels"] == [4, 3, 2]
    np.testing.assert_allclose(payload["units"]["mis"], units["mis"], atol=1e-4)
    assert payload["units"]["constant"] == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    live_conv = units[(units["layer"] == "conv1")]["mis"].mean()
    assert payload["layers"]["mis"][0] == pytest.approx(live_conv, abs=1e-4)
    assert payload["layers"]["mis"][1] == pytest.approx(units["mis"][5:7].mean(), abs=1e-4)  # constant unit left out
    key, layer = registered(out / "data" / "1" / "layer-1.js")  # bn1: units 4, 5, 6
    tasks = np.load(result_paths(results, "beta-net")["tasks"])
    task = layer["units"][2]["task"]
    assert task["pos"] == tasks["max_refs"][6, 0, ::-1].tolist() and task["qneg"] == tasks["min_queries"][6, 0]
    extremes = np.load(result_paths(results, "beta-net")["extremes"])
    assert layer["units"][2]["top"] == extremes["top_idx"][6].tolist()
    assert set(map(int, layer["paths"])) >= {*task["neg"], *task["pos"], task["qpos"], task["qneg"]}


def test_thumbnails_are_small_squares_of_the_shown_images(browser: Path) -> None:
    out = browser / "browser"
    thumbnails = sorted(out.glob("images/*.jpg"))
    assert len(thumbnails) == N_PHOTOS  # every photo is among some unit's extremes
    with Image.open(thumbnails[0]) as image:
        assert image.format == "JPEG" and image.size == (96, 96)
    index = out / "index.html"
    assert '"n_tasks": 2' in index.read_text() and (out / "browser.js").is_file()
    assert "http" not in (out / "browser.js").read_text() + index.read_text()  # nothing fetched from elsewhere


def test_images_for_extreme_units_only(tmp_path: Path) -> None:
    write_fake_results(tmp_path / "results")
    build(tmp_path / "results", tmp_path / "browser", n_images=3, units_with_images=1)
    _, payload = registered(tmp_path / "browser" / "data" / "0" / "units.js")
    units = read_table(result_paths(tmp_path / "results", "alpha-net")["units"])
    live = units[~units["constant"]]
    expected = set(live.groupby("layer")["mis"].idxmax()) | set(live.groupby("layer")["mis"].idxmin())
    assert {i for i, shown in enumerate(payload["units"]["images"]) if shown} == expected
    _, conv = registered(tmp_path / "browser" / "data" / "0" / "layer-0.js")
    assert sum(entry is not None for entry in conv["units"]) == 2
    assert all(len(entry["top"]) == 3 for entry in conv["units"] if entry)


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    write_fake_results(tmp_path / "results")
    units_path = result_paths(tmp_path / "results", "beta-net")["units"]
    write_table(read_table(units_path).iloc[:-1], units_path)
    with pytest.raises(ValueError, match="beta-net: unit counts differ"):
        build(tmp_path / "results", tmp_path / "browser")
    assert not [p for p in tmp_path.iterdir() if "browser" in p.name]


@pytest.fixture(scope="module")
def page(browser: Path) -> Iterator:
    """The browser's page in headless Chromium, driven by Selenium through Debian's chromedriver."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":  # in CI an untested page is a failure, not a skip
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)  # conftest.py repeats it at the end of the run, loudly
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    flags = (
        "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
        "--disable-component-update --disable-sync"
    )
    for flag in [*flags.split(), f"--user-data-dir={profile}", "--window-size=1400,1600"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get((browser / "browser" / "index.html").as_uri())
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def cells(driver, table: str, key: str) -> list[str]:
    return [cell.text for cell in driver.find_elements("css selector", f"#{table} tbody td[data-key='{key}']")]


def wait_for(driver, condition, timeout: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def test_page_loads_the_first_model(page) -> None:
    wait_for(page, lambda d: len(cells(d, "units", "mis")) == N_UNITS - 1)  # constant unit hidden
    assert cells(page, "models", "model") == list(MODELS)
    assert f"1–{N_UNITS - 1} of {N_UNITS - 1}" in page.find_element("id", "units-pager").text
    assert [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"] == []


def test_sorting_by_mis_on_header_click(page) -> None:
    header = page.find_element("css selector", "#units th[data-key='mis']")
    header.click()
    scores = [float(s) for s in cells(page, "units", "mis")]
    assert scores == sorted(scores, reverse=True) and header.get_attribute("aria-sort") == "descending"
    header.click()
    scores = [float(s) for s in cells(page, "units", "mis")]
    assert scores == sorted(scores) and header.get_attribute("aria-sort") == "ascending"
    page.find_element("css selector", "#units th[data-key='layer']").click()
    assert cells(page, "units", "layer") == ["conv1"] * 4 + ["bn1"] * 2 + ["fc"] * 2


def test_opened_unit_shows_its_images(page) -> None:
    page.find_element("css selector", "#units tbody tr").click()
    wait_for(page, lambda d: len(d.find_elements("css selector", "#unit-images img")) == 2 * K + 2 * N_REFS + 2)
    widths = wait_for(
        page,
        lambda d: d.execute_script(
            "const images = [...document.querySelectorAll('#unit-images img')];"
            "return images.every(i => i.complete) && images.map(i => i.naturalWidth);"
        ),
    )
    assert all(width == 96 for width in widths)
    assert page.find_element("id", "unit-title").text == "alpha-net · conv1 · unit 0"


def test_second_model_and_layer_filter(page) -> None:
    page.find_elements("css selector", "#models tbody tr")[1].click()
    wait_for(page, lambda d: d.find_element("id", "units-section").text.startswith("Units of beta-net"))
    page.find_elements("css selector", "#layers tbody tr")[2].click()  # fc
    assert cells(page, "units", "layer") == ["fc", "fc"]
    page.find_element("id", "hide-constant").click()
    page.find_elements("css selector", "#layers tbody tr")[1].click()  # bn1, constant unit shown now
    assert cells(page, "units", "constant") == ["yes", "", ""]
