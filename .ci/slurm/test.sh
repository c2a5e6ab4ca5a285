#!/usr/bin/env bash
# CI's cluster test: the reduced config (.ci/reduced/config.yaml) through a real single-node SLURM
# cluster with `--profile profiles/slurm`, then check.py: every job ran as a SLURM job, and the
# outputs equal those of a local run of the same config. The target is results/mis/models.csv:
# every stage up to the per-unit MIS tables (9 jobs), not the figures, whose number grows with the
# paper. Needs root (apt-get, daemons) and the project's .venv (`make install`). Prints
# "N passed, M failed"; the exit code is what counts.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "the cluster test needs root (apt-get, SLURM daemons)" >&2; exit 1; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/.ci/slurm"
BIN="$REPO/.venv/bin"
cd "$REPO"
export HF_HUB_OFFLINE=1                 # SLURM jobs inherit the environment (sbatch --export=ALL)
export PATH="$BIN:$PATH"

WORK="$(mktemp -d /tmp/mis-cluster-test.XXXXXX)"
# On exit, whatever happens: let a local run still going end (its timeout bounds it), then stop
# the daemons by PID.
trap 'wait; bash "$HERE/cluster-down.sh"' EXIT
bash "$HERE/cluster-up.sh"

# Two working directories; the config's relative paths (resources/, .ci/) resolve in them.
for run in cluster local; do
  mkdir "$WORK/$run"
  ln -s "$REPO/resources" "$REPO/.ci" "$WORK/$run/"
done
# --max-threads 1 in both runs: two one-CPU jobs side by side on the 2-CPU node, and torch uses
# the same number of threads in both runs, so the outputs can be compared exactly. While it waits
# on SLURM jobs, snakemake ignores SIGTERM: hence `timeout -k` (SIGKILL 15 s later).
run() {  # run <workdir> <snakemake options...>: output in <workdir>.log, shown if it fails
  local dir=$1 start=$SECONDS; shift
  timeout -k 15 480 snakemake --snakefile "$REPO/Snakefile" --directory "$dir" --max-threads 1 "$@" \
    results/mis/models.csv --configfile "$REPO/.ci/reduced/config.yaml" >"$dir.log" 2>&1 \
    || { tail -n 40 "$dir.log"; echo "snakemake failed in $dir (log: $dir.log)"; return 1; }
  echo "snakemake in $dir: done in $(( SECONDS - start )) s"
}
# The local reference run goes on in the background while the cluster run mostly waits for
# squeue. The cluster run checks job status after 2 s instead of the profile's 60 s (squeue is
# still used: MinJobAge = 600 s >= 3 x 2 s).
run "$WORK/local" --profile profiles/local --cores 2 &
local_run=$!
run "$WORK/cluster" --profile profiles/slurm --slurm-init-seconds-before-status-checks 2
wait "$local_run"

python "$HERE/check.py" "$WORK/cluster" "$WORK/local"
