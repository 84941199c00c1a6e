"""/healthz: the process answers. /readyz: its database and Redis answer too, else 503."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from okto88.redis_connection import redis_client
from okto88.unavailable import retry_after_seconds

logger = logging.getLogger(__name__)


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_redis() -> str:
    redis_client().ping()
    return "ok"


@never_cache
def readyz(request):
    checks = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            checks[name] = check()
        except Exception as exc:
            logger.warning("readiness check failed", extra={"check": name, "error": str(exc)})
            checks[name] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    response = JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                            status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(retry_after_seconds())
    return response
