"""The split between the cluster (global profile) and the workflow (rules and profiles/default):
the rules carry their sizes and GPU requests, `python -m mis install-profile` installs the generic
profile without replacing one that is there, and `snakemake --profile slurm` works as typed from the
repository root. Dry runs only; the real cluster run is .ci/slurm/test.sh."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.workflow
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--dry-run"]
JOB = re.compile(r"^rule (\w+):\n(?:    .*\n)*?(?:    threads: (\d+)\n)?    resources: (.*)$", re.MULTILINE)


def dry_run(
    workdir: Path, *args: str, home: Path | None = None, configfile: Path = REPO / "config" / "config.yaml"
) -> subprocess.CompletedProcess:
    """Snakemake's dry run from the repository root, as users type it, of the embedded default (its
    outputs would go to workdir); --configfile last, since it takes a list."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")} if home else None
    return subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args, "--configfile", str(configfile)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def jobs(output: str) -> dict[str, tuple[int | None, dict[str, str]]]:
    """Each rule's threads (None where not printed) and resources, from a dry run's job list."""
    found = {}
    for rule, threads, resources in JOB.findall(output):
        found[rule] = (int(threads) if threads else None, dict(item.split("=", 1) for item in resources.split(", ")))
    return found


@pytest.mark.parametrize("device, gpus", [("cuda", "1"), ("auto", "0"), ("cpu", "0")])
def test_rules_carry_threads_memory_runtime_and_gpus(tmp_path: Path, device: str, gpus: str) -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["threads"] = {"inference": 6, "training": 3}  # threads come from the config block
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = dry_run(
        tmp_path, "--cores", "16", "all", "--config", f"device={device}", configfile=tmp_path / "config.yaml"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = jobs(result.stdout)
    expected = {  # rule: threads, mem_mb, runtime (minutes), gpu on the first attempt
        "extract_activations": (6, "16000", "480", gpus),
        "embed_images": (6, "16000", "240", gpus),
        "compute_mis": (None, "16000", "120", gpus),  # the Gram of cached embeddings: 1 thread
        "train_model": (3, "4000", "60", gpus),
        "sample_sae_vectors": (6, "16000", "480", gpus),
        "train_sae": (3, "8000", "120", gpus),
        "evaluate_saes": (6, "16000", "480", gpus),
        "analyze_convergence": (None, "16000", "60", None),
        "prepare_images": (None, "4000", "60", None),
    }
    for rule, (threads, mem_mb, runtime, gpu) in expected.items():
        got_threads, resources = found[rule]
        assert (got_threads, resources["mem_mb"], resources["runtime"], resources.get("gpu")) == (
            threads,
            mem_mb,
            runtime,
            gpu,
        ), rule


def test_install_profile_never_replaces_one_that_is_there(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config")}
    command = [sys.executable, "-m", "mis", "install-profile"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    installed = tmp_path / ".config" / "snakemake" / "slurm" / "config.yaml"
    assert first.returncode == 0 and "installed" in first.stdout, first.stderr
    assert installed.read_text() == (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    installed.write_text("executor: slurm\njobs: 3\n")  # now the user's own
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "kept" in second.stdout and str(installed) in second.stdout
    assert installed.read_text() == "executor: slurm\njobs: 3\n"


def test_profile_slurm_as_typed_takes_the_users_profile_and_the_workflow_profile(tmp_path: Path) -> None:
    home = tmp_path / "home"
    profile = home / ".config" / "snakemake" / "slurm" / "config.yaml"
    profile.parent.mkdir(parents=True)
    profile.write_text("executor: slurm\njobs: 2\ndefault-resources:\n  slurm_account: myproject\n")
    result = dry_run(tmp_path / "run", "--profile", "slurm", "results/mis/models.csv", home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using profiles slurm and workflow specific profile profiles/default" in result.stderr
    _, resources = jobs(result.stdout)["extract_activations"]
    assert (resources["mem_mb"], resources["runtime"], resources["slurm_account"]) == ("16000", "480", "myproject")
    without = dry_run(tmp_path / "run", "--profile", "slurm", "results/mis/models.csv", home=tmp_path / "empty")
    assert without.returncode != 0 and "no profile.yaml (or config.yaml) found" in without.stderr


def test_profile_by_path_still_works(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "--profile", "profiles/slurm", "results/mis/models.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Using profiles profiles/slurm and workflow specific profile profiles/default" in result.stderr
    assert "extract_activations" in jobs(result.stdout)
