"""Shared timing harness of the benchmarks: a single run on a shared machine mostly measures its load.

Every benchmark pins torch's and the BLAS library's threads, warms each candidate up once, then runs baseline and
candidates interleaved (the order rotates every repeat, so drifting load hits all alike) and
reports, per candidate, the median and the spread (min–max) of CPU and wall seconds, the best run,
and the ratio to the baseline paired repeat by repeat (median and min–max of the paired ratios).

What a benchmark prints with ``note`` and ``report`` is also kept, and ``--out FILE`` writes it as a
markdown page with the machine, the revision and the command (benchmarks/results/, which the README
links). ``--smoke`` runs a benchmark on tiny inputs, one repeat, without warm-up: its numbers mean
nothing, it only shows that the script still runs (tests/test_benchmarks.py, in CI).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
_KEPT: list[str] = []  # the lines --out writes


def note(line: str = "") -> None:
    """Print a line of the results and keep it for ``--out``."""
    print(line)
    _KEPT.append(line)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="also write the results here (markdown, with machine and command)")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs, one repeat: does it still run?")


def machine() -> str:
    """The CPU, its core count, torch's version and kernel set, and the revision measured."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, text=True).stdout
    return (
        f"{model}, {os.cpu_count()} cores; torch {torch.__version__}, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}; revision {revision.strip()}{' + changes' if dirty else ''}"
    )


def write_results(path: Path | None, title: str) -> None:
    """The kept lines as a markdown page: what was measured, where, when and by which command."""
    if path is None:
        return
    command = shlex.join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    header = [
        f"# {title}",
        "",
        f"Written by `{command}` on {datetime.date.today()}: {machine()}.",
        "CPU seconds count this process and its children, all threads; medians [min–max] over interleaved repeats.",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header + _KEPT) + "\n")


def pin_threads(threads: int) -> None:
    """One fixed intra- and inter-op thread count (torch, and numpy's BLAS), so that runs compare like
    with like."""
    threadpool_limits(threads)
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already fixed once a parallel region ran
        pass


@dataclass
class Timings:
    """CPU (this process and its children, all threads, user + system) and wall seconds of each repeat."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def cpu_seconds() -> float:
    """User and system CPU seconds of this process (all threads) and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def spread(values: list[float]) -> str:
    """median [min–max]."""
    return f"{statistics.median(values):.3f} [{min(values):.3f}–{max(values):.3f}]"


def measure(candidates: dict[str, Callable[[], object]], repeats: int, warmup: bool = True) -> dict[str, Timings]:
    """Seconds of each candidate over ``repeats`` interleaved rounds (the first is the baseline)."""
    names = list(candidates)
    if warmup:
        for name in names:
            candidates[name]()
    timings = {name: Timings() for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = time.perf_counter(), cpu_seconds()
            candidates[name]()
            timings[name].cpu.append(cpu_seconds() - cpu)
            timings[name].wall.append(time.perf_counter() - wall)
    return timings


def report(
    title: str, timings: dict[str, Timings], items: int | dict[str, int], item: str = "image"
) -> dict[str, dict[str, float]]:
    """Print one table and return its medians: per candidate the CPU and wall seconds, the CPU cost
    per item (``items``: one count, or one per candidate where they do different amounts of work),
    and its ratio to the first candidate's, paired repeat by repeat (> 1: costs more)."""
    counts = items if isinstance(items, dict) else dict.fromkeys(timings, items)
    base_name, baseline = next(iter(timings.items()))
    heading = f"{title} ({len(baseline.cpu)} interleaved repeats; median [min–max]; {torch.get_num_threads()} threads)"
    print(heading)
    header = f"{'CPU ms/' + item:>14}"
    print(f"  {'candidate':<30} {'CPU s':>22} {'wall s':>22} {'best CPU s':>10} {header} {'cost ratio':>22}")
    _KEPT.extend(
        ["", f"### {heading}", "", f"| candidate | CPU s | wall s | best CPU s | CPU ms/{item} | cost ratio |"]
    )
    _KEPT.append("|---|---|---|---|---|---|")
    summary = {}
    for name, t in timings.items():
        ratios = [(c / counts[name]) / (b / counts[base_name]) for c, b in zip(t.cpu, baseline.cpu)]
        per_item = 1000 * statistics.median(t.cpu) / counts[name]
        cells = (spread(t.cpu), spread(t.wall), f"{min(t.cpu):.3f}", f"{per_item:.3f}", spread(ratios))
        print(f"  {name:<30} {cells[0]:>22} {cells[1]:>22} {cells[2]:>10} {cells[3]:>14} {cells[4]:>22}")
        _KEPT.append(f"| {name} | " + " | ".join(cells) + " |")
        summary[name] = {"cpu_s": statistics.median(t.cpu), "ms_per_item": per_item, "ratio": statistics.median(ratios)}
        summary[name] |= {"ratio_min": min(ratios), "ratio_max": max(ratios), "best_cpu_s": min(t.cpu)}
    _KEPT.append("")
    return summary
