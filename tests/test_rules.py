"""The rule files have one shape: every rule logs to logs/<rule>…, calls the package function of its
own name (plot rules: ``mis.figures.<name>.plot``), wraps each figure in report() with a caption
that exists, and every seconds-long table or plot rule runs on the submitting node of a cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO
from test_envs import CODE_RULES, RULE_FILES, RULE_IDS, directive

# Rules that only read result tables (or a few images) and write a table or a figure.
TABLE_OR_PLOT = re.compile(r"^(plot|analyze|select|summarize|compare|find|fit)_")


def section(body: str, name: str) -> str:
    """The lines of one directive of a rule body (up to the next directive at its indentation)."""
    match = re.search(rf"^(\s*){name}:\s*\n((?:\1\s+.*\n|\s*\n)*)", body, re.MULTILINE)
    return match[2] if match else ""


def local_rules() -> set[str]:
    names = set()
    for path in RULE_FILES:
        for block in re.finditer(r"^\s*localrules:\s*\n((?:\s+\w+,\s*\n)+)", path.read_text(), re.MULTILINE):
            names.update(re.findall(r"(\w+),", block[1]))
    return names


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_rule_logs_under_its_name(rule: str, rule_file: Path, body: str) -> None:
    log = section(body, "log").strip()
    assert re.fullmatch(rf'paths\.log\("{rule}"(, [^)]+)?\),', log), (
        f"rule {rule}: log {log!r} is not paths.log({rule!r}, …)"
    )


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_rule_calls_the_function_of_its_name(rule: str, rule_file: Path, body: str) -> None:
    script = (rule_file.parent / directive(body, "script")).resolve()
    assert script.name == f"{rule}.py", f"rule {rule} runs {script.name}"
    called = "plot" if rule.startswith("plot_") else rule
    assert re.search(rf"^from mis\.[\w.]+ import (.*\b)?{called}\b", script.read_text(), re.MULTILINE), (
        f"{script.name} does not import a package function {called}()"
    )


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_figures_are_reported_with_a_caption(rule: str, rule_file: Path, body: str) -> None:
    output = section(body, "output")
    figures = re.findall(r"paths\.figure\(", output)
    reported = re.findall(r"report\(\s*paths\.figure\([^)]*\),\s*category=\"Figures\",\s*caption=\"([^\"]+)\"", output)
    assert len(reported) == len(figures), f"rule {rule}: a figure without report() and caption"
    for caption in reported:
        assert (rule_file.parent / caption).is_file(), f"rule {rule}: caption {caption} does not exist"


def test_table_and_plot_rules_run_on_the_submitting_node() -> None:
    """Except those that declare cluster resources (the convergence analysis re-scores every unit)."""
    heavy = {rule for rule, _, body in CODE_RULES if section(body, "resources")}
    expected = {rule for rule in RULE_IDS if TABLE_OR_PLOT.match(rule)} - heavy
    assert expected - local_rules() == set()
    assert local_rules() <= set(RULE_IDS)


def test_every_figure_of_the_paper_has_a_plot_rule() -> None:
    plots = {rule.removeprefix("plot_") for rule in RULE_IDS if rule.startswith("plot_")}
    assert {"fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "example_units", "convergence"} <= plots
    assert all((REPO / "src" / "mis" / "figures" / f"{name}.py").is_file() for name in plots - {"overestimated_units"})
