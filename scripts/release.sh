#!/usr/bin/env bash
# Create the release commit and tag of version X.Y.Z (the process: docs/releasing.md).
#
#   scripts/release.sh X.Y.Z
#
# Run by a maintainer on an up-to-date, clean main. Makes one commit OFF main (main is not touched)
# that changes action.yml's `image: Dockerfile` into `image: docker://<image>:X.Y.Z`, tags that
# commit vX.Y.Z (annotated) and prints the push command. Nothing is pushed.
# The image is ghcr.io/<owner>/<repository>, lower case, read from the remote's URL (the release
# workflow requires exactly that name); RELEASE_IMAGE overrides it, RELEASE_REMOTE the remote (default
# origin).
set -euo pipefail

die() {
  printf 'release: %s\n' "$*" >&2
  exit 1
}

if [[ $# -ne 1 ]]; then
  printf 'usage: scripts/release.sh X.Y.Z\n' >&2
  exit 2
fi
version="$1"
if [[ ! "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]]; then
  die "the version must be X.Y.Z (digits only, no leading v), not '$version'"
fi
tag="v$version"
remote="${RELEASE_REMOTE:-origin}"
branch="main"

cd "$(git rev-parse --show-toplevel)"

# ghcr.io/<owner>/<repository> from the remote's URL: https://host/owner/repo(.git),
# git@host:owner/repo(.git) or ssh://git@host/owner/repo(.git).
image_from_remote() {
  local url path owner repo
  url="$(git remote get-url "$remote" 2>/dev/null)" || return 1
  path="${url%/}"
  path="${path%.git}"
  path="${path##*:}" # scp-like form: what follows host:; URLs keep //host/owner/repo
  repo="${path##*/}"
  path="${path%/*}"
  owner="${path##*/}"
  [[ "$owner" =~ ^[A-Za-z0-9][A-Za-z0-9-]*$ && "$repo" =~ ^[A-Za-z0-9._-]+$ ]] || return 1
  printf 'ghcr.io/%s/%s\n' "${owner,,}" "${repo,,}"
}

if [[ -n "${RELEASE_IMAGE:-}" ]]; then
  image="$RELEASE_IMAGE"
elif ! image="$(image_from_remote)"; then
  die "cannot read <owner>/<repository> from the URL of remote '$remote'; set RELEASE_IMAGE=ghcr.io/<owner>/<repository>"
fi

# --- preconditions -------------------------------------------------------------------------------

if [[ "$(git symbolic-ref --quiet --short HEAD || true)" != "$branch" ]]; then
  die "check out $branch first"
fi
if ! git diff --quiet || ! git diff --cached --quiet; then
  die "the work tree has uncommitted changes: commit or stash them first"
fi
git fetch --quiet "$remote" "refs/heads/$branch"
if [[ "$(git rev-parse HEAD)" != "$(git rev-parse FETCH_HEAD)" ]]; then
  die "$branch is not the same as $remote/$branch: pull (or push) first"
fi
if git rev-parse --quiet --verify "refs/tags/$tag" >/dev/null; then
  die "tag $tag exists here already"
fi
if git ls-remote --exit-code --tags "$remote" "refs/tags/$tag" >/dev/null; then
  die "tag $tag exists on $remote already"
fi

runs_image_lines="$(grep -cE '^[[:space:]]*image:' action.yml || true)"
if [[ "$runs_image_lines" != 1 ]] || ! grep -qx '  image: Dockerfile' action.yml; then
  die "action.yml on $branch must have exactly one image: line, and it must be '  image: Dockerfile'"
fi

# --- the release commit, made in a throw-away worktree -------------------------------------------

base="$(git rev-parse HEAD)"
work="$(mktemp -d)"
cleanup() {
  git worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  rm -rf "$work"
  git worktree prune
}
trap cleanup EXIT

git worktree add --quiet --detach "$work/tree" "$base"
sed "s|^  image: Dockerfile\$|  image: docker://${image}:${version}|" "$work/tree/action.yml" >"$work/action.yml"
cat "$work/action.yml" >"$work/tree/action.yml"
git -C "$work/tree" commit --quiet \
  -m "Release $tag" \
  -m "action.yml runs the prebuilt image ${image}:${version} instead of building the Dockerfile. This commit is not on $branch: $branch keeps 'image: Dockerfile'." \
  -- action.yml
commit="$(git -C "$work/tree" rev-parse HEAD)"
git tag --annotate --message "$tag" "$tag" "$commit"

cat <<EOF

Release commit $commit (parent: $branch $base) is tagged $tag.
Its action.yml says:  image: docker://${image}:${version}

Review it:         git show $tag
Publish it:        git push $remote $tag
Undo (unpushed):   git tag -d $tag

Pushing the tag starts the Release workflow: image, GitHub release, and the v${version%%.*} tag.
EOF
