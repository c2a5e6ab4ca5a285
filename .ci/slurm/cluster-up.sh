#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (Debian 12, root, no systemd): munged,
# slurmctld and slurmd, without accounting. Installs the Debian packages if missing. Each daemon
# writes a PID file in /run; cluster-down.sh stops exactly those PIDs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "[cluster-up ${SECONDS}s] $*"; }
wait_for() {  # wait_for <seconds> <command...>: retry every 0.2 s
  local tries=$(( $1 * 5 )); shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "cluster-up: timed out waiting for: $*" >&2; return 1
}

# 1. packages (Debian 12: slurm-wlm 22.05.8, munge 0.5.15); their postinst cannot start services
#    here ("policy-rc.d denied execution"), which is fine: the daemons are started below
missing=""
for package in slurmctld slurmd slurm-client munge; do
  dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
  log "installing:$missing"
  apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if scontrol ping >/dev/null 2>&1; then
  echo "cluster-up: a SLURM controller is already running; stop it first (cluster-down.sh)" >&2
  exit 1
fi

# 2. slurm.conf for this node, and an empty job state (job ids start at 1)
host="$(hostname -s)"
read -r cpus mem < <(slurmd -C | head -1 | sed -E 's/.*CPUs=([0-9]+).*RealMemory=([0-9]+).*/\1 \2/')
mem=$(( mem > 2048 ? mem - 1024 : mem ))   # leave 1 GB to the system
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
sed -e "s/@HOST@/$host/g" -e "s/@CPUS@/$cpus/" -e "s/@MEM@/$mem/" "$HERE/slurm.conf.template" > /etc/slurm/slurm.conf
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
log "slurm.conf: node $host, $cpus CPUs, $mem MB"

# 3. munge (authentication), run as user munge
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --force && chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! { [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; }; then
  runuser -u munge -- /usr/sbin/munged      # daemonizes; /run/munge/munged.pid
fi
wait_for 10 sh -c 'munge -n | unmunge'

# 4. controller and node daemon (both daemonize and write their PID files)
/usr/sbin/slurmctld
wait_for 30 scontrol ping
/usr/sbin/slurmd -N "$host"
wait_for 60 sh -c 'sinfo -h -o %T | grep -qx idle'
log "cluster up: munged $(cat /run/munge/munged.pid), slurmctld $(cat /run/slurmctld.pid), slurmd $(cat /run/slurmd.pid)"
sinfo
