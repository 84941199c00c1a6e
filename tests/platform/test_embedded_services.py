"""The embedded PostgreSQL and Redis start from nothing in an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest
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


@pytest.fixture
def empty_local_dir():
    # Under the checkout, not pytest's tmp_path: that is mode 0700, and as root the embedded
    # server runs as its own unprivileged user, which must be able to reach its data folder.
    path = settings.BASE_DIR / ".local" / f"test-embedded-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_embedded_services_start_from_an_empty_folder(empty_local_dir):
    local_dir = empty_local_dir
    assert not local_dir.exists()
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
