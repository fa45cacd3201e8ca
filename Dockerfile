# The Certyn Run action image. The runner builds it from this file in "Set up job" of every job that uses
# the action and pulls it (release tags) before the step: it holds only what the action runs.
# Three stages (any builder, BuildKit or the legacy one): the hash-pinned wheels are installed in the first;
# the second finds what the action runs (scripts/image-files.py: the interpreter, the shared libraries it and
# the extension modules load, found with ldd; the standard-library packages the action imports; the installed
# dependencies with certifi's CA bundle) and compiles it; the last is that tree alone, on scratch: no shell,
# no package manager, no pip.
FROM python:3.12.13-slim-bookworm AS dependencies

COPY requirements.txt /tmp/requirements.txt
# Installed into /deps, then moved under /overlay at this interpreter's own site-packages path (so that the
# final stage copies /overlay onto / whatever that path is) and compiled there as if in place.
RUN pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: --no-compile \
        --disable-pip-version-check --root-user-action=ignore --target /deps -r /tmp/requirements.txt \
    && rm -rf /deps/bin /deps/pydantic/v1 \
    && site="$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
    && mkdir -p "/overlay$site" \
    && mv /deps/* "/overlay$site/" \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash -s /overlay -p / "/overlay$site"

# Only what the action runs is kept: the interpreter, the shared libraries it loads, the modules the action
# imports and the installed dependencies, found at build time by scripts/image-files.py. No shell, no package
# manager, no pip in the image a runner pulls.
FROM python:3.12.13-slim-bookworm AS collect

COPY --from=dependencies /overlay/ /
COPY entrypoint.py /action/entrypoint.py
COPY certyn_action/ /action/certyn_action/
COPY scripts/image-files.py /tmp/image-files.py
RUN python -s /tmp/image-files.py /rootfs /action \
    && cp -a /action /rootfs/action \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash -s /rootfs -p / /rootfs

FROM scratch

LABEL org.opencontainers.image.title="certyn-run-action" \
      org.opencontainers.image.description="GitHub Action that runs a Certyn test suite and gates the job on it" \
      org.opencontainers.image.licenses="MIT"

COPY --from=collect /rootfs/ /

ENV PYTHONUNBUFFERED=1

# Exec form: python is PID 1 and gets the runner's SIGINT/SIGTERM itself (the action handles both).
# -s: no user site-packages from HOME (/github/home is shared by the job's steps).
# No USER (the runner expects root) and no WORKDIR (the runner passes --workdir /github/workspace).
ENTRYPOINT ["/usr/local/bin/python", "-s", "/action/entrypoint.py"]
