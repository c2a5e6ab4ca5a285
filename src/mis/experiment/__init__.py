"""The paper's interventional study (Fig. 2C) as a browser experiment built from any run, its
responses in the IMI release's own layout, scored by the IMI code (config block ``experiment``).

The protocol is IMI's (Zimmermann, Klein & Brendel 2023, Sec. 3.1, App. A.1–A.3): a trial shows
two queries (the unit's strongly positively and strongly negatively activating image) between K
minimal references (left) and K maximal references (right); the participant picks the query that
fits the right examples and rates confidence on a 3-point scale, with green/red feedback; a session
is instructions, practice trials repeated until solved, then the main trials with catch trials
among them; five quality checks decide whether a session counts.

Modules: ``design`` (the study's units; trials assigned to participants), ``sessions`` (the
45-column session files, the quality checks, merging and scoring), ``site`` (the static jsPsych
site; imports torch for the stimuli), ``serve`` (a local collector of sessions). No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mis.settings import Params, run_field

# The groups of Fig. 2C: units chosen by MIS, and random non-constant units as the baseline.
GROUPS = ("easiest", "random", "hardest")
LISTED = "listed"  # units from the user's CSV without a group
PRACTICE = "practice"  # units of the practice trials, not scored
CATCH = "catch"  # the model, group and layer name of catch trials


@dataclass(frozen=True)
class DesignSettings(Params):
    """Which units the study shows, how many responses each gets and how sessions are cut."""

    n_per_group: int = 10  # per model: easiest, hardest and random units
    responses_per_unit: int = 30
    main_trials: int = 40  # per participant
    practice_trials: int = 5
    catch_trials: int = 5
    tasks_per_unit: int | None = None  # the first tasks of each unit shown; None: all N
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DesignSettings:
        block = config["experiment"]
        keys = ("n_per_group", "responses_per_unit", "main_trials", "practice_trials", "catch_trials")
        return cls(**{key: block[key] for key in keys}, tasks_per_unit=block["tasks_per_unit"], seed=study_seed(config))


@dataclass(frozen=True)
class CheckSettings(Params):
    """IMI's quality checks (App. A.3): a session counts only if it passes all five."""

    practice_attempts: int = 3  # rounds of practice trials within which every one must be solved
    min_instruction_seconds: float = 15.0
    min_catch_correct: int = 4
    min_total_seconds: float = 135.0
    max_total_seconds: float = 2500.0
    max_same_position: float = 0.9  # largest share of trials answered with the same query position

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CheckSettings:
        block = config["experiment"]
        return cls(practice_attempts=block["practice_attempts"], **block["checks"])


@dataclass(frozen=True)
class PageSettings(Params):
    """What the page shows and where its data goes."""

    study: str = "study"
    image_size: int = 160  # px, square JPEG stimuli
    participant_parameter: str = "PROLIFIC_PID"  # URL parameters the page reads
    study_parameter: str = "STUDY_ID"
    session_parameter: str = "SESSION_ID"
    assignment_parameter: str = "assignment"
    completion_url: str | None = None
    collector_url: str | None = None
    initial_wait_ms: int = 1500  # IMI's timings: answers accepted after, feedback after, feedback shown for
    feedback_delay_ms: int = 350
    feedback_ms: int = 1150
    seed: int = 0  # of the order of the references after the most extreme one
    num_workers: int = run_field(0)  # processes decoding images for the stimuli

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PageSettings:
        block = config["experiment"]
        parameters = {f"{name}_parameter": value for name, value in block["url_parameters"].items()}
        return cls(
            study=block["name"],
            image_size=block["image_size"],
            **parameters,
            completion_url=block.get("completion_url"),
            collector_url=block.get("collector_url"),
            **block["timing"],
            seed=study_seed(config),
        )


def study_seed(config: dict[str, Any]) -> int:
    """The study's seed: ``experiment.seed``, else the top-level seed."""
    return config["experiment"].get("seed", config["seed"])
