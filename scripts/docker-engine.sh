#!/usr/bin/env bash
# Make a Docker engine available for the container and act tests, or stop the one we started.
#
#   scripts/docker-engine.sh start    use a running engine, or install docker.io (when missing) and start dockerd
#   scripts/docker-engine.sh stop     stop the dockerd this script started (by PID); leave any other engine alone
#   scripts/docker-engine.sh status   exit 0 when an engine answers
#
# The daemon runs with --iptables=false --bridge=none: builds and containers use --network host only.
# State (PID file, daemon log) lives in $CERTYN_DOCKERD_DIR, default ${TMPDIR:-/tmp}/certyn-dockerd.
set -euo pipefail

state_dir="${CERTYN_DOCKERD_DIR:-${TMPDIR:-/tmp}/certyn-dockerd}"
pid_file="$state_dir/dockerd.pid"
log_file="$state_dir/dockerd.log"
ready_timeout="${CERTYN_DOCKERD_TIMEOUT:-60}"

log() { printf 'docker-engine: %s\n' "$*" >&2; }

engine_answers() {
  command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

our_pid() {
  # Prints the PID of the dockerd we started, when it is still alive.
  local pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    return 0
  fi
  if [[ "$(id -u)" != 0 ]]; then
    log "dockerd is not installed and we are not root: cannot install docker.io"
    return 1
  fi
  log "installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + ready_timeout))
  until engine_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "dockerd exited during start-up; last lines of $log_file:"
      tail -n 30 "$log_file" >&2 || true
      rm -f "$pid_file"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "dockerd did not answer within ${ready_timeout}s; last lines of $log_file:"
      tail -n 30 "$log_file" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

start() {
  local pid
  if [[ -n "${DOCKER_HOST:-}" ]]; then
    engine_answers && return 0
    log "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local daemon"
    return 1
  fi
  if pid="$(our_pid)"; then
    wait_ready "$pid"
    log "dockerd already started by this script (pid $pid)"
    return 0
  fi
  if engine_answers; then
    log "using the Docker engine that is already running (it will not be stopped)"
    return 0
  fi
  install_engine
  mkdir -p "$state_dir"
  log "starting dockerd (log: $log_file)"
  # setsid: the daemon outlives this script and is not hit by a Ctrl-C aimed at make or pytest.
  setsid dockerd --iptables=false --bridge=none >"$log_file" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$pid_file"
  wait_ready "$pid"
  log "dockerd ready (pid $pid)"
}

stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$pid_file"
    log "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "dockerd did not stop within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pid_file"
}

status() {
  local pid
  if engine_answers; then
    if pid="$(our_pid)"; then
      log "running (started by this script, pid $pid)"
    else
      log "running (not started by this script)"
    fi
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    printf 'usage: %s start|stop|status\n' "$0" >&2
    exit 2
    ;;
esac
