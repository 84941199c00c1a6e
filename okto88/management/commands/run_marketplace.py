"""`make run`: migrate, load demo data, then serve the marketplace with Celery workers and beat,
and beside them load the demo order history.

The embedded PostgreSQL/Redis (when no DATABASE_URL/REDIS_URL is set) were started by the
settings in this process; the children inherit their URLs through the environment. Ctrl-C
stops the children, then the embedded servers stop as this process exits (unless another
process of this checkout, say a test run, still uses them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from okto88 import gunicorn_conf
from okto88.celery import imports_queue, webhooks_queue
from okto88.demo import demo_load_all

# The project's own fake partner servers (payment gateway, courier) on the ports the
# development settings point at, when those apps provide them.
FAKE_PARTNERS = [
    ("fake_gateway", "PAYMENT_GATEWAY_URL", []),
    # The demo courier moves booked parcels along by itself: picked up, in transit, delivered.
    ("fake_courier", "COURIER_URL", ["--auto-advance=20"]),
    # Receives webhooks for endpoints pointed at it (partners/fake_receiver.py).
    ("fake_receiver", "WEBHOOK_FAKE_RECEIVER_URL", []),
]
HISTORY_COMMAND = "load_order_history"


def web_server_argv(*, host: str, port: int) -> list[str]:
    """gunicorn, as in production, not runserver: runserver starts a thread per request, each
    with its own database connection, and enough clients fill PostgreSQL's connection slots."""
    return [sys.executable, "-m", "gunicorn", "okto88.wsgi", "--config",
            str(settings.BASE_DIR / "okto88" / "gunicorn_conf.py"), f"--bind={host}:{port}"]


def worker_processes(*, celery: list[str]) -> list[tuple[str, list[str]]]:
    """The main worker (order workflow, mail, outbox), the imports worker and the webhooks worker,
    on separate queues: a feed import or a slow partner never makes an order wait. One import at
    a time; a pool process that grew past IMPORT_WORKER_MAX_MEMORY_KB is replaced after its task.
    Webhook attempts wait on the network, so that worker runs threads: sixteen, so that slow
    receivers (each holding at most WEBHOOK_ENDPOINT_CONCURRENCY of them) leave the rest to the
    others; with four prefork processes, two slow endpoints held them all (bench/README.md)."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    common = ["worker", "--loglevel=INFO", "--without-gossip", "--without-mingle"]
    return [
        ("worker", [*celery, *common, "--concurrency=2", "-Q", queue, "-n", f"worker.{queue}@%h"]),
        ("imports", [*celery, *common, "--concurrency=1", "-Q", imports_queue(queue), "-n", f"imports.{queue}@%h",
                     f"--max-memory-per-child={settings.IMPORT_WORKER_MAX_MEMORY_KB}"]),
        ("webhooks", [*celery, *common, "--pool=threads", "--concurrency=16", "-Q", webhooks_queue(queue), "-n",
                      f"webhooks.{queue}@%h"]),
    ]


class Command(BaseCommand):
    help = "Serve okto88 for development: web server, Celery worker and beat, demo data."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true",
                            help="skip loading the demo data and the demo order history")

    def handle(self, *args, host: str, port: int, no_demo: bool, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        logins = [] if no_demo else demo_load_all()
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        celery = [python, "-m", "celery", "-A", "okto88"]
        processes = [
            ("web", web_server_argv(host=host, port=port)),
            *worker_processes(celery=celery),
            ("beat", [*celery, "beat", "--loglevel=INFO",
                      f"--schedule={settings.BASE_DIR / '.local' / 'celerybeat-schedule'}"]),
        ]
        available = get_commands()
        for command, url_setting, extra in FAKE_PARTNERS:
            port_of_url = urlsplit(getattr(settings, url_setting)).port
            if command in available and port_of_url:
                processes.append((command, [python, manage, command, f"--port={port_of_url}", *extra]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_FORMAT": os.environ.get("LOG_FORMAT", "plain")}
        children: list[tuple[str, subprocess.Popen]] = []
        history: subprocess.Popen | None = None
        stopping = False

        def stop(*_args) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, argv in processes:
                children.append((name, subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR)))
            url = f"http://{host}:{port}/"
            self._wait_until_serving(f"{url}healthz", children)
            self.stdout.write(self.style.SUCCESS(f"\nokto88 is running at {url}  (Ctrl-C stops everything)"))
            self.stdout.write(f"  admin: {url}admin/   API docs: {url}api/v1/docs/")
            for line in logins:
                self.stdout.write(f"  {line}")
            # The demo order history fills the operations pages beside the running site (docs/
            # operations.md). A child of this process, so that it stops with the rest; it inherits
            # the servers' URLs and so never becomes a user of the embedded servers itself.
            if not no_demo and HISTORY_COMMAND in available:
                history = subprocess.Popen([python, manage, HISTORY_COMMAND], env=env, cwd=settings.BASE_DIR)
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping")
                        stopping = True
                if history is not None and history.poll() not in (None, 0):
                    self.stderr.write(f"the order history stopped with {history.returncode}; the site goes on "
                                      f"(`manage.py {HISTORY_COMMAND}` adds the orders still missing)")
                    history = None
                time.sleep(0.5)
        finally:
            everything = [*children, *([("history", history)] if history is not None else [])]
            for _name, child in everything:
                if child.poll() is None:
                    child.terminate()
            # Longer than gunicorn's own graceful timeout: past it, gunicorn kills the workers still
            # serving kept-alive clients itself; a master killed before that left them orphaned.
            deadline = time.monotonic() + gunicorn_conf.graceful_timeout + 10
            for _name, child in everything:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("stopped")  # the embedded servers stop as this process exits

    def _wait_until_serving(self, health_url: str, children, timeout: float = 60) -> None:
        """Print the banner after the servers' own start-up chatter, once the site answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and all(child.poll() is None for _, child in children):
            try:
                with urllib.request.urlopen(health_url, timeout=2):  # noqa: S310 - our own local URL
                    time.sleep(1.5)  # let the worker and beat finish printing their banners
                    return
            except OSError:
                time.sleep(0.5)
