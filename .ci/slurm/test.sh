#!/usr/bin/env bash
# CI's cluster test: the command cluster users type, `snakemake --profile slurm`, from the
# repository root, with HOME and XDG_CONFIG_HOME in a temporary folder whose only `slurm` profile is
# a minimal generic one (executor, jobs, job status for a cluster without accounting), as a user's or
# site's own. It runs the reduced config (.ci/reduced/config.yaml) on a real single-node SLURM
# cluster, so the jobs' sizes, retries and the rest can come only from the workflow (its rules and
# profiles/default). Meanwhile the same config runs locally, then `snakemake --report` is built from
# that run. check.py: every job ran as a SLURM job at the workflow's size, the outputs equal the
# local run's, the report is there. The target is results/mis/models.csv: every stage up to the
# per-unit MIS tables (9 jobs), not the figures, whose number grows with the paper. Needs root
# (apt-get, daemons) and the project's .venv (`make install`). Prints "N passed, M failed"; the exit
# code is what counts.
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
# A HOME with a minimal generic `slurm` profile and nothing else. squeue answers job status without
# accounting while finished jobs stay listed (MinJobAge = 600 s >= 3 x the first poll after 2 s).
USER_HOME="$WORK/home"
mkdir -p "$USER_HOME/.config/snakemake/slurm"
cat > "$USER_HOME/.config/snakemake/slurm/config.yaml" <<'PROFILE'
executor: slurm
jobs: 4
slurm-status-command: squeue
slurm-init-seconds-before-status-checks: 2
PROFILE
# --max-threads 2 in both runs: the node has 2 CPUs (the workflow asks up to 8 per job), and torch
# uses the same number of threads in both runs, so the outputs can be compared exactly. While it
# waits on SLURM jobs, snakemake ignores SIGTERM: hence `timeout -k` (SIGKILL 15 s later).
MAX_THREADS=2
run() {  # run <workdir> <snakemake options...>: from the repository root; output in <workdir>.log
  local dir=$1 start=$SECONDS; shift
  timeout -k 15 600 snakemake "$@" --directory "$dir" --max-threads "$MAX_THREADS" \
    results/mis/models.csv --configfile "$REPO/.ci/reduced/config.yaml" >"$dir.log" 2>&1 \
    || { tail -n 40 "$dir.log"; echo "snakemake failed in $dir (log: $dir.log)"; return 1; }
  echo "snakemake $* in $dir: done in $(( SECONDS - start )) s"
}
# The local reference run, then its report, go on in the background while the cluster run mostly
# waits for squeue.
{ run "$WORK/local" --cores 2 \
    && snakemake --directory "$WORK/local" --report "$WORK/local/report.html" \
      results/mis/models.csv --configfile "$REPO/.ci/reduced/config.yaml" >"$WORK/local-report.log" 2>&1; } &
local_run=$!
HOME="$USER_HOME" XDG_CONFIG_HOME="$USER_HOME/.config" run "$WORK/cluster" --profile slurm
wait "$local_run" || { tail -n 20 "$WORK/local-report.log"; echo "local run or report failed"; exit 1; }

python "$HERE/check.py" "$WORK/cluster" "$WORK/local" "$MAX_THREADS"
