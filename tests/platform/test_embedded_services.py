"""The embedded PostgreSQL and Redis start from nothing in an empty folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
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
    with contextlib.suppress(OSError, ValueError):  # a failed test may leave its server running
        os.kill(_postmaster_pid(path), signal.SIGINT)
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


USER = """
import sys, time, django
django.setup()
from django.conf import settings
from django.db import connection
connection.ensure_connection()
connection.close()
print("READY", settings.REDIS_URL, flush=True)
if sys.argv[1] == "stay":
    time.sleep(600)
"""


def _postmaster_pid(local_dir) -> int:
    return int((local_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A stopped child of no one of ours is reaped by init; a zombie still answers kill(0).
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def test_embedded_services_stop_after_the_last_user_even_when_another_was_killed(empty_local_dir):
    """`make run` stopped with Ctrl-C left both servers running: a process on their list of users
    had been killed (SIGTERM, no atexit), so the last one to exit never saw itself as last."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(OKTO88_LOCAL_DIR=str(empty_local_dir), DJANGO_SETTINGS_MODULE="okto88.settings")
    killed = subprocess.Popen([sys.executable, "-c", USER, "stay"], env=env, cwd=settings.BASE_DIR,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = killed.stdout.readline()
        assert ready.startswith("READY"), ready
        postmaster = _postmaster_pid(empty_local_dir)
        redis_socket = ready.split()[1][len("unix://"):].partition("?")[0]
    finally:
        killed.kill()
        killed.wait()
    assert _running(postmaster)
    last = subprocess.run([sys.executable, "-c", USER, "leave"], env=env, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr[-3000:]
    deadline = time.monotonic() + 30
    while _running(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(postmaster)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(unix_socket_path=redis_socket).ping()
