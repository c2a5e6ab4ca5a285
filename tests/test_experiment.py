"""The browser study (mis.experiment, Fig. 2C): the units and trial lists, the session files and
their quality checks (IMI's columns and rules), the collector, and the page itself in headless
Chromium, where scripted participants complete whole sessions with the keyboard alone."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit
from scipy.stats import mannwhitneyu
from test_reruns import every_block, is_plain, write
from test_workflow import reduced_config, run

from mis.embeddings import task_embeddings
from mis.experiment import CATCH
from mis.experiment.design import assign_trials, response_counts, study_units
from mis.experiment.serve import make_server
from mis.experiment.sessions import (
    HEADER,
    TRIAL_TYPE,
    check_session,
    check_values,
    instruction_seconds,
    read_session,
)
from mis.figures import draw
from mis.imi.responses import CHECKS, main_trials, read_responses
from mis.planning import plan as plan_jobs
from mis.scoring import task_margins
from mis.settings import CheckSettings, DesignSettings, PageSettings, SimilaritySettings, ValidationSettings
from mis.stages.embeddings import embed_images
from mis.stages.experiment import (
    analyze_fig2c,
    build_experiment,
    compute_study_margins,
    merge_experiment_responses,
    score_experiment_responses,
    select_study_units,
)
from mis.stages.imi import fit_alpha
from mis.storage import read_table
from mis.tasks import read_tasks, rows_of

from conftest import TINY_SIMILARITY
from test_browser import CHROMEDRIVER, CHROMIUM, MODELS, NO_CHROMIUM, result_paths, write_fake_results

# The page's checks with times a scripted participant meets in seconds, not minutes.
FAST_CHECKS = CheckSettings(min_instruction_seconds=1.0, min_total_seconds=2.0)
FAST_PAGE = dict(initial_wait_ms=0, feedback_delay_ms=0, feedback_ms=0)
DESIGN = DesignSettings(n_per_group=1, responses_per_unit=2, main_trials=6, practice_trials=5, catch_trials=5)


def fake_units(n_models: int = 2, n_units: int = 30, seed: int = 0) -> pd.DataFrame:
    """Unit tables of ``n_models`` models: distinct MIS, every fifth unit constant."""
    rng = np.random.default_rng(seed)
    parts = []
    for m in range(n_models):
        parts.append(
            pd.DataFrame(
                {
                    "model": f"model{m}",
                    "layer": [f"layer{u // 10}" for u in range(n_units)],
                    "layer_type": "conv",
                    "unit": [u % 10 for u in range(n_units)],
                    "mis": rng.permutation(np.linspace(0.5, 0.99, n_units)),
                    "hard_accuracy": 1.0,
                    "relative_depth": 0.5,
                    "constant": [u % 5 == 4 for u in range(n_units)],
                    "non_finite": False,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# ---- units and trial lists ----


def test_default_units_are_disjoint_groups_of_non_constant_units() -> None:
    units = fake_units()
    settings = DesignSettings(n_per_group=3, practice_trials=4, seed=1)
    study = study_units(units, ["model0", "model1"], settings)
    sizes = study.groupby(["model", "group"]).size()
    assert (sizes.drop("practice", level="group") == 3).all() and len(sizes.drop("practice", level="group")) == 6
    assert (study["group"] == "practice").sum() == 4
    assert not study.duplicated(["model", "layer", "unit"]).any()
    live = units[~units["constant"]].set_index(["model", "layer", "unit"])
    assert set(map(tuple, study[["model", "layer", "unit"]].to_numpy())) <= set(live.index)
    for model, part in study[study["group"] != "practice"].groupby("model"):
        ranked = live.loc[model].sort_values("mis")["mis"]
        assert sorted(part.loc[part["group"] == "easiest", "mis"]) == sorted(ranked.tail(3))
        assert sorted(part.loc[part["group"] == "hardest", "mis"]) == sorted(ranked.head(3))
    practice = study[study["group"] == "practice"]
    outside = live.drop(
        index=list(map(tuple, study.loc[study["group"] != "practice", ["model", "layer", "unit"]].to_numpy()))
    )
    assert sorted(practice["mis"]) == sorted(outside["mis"].nlargest(4))
    again = study_units(units, ["model0", "model1"], settings)
    pd.testing.assert_frame_equal(study, again)  # seeded
    other = study_units(units, ["model0", "model1"], DesignSettings(n_per_group=3, practice_trials=4, seed=2))
    assert not other[other["group"] == "random"]["mis"].equals(study[study["group"] == "random"]["mis"])


def test_a_listed_unit_must_exist_and_vary(tmp_path: Path) -> None:
    units = fake_units()
    listed = pd.DataFrame({"model": ["model0", "model1"], "layer": ["layer0", "layer1"], "unit": [1, 2]})
    study = study_units(units, ["model0", "model1"], DesignSettings(practice_trials=2), listed, "units.csv")
    assert list(study["group"]) == ["listed", "listed", "practice", "practice"]
    with pytest.raises(ValueError, match=r"units.csv, line 3: model model1, layer layer1, unit 4: a constant unit"):
        study_units(units, ["model0", "model1"], DesignSettings(), listed.assign(unit=[1, 4]), "units.csv")
    with pytest.raises(ValueError, match=r"line 2: model model0, layer layer9, unit 1: no such unit"):
        study_units(units, ["model0"], DesignSettings(), listed.assign(layer=["layer9", "layer1"]), "units.csv")


@pytest.mark.parametrize(("n_units", "responses", "per_session"), [(18, 30, 40), (90, 30, 40), (7, 5, 3), (11, 4, 11)])
def test_every_unit_gets_its_responses_and_none_repeats_in_a_session(
    n_units: int, responses: int, per_session: int
) -> None:
    study = pd.DataFrame({"model": "m", "group": "random", "layer": "l", "unit": range(n_units), "mis": 0.7}).assign(
        rank=1, layer_type="conv", hard_accuracy=1.0, relative_depth=0.5
    )
    settings = DesignSettings(responses_per_unit=responses, main_trials=per_session, catch_trials=5, practice_trials=0)
    trials = assign_trials(study, settings, n_tasks=10)
    main = trials[trials["kind"] == "main"]
    counts = main.groupby("unit").size()
    assert len(counts) == n_units and counts.min() >= responses and counts.max() - counts.min() <= 1
    assert not main.duplicated(["assignment", "model", "layer", "unit"]).any()
    sessions = trials.groupby("assignment")
    assert (sessions["kind"].apply(lambda k: (k == "main").sum()) == min(per_session, n_units)).all()
    assert (sessions["kind"].apply(lambda k: (k == CATCH).sum()) == 5).all()
    assert (sessions["switched"].sum() == sessions.size() // 2).all()  # the maximal query on top in half
    tasks = response_counts(trials).groupby("unit")["n_responses"]
    assert (tasks.max() - tasks.min() <= 1).all()  # each unit's tasks used evenly
    pd.testing.assert_frame_equal(trials, assign_trials(study, settings, n_tasks=10))


# ---- session files and checks ----


def session_rows(
    trials: pd.DataFrame,
    assignment: int,
    answer,
    participant: str = "p1",
    instruction_ms: int = 20000,
    step_ms: int = 5000,
    wrong_practice: tuple[int, ...] = (0,),
) -> pd.DataFrame:
    """A session file's rows as the page writes them, for a participant who answers main and catch
    trials with ``answer(trial) -> (upper, confidence)`` and practice trials right, except a first
    wrong answer to the practice trials ``wrong_practice``."""
    rows, clock = [], instruction_ms

    def row(trial: pd.Series, upper: bool, confidence: int, demo: bool, index: int) -> dict:
        nonlocal clock
        clock += step_ms
        chose_max = upper == bool(trial["switched"])
        catch = trial["kind"] == CATCH
        return {
            "rt": 1000,
            "button_pressed": (0 if upper else 3) + confidence - 1,
            "switched_queries": str(bool(trial["switched"])),
            "confidence": confidence,
            "choice": "b" if chose_max else "a",
            "correct": str(chose_max),
            "min_query": "images/1.jpg",
            "max_query": "images/2.jpg",
            "min_references": '["images/3.jpg"]',
            "max_references": '["images/4.jpg"]',
            "catch_trial": str(catch),
            "is_demo": str(demo),
            "trial_type": TRIAL_TYPE,
            "trial_index": len(rows) + 2,
            "time_elapsed": clock,
            "internal_node_id": f"0.0-{2 if demo else 4}.0-0.{index}",
            "response_index": 0,
            "participant_id": participant,
            "corrected_trial_index": index,
            "task_id": f"study_natural-{assignment}",
            "task_number": assignment,
            "batch": "" if catch else f"{float(trial['task'])}",
            "channel": "" if catch else f"{float(trial['unit'])}",
            "layer": trial["layer"],
            "mode": "catch_trial" if catch else "natural",
            "model": trial["model"],
        }

    practice = trials[trials["kind"] == "practice"]
    for i, (_, trial) in enumerate(practice.iterrows()):
        if i in wrong_practice:
            rows.append(row(trial, not trial["switched"], 1, True, len(rows)))
    for i, (_, trial) in enumerate(practice.iterrows()):
        rows.append(row(trial, bool(trial["switched"]), 3, True, len(rows)))
    for position, (_, trial) in enumerate(trials[trials["assignment"] == assignment].iterrows()):
        rows.append(row(trial, *answer(trial), False, position))
    table = pd.DataFrame(rows).astype(str)
    details = f"{{'total_time': {instruction_ms / 1000!r}}}"
    table = table.assign(**{column: "" for column in HEADER if column not in table})
    table["instruction_time_details"] = details
    values = check_values(check_session(table, instruction_ms / 1000, CheckSettings()))
    return table.assign(**values, multi_participation="False")[HEADER]


def oracle(trial: pd.Series) -> tuple[bool, int]:
    """Always the maximal query (the one the project says activates the unit more)."""
    return bool(trial["switched"]), 3


def always_top(trial: pd.Series) -> tuple[bool, int]:
    return True, 2


@pytest.fixture(scope="module")
def plan() -> pd.DataFrame:
    study = study_units(fake_units(), ["model0", "model1"], DesignSettings(n_per_group=3))
    return assign_trials(study, DesignSettings(n_per_group=3), n_tasks=4)


def test_session_rows_parse_as_the_release_and_count_as_main_trials(plan: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "session.csv"
    session_rows(plan, 0, oracle).to_csv(path, index=False)
    assert path.read_text().splitlines()[0] == ",".join(HEADER)
    table = read_responses(path)
    trials = main_trials(table, path)
    assert len(trials) == (plan[plan["assignment"] == 0]["kind"] == "main").sum() and trials["correct"].all()
    assert set(trials["condition"]) == {"natural"} and table["passed_checks"].all()


@pytest.mark.parametrize(
    ("change", "failed", "details"),
    [
        ({}, set(), {}),
        ({"instruction_ms": 14000}, {"instruction_time"}, {"instruction_time": "{'total_time': 14.0}"}),
        ({"step_ms": 2000}, {"total_response_time"}, {}),  # 29 rows: 20 + 58 s < 135 s
        ({"step_ms": 90000}, {"total_response_time"}, {}),  # 20 + 2610 s > 2500 s
        ({"wrong_practice": (0, 1, 2, 3, 4)}, set(), {"demo_trials": "{'n_demo_trials_blocks': 2, 'n_unsolved': 0}"}),
    ],
)
def test_checks_follow_imis_rules(plan: pd.DataFrame, change: dict, failed: set, details: dict) -> None:
    table = session_rows(plan, 0, **{"answer": oracle, **change})
    first = table.iloc[0]
    assert failed_checks(first) == failed
    assert first["passed_checks"] == str(not failed)
    for check, text in details.items():
        assert text in first[f"{check}_details"]


def failed_checks(row: pd.Series) -> set[str]:
    return {check for check in CHECKS if row[f"{check}_result"] != "True"}


def test_always_the_top_image_fails_the_position_check(plan: pd.DataFrame) -> None:
    first = session_rows(plan, 0, always_top).iloc[0]
    trials = plan[plan["assignment"] == 0]
    catch_right = trials.loc[trials["kind"] == CATCH, "switched"].sum()
    assert failed_checks(first) == {"row_variability"} | ({"catch_trials"} if catch_right < 4 else set())
    assert first["row_variability_details"] == f"{{'n_upper_row': {len(trials)}, 'n_lower_row': 0}}"


def test_catch_trials_need_four_of_five_and_practice_three_rounds(plan: pd.DataFrame) -> None:
    catch_positions = list(plan[(plan["assignment"] == 0) & (plan["kind"] == CATCH)]["position"])

    def wrong_catch(n: int):
        wrong = set(catch_positions[:n])
        return lambda trial: (
            (not trial["switched"], 1) if trial["kind"] == CATCH and trial["position"] in wrong else oracle(trial)
        )

    for n_wrong, passed in ((1, True), (2, False)):
        first = session_rows(plan, 0, wrong_catch(n_wrong)).iloc[0]
        assert (first["catch_trials_result"] == "True") == passed
        assert first["catch_trials_details"].startswith(f"{{'ratio': {(5 - n_wrong) / 5!r}, 'correctly_answered': [")
    table = session_rows(plan, 0, oracle)
    demo = table[table["is_demo"] == "True"]
    fourth = pd.concat([table, demo.iloc[[0, 0, 0]].assign(correct="False")])
    checks = check_session(fourth, 20.0, CheckSettings())
    assert checks["demo_trials"] == (False, {"n_demo_trials_blocks": 5, "n_unsolved": 0})


# ---- merging, scoring, the collector ----


def test_merge_keeps_a_session_once_and_splits_by_the_checks(plan: pd.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    folder.mkdir()
    session_rows(plan, 0, oracle, participant="a").to_csv(folder / "a.csv", index=False)
    shutil.copy(folder / "a.csv", folder / "a (1).csv")  # downloaded and POSTed: the same bytes
    session_rows(plan, 1, oracle, participant="b").to_csv(folder / "b.csv", index=False)
    session_rows(plan, 0, always_top, participant="c").to_csv(folder / "c.csv", index=False)
    session_rows(plan, 2, oracle, participant="d").to_csv(folder / "d1.csv", index=False)
    session_rows(plan, 3, oracle, participant="d").to_csv(folder / "d2.csv", index=False)
    plan_path = tmp_path / "trials.csv"
    plan.to_csv(plan_path, index=False)
    out = {name: tmp_path / f"{name}.csv" for name in ("main", "lower", "sessions")}
    sessions = merge_experiment_responses(
        folder, plan_path, CheckSettings(), out["main"], out["lower"], out["sessions"]
    )
    assert sessions["file"].tolist() == ["a (1).csv", "b.csv", "c.csv", "d1.csv", "d2.csv"]
    assert sessions["table"].tolist() == ["main", "main", "lower_quality", "lower_quality", "lower_quality"]
    assert sessions["multi_participation"].tolist() == [False, False, False, True, True]
    assert sessions["response_index"].tolist() == [0, 0, 1, 0, 0]  # c is the second session of list 0
    main = read_responses(out["main"])
    assert set(main["task_id"]) == {"study_natural-0", "study_natural-1"} and main["passed_checks"].all()
    assert not read_responses(out["lower"])["multi_participation"].isna().any()
    assert set(pd.read_csv(out["main"])["participant_id"]) == {"anonymized"}
    his, models = tmp_path / "his.csv", tmp_path / "models.csv"
    scores = score_experiment_responses(out["main"], 0.95, tmp_path / "trials.parquet", his, models)
    assert (scores["his"] == 1).all() and set(pd.read_csv(models)["model"]) <= {"model0", "model1"}


def test_merge_recomputes_the_checks_and_refuses_another_studys_file(plan: pd.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    folder.mkdir()
    forged = session_rows(plan, 0, always_top).assign(passed_checks="True", row_variability_result="True")
    forged.to_csv(folder / "forged.csv", index=False)
    plan.to_csv(tmp_path / "trials.csv", index=False)
    out = [tmp_path / f"{name}.csv" for name in ("main", "lower", "sessions")]
    sessions = merge_experiment_responses(folder, tmp_path / "trials.csv", CheckSettings(), *out)
    assert not sessions["passed_checks"].iloc[0] and "row_variability_result" in sessions["page_checks_differ"].iloc[0]
    other = session_rows(plan, 0, oracle).assign(layer="elsewhere")
    other.to_csv(folder / "other.csv", index=False)
    with pytest.raises(ValueError, match=r"other.csv: row \d+ .* is not a trial of this study"):
        merge_experiment_responses(folder, tmp_path / "trials.csv", CheckSettings(), *out)


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/csv"})
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, json.loads(reply.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "collected"
    server = make_server(folder, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()


def test_collector_stores_a_session_once(collector, plan: pd.DataFrame) -> None:
    url, folder = collector
    body = session_rows(plan, 0, oracle).to_csv(index=False).encode()
    assert post(f"{url}sessions?session=s1", body)[0] == 201
    assert post(f"{url}sessions?session=s1", body)[0] == 200  # sent again
    assert post(f"{url}sessions?session=s2", body)[0] == 200  # the same bytes under another id
    assert post(f"{url}sessions?session=s1", body.replace(b"p1", b"p2"))[0] == 409
    assert post(f"{url}sessions?session=../x", body)[0] == 400
    assert post(f"{url}sessions?session=s3", b"a,b\n1,2\n")[0] == 400
    assert sorted(p.name for p in folder.iterdir()) == ["s1.csv"]
    assert (folder / "s1.csv").read_bytes() == body
    with urllib.request.urlopen(f"{url}assignment?participant=x&n=3") as reply:
        assert json.loads(reply.read()) == {"assignment": 0}
    handed = [json.loads(urllib.request.urlopen(f"{url}assignment?participant={p}&n=3").read()) for p in "yzwx"]
    assert [h["assignment"] for h in handed] == [1, 2, 0, 0]  # least handed out first; x keeps its list


def test_fig2c_tables_and_figure(tmp_path: Path) -> None:
    """Groups, Holm-corrected Mann-Whitney U tests and the units beside IMI's, from HIS by hand."""
    units = study_units(fake_units(), ["model0", "model1"], DesignSettings(n_per_group=4, practice_trials=2))
    study = units[units["group"] != "practice"]
    his = {"easiest": [1.0, 0.9, 0.95, 0.85], "random": [0.8, 0.7, 0.75, 0.6], "hardest": [0.5, 0.55, 0.4, 0.6]}
    scores = study.assign(
        condition="natural",
        channel=study["unit"],
        his=[his[g][r - 1] for g, r in zip(study["group"], study["rank"], strict=True)],
        n_trials=30,
        ci_low=0.0,
        ci_high=1.0,
    ).drop(columns="unit")
    scores.iloc[:-1].to_csv(tmp_path / "his.csv", index=False)  # the last unit without responses
    units.to_csv(tmp_path / "units.csv", index=False)
    imi = pd.DataFrame({"model": "googlenet", "condition": "natural", "layer": "inception3a", "channel": range(5)})
    imi.assign(mis=0.8, his=0.8, n_trials=30, ci_low=0.6, ci_high=0.9).to_csv(tmp_path / "imi.csv", index=False)
    out = [tmp_path / f"{name}.csv" for name in ("groups", "tests", "units")]
    groups = analyze_fig2c(tmp_path / "his.csv", tmp_path / "units.csv", tmp_path / "imi.csv", 200, 0.95, 0, *out)
    row = groups.set_index(["model", "group"]).loc[("model0", "easiest")]
    assert row["n_units"] == 4 and row["mean_his"] == pytest.approx(0.925) and row["ci_low"] <= 0.925 <= row["ci_high"]
    assert groups.set_index(["model", "group"]).loc["all", "n_units"].to_dict() == {
        "easiest": 8,
        "random": 7,
        "hardest": 8,
    }
    tests = pd.read_csv(out[1]).set_index(["model", "comparison"])
    u = mannwhitneyu(his["easiest"], his["random"], alternative="two-sided")
    assert tests.loc[("model0", "easiest vs random"), "p_value"] == pytest.approx(u.pvalue)
    p = tests.loc["model0"].drop("MIS vs HIS")
    assert (p["p_holm"] >= p["p_value"]).all() and p["p_holm"].max() <= 1
    assert p["p_holm"].min() == pytest.approx(3 * p["p_value"].min())
    table = pd.read_csv(out[2])
    assert (table["source"] == "imi").sum() == 5 and (table["source"] == "study").sum() == len(study) - 1
    tables = dict(zip(("groups", "tests", "units"), out, strict=True))
    draw("fig2c", tables, tmp_path / "fig2c.pdf", labels={"model0": "Model 0"})
    assert (tmp_path / "fig2c.pdf").read_bytes().startswith(b"%PDF")


# ---- the page in headless Chromium ----


def registered(path: Path) -> list:
    """The arguments of a data script ``MIS.<call>(a,b);``."""
    text = path.read_text().strip()
    return json.loads("[" + text[text.index("(") + 1 : -2] + "]")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Iterator[dict]:
    """A site of two fake models (K = 2, N = 2): 6 study units, 2 trial lists of 6 main and 5 catch
    trials, 5 practice trials; its collector running, and the session files it receives."""
    root = tmp_path_factory.mktemp("study")
    images = write_fake_results(root / "results")
    files = [result_paths(root / "results", model) for model in MODELS]
    select_study_units([f["units"] for f in files], list(MODELS), DESIGN, None, root / "units.csv")
    trials = assign_trials(pd.read_csv(root / "units.csv"), DESIGN, n_tasks=2)
    trials.to_csv(root / "trials.csv", index=False)
    server = make_server(root / "collected", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    page = PageSettings(**FAST_PAGE, collector_url=url, completion_url="https://example.org/done?cc=TEST")
    build_experiment(
        root / "trials.csv",
        list(MODELS),
        [f["units"] for f in files],
        [f["tasks"] for f in files],
        root / "results" / "images" / "manifest.csv",
        images,
        root / "site",
        page,
        FAST_CHECKS,
    )
    try:
        yield {"root": root, "site": root / "site", "trials": trials, "collected": root / "collected", "url": url}
    finally:
        server.shutdown()
        server.server_close()


def test_site_is_self_contained(study: dict) -> None:
    site = study["site"]
    (payload,) = registered(site / "data" / "study.js")
    assert payload["n_assignments"] == 2 and len(payload["practice"]) == 5 and payload["columns"] == HEADER
    index, trials = registered(site / "data" / "assignment-1.js")
    assert index == 1 and [t["kind"] for t in trials].count("catch") == 5 and len(trials) == 11
    for trial in trials + payload["practice"]:
        for image in [trial["min_query"], trial["max_query"], *trial["min_references"], *trial["max_references"]]:
            assert (site / image).is_file(), image
    licences = {p.name for p in (site / "vendor" / "jspsych").iterdir()}
    assert {"LICENSE", "VERSIONS.md", "jspsych.min.js", "plugin-instructions.min.js"} <= licences
    for path in [site / "index.html", site / "experiment.js", site / "experiment.css"]:
        assert "http" not in path.read_text().replace("https://example.org", ""), path


@pytest.fixture(scope="module")
def browser(study: dict) -> Iterator:
    """Headless Chromium (the unit browser's flags), downloads into a folder of its own."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    flags = (
        "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
        "--disable-component-update --disable-sync"
    )
    for flag in [*flags.split(), f"--user-data-dir={profile}", "--window-size=1400,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    downloads = study["root"] / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: condition(d))


def press(driver, *keys: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def screen(driver) -> str:
    """What the page shows now: ``end``, ``trial`` (answers accepted), ``feedback``, ``message``."""
    return driver.execute_script(
        """
        if (document.getElementById('end-page')) return 'end';
        const status = document.querySelector('.afc-status');
        if (status && document.querySelector('.afc-continue')) return 'feedback';
        if (status && status.textContent.startsWith('Choose')) return 'trial';
        if (!status && document.querySelector('#jspsych-instructions-next')) return 'message';
        return 'busy';
        """
    )


def take_part(driver, study: dict, participant: str, assignment: int, answer, instruction_seconds: float) -> dict:
    """A whole session with the keyboard alone: Enter on messages, → through the instructions,
    ↑/↓ then 1–3 on trials (``answer(trial, header) -> (upper, confidence)``), Enter after feedback.
    Returns what was shown: the headers of the trials in order."""
    from selenium.webdriver.common.keys import Keys

    url = (study["site"] / "index.html").as_uri()
    driver.get(f"{url}?PROLIFIC_PID={participant}&SESSION_ID=s-{participant}&assignment={assignment}")
    wait_for(driver, lambda d: screen(d) == "message")
    press(driver, Keys.ENTER)
    wait_for(driver, lambda d: "In this study you see" in d.find_element("id", "study").text)
    time.sleep(instruction_seconds)
    shown = []
    for _ in range(7):
        press(driver, Keys.ARROW_RIGHT)
    while (state := wait_for(driver, lambda d: s if (s := screen(d)) != "busy" else None)) != "end":
        if state == "message":
            press(driver, Keys.ENTER)
            wait_for(driver, lambda d: screen(d) != "message")
        elif state == "trial":
            header = driver.find_element("css selector", ".afc-header").text
            upper_src = driver.find_element("id", "afc-query-0").get_attribute("src")
            upper, confidence = answer(header, upper_src)
            shown.append(header)
            press(driver, Keys.ARROW_UP if upper else Keys.ARROW_DOWN, str(confidence))
            wait_for(driver, lambda d: screen(d) == "feedback")
        elif state == "feedback":
            press(driver, Keys.ENTER)
            wait_for(driver, lambda d: screen(d) != "feedback")
    return {"shown": shown}


def trial_of(study: dict, assignment: int, header: str) -> dict:
    """The trial a header names (``Practice trial i of n…`` or ``Trial k of N…``)."""
    (payload,) = registered(study["site"] / "data" / "study.js")
    number = int(header.split(" of ")[0].split()[-1]) - 1
    if header.startswith("Practice"):
        return payload["practice"][number]
    return registered(study["site"] / "data" / f"assignment-{assignment}.js")[1][number]


def downloaded(driver, name: str) -> Path:
    path = driver.downloads / name
    wait_for(driver, lambda d: path.is_file() and path.stat().st_size > 0)
    return path


def test_a_participant_completes_a_session_with_the_keyboard(browser, study: dict) -> None:
    """The oracle answers every trial with the maximal query (checked against the page's images),
    except the first practice trial the first time: it comes back once."""
    practice_seen: list[str] = []

    def answer(header: str, upper_src: str) -> tuple[bool, int]:
        trial = trial_of(study, 0, header)
        assert upper_src.endswith(trial["max_query"] if trial["switched"] else trial["min_query"])
        if header.startswith("Practice trial 1 ") and not practice_seen:
            practice_seen.append(header)
            return not trial["switched"], 1  # wrong on purpose
        return trial["switched"], 3

    shown = take_part(browser, study, "oracle", 0, answer, instruction_seconds=1.2)["shown"]
    assert shown[:6] == [f"Practice trial {i} of 5" for i in range(1, 6)] + ["Practice trial 1 of 5 (attempt 2)"]
    assert len(shown) == 6 + 11 and shown[-1].startswith("Trial 11 of 11")
    path = downloaded(browser, "study_oracle_s-oracle.csv")
    table = read_responses(path)
    assert path.read_text().splitlines()[0] == ",".join(HEADER)
    assert len(table) == 17 and table["correct"].sum() == 16 and table["passed_checks"].all()
    first = pd.read_csv(path, dtype=str).iloc[0]
    assert first["demo_trials_details"] == "{'n_demo_trials_blocks': 2, 'n_unsolved': 0}"
    assert first["catch_trials_details"] == "{'ratio': 1.0, 'correctly_answered': [True, True, True, True, True]}"
    assert set(main_trials(table, path)["task_id"]) == {"study_natural-0"}
    rows = read_session(path)  # the checks as Python computes them from the same rows
    expected = check_values(check_session(rows, instruction_seconds(rows, path), FAST_CHECKS))
    assert {column: rows[column].iloc[0] for column in expected} == expected
    collected = study["collected"] / "s-oracle.csv"
    wait_for(browser, lambda d: collected.is_file())
    assert collected.read_bytes() == path.read_bytes()  # downloaded and POSTed: one session
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(name.startswith("file://") or name.startswith(study["url"]) for name in resources), resources
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    # a reload shows the end page again, not a new session
    browser.refresh()
    wait_for(browser, lambda d: screen(d) == "end")
    assert "completed this study" in browser.find_element("id", "end-page").text
    assert browser.find_element("id", "complete").get_attribute("href") == "https://example.org/done?cc=TEST"
    assert not browser.find_elements("css selector", ".afc")


def test_a_participant_who_always_picks_the_top_image_fails_the_checks(browser, study: dict) -> None:
    shown = take_part(browser, study, "top", 1, lambda header, src: (True, 2), instruction_seconds=0)["shown"]
    table = read_responses(downloaded(browser, "study_top_s-top.csv"))
    (payload,) = registered(study["site"] / "data" / "study.js")
    _, trials = registered(study["site"] / "data" / "assignment-1.js")
    practice_solved = [p["switched"] for p in payload["practice"]]
    assert len(shown) == 3 * practice_solved.count(False) + practice_solved.count(True) + 11  # 3 rounds
    first = table.iloc[0]
    catch_right = sum(t["switched"] for t in trials if t["kind"] == "catch")
    assert not first["passed_checks"] and not first["row_variability_result"]
    assert not first["demo_trials_result"] and not first["instruction_time_result"]
    assert first["catch_trials_result"] == (catch_right >= 4)
    assert first["row_variability_details"] == "{'n_upper_row': 11, 'n_lower_row': 0}"
    assert table["correct"].tolist() == [t["switched"] for t in _practice_order(payload) + trials]


def _practice_order(payload: dict) -> list[dict]:
    """The practice trials a participant who always answers the top image sees: every one, then
    the unsolved ones twice more."""
    practice = payload["practice"]
    unsolved = [p for p in practice if not p["switched"]]
    return practice + unsolved + unsolved


# ---- the workflow: site, simulated participants, Fig. 2C ----

GROUP_ACCURACY = {"easiest": 0.95, "random": 0.75, "hardest": 0.5}


def study_config(workdir: Path) -> Path:
    """The reduced config (two models, N = 3, K = 2) with a study: 3 units per group and model,
    4 responses each, 9 main, 5 catch and 3 practice trials per session."""
    config = yaml.safe_load(reduced_config(workdir).read_text())
    config["experiment"] = {
        "n_per_group": 3,
        "responses_per_unit": 4,
        "main_trials": 9,
        "practice_trials": 3,
        "responses_dir": str(workdir / "responses"),
        "n_bootstrap": 200,
    }
    path = workdir / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.workflow
def test_fig2c_from_simulated_participants(tmp_path: Path) -> None:
    """Build the site, let one simulated participant per trial list answer right with a probability
    that depends on the unit's group (and one always pick the top image, and one file arrive
    twice), then draw Fig. 2C from their session files."""
    config = study_config(tmp_path)
    (tmp_path / "responses").mkdir()
    result = run(tmp_path, config, "results/experiment/study")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "results" / "experiment" / "study" / "index.html").is_file()
    plan = pd.read_csv(tmp_path / "results" / "study" / "study" / "trials.csv")
    rng = np.random.default_rng(0)

    def simulated(trial: pd.Series) -> tuple[bool, int]:
        right = trial["kind"] == CATCH or rng.random() < GROUP_ACCURACY[trial["group"]]
        return bool(trial["switched"]) == right, 2

    n_lists = plan["assignment"].max() + 1
    for assignment in range(n_lists):
        rows = session_rows(plan, assignment, simulated, participant=f"p{assignment}", step_ms=10000)
        rows.to_csv(tmp_path / "responses" / f"p{assignment}.csv", index=False)
    shutil.copy(tmp_path / "responses" / "p0.csv", tmp_path / "responses" / "p0-downloaded.csv")
    session_rows(plan, 0, always_top, participant="top", step_ms=10000).to_csv(
        tmp_path / "responses" / "top.csv", index=False
    )
    result = run(tmp_path, config, "figures/fig2c.pdf")
    assert result.returncode == 0, result.stderr[-3000:]
    figure = tmp_path / "figures" / "fig2c.pdf"
    assert figure.read_bytes().startswith(b"%PDF") and figure.stat().st_size > 5000
    sessions = pd.read_csv(tmp_path / "results" / "study" / "study" / "sessions.csv")
    assert len(sessions) == n_lists + 1 and (sessions["table"] == "main").sum() == n_lists
    groups = pd.read_csv(tmp_path / "results" / "analysis" / "fig2c.csv").set_index(["model", "group"])
    assert set(groups.index.get_level_values("model")) == {"mobilenetv2_100", "resnet18-untrained", "all"}
    assert (groups["n_units"].drop("all") == 3).all() and (groups["n_trials"].drop("all") >= 12).all()
    pooled = groups.loc["all", "mean_his"]
    assert pooled["easiest"] > pooled["hardest"]
    assert (groups["ci_low"] <= groups["mean_his"]).all() and (groups["mean_his"] <= groups["ci_high"]).all()
    tests = pd.read_csv(tmp_path / "results" / "analysis" / "fig2c_tests.csv")
    assert set(tests["comparison"]) == {"easiest vs random", "hardest vs random", "easiest vs hardest", "MIS vs HIS"}
    assert tests["p_holm"].between(0, 1).all()
    # a session file added later re-runs the merge and what follows, nothing upstream
    shutil.copy(tmp_path / "responses" / "top.csv", tmp_path / "responses" / "top-again.csv")
    planned = {job.rule for job in plan_jobs(tmp_path, [config], ["figures/fig2c.pdf"]) if job.reason}
    assert planned == {"merge_experiment_responses", "score_experiment_responses", "analyze_fig2c", "plot_fig2c"}


@pytest.mark.workflow
def test_study_params_are_plain_and_every_input_is_made_by_a_rule(tmp_path: Path) -> None:
    """As tests/test_reruns.py and tests/test_figure_inputs.py ask of every rule, for the study's."""
    config = study_config(tmp_path)
    (tmp_path / "responses").mkdir()
    jobs = plan_jobs(tmp_path, [config], ["all"], forceall=True)
    rules = {job.rule for job in jobs}
    assert {"select_study_units", "assign_study_trials", "build_experiment", "plot_fig2c"} <= rules
    made = {path for job in jobs for path, _ in job.outputs}
    for job in jobs:
        assert set(job.inputs) <= made, f"rule {job.rule}: inputs no rule makes: {sorted(set(job.inputs) - made)}"
        names = [name for name, _ in job.params]
        assert all(is_plain(value) for _, value in job.params), job.rule
        assert job.recorded == len(names) - ("run" in names), f"rule {job.rule}: a param other than run is not recorded"


# ---- the α fit with the study's units (experiment.fit_alpha) ----


def test_study_margins_are_the_machines_view_of_the_trials_shown(tmp_path: Path) -> None:
    """Δ of each study unit (not the practice ones) over its first `tasks_per_unit` tasks, from the
    model's embeddings as compute_mis reads them, in the IMI margins layout."""
    images = write_fake_results(tmp_path / "results")
    files = [result_paths(tmp_path / "results", model) for model in MODELS]
    select_study_units([f["units"] for f in files], list(MODELS), DESIGN, None, tmp_path / "units.csv")
    similarity = SimilaritySettings.from_config({**TINY_SIMILARITY, "batch_size": 8})
    receipts = []
    for model, model_files in zip(MODELS, files, strict=True):
        receipts.append(tmp_path / f"{model}.npz")
        embed_images(
            model, similarity, images, tmp_path / "results" / "images" / "manifest.csv", model_files["tasks"],
            "cpu", 1, tmp_path / "store", receipts[-1], tmp_path / f"{model}.json",
        )  # fmt: skip
    table = compute_study_margins(
        tmp_path / "units.csv", list(MODELS), [f["units"] for f in files], [f["tasks"] for f in files], receipts,
        similarity, tmp_path / "store", images, None, "cpu", 1, tmp_path / "margins.parquet",
    )  # fmt: skip
    study = pd.read_csv(tmp_path / "units.csv").query("group != 'practice'")
    assert len(table) == len(study) and set(table["task"]) == {1} and set(table["batch"]) == {0}
    assert (table["condition"] == "natural").all()
    for model, model_files, receipt in zip(MODELS, files, receipts, strict=True):
        units = read_table(model_files["units"])
        image_rows, embeddings = task_embeddings(receipt, tmp_path / "store")
        margins = task_margins(embeddings, rows_of(read_tasks(model_files["tasks"]), image_rows, receipt))
        for row in table[table["model"] == model].itertuples():
            unit_row = units.index[(units["layer"] == row.layer) & (units["unit"] == row.channel)][0]
            assert row.margin == pytest.approx(margins[unit_row, 0], abs=1e-6)


def test_alpha_fit_pools_the_study_with_imi(tmp_path: Path) -> None:
    """IMI's units and the study's join one fit: the study's under the condition `study`, each
    unit's MIS from its own margins at the fitted α."""
    rng = np.random.default_rng(0)
    keys = pd.DataFrame({"model": "resnet50", "condition": "natural", "layer": "layer4_0_conv1", "channel": range(12)})
    study_keys = keys.assign(model="mobilenetv2_100", layer="blocks.1.0.conv_pw")

    def unit_tables(keys: pd.DataFrame, name: str, n_tasks: int) -> tuple[Path, Path]:
        margins = keys.loc[keys.index.repeat(n_tasks)].assign(
            task=np.tile(np.arange(1, n_tasks + 1), len(keys)),
            batch=0,
            margin=rng.normal(0.05, 0.1, len(keys) * n_tasks),
        )
        n_correct = rng.integers(10, 30, len(keys))
        his = keys.assign(his=n_correct / 30, n_correct=n_correct, n_trials=30, n_sessions=30, ci_low=0.0, ci_high=1.0)
        his.to_csv(tmp_path / f"{name}_his.csv", index=False)
        margins.to_parquet(tmp_path / f"{name}_margins.parquet")
        return tmp_path / f"{name}_his.csv", tmp_path / f"{name}_margins.parquet"

    imi, study = unit_tables(keys, "imi", 10), unit_tables(study_keys, "study", 3)
    settings = ValidationSettings(fit_fraction=0.5, n_bootstrap=50, n_simulations=50)
    outputs = [tmp_path / name for name in ("alpha.json", "units.csv", "models.csv")]
    pooled = fit_alpha(*imi, ["natural"], settings, *outputs, study=study)
    alone = fit_alpha(*imi, ["natural"], settings, *(tmp_path / f"imi-{p.name}" for p in outputs))
    units = pd.read_csv(outputs[1])
    assert pooled["conditions"] == ["natural", "study"] and len(units) == 24
    assert pooled["n_fit_units"] + pooled["n_held_out_units"] == 24 and alone["n_fit_units"] == 6
    mine = units[units["condition"] == "study"].sort_values("channel")
    margins = pd.read_parquet(study[1]).pivot(index="channel", columns="task", values="margin").to_numpy()
    np.testing.assert_allclose(mine["mis"], expit(pooled["alpha"] * margins).mean(axis=1), rtol=1e-12)
    assert (mine["n_tasks"] == 3).all() and pooled["alpha"] != alone["alpha"]


@pytest.mark.workflow
def test_alpha_fit_of_the_main_similarity_takes_the_study(tmp_path: Path) -> None:
    config = every_block(tmp_path)
    config["experiment"]["fit_alpha"] = True
    jobs = plan_jobs(tmp_path, [write(tmp_path, "pooled.yaml", config)], ["all"], forceall=True)
    fits = {dict(job.wildcards)["backend"]: job for job in jobs if job.rule == "fit_alpha"}
    main = config["similarity"]["name"]
    study = {"results/study/study/responses/main_his.csv", "results/study/study/margins.parquet"}
    assert study <= set(fits[main].inputs) and len(fits) == 2
    assert all(not study & set(job.inputs) for backend, job in fits.items() if backend != main)
    del config["imi"]
    result = run(tmp_path, write(tmp_path, "alone.yaml", config), "--dry-run")
    assert (
        result.returncode != 0
        and "config key 'experiment.fit_alpha' needs an `imi` block" in result.stdout + result.stderr
    )
