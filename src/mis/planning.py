"""What Snakemake would run for a config and targets, read through its Python API without running
a job: every job of the DAG with its params, and why each would run. ``python -m mis check-config``
lists the assets of the jobs a run would start (mis.assets); the tests check rerun triggers and
each figure's inputs with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


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
    workdir: str | Path,
    configfiles: Iterable[str | Path] = (),
    targets: Iterable[str] = ("all",),
    forceall: bool = False,
    snakefile: Path = REPO / "Snakefile",
) -> list[PlannedJob]:
    """The jobs of the DAG for ``targets`` in ``workdir`` (each with the reason it would run, or
    ""); no config file: the workflow's default."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(path).resolve() for path in configfiles]),
            snakefile=snakefile,
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
