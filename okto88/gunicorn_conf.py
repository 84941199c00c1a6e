"""gunicorn settings for every server the project starts: `make run` and docker-compose `web`.

Threaded workers (gthread): a worker serves GUNICORN_THREADS requests at a time and queues
the rest of its clients, so however many clients connect, the site opens at most
GUNICORN_WORKERS × DATABASE_POOL_SIZE database connections (each worker's pool). Threads
default to the pool's size: no thread ever waits for a connection.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
_pool_size = int(os.environ.get("DATABASE_POOL_SIZE") or "4")
threads = int(os.environ.get("GUNICORN_THREADS") or _pool_size or "4")
# Open client connections a worker keeps (keep-alive included) beyond its busy threads.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# A kept-alive connection costs a socket, not a thread. gunicorn's default of 2 s races its
# clients: a request sent as the server closes an idle connection is dropped unanswered
# (RemoteDisconnected under load, when a client waits a little between two requests; a proxy in
# front sees a 502). The server must outlive its clients' idle time, so it waits longer than
# browsers and proxies usually reuse a connection for.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE_SECONDS", "75"))
timeout = 30
graceful_timeout = 20
accesslog = None  # the app logs one JSON line per request with its request id
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


def child_exit(server, worker):
    # Prometheus multiprocess mode: forget the metrics files of a worker that exited.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # imported only in that mode, as okto88.metrics does

        multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    # Tracing per worker process, after the fork (the span exporter's thread does not survive one);
    # okto88.wsgi calls it too, whichever comes first configures it. No-op without an OTLP endpoint.
    from okto88.tracing import tracing_setup

    tracing_setup("okto88-web")
