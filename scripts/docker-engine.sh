#!/usr/bin/env bash
# Runs a Docker engine on this machine without systemd, for the end-to-end tests (tests/e2e).
#
#   scripts/docker-engine.sh up       install docker.io + debootstrap if missing, start dockerd, wait for it
#   scripts/docker-engine.sh down     stop the dockerd this script started (images and volumes are kept)
#   scripts/docker-engine.sh status   whether the engine answers, and where its log is
#
# Idempotent: `up` on a running engine does nothing, `down` on a stopped one does nothing. An engine that
# was already running before (started by something else) is used as it is and never stopped by `down`.
# dockerd's log and pid live in $SMARTMETER_DOCKER_STATE (default /tmp/smartmeter-docker).
set -euo pipefail

STATE=${SMARTMETER_DOCKER_STATE:-${TMPDIR:-/tmp}/smartmeter-docker}
LOG=$STATE/dockerd.log
PIDFILE=$STATE/dockerd.pid
READY_TIMEOUT=${READY_TIMEOUT:-60}

log() { printf '[docker-engine] %s\n' "$*" >&2; }
die() { printf '[docker-engine] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo

answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }
ours() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

install_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  ((${#need[@]})) || return 0
  local t0=$SECONDS
  log "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  log "installed in $((SECONDS - t0))s"
}

cmd_up() {
  install_packages
  if answers; then
    log "engine already answers: $(docker info --format 'server {{.ServerVersion}}, {{.Driver}}, cgroup v{{.CgroupVersion}}')"
    return
  fi
  mkdir -p "$STATE"
  local t0=$SECONDS
  log "starting dockerd (log: $LOG)"
  # Its own session so it outlives this script; dockerd starts its own containerd.
  $SUDO setsid nohup dockerd >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + READY_TIMEOUT))
  until answers; do
    ours || die "dockerd exited during start-up; see $LOG"
    ((SECONDS < deadline)) || die "dockerd does not answer after ${READY_TIMEOUT}s; see $LOG"
    sleep 1
  done
  log "engine up in $((SECONDS - t0))s: $(docker info --format 'server {{.ServerVersion}}, {{.Driver}}, cgroup v{{.CgroupVersion}}')"
}

cmd_down() {
  if ! ours; then
    rm -f "$PIDFILE"
    log "no dockerd started by this script is running"
    return
  fi
  local pid; pid=$(cat "$PIDFILE")
  log "stopping dockerd (pid $pid)"
  $SUDO kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 60s; see $LOG"
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  if answers; then
    echo "engine: up ($(docker info --format 'server {{.ServerVersion}}, swarm {{.Swarm.LocalNodeState}}'))"
  else
    echo "engine: down"
  fi
  if ours; then echo "dockerd: started by this script (pid $(cat "$PIDFILE")), log $LOG"; fi
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: $0 up | down | status" ;;
esac
