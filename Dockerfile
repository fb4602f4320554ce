# digestbot's image: the bot and its `digestbot` command, run as a non-root
# user, keeping its data (search index, heartbeat) in the /data volume.
# docker-compose.yml builds it and runs it beside PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install . && rm -rf build ./*.egg-info
COPY seeds ./seeds

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin digestbot \
    && mkdir /data && chown digestbot:digestbot /data
USER digestbot

# The installed package has no seeds/ beside it: point at the copy above.
# INFO shows one line per feed ingested and per digest posted.
ENV DIGESTBOT_DATA_DIR=/data \
    DIGESTBOT_SEEDS_DIR=/app/seeds \
    DIGESTBOT_LOG_LEVEL=INFO
VOLUME /data
# Slack's request URLs, in HTTP mode only (Socket Mode and Discord connect out).
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=15s --start-period=2m --retries=3 \
    CMD ["digestbot", "health"]
CMD ["digestbot", "run"]
