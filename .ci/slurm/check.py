"""Checks of CI's cluster test (.ci/slurm/test.sh), run while the cluster is still up:

    python .ci/slurm/check.py CLUSTER_WORKDIR LOCAL_WORKDIR

1. every job of the cluster run went through SLURM (but the workflow's localrules): each rule log of the local run
   (logs/<rule>[/<wildcards>].log) has a SLURM log .snakemake/slurm_logs/rule_<rule>[/<wildcards>]/<id>.log
   in the cluster run that shows the rule running inside the job, and `squeue --states=all` lists
   job <id> as COMPLETED, named after the run's SLURM run ID, with the rule in its comment;
2. the cluster run's outputs equal the local run's: units.parquet, models.csv, the tasks and every
   other table and array under results/ (content, not bytes: .npz archives hold timestamps);
3. profiles/slurm-gpu repeats the sizes of profiles/slurm and only adds GPUs.

Prints one line per check and "N passed, M failed"; exits 1 if a check failed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
GPU_KEYS = {"gpu", "gpu_model", "gres", "slurm_partition"}  # what profiles/slurm-gpu may add


def local_rules() -> set[str]:
    """The rules the workflow runs on the submitting node (its ``localrules:`` block)."""
    text = (REPO / "workflow" / "rules" / "common.smk").read_text()
    block = re.search(r"^localrules:\n((?:[ \t]+\w+,?\n?)+)", text, re.MULTILINE)
    return set(re.findall(r"\w+", block.group(1))) if block else set()


def check_jobs_ran_in_slurm(cluster: Path, local: Path) -> str:
    main_logs = sorted((cluster / ".snakemake" / "log").glob("*.snakemake.log"))
    run_ids = re.findall(r"SLURM run ID: (\S+)", main_logs[-1].read_text())
    assert len(run_ids) == 1, f"no SLURM run ID in {main_logs[-1]}"
    rows = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k"], check=True, capture_output=True, text=True
    ).stdout.split()
    jobs = {job_id: (name, state, comment) for job_id, name, state, comment in (row.split("|") for row in rows)}
    logs = sorted(p.relative_to(local / "logs").with_suffix("") for p in (local / "logs").rglob("*.log"))
    expected = [job for job in logs if job.parts[0] not in local_rules()]
    assert expected, "the local run wrote no logs of cluster rules"
    for job in expected:
        rule, wildcards = job.parts[0], "_".join(job.parts[1:])
        slurm_logs = list(
            (cluster / ".snakemake" / "slurm_logs" / f"rule_{rule}" / job.relative_to(rule)).glob("*.log")
        )
        assert len(slurm_logs) == 1, (
            f"{job}: {len(slurm_logs)} SLURM logs, expected 1 (none: not run by SLURM; more: retried)"
        )
        job_id = slurm_logs[0].stem
        assert f"localrule {rule}:" in slurm_logs[0].read_text(), (
            f"{job}: {slurm_logs[0]} does not show the rule running"
        )
        comment = f"rule_{rule}" + (f"_wildcards_{wildcards}" if wildcards else "")
        assert jobs.get(job_id) == (run_ids[0], "COMPLETED", comment), (
            f"{job}: squeue has {jobs.get(job_id)} for job {job_id}"
        )
    return f"{len(expected)} jobs, each a COMPLETED SLURM job of run {run_ids[0]}"


def check_identical_outputs(cluster: Path, local: Path) -> str:
    required = ["results/mis/models.csv", "results/mis/*/units.parquet", "results/tasks/*.npz"]
    for pattern in required:
        assert list(local.glob(pattern)), f"the local run has no {pattern}"
    files = sorted(
        p.relative_to(local) for p in (local / "results").rglob("*") if p.suffix in {".csv", ".parquet", ".npz", ".npy"}
    )
    for rel in files:
        ours, theirs = cluster / rel, local / rel
        assert ours.is_file(), f"{rel}: missing in the cluster run"
        if rel.suffix == ".parquet":
            pd.testing.assert_frame_equal(
                pd.read_parquet(ours), pd.read_parquet(theirs), check_exact=True, obj=str(rel)
            )
        elif rel.suffix == ".npz":
            with np.load(ours) as a, np.load(theirs) as b:
                assert sorted(a.files) == sorted(b.files), f"{rel}: arrays {a.files} != {b.files}"
                for name in a.files:
                    np.testing.assert_array_equal(a[name], b[name], err_msg=f"{rel}:{name}")
        elif rel.suffix == ".npy":
            np.testing.assert_array_equal(np.load(ours), np.load(theirs), err_msg=str(rel))
        else:
            assert ours.read_bytes() == theirs.read_bytes(), f"{rel}: differs"
    return f"{len(files)} result files identical ({', '.join(required)}, ...)"


def check_gpu_profile() -> str:
    cpu = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    gpu = yaml.safe_load((REPO / "profiles" / "slurm-gpu" / "config.yaml").read_text())
    assert set(gpu) == {"set-resources"}, f"profiles/slurm-gpu sets {sorted(gpu)}; only set-resources expected"
    stripped = {rule: {k: v for k, v in res.items() if k not in GPU_KEYS} for rule, res in gpu["set-resources"].items()}
    assert stripped == cpu["set-resources"], "profiles/slurm-gpu set-resources differ from profiles/slurm's beyond GPUs"
    with_gpu = sorted(rule for rule, res in gpu["set-resources"].items() if GPU_KEYS & set(res))
    return f"profiles/slurm-gpu = profiles/slurm + GPUs for {', '.join(with_gpu)}"


def main() -> int:
    cluster, local = (Path(arg).resolve() for arg in sys.argv[1:3])
    checks = [
        ("jobs ran through SLURM", lambda: check_jobs_ran_in_slurm(cluster, local)),
        ("cluster outputs identical to local run", lambda: check_identical_outputs(cluster, local)),
        ("GPU profile consistent", check_gpu_profile),
    ]
    failed = 0
    for name, check in checks:
        try:
            print(f"PASS {name}: {check()}")
        except Exception as error:  # noqa: BLE001 - report every check, then fail
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
