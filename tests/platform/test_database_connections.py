"""Database connections are bounded under the servers the project starts, and a request that
gets none is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import connection
from django.test import Client, RequestFactory
from psycopg_pool import PoolTimeout

from okto88.management.commands.run_marketplace import web_server_argv
from okto88.unavailable import DatabaseUnavailableMiddleware, database_unavailable

PROBLEM = "application/problem+json"
WORKERS, THREADS, POOL_SIZE = 2, 6, 3  # more threads than connections: requests do wait for one
CLIENTS, SECONDS = 120, 4.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _test_database_url() -> str:
    """The test database, reached the way the settings reach the development one."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


def _server_connections(admin_url: str, application_name: str) -> int:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                            [application_name]).fetchone()[0]


@pytest.fixture
def marketplace_server(django_db_setup, tmp_path):
    """The web server `make run` starts (run_marketplace's command line), on the test database."""
    port, application_name = _free_port(), f"okto88-bound-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ, "DATABASE_URL": _test_database_url(), "REDIS_URL": settings.REDIS_URL,
        "DJANGO_ENV": "development", "PGAPPNAME": application_name, "LOG_LEVEL": "ERROR",
        "DATABASE_POOL_SIZE": str(POOL_SIZE), "DATABASE_POOL_TIMEOUT_SECONDS": "0.5",
        "GUNICORN_WORKERS": str(WORKERS), "GUNICORN_THREADS": str(THREADS),
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(web_server_argv(host="127.0.0.1", port=port), env=env, cwd=settings.BASE_DIR,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, application_name
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.django_db  # the session then creates the test database the server uses
def test_many_concurrent_clients_never_open_more_connections_than_the_pools_hold(marketplace_server):
    url, application_name = marketplace_server
    admin_url = _test_database_url()
    bound = WORKERS * POOL_SIZE
    stop_at = time.monotonic() + SECONDS
    statuses: list[tuple[int, str | None]] = []
    errors: list[str] = []
    peak = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        # Both read the database: readyz its SELECT 1, the login page the (unknown) session.
        path = ["/readyz", "/accounts/login/"][index % 2]
        cookies = {settings.SESSION_COOKIE_NAME: uuid.uuid4().hex}
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                try:
                    response = session.get(url + path, timeout=15, cookies=cookies, allow_redirects=False)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    statuses.append((response.status_code, response.headers.get("Retry-After")))

    def monitor() -> None:
        while time.monotonic() < stop_at + 1:
            peak[0] = max(peak[0], _server_connections(admin_url, application_name))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in [*threads, watcher]:
        thread.join(timeout=SECONDS + 20)
    assert not any(thread.is_alive() for thread in threads), "a client hung"


    assert not errors, errors[:5]
    assert peak[0] <= bound, f"{peak[0]} connections, the bound is {bound}"
    assert len(statuses) > CLIENTS
    codes = {code for code, _ in statuses}
    assert 200 in codes, codes
    failures = [(code, retry) for code, retry in statuses if code >= 500]
    assert all(code == 503 and retry for code, retry in failures), set(failures)


@pytest.mark.django_db
def test_a_kept_alive_connection_still_answers_after_the_client_paused(marketplace_server):
    """A client that waits a moment between two requests on one connection gets its answer: the
    server does not close a connection its client may be reusing (gunicorn's 2 s default dropped
    requests unanswered under load)."""
    url, _ = marketplace_server
    host, port = urlsplit(url).hostname, urlsplit(url).port
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        first.read()
        assert first.status == 200 and first.getheader("Connection", "").lower() != "close"
        time.sleep(3.5)
        conn.request("GET", "/healthz")
        second = conn.getresponse()  # RemoteDisconnected if the server closed the idle connection
        assert second.status == 200
    finally:
        conn.close()


def _pool_all_taken():
    """Check out every connection of this process's pool; the test's own one is already out."""
    pool = connection.pool
    held = []
    while True:
        try:
            held.append(pool.getconn(timeout=1))
        except PoolTimeout:
            return pool, held


def _in_another_thread(call):
    """Each thread has its own Django connection: this one must take it from the pool."""
    result = {}

    def run():
        try:
            result["response"] = call()
        finally:
            from django.db import connections

            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result["response"]


@pytest.mark.django_db
@pytest.mark.parametrize("language, detail_word", [("id", "sibuk"), ("en", "busy")])
def test_an_exhausted_pool_is_a_503_problem_with_retry_after_in_the_api(language, detail_word):
    pool, held = _pool_all_taken()
    timeout, pool.timeout = pool.timeout, 0.3
    try:
        client = Client(raise_request_exception=False)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = _in_another_thread(lambda: client.post(
            "/api/v1/payments/notifications/", data=b"{}", content_type="application/json"))
    finally:
        pool.timeout = timeout
        for conn in held:
            pool.putconn(conn)
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith(PROBLEM)
    assert int(response["Retry-After"]) == settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS
    body = response.json()
    assert body["code"] == "service_unavailable" and body["retry_after"] == int(response["Retry-After"])
    assert detail_word in body["detail"].lower()


@pytest.mark.django_db
def test_an_exhausted_pool_is_a_plain_503_page_in_the_browser():
    pool, held = _pool_all_taken()
    timeout, pool.timeout = pool.timeout, 0.3
    try:
        client = Client(raise_request_exception=False)
        response = _in_another_thread(lambda: client.post(
            "/accounts/login/", {"username": "someone@example.id", "password": "x"}))
    finally:
        pool.timeout = timeout
        for conn in held:
            pool.putconn(conn)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"]
    assert "sibuk" in response.content.decode()


def test_a_refused_connection_outside_a_view_is_a_503_too(settings):
    """A database error in a middleware never reaches process_exception; the signal marks it."""
    settings.DEBUG = True  # the debug page would otherwise answer: make run serves with DEBUG

    def inner(request):
        raise PoolTimeout("couldn't get a connection after 5.00 sec")

    handler = DatabaseUnavailableMiddleware(convert_exception_to_response(inner))
    response = handler(RequestFactory().get("/bengkel/parts/"))
    assert response.status_code == 503
    assert response["Retry-After"]


def test_too_many_clients_from_postgresql_counts_as_unavailable():
    refused = psycopg.OperationalError(
        'connection failed: FATAL:  sorry, too many clients already')
    from django.db import OperationalError

    try:
        try:
            raise refused
        except psycopg.OperationalError as exc:
            raise OperationalError(*exc.args) from exc
    except OperationalError as wrapped:
        assert database_unavailable(wrapped)
    assert not database_unavailable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert not database_unavailable(ValueError("too many clients"))
