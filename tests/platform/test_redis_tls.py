"""A `rediss://` REDIS_URL against a real Redis speaking TLS only (the machine's redis-server with a
certificate made here): the cache, the platform's client and Celery's broker connect and check
the server's certificate against REDIS_SSL_CA_CERTS; a certificate from another CA is refused."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from tests.platform.test_settings import PRODUCTION_ENV, run_python

REDIS_SERVER = shutil.which("redis-server")
PROBE = (
    "import django; django.setup(); from django.core.cache import cache; "
    "from okto88.redis_connection import redis_client; from okto88.celery import app; "
    "cache.set('tls-probe', 'ok', 30); assert cache.get('tls-probe') == 'ok'; "
    "assert redis_client().ping(); assert redis_client().connection_pool.connection_class.__name__ == 'SSLConnection'; "
    "conn = app.connection_for_write(); conn.ensure_connection(max_retries=1); "
    "assert conn.default_channel.client.ping(); conn.release(); print('tls ok')"
)


def openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "1", "-subj", f"/CN=okto88 test {name}", cwd=folder)


@pytest.fixture
def tls_redis(tmp_path):
    if REDIS_SERVER is None or shutil.which("openssl") is None:
        pytest.skip("redis-server or openssl is not installed")
    make_ca(tmp_path, "ca")
    make_ca(tmp_path, "other-ca")
    (tmp_path / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost", cwd=tmp_path)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "san.ext", cwd=tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", "server.pem", "--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.pem",
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        if server.poll() is not None:
            pytest.skip(f"this redis-server has no TLS: {server.stdout.read()[-300:]}")
        yield port, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_rediss_connects_the_cache_the_platform_client_and_the_broker(tls_redis):
    port, folder = tls_redis
    result = run_python(PROBE, {"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"],
                                "REDIS_URL": f"rediss://localhost:{port}/0",
                                "REDIS_SSL_CA_CERTS": str(folder / "ca.pem")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("tls ok")


def test_a_certificate_from_another_ca_is_refused(tls_redis):
    port, folder = tls_redis
    result = run_python(PROBE, {"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"],
                                "REDIS_URL": f"rediss://localhost:{port}/0",
                                "REDIS_SSL_CA_CERTS": str(folder / "other-ca.pem")})
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr
