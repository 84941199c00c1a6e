"""docker-compose.yml describes the production shape and parses with the compose CLI; the
Prometheus rules and the Grafana dashboard in deploy/ use only metrics the app exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from django.conf import settings

COMPOSE_FILE = settings.BASE_DIR / "docker-compose.yml"


def compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_has_the_production_services_built_from_the_dockerfile():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DJANGO_ENV"] == "production"
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "okto88", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "okto88", "beat"]
    assert "noeviction" in services["redis"]["command"]
    assert (settings.BASE_DIR / "Dockerfile").exists()


def test_compose_file_parses_with_the_compose_cli():
    cli = compose_cli()
    if cli is None:
        pytest.skip("no docker compose CLI on this machine (.ci/run installs one)")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        env={**os.environ, "SECRET_KEY": "compose-config-check", "PAYMENT_GATEWAY_URL": "https://gateway.example",
             "COURIER_URL": "https://courier.example"}, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr


def test_imports_have_a_worker_of_their_own_in_compose_and_make_run():
    """The main worker never consumes the imports queue; imports run one at a time on theirs."""
    from okto88.celery import imports_queue
    from okto88.management.commands.run_marketplace import worker_processes

    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    main, imports = services["worker"]["command"], services["imports-worker"]["command"]
    assert main[main.index("-Q") + 1] == "okto88"
    assert imports[imports.index("-Q") + 1] == imports_queue("okto88") == "okto88.imports"
    assert "--concurrency=1" in imports and any(a.startswith("--max-memory-per-child=") for a in imports)

    processes = dict(worker_processes(celery=["celery", "-A", "okto88"]))
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert processes["worker"][processes["worker"].index("-Q") + 1] == queue
    argv = processes["imports"]
    assert argv[argv.index("-Q") + 1] == imports_queue(queue) and "--concurrency=1" in argv
    assert f"--max-memory-per-child={settings.IMPORT_WORKER_MAX_MEMORY_KB}" in argv


def test_import_tasks_are_routed_to_the_imports_queue():
    from okto88.celery import app, imports_queue

    router = app.amqp.router
    assert router.route({}, "suppliers.feed_import_run")["queue"].name == imports_queue()
    assert router.route({}, "orders.step_commit_stock")["queue"].name == app.conf.task_default_queue


# --- Prometheus rules and the Grafana dashboard (deploy/) ----------------------------------
#
# The metrics the app exports (okto88/metrics.py), with their labels: the one list the rules
# and the dashboard are checked against. A metric renamed in the app must be renamed here and
# in deploy/, or this test fails. Histograms are queried through _bucket, _count and _sum.
EXPORTED_METRICS: dict[str, tuple[str, frozenset[str]]] = {
    "okto88_step_wait_seconds": ("histogram", frozenset({"step"})),
    "okto88_step_run_seconds": ("histogram", frozenset({"step", "status"})),
    "okto88_partner_call_seconds": ("histogram", frozenset({"partner", "operation", "outcome"})),
    "okto88_partner_breaker_state": ("gauge", frozenset({"partner"})),
    "okto88_celery_queue_depth": ("gauge", frozenset({"queue"})),
    "okto88_db_connections_in_use": ("gauge", frozenset()),
    "okto88_orders_stalled": ("gauge", frozenset()),
    "okto88_http_requests_total": ("counter", frozenset({"method", "route", "status"})),
    "okto88_http_request_duration_seconds": ("histogram", frozenset({"method", "route"})),
}
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")
DEPLOY = settings.BASE_DIR / "deploy"
ALERTS_FILE = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD_FILE = DEPLOY / "grafana" / "okto88-operations.json"

_METRIC = re.compile(r"\bokto88_[a-z0-9_]+")
_MATCHERS = re.compile(r"(okto88_[a-z0-9_]+)\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def exported_metric(series: str) -> str | None:
    """The exported metric a series name belongs to (a histogram's _bucket → the histogram)."""
    if series in EXPORTED_METRICS:
        return series
    for suffix in HISTOGRAM_SERIES:
        base = series.removesuffix(suffix)
        if base != series and EXPORTED_METRICS.get(base, ("",))[0] == "histogram":
            return base
    return None


def expression_problems(expr: str) -> list[str]:
    """Unknown metrics, unknown labels in matchers, and groupings by labels none of the
    expression's metrics has."""
    problems = []
    metrics = set()
    for series in _METRIC.findall(expr):
        metric = exported_metric(series)
        if metric is None:
            problems.append(f"{series} is not exported by the app")
        else:
            metrics.add((metric, series.endswith("_bucket")))
    for series, matchers in _MATCHERS.findall(expr):
        metric = exported_metric(series)
        labels = EXPORTED_METRICS[metric][1] | ({"le"} if series.endswith("_bucket") else set()) if metric else set()
        problems += [f"{series} has no label {label!r}" for label in _MATCHER_LABEL.findall(matchers)
                     if label not in labels]
    known = set().union(*(EXPORTED_METRICS[m][1] | ({"le"} if bucket else set()) for m, bucket in metrics))
    for grouping in _GROUPING.findall(expr):
        problems += [f"grouping by unknown label {label!r}" for label in (g.strip() for g in grouping.split(","))
                     if label and label not in known]
    return problems


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_prometheus_scrapes_the_webs_metrics_and_loads_the_rules():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["web:8000"]
    # /metrics refuses a scrape without the token (okto88.metrics): compose gives Prometheus the web's
    # METRICS_TOKEN and writes it to the file the scrape reads before Prometheus starts.
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/tmp/metrics_token"}
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert services["web"]["environment"]["METRICS_TOKEN"] == services["prometheus"]["environment"]["METRICS_TOKEN"]
    start = " ".join(services["prometheus"]["entrypoint"])
    assert "> /tmp/metrics_token" in start
    assert "exec /bin/prometheus --config.file=/etc/prometheus/prometheus.yml" in start


def test_the_alert_rules_cover_the_four_conditions_with_exported_metrics_only():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) == {"Okto88StepFailureRateHigh", "Okto88StepQueueWaitHigh", "Okto88PartnerErrorRateHigh",
                          "Okto88OrdersStalled"}
    for name, rule in rules.items():
        assert expression_problems(rule["expr"]) == [], name
        assert rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]
    failure = " ".join(rules["Okto88StepFailureRateHigh"]["expr"].split())
    assert 'okto88_step_run_seconds_count{status="failed"}[10m]' in failure and "> 0.05" in failure
    wait = " ".join(rules["Okto88StepQueueWaitHigh"]["expr"].split())
    assert "histogram_quantile(0.95" in wait and "okto88_step_wait_seconds_bucket" in wait and wait.endswith("> 30")
    partner = " ".join(rules["Okto88PartnerErrorRateHigh"]["expr"].split())
    assert 'outcome=~"error|timeout"' in partner and "> 0.2" in partner
    assert rules["Okto88OrdersStalled"]["expr"].strip() == "max(okto88_orders_stalled) > 0"
    assert rules["Okto88OrdersStalled"]["for"] == "5m"


def test_the_checker_catches_unknown_metrics_and_labels():
    assert expression_problems('sum by (step) (rate(okto88_step_run_seconds_count{status="failed"}[5m]))') == []
    assert expression_problems("okto88_orders_stalled_total > 0") == [
        "okto88_orders_stalled_total is not exported by the app"]
    assert expression_problems('okto88_step_wait_seconds_count{status="failed"}') == [
        "okto88_step_wait_seconds_count has no label 'status'"]
    assert expression_problems("sum by (carrier) (okto88_partner_breaker_state)") == [
        "grouping by unknown label 'carrier'"]


def test_the_dashboard_shows_every_figure_from_exported_metrics_only():
    expressions = dashboard_expressions()
    for title, expr in expressions:
        assert expression_problems(expr) == [], title
    used = {exported_metric(series) for _, expr in expressions for series in _METRIC.findall(expr)}
    assert used == set(EXPORTED_METRICS)  # every exported metric has a panel
    titles = {title for title, _ in expressions}
    assert {"Step queue wait p95", "Step run time p95", "Step failure rate", "Partner call latency p95",
            "Partner error rate", "Circuit breakers", "Celery queue depth", "Database connections in use",
            "Request rate by route", "Request latency p95 by route"} <= titles


def test_the_monitoring_services_are_optional_and_mount_deploy():
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./deploy/grafana/okto88-operations.json:/var/lib/grafana/dashboards/okto88-operations.json:ro" in \
        services["grafana"]["volumes"]


def test_promtool_accepts_the_rules_and_the_config():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    rules = subprocess.run([promtool, "check", "rules", str(ALERTS_FILE)], capture_output=True, text=True)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = subprocess.run([promtool, "check", "config", "--syntax-only",
                             str(DEPLOY / "prometheus" / "prometheus.yml")], capture_output=True, text=True)
    assert config.returncode == 0, config.stdout + config.stderr


def test_webhooks_have_a_worker_of_their_own_in_compose_and_make_run():
    """A slow partner holds webhook workers only: the main worker never consumes their queue."""
    from okto88.celery import app, webhooks_queue
    from okto88.management.commands.run_marketplace import worker_processes

    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    main, webhooks = services["worker"]["command"], services["webhooks-worker"]["command"]
    assert main[main.index("-Q") + 1] == "okto88"
    assert webhooks[webhooks.index("-Q") + 1] == webhooks_queue("okto88") == "okto88.webhooks"
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    argv = dict(worker_processes(celery=["celery", "-A", "okto88"]))["webhooks"]
    assert argv[argv.index("-Q") + 1] == webhooks_queue(queue)
    # Threads, more than slow endpoints × their cap can hold (bench/README.md, the webhooks benchmark).
    assert "--pool=threads" in argv and "--pool=threads" in webhooks
    router = app.amqp.router
    for name in ("partners.webhook_deliver", "partners.webhook_endpoint_drain", "partners.deliveries_due"):
        assert router.route({}, name)["queue"].name == webhooks_queue()
    assert router.route({}, "partners.webhooks_fanout")["queue"].name == app.conf.task_default_queue
    assert settings.OUTBOX_BATCH_CONSUMERS == ["partners.webhooks_fanout"]
    assert settings.CELERY_BEAT_SCHEDULE["partners-deliveries-due"]["task"] == "partners.deliveries_due"
