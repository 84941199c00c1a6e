"""Settings load from the environment; the production profile passes check --deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x9!kq2#p0v@r7s$e4w%t6y^u8i&o1l*z3c(b5n)m-a=s+d_f?g.h,j<k>l;mq",
    "DATABASE_URL": "postgres://okto88:secret@db.internal:5432/okto88",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "okto88.id,www.okto88.id",
    "CSRF_TRUSTED_ORIGINS": "https://okto88.id,https://www.okto88.id",
}

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(json.dumps({'host': d['HOST'], 'name': d['NAME'], 'redis': s.REDIS_URL, 'debug': s.DEBUG, "
    "'broker': s.CELERY_BROKER_URL, 'secure': s.SESSION_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS, "
    "'hosts': s.ALLOWED_HOSTS, 'email_host': s.EMAIL_HOST}))"
)


def run_python(code: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE",
               "DATABASE_POOL_SIZE", "DATABASE_POOL_TIMEOUT_SECONDS"}
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        env={**base, "DJANGO_SETTINGS_MODULE": "okto88.settings", **env},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )


def test_settings_read_the_service_urls_from_the_environment():
    result = run_python(PRINT_SETTINGS, {
        "DATABASE_URL": "postgres://app:pw@db.example:6543/shop",
        "REDIS_URL": "redis://cache.example:6380/3",
        "EMAIL_HOST": "smtp.example",
        "DEBUG": "false",
    })
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["host"] == "db.example" and loaded["name"] == "shop"
    assert loaded["redis"] == "redis://cache.example:6380/3"
    assert loaded["broker"] == "redis://cache.example:6380/3"
    assert loaded["debug"] is False
    assert loaded["email_host"] == "smtp.example"


def test_settings_without_variables_start_embedded_services():
    result = run_python(PRINT_SETTINGS, {})
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["host"].startswith("/"), "the embedded PostgreSQL listens on a unix socket"
    assert loaded["name"] == "okto88"
    assert loaded["redis"].startswith("unix://")
    assert loaded["broker"].startswith("redis+socket://")
    assert loaded["debug"] is True


def test_a_malformed_boolean_is_refused_with_its_name():
    service_urls = {k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")}
    result = run_python(PRINT_SETTINGS, {"DEBUG": "maybe", **service_urls})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_production_refuses_to_start_without_its_variables():
    result = run_python(PRINT_SETTINGS, {"DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert "production needs these variables set" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_profile_passes_check_deploy_without_warnings():
    result = run_python("", PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_profile_is_secure():
    result = run_python(PRINT_SETTINGS, PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["debug"] is False
    assert loaded["secure"] is True
    assert loaded["hsts"] >= 31_536_000
    assert loaded["hosts"] == ["okto88.id", "www.okto88.id"]


POOL_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(json.dumps({'pool': d.get('OPTIONS', {}).get('pool'), 'max_age': d['CONN_MAX_AGE']}))"
)


def test_every_process_has_a_bounded_pool_by_default():
    service_urls = {k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")}
    result = run_python(POOL_SETTINGS, service_urls)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["pool"] == {"min_size": 1, "max_size": 4, "timeout": 5.0}
    assert loaded["max_age"] == 0  # Django refuses persistent connections with a pool

    sized = run_python(POOL_SETTINGS, {**service_urls, "DATABASE_POOL_SIZE": "2",
                                       "DATABASE_POOL_TIMEOUT_SECONDS": "1.5"})
    assert json.loads(sized.stdout.strip().splitlines()[-1])["pool"] == {"min_size": 1, "max_size": 2,
                                                                         "timeout": 1.5}
    without = run_python(POOL_SETTINGS, {**service_urls, "DATABASE_POOL_SIZE": "0"})
    assert json.loads(without.stdout.strip().splitlines()[-1])["pool"] is None


def test_a_negative_pool_size_is_refused_with_its_name():
    service_urls = {k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")}
    result = run_python(POOL_SETTINGS, {**service_urls, "DATABASE_POOL_SIZE": "-1"})
    assert result.returncode != 0
    assert "DATABASE_POOL_SIZE must be 0" in result.stderr
