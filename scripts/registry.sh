#!/usr/bin/env bash
# A local, throw-away image registry for the release rehearsal (Debian's docker-registry package).
#
#   scripts/registry.sh start     install docker-registry (when missing) and start it on a free 127.0.0.1 port;
#                                 prints the address (localhost:PORT) on stdout
#   scripts/registry.sh address   print the address of the registry this script started (exit 1 when none runs)
#   scripts/registry.sh stop      stop the registry this script started (by PID) and delete its storage
#
# Plain HTTP on loopback only: Docker treats localhost registries as insecure registries without any set-up.
# It ends by itself after $CERTYN_REGISTRY_LIFETIME seconds (default 1800).
# State (PID, port, config, log, storage) lives in $CERTYN_REGISTRY_DIR, default ${TMPDIR:-/tmp}/certyn-registry.
set -euo pipefail

state_dir="${CERTYN_REGISTRY_DIR:-${TMPDIR:-/tmp}/certyn-registry}"
pid_file="$state_dir/registry.pid"
port_file="$state_dir/registry.port"
log_file="$state_dir/registry.log"
ready_timeout="${CERTYN_REGISTRY_TIMEOUT:-30}"
lifetime="${CERTYN_REGISTRY_LIFETIME:-1800}" # seconds

log() { printf 'registry: %s\n' "$*" >&2; }

our_pid() {
  local pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    log "docker-registry is not installed and neither root nor sudo is available to install it"
    return 1
  fi
}

install_registry() {
  command -v docker-registry >/dev/null 2>&1 && return 0
  log "installing docker-registry"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  # The package enables a system-wide service on :5000; this script runs its own instance only.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
    as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1) as reply:
        sys.exit(0 if reply.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

start() {
  local pid port
  if pid="$(our_pid)"; then
    log "already started by this script (pid $pid)"
    printf 'localhost:%s\n' "$(<"$port_file")"
    return 0
  fi
  install_registry
  rm -rf "$state_dir"
  mkdir -p "$state_dir/storage"
  port="$(free_port)"
  cat >"$state_dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state_dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  # setsid: the registry is not hit by a Ctrl-C aimed at make; stop (or the rehearsal's trap) ends it.
  # timeout: even when whoever started it is killed before it can stop it, it ends after its lifetime.
  setsid timeout "$lifetime" docker-registry serve "$state_dir/config.yml" >"$log_file" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$pid_file"
  printf '%s\n' "$port" >"$port_file"
  local deadline=$((SECONDS + ready_timeout))
  until answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      log "the registry did not answer on 127.0.0.1:$port; last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      stop
      return 1
    fi
    sleep 0.2
  done
  log "ready on localhost:$port (pid $pid)"
  printf 'localhost:%s\n' "$port"
}

address() {
  our_pid >/dev/null || return 1
  printf 'localhost:%s\n' "$(<"$port_file")"
}

stop() {
  local pid
  if pid="$(our_pid)"; then
    log "stopping the registry (pid $pid)"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  else
    log "no registry started by this script is running"
  fi
  rm -rf "$state_dir"
}

case "${1:-}" in
  start) start ;;
  address) address ;;
  stop) stop ;;
  *)
    printf 'usage: %s start|address|stop\n' "$0" >&2
    exit 2
    ;;
esac
