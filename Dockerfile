# The bot in a container: `docker compose up -d` (see docker-compose.yml), or
#   docker build -t evolink-discord-assistant . && docker run -d --init --env-file .env \
#     -v bot-data:/app/data evolink-discord-assistant
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned requirements first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# A user without a login or a home, who owns only the database folder.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data \
    && chown bot:bot /app/data

COPY bot.py Procfile LICENSE ./
COPY assistant ./assistant
COPY cogs ./cogs
COPY storage ./storage

USER bot

# DATABASE_URL's default, sqlite:///data/bot.db, is /app/data/bot.db: keep it in a volume.
VOLUME ["/app/data"]

# With METRICS_ADDRESS set, /health says whether every shard is connected and the database
# answers; with it unset the probe passes (there is nothing to ask).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "assistant.observability.probe"]

# SIGTERM stops the bot gracefully: answers in flight get SHUTDOWN_GRACE_SECONDS (20 s by
# default) to finish, so allow more than that (`docker stop -t 30`, compose's stop_grace_period).
# Exec form: SIGTERM reaches python itself; run with --init (compose: init: true) so tini is PID 1
# and forwards it, even before the bot has installed its handlers.
STOPSIGNAL SIGTERM
CMD ["python", "bot.py"]
