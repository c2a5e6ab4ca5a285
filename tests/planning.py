"""Helpers of the workflow tests around mis.planning: the jobs a run would execute, what lies
downstream of a job, and a folder where a config ran, made in seconds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from test_workflow import run

from mis.planning import PlannedJob, plan


def needrun(workdir: Path, configfile: Path, targets: Iterable[str] = ("all",)) -> set[tuple]:
    """(rule, wildcards) of every job a run of ``targets`` would execute."""
    return {job.key for job in plan(workdir, [configfile], targets) if job.reason}


def downstream(jobs: list[PlannedJob], changed: set[tuple]) -> set[tuple]:
    """The jobs ``changed`` and every job that reads, directly or not, what they write."""
    producer = {path: job.key for job in jobs for path, _ in job.outputs}
    readers: dict[tuple, set[tuple]] = {}
    for job in jobs:
        for path in job.inputs:
            if path in producer:
                readers.setdefault(producer[path], set()).add(job.key)
    closure, todo = set(), list(changed)
    while todo:
        key = todo.pop()
        if key not in closure:
            closure.add(key)
            todo.extend(readers.get(key, ()))
    return closure


def pretend_finished(workdir: Path, configfile: Path, targets: Iterable[str] = ("all",)) -> list[PlannedJob]:
    """Every output of ``targets`` as an empty file (or folder), then ``snakemake --touch``, which
    records each job's metadata (params included) as a real run would: a folder where that config
    ran, in seconds."""
    jobs = plan(workdir, [configfile], targets, forceall=True)
    for job in jobs:
        for path, is_directory in job.outputs:
            target = Path(workdir) / path
            if is_directory:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
    result = run(workdir, configfile, "--touch", "--forceall", "--no-hooks", *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    return jobs
