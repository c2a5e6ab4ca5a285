#!/usr/bin/env bash
# Stop what cluster-up.sh started: cancel our jobs, then each daemon by its PID file
# (TERM, KILL after 10 s). Never by process name.
set -u
stop() {  # stop <name> <pid file>
  local name=$1 file=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "cluster-down: $name ($pid) killed"; fi
  fi
  rm -f "$file"
}
if command -v scancel >/dev/null && scontrol ping >/dev/null 2>&1; then
  scancel --user "$(id -un)" 2>/dev/null || true   # no slurmstepd left behind
  for _ in $(seq 50); do [ -z "$(squeue -h -t R,PD,CG 2>/dev/null)" ] && break; sleep 0.2; done
fi
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
echo "cluster-down: stopped"
