# syntax=docker/dockerfile:1
# nbaprops API image. The final stage installs the built WHEEL (never a copy of the source tree), so
# the image holds exactly what the package ships: a module missing from the wheel fails the build's
# import check below, not the first request in production (LESSONS.md).
#
#   docker build -t nbaprops .
#   docker run -p 8000:8000 -v nbaprops-data:/data nbaprops
#
# The warehouse lives in /data (a volume); models default to /data/models beside it.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
RUN python -m pip install "hatchling>=1.25"
COPY pyproject.toml README.md CHANGELOG.md ./
COPY src ./src
RUN python -m pip wheel --no-deps --no-build-isolation -w /dist . \
 && ls -l /dist

# ---------------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    NBAPROPS_DB=/data/nbaprops.duckdb
# libgomp1: OpenMP runtime used by the gradient-boosting libraries' wheels
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /dist/ /tmp/dist/
# install the wheel with its dependencies, then prove every module of it imports (__main__ would
# run the CLI, so not that one) and the console script starts
RUN python -m pip install /tmp/dist/nbaprops-*.whl \
 && rm -rf /tmp/dist \
 && python -c "import importlib, pkgutil, nbaprops; [importlib.import_module(m.name) for m in pkgutil.walk_packages(nbaprops.__path__, 'nbaprops.') if not m.name.endswith('__main__')]" \
 && nbaprops --help > /dev/null
RUN groupadd --system --gid 10001 nbaprops \
 && useradd --system --uid 10001 --gid nbaprops --home-dir /home/nbaprops --create-home nbaprops \
 && mkdir -p /data \
 && chown nbaprops:nbaprops /data
USER nbaprops
WORKDIR /home/nbaprops
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').status==200 else 1)"
CMD ["nbaprops", "serve", "--host", "0.0.0.0", "--port", "8000"]
