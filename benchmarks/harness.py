"""Shared timing harness of the benchmarks: a single run on a shared machine mostly measures its load.

Every benchmark pins torch's and the BLAS library's threads, warms each candidate up once, then runs baseline and
candidates interleaved (the order rotates every repeat, so drifting load hits all alike) and
reports, per candidate, the median and the spread (min–max) of CPU and wall seconds, the best run,
and the ratio to the baseline paired repeat by repeat (median and min–max of the paired ratios).
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from threadpoolctl import threadpool_limits


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
    print(f"{title} ({len(baseline.cpu)} interleaved repeats; median [min–max]; {torch.get_num_threads()} threads)")
    header = f"{'CPU ms/' + item:>14}"
    print(f"  {'candidate':<30} {'CPU s':>22} {'wall s':>22} {'best CPU s':>10} {header} {'cost ratio':>22}")
    summary = {}
    for name, t in timings.items():
        ratios = [(c / counts[name]) / (b / counts[base_name]) for c, b in zip(t.cpu, baseline.cpu)]
        per_item = 1000 * statistics.median(t.cpu) / counts[name]
        print(
            f"  {name:<30} {spread(t.cpu):>22} {spread(t.wall):>22} {min(t.cpu):>10.3f} "
            f"{per_item:>14.3f} {spread(ratios):>22}"
        )
        summary[name] = {"cpu_s": statistics.median(t.cpu), "ms_per_item": per_item, "ratio": statistics.median(ratios)}
        summary[name] |= {"ratio_min": min(ratios), "ratio_max": max(ratios), "best_cpu_s": min(t.cpu)}
    return summary
