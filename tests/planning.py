"""What Snakemake plans for a config, read through its Python API without running a job: every job
of the DAG with its params, or the jobs a run would execute and why. The workflow tests use it to
check rerun triggers and each figure's inputs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings,
    DAGSettings,
    OutputSettings,
    Quietness,
    ResourceSettings,
)
from test_workflow import run

from conftest import REPO


@dataclass(frozen=True)
class PlannedJob:
    rule: str
    wildcards: tuple[tuple[str, str], ...]
    params: tuple[tuple[str, Any], ...]  # every param by name, as the job's script gets it
    recorded: int  # how many of them Snakemake records in .snakemake/metadata (its rerun triggers)
    reason: str  # why it would run; "" where it need not
    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, bool], ...]  # (path, is a directory)

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.rule, self.wildcards


def plan(
    workdir: Path, configfile: Path, targets: Iterable[str] = ("all",), forceall: bool = False
) -> list[PlannedJob]:
    """The jobs of the DAG for ``targets`` (each with the reason it would run, or "")."""
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=2),
            config_settings=ConfigSettings(configfiles=[Path(configfile)]),
            snakefile=REPO / "Snakefile",
            workdir=Path(workdir),
        )
        workflow_api.dag(DAGSettings(targets=set(targets), forceall=forceall))
        workflow = workflow_api._workflow  # the API plans a DAG only to run or print it
        workflow._prepare_dag(forceall=forceall, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        dag = workflow.dag
        needrun = set(dag.needrun_jobs())
        return [
            PlannedJob(
                job.rule.name,
                tuple(sorted(job.wildcards_dict.items())),
                tuple(job.params.items()),
                len(job.non_derived_params),
                str(dag.reason(job)) if job in needrun else "",
                tuple(map(str, job.input)),
                tuple((str(f), f.is_directory) for f in job.output),
            )
            for job in dag.jobs
            if job.rule.name != "all"
        ]


def needrun(workdir: Path, configfile: Path, targets: Iterable[str] = ("all",)) -> set[tuple]:
    """(rule, wildcards) of every job a run of ``targets`` would execute."""
    return {job.key for job in plan(workdir, configfile, targets) if job.reason}


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
    jobs = plan(workdir, configfile, targets, forceall=True)
    for job in jobs:
        for path, is_directory in job.outputs:
            target = Path(workdir) / path
            if is_directory:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
    result = run(workdir, configfile, "--touch", "--forceall", *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    return jobs
