#!/usr/bin/env bash
# Make the base image named by the Dockerfile's FROM available to the local Docker engine.
#
#   scripts/base-image.sh                      ensure the base image
#   scripts/base-image.sh --act-job-image TAG  also build TAG: a job image for nektos act on top of the base
#                                              (bash, python3, git), for tests/act/test_act.py
#
# 1. Present locally: nothing to do.
# 2. Else `docker pull` (works where a registry is reachable, e.g. GitHub-hosted runners).
# 3. Else build a local stand-in: debootstrap a minimal Debian bookworm (mirror taken from this machine's apt
#    configuration), import it, and add what the Dockerfile relies on from the official python image:
#    python and pip in /usr/local/bin, pip allowed to install system-wide, this machine's extra CA
#    certificates (PIP_CERT) and its pip index settings. Tagged with the exact FROM name, so the real
#    Dockerfile builds unchanged. The stand-in runs Debian's python3, not the FROM's Python version.
#
# Every docker build/run here uses --network host.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="${CERTYN_DOCKERFILE:-$root/Dockerfile}"
suite="bookworm"
rootfs_image="certyn-standin/debian:${suite}-minbase"
pull_timeout="${CERTYN_PULL_TIMEOUT:-120}"

log() { printf 'base-image: [%3ds] %s\n' "$SECONDS" "$*" >&2; }

tmp_dirs=()
cleanup() { ((${#tmp_dirs[@]} == 0)) || rm -rf "${tmp_dirs[@]}"; }
trap cleanup EXIT
new_tmp_dir() {
  # Sets $tmp_dir (not printed: a command substitution would lose the registration for cleanup).
  tmp_dir="$(mktemp -d)"
  tmp_dirs+=("$tmp_dir")
}

from_images() {
  # The image names of the Dockerfile's FROM lines (stage aliases and scratch excluded).
  awk '
    toupper($1) == "FROM" {
      i = 2
      while ($i ~ /^--/) i++
      image = $i
      if (image != "scratch" && !(tolower(image) in stages)) print image
      if (toupper($(i + 1)) == "AS") stages[tolower($(i + 2))] = 1
    }
  ' "$dockerfile" | awk '!seen[$0]++'
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

debian_mirror() {
  # The Debian mirror this machine's apt uses for the main suite (no host name is written into any file).
  local mirror
  # shellcheck disable=SC2016  # $(...) is apt's format syntax, not the shell's
  mirror="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
    awk '$2 !~ /-/ { print $1; exit }')"
  if [[ -z "$mirror" ]]; then
    # shellcheck disable=SC2016
    mirror="$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | grep -v -- '-security' | head -n 1)"
  fi
  if [[ -z "$mirror" ]]; then
    log "cannot read a Debian mirror from the apt configuration (run apt-get update?)"
    return 1
  fi
  printf '%s\n' "$mirror"
}

build_rootfs_image() {
  if have_image "$rootfs_image"; then
    log "reusing $rootfs_image"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local mirror dir
  mirror="$(debian_mirror)"
  new_tmp_dir
  dir="$tmp_dir"
  log "debootstrap --variant=minbase $suite (takes about half a minute)"
  debootstrap --variant=minbase "$suite" "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 || {
    tail -n 30 "$dir/debootstrap.log" >&2
    return 1
  }
  rm -rf "$dir/rootfs/var/cache/apt/archives/"*.deb "$dir/rootfs/var/lib/apt/lists/"*
  tar -C "$dir/rootfs" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "$rootfs_image" >/dev/null
  log "imported $rootfs_image"
}

pip_index_conf() {
  # This machine's pip index settings (http and https only; local file indexes mean nothing in an image).
  local key value
  local -A conf=()
  while IFS= read -r line; do
    key="${line%%=*}"
    value="${line#*=}"
    value="${value#\'}"
    value="${value%\'}"
    case "${key##*.}" in
      index-url | extra-index-url | trusted-host) conf["${key##*.}"]="$value" ;;
    esac
  done < <(python3 -m pip config list 2>/dev/null || true)
  [[ -n "${PIP_INDEX_URL:-}" ]] && conf[index-url]="$PIP_INDEX_URL"
  [[ -n "${PIP_EXTRA_INDEX_URL:-}" ]] && conf[extra-index-url]="$PIP_EXTRA_INDEX_URL"
  [[ -n "${PIP_TRUSTED_HOST:-}" ]] && conf[trusted-host]="$PIP_TRUSTED_HOST"
  printf '[global]\n'
  for key in index-url extra-index-url trusted-host; do
    [[ -n "${conf[$key]:-}" ]] || continue
    local kept=()
    for value in ${conf[$key]}; do
      if [[ "$key" == trusted-host || "$value" == http://* || "$value" == https://* ]]; then
        kept+=("$value")
      fi
    done
    ((${#kept[@]})) && printf '%s = %s\n' "$key" "${kept[*]}"
  done
  return 0
}

build_standin() {
  local name="$1" ctx
  build_rootfs_image
  new_tmp_dir
  ctx="$tmp_dir"
  mkdir -p "$ctx/ca"
  # The extra CA certificates update-ca-certificates reads (for a proxy that intercepts HTTPS).
  if [[ -d /usr/local/share/ca-certificates ]]; then
    find /usr/local/share/ca-certificates -type f -name '*.crt' -exec cp {} "$ctx/ca/" \;
  fi
  pip_index_conf >"$ctx/pip.conf"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $rootfs_image
COPY ca/ /usr/local/share/ca-certificates/
COPY pip.conf /etc/pip.conf
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates netbase tzdata python3 python3-pip \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && update-ca-certificates \\
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
 && ln -s /usr/bin/python3 /usr/local/bin/python \\
 && ln -s /usr/bin/python3 /usr/local/bin/python3 \\
 && ln -s /usr/bin/pip3 /usr/local/bin/pip \\
 && ln -s /usr/bin/pip3 /usr/local/bin/pip3
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8 \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
LABEL org.certyn.stand-in-for="$name"
CMD ["python3"]
DOCKERFILE
  log "building the stand-in for $name"
  docker build --network host --pull=false --force-rm -q -t "$name" "$ctx" >/dev/null
  log "built the local stand-in $name ($(docker run --rm --network host "$name" python --version 2>&1))"
}

ensure_base() {
  local name="$1"
  if have_image "$name"; then
    log "$name is present"
    return 0
  fi
  log "pulling $name"
  if timeout "$pull_timeout" docker pull -q "$name" >/dev/null 2>&1; then
    log "pulled $name"
    return 0
  fi
  log "cannot pull $name; making a local stand-in"
  build_standin "$name"
}

build_act_job_image() {
  local tag="$1" base="$2" ctx
  new_tmp_dir
  ctx="$tmp_dir"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
RUN apt-get update \\
 && apt-get install -y --no-install-recommends bash git ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && command -v python3
DOCKERFILE
  log "building the act job image $tag on $base"
  docker build --network host --pull=false --force-rm -q -t "$tag" "$ctx" >/dev/null
}

main() {
  local act_tag=""
  while (($#)); do
    case "$1" in
      --act-job-image)
        act_tag="${2:?--act-job-image needs a tag}"
        shift 2
        ;;
      *)
        printf 'usage: %s [--act-job-image TAG]\n' "$0" >&2
        exit 2
        ;;
    esac
  done
  local images=() name
  mapfile -t images < <(from_images)
  if ((${#images[@]} == 0)); then
    log "no FROM image found in $dockerfile"
    exit 1
  fi
  for name in "${images[@]}"; do
    ensure_base "$name"
  done
  if [[ -n "$act_tag" ]]; then
    if have_image "$act_tag"; then
      log "$act_tag is present"
    else
      build_act_job_image "$act_tag" "${images[-1]}"
    fi
  fi
}

main "$@"
