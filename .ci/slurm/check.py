"""Checks of CI's cluster test (.ci/slurm/test.sh), run while the cluster is still up:

    python .ci/slurm/check.py CLUSTER_WORKDIR LOCAL_WORKDIR MAX_THREADS

1. `snakemake --profile slurm` took the user's `slurm` profile and the workflow profile
   (profiles/default), as its output says;
2. every job of the cluster run went through SLURM (but the workflow's localrules): for each rule
   log of the local run (logs/<rule>[/<wildcards>].log), `squeue --states=all` lists exactly one job
   (none: not run by SLURM; more: retried) with the rule and wildcards in its comment, named after
   the run's SLURM run ID, COMPLETED;
3. each of these jobs got the workflow's size (`scontrol show job`): the CPUs, memory and time limit
   that its rule declares (CPUs from the config's `threads` block where the rule takes them from
   it, capped by the run's --max-threads), and no GPU (device: auto), though the user's profile
   names none of them;
4. the cluster run's outputs equal the local run's: units.parquet, models.csv, the tasks and every
   other table and array under results/ (content, not bytes: .npz archives hold timestamps); the
   embedding store as a store (the same embedding for each content key), since its shards are
   named by time, host and process;
5. `snakemake --report` built a self-contained HTML report of the local run.

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

from mis.embedding_cache import EmbeddingCache

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".ci" / "reduced" / "config.yaml"  # the config test.sh runs
# The sizes workflow/rules/*.smk declare (tests/test_profiles.py checks the same in a dry run):
# threads (a number, or the key of the config's `threads` block the rule reads), mem_mb and
# runtime in minutes on the first attempt. compute_mis takes 1 thread with an embedding backend.
WORKFLOW_SIZES = {
    "prepare_images": (1, 4000, 60),
    "extract_activations": ("inference", 16000, 480),
    "sample_tasks": (1, 4000, 60),
    "embed_images": ("inference", 16000, 240),
    "compute_mis": (1, 16000, 120),
}
SCHEMA_THREADS = {"inference": 8, "training": 2}  # workflow/schemas/config.schema.yaml's defaults
EMBEDDING_STORES = "results/embeddings/cache"


def config_threads(key: str | int) -> int:
    """A rule's threads as the config run by test.sh sets them."""
    if isinstance(key, int):
        return key
    return int((yaml.safe_load(CONFIG.read_text()).get("threads") or {}).get(key, SCHEMA_THREADS[key]))


def local_rules() -> set[str]:
    """The rules the workflow runs on the submitting node (the ``localrules:`` blocks of its rule
    files, each beside its rules)."""
    names = set()
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        for block in re.finditer(r"^[ \t]*localrules:\n((?:[ \t]+\w+,?\n?)+)", path.read_text(), re.MULTILINE):
            names.update(re.findall(r"\w+", block.group(1)))
    return names


def check_profiles(cluster: Path) -> str:
    output = cluster.with_suffix(".log").read_text()
    expected = "Using profiles slurm and workflow specific profile profiles/default"
    assert expected in output, f"{cluster}.log does not say: {expected}"
    return expected


def run_id(cluster: Path) -> str:
    main_logs = sorted((cluster / ".snakemake" / "log").glob("*.snakemake.log"))
    run_ids = re.findall(r"SLURM run ID: (\S+)", main_logs[-1].read_text())
    assert len(run_ids) == 1, f"no SLURM run ID in {main_logs[-1]}"
    return run_ids[0]


def slurm_jobs(cluster: Path, local: Path) -> dict[Path, str]:
    """The SLURM job id of each job of the local run that is no localrule, from squeue."""
    rows = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k"], check=True, capture_output=True, text=True
    ).stdout.split()
    jobs = [row.split("|") for row in rows]
    logs = sorted(p.relative_to(local / "logs").with_suffix("") for p in (local / "logs").rglob("*.log"))
    expected = [job for job in logs if job.parts[0] not in local_rules()]
    assert expected, "the local run wrote no logs of cluster rules"
    name = run_id(cluster)
    found = {}
    for job in expected:
        rule, wildcards = job.parts[0], "_".join(job.parts[1:])
        comment = f"rule_{rule}" + (f"_wildcards_{wildcards}" if wildcards else "")
        matches = [
            (job_id, state)
            for job_id, job_name, state, job_comment in jobs
            if (job_name, job_comment) == (name, comment)
        ]
        assert len(matches) == 1, (
            f"{job}: {len(matches)} SLURM jobs, expected 1 (none: not run by SLURM; more: retried)"
        )
        assert matches[0][1] == "COMPLETED", f"{job}: SLURM job {matches[0][0]} is {matches[0][1]}"
        found[job] = matches[0][0]
    return found


def check_jobs_ran_in_slurm(cluster: Path, local: Path) -> str:
    return f"{len(slurm_jobs(cluster, local))} jobs, each one COMPLETED SLURM job of run {run_id(cluster)}"


def minutes(limit: str) -> int:
    """A SLURM time limit, [D-]HH:MM:SS, in minutes."""
    days, _, clock = limit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return (int(days or 0) * 24 + hours) * 60 + mins


def check_job_sizes(cluster: Path, local: Path, max_threads: int) -> str:
    sizes = []
    for job, job_id in slurm_jobs(cluster, local).items():
        rule = job.parts[0]
        assert rule in WORKFLOW_SIZES, f"{job}: no expected size for rule {rule}"
        line = subprocess.run(
            ["scontrol", "show", "job", "--oneliner", job_id], check=True, capture_output=True, text=True
        ).stdout
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        threads, mem_mb, runtime = WORKFLOW_SIZES[rule]
        got = (int(fields["NumCPUs"]), fields["MinMemoryNode"], minutes(fields["TimeLimit"]))
        want = (min(config_threads(threads), max_threads), f"{mem_mb}M", runtime)
        assert got == want, f"{job}: SLURM job {job_id} has (CPUs, memory, minutes) {got}, the workflow asks {want}"
        assert "gpu" not in line, f"{job}: SLURM job {job_id} requests a GPU with device: auto"
        sizes.append(f"{rule} {want[0]} CPUs/{mem_mb} MB/{runtime} min")
    return "; ".join(sorted(set(sizes)))


def check_identical_outputs(cluster: Path, local: Path) -> str:
    required = ["results/mis/models.csv", "results/mis/*/units.parquet", "results/tasks/*.npz"]
    for pattern in required:
        assert list(local.glob(pattern)), f"the local run has no {pattern}"
    files = sorted(
        p.relative_to(local)
        for p in (local / "results").rglob("*")
        if p.suffix in {".csv", ".parquet", ".npz", ".npy"} and not p.is_relative_to(local / EMBEDDING_STORES)
    )
    stores = sorted(p.relative_to(local) for p in (local / EMBEDDING_STORES).iterdir() if p.is_dir())
    assert stores, f"the local run has no embedding store in {EMBEDDING_STORES}"
    for rel in stores:
        ours, theirs = EmbeddingCache(cluster / rel), EmbeddingCache(local / rel)
        keys = theirs.keys()
        assert keys and ours.keys() == keys, f"{rel}: other images embedded in the cluster run"
        np.testing.assert_array_equal(ours.get(keys), theirs.get(keys), err_msg=str(rel))
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
    return f"{len(files)} result files and {len(stores)} embedding stores identical ({', '.join(required)}, ...)"


def check_report(local: Path) -> str:
    report = local / "report.html"
    html = report.read_text()
    assert len(html) > 100_000, f"{report}: only {len(html)} characters"
    for expected in ("<html", "compute_mis", "models.csv"):
        assert expected in html, f"{report} does not mention {expected}"
    return f"{report.name}, {len(html) // 1000} kB"


def main() -> int:
    cluster, local = (Path(arg).resolve() for arg in sys.argv[1:3])
    max_threads = int(sys.argv[3])
    checks = [
        (
            "`snakemake --profile slurm` used the user's profile and the workflow profile",
            lambda: check_profiles(cluster),
        ),
        ("jobs ran through SLURM", lambda: check_jobs_ran_in_slurm(cluster, local)),
        ("jobs got the workflow's sizes", lambda: check_job_sizes(cluster, local, max_threads)),
        ("cluster outputs identical to local run", lambda: check_identical_outputs(cluster, local)),
        ("report built from the local run", lambda: check_report(local)),
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
