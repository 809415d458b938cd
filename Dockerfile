# muniarchive service image: the scheduler under an init, the archive and crawl logs on /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MUNIARCHIVE_CONFIG=/app/config.yaml \
    MUNIARCHIVE_DB=sqlite:////data/muniarchive.db \
    MUNIARCHIVE_CACHE_DIR=/app/cache

# tini as PID 1: it forwards docker stop's SIGTERM to the scheduler and reaps the crawl
# processes the scheduler leaves behind (a crawl killed at its timeout, a child of a killed crawl)
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler ./crawler
COPY archive ./archive
COPY scheduler ./scheduler
COPY textnorm ./textnorm
# the project itself with its PostgreSQL driver and Scrapyd (the postgres and scrapyd extras): versions are pyproject.toml's;
# then the word tables name recognition reads (built from jieba's dictionary once, here, not by
# the first crawl)
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[postgres,scrapyd]" \
    && python -c "from crawler.extract.wordtags import frequency; frequency('规划')" \
    && useradd --system --create-home --uid 10001 muniarchive \
    && mkdir -p /data \
    && chown muniarchive /data
COPY config.yaml ./

USER 10001
VOLUME ["/data"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["muniarchive", "scheduler", "start"]
