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
    "SITE_URL": "https://okto88.id",
    "PAYMENT_GATEWAY_URL": "https://api.gateway.example",
    "COURIER_URL": "https://api.courier.example",
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
               "DATABASE_POOL_SIZE", "DATABASE_POOL_TIMEOUT_SECONDS", "SITE_URL", "PAYMENT_GATEWAY_URL",
               "COURIER_URL", "PAYMENT_NOTIFICATION_URL", "COURIER_NOTIFICATION_URL", "WEBHOOK_REQUIRE_HTTPS",
               "WEBHOOK_ALLOW_PRIVATE_URLS", "METRICS_TOKEN", "METRICS_ALLOWED_NETWORKS"}
    base = {k: v for k, v in os.environ.items()
            if k not in dropped and not k.startswith(("DATABASE_SSL", "REDIS_SSL"))}
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


# --- Transport and exposure (docs/security.md) ---------------------------------------------

def check_deploy(env: dict) -> subprocess.CompletedProcess:
    return run_python("", env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")


def test_production_check_deploy_fails_on_a_plain_http_partner_url():
    result = check_deploy({**PRODUCTION_ENV, "COURIER_URL": "http://api.courier.example"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "okto88.E001" in output and "COURIER_URL is 'http://api.courier.example'" in output
    assert "PAYMENT_GATEWAY_URL" not in output  # only the plain-http one is named

    callback = check_deploy({**PRODUCTION_ENV, "PAYMENT_NOTIFICATION_URL": "http://okto88.id/api/v1/payments/x/"})
    assert callback.returncode != 0 and "PAYMENT_NOTIFICATION_URL" in callback.stdout + callback.stderr


def test_production_refuses_a_plain_http_partner_url_without_deploy_too():
    # The compose stack runs migrate before anything else starts: it stops there.
    for command in (("check",), ("migrate", "--check")):
        result = run_python("", {**PRODUCTION_ENV, "PAYMENT_GATEWAY_URL": "http://gateway.example"},
                            "manage.py", *command)
        assert result.returncode != 0, command
        assert "okto88.E001" in result.stdout + result.stderr, command


def test_production_check_deploy_fails_when_the_webhook_guards_are_switched_off():
    result = check_deploy({**PRODUCTION_ENV, "WEBHOOK_REQUIRE_HTTPS": "false", "WEBHOOK_ALLOW_PRIVATE_URLS": "true"})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "okto88.W002" in output and "okto88.W003" in output


def test_production_check_deploy_fails_on_a_short_metrics_token():
    result = check_deploy({**PRODUCTION_ENV, "METRICS_TOKEN": "short"})
    assert result.returncode != 0 and "okto88.W004" in result.stdout + result.stderr
    assert check_deploy({**PRODUCTION_ENV, "METRICS_TOKEN": "k" * 40}).returncode == 0


def test_development_keeps_its_plain_http_fake_partners_without_a_complaint():
    result = run_python("", {}, "manage.py", "check")
    assert result.returncode == 0, result.stdout + result.stderr


TLS_SETTINGS = (
    "import json, ssl, django; django.setup(); from django.conf import settings as s; "
    "o = s.DATABASES['default'].get('OPTIONS', {}); "
    "print(json.dumps({'db': {k: v for k, v in o.items() if k.startswith('ssl')}, "
    "'cache': {k: int(v) if k == 'ssl_cert_reqs' else v for k, v in s.CACHES['default']['OPTIONS'].items()}, "
    "'broker_ssl': s.CELERY_BROKER_USE_SSL and {k: int(v) if k == 'ssl_cert_reqs' else v "
    "for k, v in s.CELERY_BROKER_USE_SSL.items()}, 'broker': s.CELERY_BROKER_URL}))"
)


def tls_settings(env: dict) -> dict:
    result = run_python(TLS_SETTINGS, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_tls_options_come_from_the_url_or_the_environment():
    from_url = tls_settings({"DATABASE_URL": "postgres://app:pw@db.example:5432/shop?sslmode=verify-full"
                                             "&sslrootcert=/etc/okto88/db-ca.pem",
                             "REDIS_URL": PRODUCTION_ENV["REDIS_URL"]})
    assert from_url["db"] == {"sslmode": "verify-full", "sslrootcert": "/etc/okto88/db-ca.pem"}

    from_env = tls_settings({
        "DATABASE_URL": "postgres://app:pw@db.example:5432/shop?sslmode=prefer",
        "REDIS_URL": PRODUCTION_ENV["REDIS_URL"],
        "DATABASE_SSLMODE": "require", "DATABASE_SSLCERT": "/c.pem", "DATABASE_SSLKEY": "/k.pem"})
    assert from_env["db"] == {"sslmode": "require", "sslcert": "/c.pem", "sslkey": "/k.pem"}  # the variable wins

    plain = tls_settings({k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")})
    assert plain["db"] == {}  # libpq's own default (prefer)


def test_a_misspelt_sslmode_is_refused_with_its_name():
    result = run_python(TLS_SETTINGS, {"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"],
                                       "REDIS_URL": PRODUCTION_ENV["REDIS_URL"], "DATABASE_SSLMODE": "verify_full"})
    assert result.returncode != 0 and "DATABASE_SSLMODE must be one of" in result.stderr


def test_the_embedded_postgresql_ignores_a_required_sslmode():
    """libpq does not use TLS on a unix socket: `sslmode=require` in the environment still connects."""
    result = run_python(
        "import django; django.setup(); from django.db import connection; "
        "print(connection.settings_dict['OPTIONS']['sslmode'], connection.cursor().connection.info.host)",
        {"DATABASE_SSLMODE": "require"})
    assert result.returncode == 0, result.stderr
    sslmode, host = result.stdout.split()[-2:]
    assert sslmode == "require" and host.startswith("/")


def test_rediss_urls_get_certificate_checks_for_the_cache_and_the_broker():
    import ssl

    loaded = tls_settings({"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"], "REDIS_URL": "rediss://cache.example:6380/0",
                           "REDIS_SSL_CA_CERTS": "/etc/okto88/redis-ca.pem"})
    expected = {"ssl_cert_reqs": int(ssl.CERT_REQUIRED), "ssl_ca_certs": "/etc/okto88/redis-ca.pem"}
    assert loaded["cache"] == expected and loaded["broker_ssl"] == expected
    assert loaded["broker"] == "rediss://cache.example:6380/0"

    relaxed = tls_settings({"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"], "REDIS_URL": "rediss://cache.example/0",
                            "REDIS_SSL_CERT_REQS": "none"})
    assert relaxed["cache"] == {"ssl_cert_reqs": int(ssl.CERT_NONE)}

    plain = tls_settings({k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")})
    assert plain["cache"] == {} and plain["broker_ssl"] is None  # redis:// takes no TLS options


def test_a_rediss_broker_url_is_accepted_by_celery_and_redis_py():
    """Celery's app carries the broker's TLS options; redis-py builds TLS connections from the URL."""
    result = run_python(
        "import django; django.setup(); from okto88.celery import app; "
        "from okto88.redis_connection import redis_client; "
        "print(int(app.conf.broker_use_ssl['ssl_cert_reqs']), "
        "redis_client().connection_pool.connection_class.__name__)",
        {"DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"], "REDIS_URL": "rediss://cache.example:6380/0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["2", "SSLConnection"]  # 2: ssl.CERT_REQUIRED


def test_bad_tls_and_metrics_values_are_refused_with_their_names():
    service_urls = {k: PRODUCTION_ENV[k] for k in ("DATABASE_URL", "REDIS_URL")}
    reqs = run_python(TLS_SETTINGS, {**service_urls, "REDIS_SSL_CERT_REQS": "maybe"})
    assert reqs.returncode != 0 and "REDIS_SSL_CERT_REQS must be" in reqs.stderr
    networks = run_python(TLS_SETTINGS, {**service_urls, "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"})
    assert networks.returncode != 0 and "METRICS_ALLOWED_NETWORKS: 'intranet'" in networks.stderr
