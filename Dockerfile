# The prorata-align worker image. One image for every role; the command picks it:
#   prorata worker | prorata beat | prorata db upgrade | prorata plan ... | prorata align ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tzdata: the worker's "today" is the local date in $TZ, which must be WHMCS's time zone
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

# the project, installed as a package (not editable); the sources are not kept
COPY pyproject.toml README.md /usr/src/prorata/
COPY domain /usr/src/prorata/domain
COPY worker /usr/src/prorata/worker
COPY tasks /usr/src/prorata/tasks
RUN pip install /usr/src/prorata && rm -rf /usr/src/prorata

# an unprivileged user; its home holds beat's schedule file
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /var/lib/prorata \
        --shell /usr/sbin/nologin prorata
USER prorata
WORKDIR /var/lib/prorata

ENTRYPOINT ["prorata"]
CMD ["worker"]
