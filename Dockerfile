# muniarchive service image: the crawler (and the scheduler once it lands), archive on /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MUNIARCHIVE_CONFIG=/app/config.yaml \
    MUNIARCHIVE_DB=sqlite:////data/muniarchive.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY archive ./archive
COPY scheduler ./scheduler
COPY textnorm ./textnorm
RUN pip install --no-cache-dir . \
    && useradd --system --create-home --uid 10001 muniarchive \
    && mkdir -p /data \
    && chown muniarchive /data
COPY config.yaml ./

USER 10001
VOLUME ["/data"]
CMD ["muniarchive", "scheduler", "start"]
