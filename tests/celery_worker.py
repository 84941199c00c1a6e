"""Run a real Celery worker process against the test database for workflow tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from okto88.celery import app as celery_app
from okto88.celery import imports_queue, webhooks_queue


def database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = quote(str(settings_dict.get("PASSWORD") or ""))
    host = settings_dict.get("HOST") or ""
    port = settings_dict.get("PORT") or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={host}"
    return f"postgresql://{user}:{password}@{host}:{port}/{name}"


def partner_worker_env(*, live_server, fake_courier, fake_gateway) -> dict[str, str]:
    """A worker's environment for the order workflow: the fake partners' URLs, and the live
    server's webhook URLs the fakes call back."""
    return {
        "COURIER_URL": fake_courier.url,
        "PAYMENT_GATEWAY_URL": fake_gateway.url,
        "COURIER_NOTIFICATION_URL": f"{live_server.url}/api/v1/logistics/notifications/",
        "PAYMENT_NOTIFICATION_URL": f"{live_server.url}/api/v1/payments/notifications/",
    }


class CeleryWorkerProcess:
    def __init__(self, *, log_dir: Path, concurrency: int = 2, extra_env: dict[str, str] | None = None,
                 queues: tuple[str, ...] = ("main", "imports", "webhooks"), queue: str | None = None):
        self.extra_env = extra_env or {}
        self.queues = queues  # which of the session queue and its imports and webhooks queues this worker consumes
        self.log_path = log_dir / "worker.log"
        self.queue = queue or f"okto88-test-{uuid.uuid4().hex[:8]}"
        self.node = self.queue if queues == ("main", "imports", "webhooks") else f"{self.queue}-{'-'.join(queues)}"
        self.outbox_stream = f"{self.queue}:events"
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        # The worker consumes a queue of this session's own: a stray worker from another run
        # can never take our tasks.
        env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_QUEUE": self.queue,
            "OUTBOX_STREAM": self.outbox_stream,
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self._log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "okto88", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "-Q", ",".join(self.queue_names()), "-n", f"{self.node}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, cwd=settings.BASE_DIR, stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def queue_names(self) -> list[str]:
        names = {"main": self.queue, "imports": imports_queue(self.queue), "webhooks": webhooks_queue(self.queue)}
        return [names[q] for q in self.queues]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_text()[-4000:]}")
            replies = celery_app.control.ping(destination=[f"{self.node}@{os.uname().nodename}"], timeout=0.5)
            if replies:
                return
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log_file.close()

    @contextmanager
    def routed(self):
        """Send the test process's tasks to this worker while the block runs."""
        previous = celery_app.conf.task_default_queue
        celery_app.conf.task_default_queue = self.queue
        try:
            yield self
        finally:
            celery_app.conf.task_default_queue = previous

    @contextmanager
    def paused(self):
        """Tasks enqueued in the block go to a queue nobody consumes (set up a fault first)."""
        previous = celery_app.conf.task_default_queue
        celery_app.conf.task_default_queue = f"{self.queue}-paused"
        try:
            yield self
        finally:
            celery_app.conf.task_default_queue = previous

    def pool_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def wait_for_log(self, predicate, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.log_records():
                if predicate(record):
                    return record
            time.sleep(0.2)
        raise AssertionError(f"no matching worker log line in {timeout}s:\n{self.log_text()[-4000:]}")
