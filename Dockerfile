# The Certyn Run action image. The runner builds it from this file in "Set up job" of every job that uses
# the action, so it is kept small and quick to build: only the runtime dependencies, installed from
# hash-pinned wheels, no compilers, no caches, bytecode compiled at build time.
# Two stages (any builder, BuildKit or the legacy one): the wheels are installed in the first, and only the
# installed packages are copied into the second, so neither requirements.txt nor anything deleted after the
# install (pydantic's v1 compatibility package, never imported) is in a layer a runner pulls.
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

FROM python:3.12.13-slim-bookworm

LABEL org.opencontainers.image.title="certyn-run-action" \
      org.opencontainers.image.description="GitHub Action that runs a Certyn test suite and gates the job on it" \
      org.opencontainers.image.licenses="MIT"

# Dependencies first (their layer is reused while only the action's code changes).
COPY --from=dependencies /overlay/ /

COPY entrypoint.py /action/entrypoint.py
COPY certyn_action/ /action/certyn_action/
# The image never changes after the build: unchecked-hash bytecode skips the source check at start-up.
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash /action

ENV PYTHONUNBUFFERED=1

# Exec form: python is PID 1 and gets the runner's SIGINT/SIGTERM itself (the action handles both).
# -s: no user site-packages from HOME (/github/home is shared by the job's steps).
# No USER (the runner expects root) and no WORKDIR (the runner passes --workdir /github/workspace).
ENTRYPOINT ["/usr/local/bin/python", "-s", "/action/entrypoint.py"]
