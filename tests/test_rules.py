"""The rule files have one shape: every rule logs to logs/<rule>…, calls the stage function of its
own name (the plot rules, built from mis.figures.FIGURES: ``mis.figures.draw``), wraps each figure
in report() with a caption that exists, every seconds-long table or plot rule runs on the
submitting node of a cluster, and only common.smk reads the raw config (every other rule file reads
the settings objects it builds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mis.figures import FIGURES

from test_envs import CODE_RULES, RULE_FILES, RULE_IDS, directive

PLOT_RULE = "plot_{figure_name}"  # figures.smk defines it in a loop over the figures

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
    assert re.fullmatch(rf'paths\.log\(f?"{re.escape(rule)}"(, [^)]+)?\),', log), (
        f"rule {rule}: log {log!r} is not paths.log({rule!r}, …)"
    )


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_rule_calls_the_function_of_its_name(rule: str, rule_file: Path, body: str) -> None:
    script = (rule_file.parent / directive(body, "script")).resolve()
    plot = rule == PLOT_RULE
    assert script.name == ("plot_figure.py" if plot else f"{rule}.py"), f"rule {rule} runs {script.name}"
    called, module = ("draw", r"mis\.figures") if plot else (rule, r"mis\.stages\.\w+")
    assert re.search(rf"^from {module} import (.*\b)?{called}\b", script.read_text(), re.MULTILINE), (
        f"{script.name} does not import the package function {called}()"
    )


@pytest.mark.parametrize(("rule", "rule_file", "body"), CODE_RULES, ids=RULE_IDS)
def test_figures_are_reported_with_a_caption(rule: str, rule_file: Path, body: str) -> None:
    output = section(body, "output")
    figures = re.findall(r"paths\.figure\(", output)
    reported = re.findall(
        r"report\(\s*paths\.figure\([^)]*\),\s*category=\"Figures\",\s*caption=(f?)\"([^\"]+)\"", output
    )
    assert len(reported) == len(figures), f"rule {rule}: a figure without report() and caption"
    for is_pattern, caption in reported:
        names = FIGURES if is_pattern else [None]
        for name in names:
            path = rule_file.parent / caption.format(figure_name=name)
            assert path.is_file(), f"rule {rule}: caption {path.name} does not exist"


def test_table_and_plot_rules_run_on_the_submitting_node() -> None:
    """Except those that declare cluster resources (the convergence analysis re-scores every unit)."""
    heavy = {rule for rule, _, body in CODE_RULES if section(body, "resources")}
    marked = {rule for rule, _, body in CODE_RULES if re.search(r"^\s*localrule: True$", body, re.MULTILINE)}
    expected = {rule for rule in RULE_IDS if TABLE_OR_PLOT.match(rule)} - heavy
    assert expected - local_rules() - marked == set()
    assert local_rules() <= set(RULE_IDS) and PLOT_RULE in marked


def test_only_common_smk_reads_the_raw_config() -> None:
    """The other rule files read the settings objects of common.smk (mis.settings), so that a key is
    read, defaulted and typed in one place."""
    for path in RULE_FILES:
        if path.name != "common.smk":
            code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines())
            assert not re.search(r"\bconfig(\[|\.get\()", code), f"{path.name} reads config[...]"
