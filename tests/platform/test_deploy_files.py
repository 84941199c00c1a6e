"""docker-compose.yml describes the production shape and parses with the compose CLI."""

from __future__ import annotations

import os
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
        env={**os.environ, "SECRET_KEY": "compose-config-check"}, capture_output=True, text=True,
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
