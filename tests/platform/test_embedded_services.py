"""The embedded PostgreSQL and Redis start from nothing in an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

SMOKE = """
import django, redis
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
with connection.cursor() as c:
    c.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    c.execute("SELECT similarity('kampas rem', 'kampas rum') > 0.3, current_setting('server_version_num')::int")
    trigram_ok, version = c.fetchone()
r = redis.Redis.from_url(settings.REDIS_URL)
r.set("smoke", "ok")
print("RESULT", trigram_ok, version >= 150000, r.get("smoke") == b"ok", settings.DATABASES["default"]["HOST"])
"""


def test_embedded_services_start_from_an_empty_folder(tmp_path):
    local_dir = tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(OKTO88_LOCAL_DIR=str(local_dir), DJANGO_SETTINGS_MODULE="okto88.settings")
    result = subprocess.run([sys.executable, "-c", SMOKE], env=env, cwd=settings.BASE_DIR,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(li for li in result.stdout.splitlines() if li.startswith("RESULT"))
    _, trigram_ok, modern, redis_ok, host = line.split(" ", 4)
    assert (trigram_ok, modern, redis_ok) == ("True", "True", "True")
    assert host == str(local_dir / "postgres") or host.startswith("/")
    assert (local_dir / "postgres" / "PG_VERSION").exists()
