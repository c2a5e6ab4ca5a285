"""The paper's interventional study (Fig. 2C) as a browser experiment built from any run, its
responses in the IMI release's own layout, scored by the IMI code (config block ``experiment``).

The protocol is IMI's (Zimmermann, Klein & Brendel 2023, Sec. 3.1, App. A.1–A.3): a trial shows
two queries (the unit's strongly positively and strongly negatively activating image) between K
minimal references (left) and K maximal references (right); the participant picks the query that
fits the right examples and rates confidence on a 3-point scale, with green/red feedback; a session
is instructions, practice trials repeated until solved, then the main trials with catch trials
among them; five quality checks decide whether a session counts.

Modules: ``design`` (the study's units; trials assigned to participants), ``sessions`` (the
45-column session files, the quality checks, merging), ``site`` (the static jsPsych site),
``serve`` (a local collector of sessions), ``files`` (the session files a run depends on); its settings are
``mis.settings.ExperimentSettings`` and its stages ``mis.stages.experiment``. No torch here.
"""

from __future__ import annotations

from collections.abc import Iterable

# The groups of Fig. 2C: units chosen by MIS, and random non-constant units as the baseline.
GROUPS = ("easiest", "random", "hardest")
LISTED = "listed"  # units from the user's CSV without a group
PRACTICE = "practice"  # units of the practice trials, not scored
CATCH = "catch"  # the model, group and layer name of catch trials
ALL = "all"  # the model of Fig. 2C's rows pooled over models


def group_order(groups: Iterable[str]) -> list[str]:
    """Fig. 2C's groups in order, then any others (a user's unit list may name its own)."""
    present = set(groups)
    return [g for g in GROUPS if g in present] + sorted(present - set(GROUPS))
