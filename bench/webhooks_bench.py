"""Webhook delivery benchmark (issue 14): events fanned out to partners' endpoints through real
workers to the fake receiver over real HTTP.

    .venv/bin/python bench/webhooks_bench.py            # --events 100000 --endpoints 50 --faulty 5
    .venv/bin/python bench/webhooks_bench.py --events 10000      # a quick run

The issue's target, as read here: 50 suppliers, each with one API client (scope stock:write)
and one webhook endpoint subscribed to `offer.price_changed`, which it may see for its own
offers only; --events events spread evenly over the 50 suppliers, so each event is one delivery
(100,000 events → 100,000 deliveries).

What it does:

1. Recreates its own database (DROP … WITH (FORCE), CREATE, migrate: default
   postgres://postgres@127.0.0.1:5432/okto88_webhookbench) and flushes its Redis database
   (default redis://127.0.0.1:6379/7). Never point it at a database you care about.
2. Data: the suppliers (bulk insert), their API clients and keys (okto88.services.api_key_issue)
   and endpoints (partners.services.endpoint_create: the real URL checks, a real `whsec_` secret).
3. Starts --receivers fake receivers (`manage.py fake_receiver`, each its own process; the
   endpoints are spread over them) and measures one receiver alone: --ceiling-clients client
   processes POSTing signed messages over kept-alive connections for a few seconds.
4. Starts the workers: the main worker (`celery worker -Q <queue> --concurrency=1`: the outbox
   relay) and the webhooks worker (`-Q <queue>.webhooks --concurrency=2`: the fan-out and the
   deliveries) — "two workers" of the issue read as the webhooks worker's two processes.
5. Run "healthy": the events written through okto88.services.outbox_events_write in transactions
   of --per-transaction events, paced at --rate events/s (an offered load: the throughput figure
   is what comes out at that load, and a rate the workers cannot keep up with shows as a growing
   p95). Each event's commit time is taken in the bench process right after its transaction
   commits (PostgreSQL's created_at is the transaction's start, a few ms earlier; the figure uses
   the commit). Latency = the receiver's receive time − the commit; one per webhook-id (the
   first 2xx). Deliveries/s = deliveries / (first commit → last delivery received).
6. Run "faulty": the same with --faulty endpoints failing (--fault 500: every request answered
   500) or slow (--fault slow: answered after --slow-ms). The healthy endpoints' p95 is compared
   with the healthy run's.

PASS/FAIL per target, non-zero exit on a FAIL. Processes are stopped at the end, on errors too.
Logs in $TMPDIR/okto88-webhookbench/. Machine: 2 cores shared by the bench process, the
receivers, both workers, PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.order_bench import (
    ROOT,
    Processes,
    database_recreate,
    django_setup,
    free_port,
    loadavg,
    percentile,
    say,
    wait_port,
    wait_workers,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_webhookbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
QUEUE = "okto88-webhookbench"
DATABASE_NAME = "okto88_webhookbench"
RATE_TARGET = 500.0
P95_TARGET_S = 2.0
FAULTY_RATIO_TARGET = 1.20


# --- data ---------------------------------------------------------------------------------

def data_create(*, endpoints: int, receiver_urls: list[str]) -> list[dict]:
    """Suppliers with an API client, key and endpoint each; returns [{supplier, endpoint, name,
    receiver, secret}]."""
    from okto88 import services as platform_services
    from okto88.models import ApiClient, Scope
    from partners.services import endpoint_create
    from suppliers.models import Supplier, SupplierApiClient, SupplierStatus

    suppliers = Supplier.objects.bulk_create([
        Supplier(legal_name=f"PT Bench Webhook {i}", npwp=f"1{i + 1:012d}000", contact_name="Budi",
                 contact_email=f"erp{i}@bench-supplier.co.id", status=SupplierStatus.ACTIVE) for i in range(endpoints)])
    rows = []
    for index, supplier in enumerate(suppliers):
        client = ApiClient.objects.create(name=f"ERP bench {index}", contact_email=f"erp{index}@bench-supplier.co.id")
        SupplierApiClient.objects.create(api_client=client, supplier=supplier)
        platform_services.api_key_issue(client=client, name="bench", scopes=[Scope.STOCK_WRITE])
        receiver = receiver_urls[index % len(receiver_urls)]
        name = f"s{index}"
        created = endpoint_create(api_client=client, url=f"{receiver}/hooks/{name}",
                                  event_types=["offer.price_changed"])
        rows.append({"supplier": supplier.pk, "endpoint": created.endpoint.pk, "name": name, "receiver": receiver,
                     "secret": created.secret})
    return rows


def receivers_configure(endpoints: list[dict], faulty: set[str], fault: str, slow_ms: int) -> None:
    import requests

    for row in endpoints:
        faults = {}
        if row["name"] in faulty:
            faults = {"status": 500} if fault == "500" else {"latency_ms": slow_ms}
        requests.post(f"{row['receiver']}/_config/{row['name']}", json={"secrets": [row["secret"]], "faults": faults},
                      timeout=10).raise_for_status()


# --- the receiver alone --------------------------------------------------------------------

def _ceiling_client(url: str, secret: str, seconds: float, results) -> None:
    from datetime import UTC, datetime

    import requests
    from standardwebhooks.webhooks import Webhook

    session = requests.Session()
    webhook = Webhook(secret)
    body = json.dumps({"type": "offer.price_changed", "timestamp": "2026-12-06T00:00:00Z",
                       "data": {"offer": 1, "supplier": 1, "part": 1, "sku": "X", "old_price": 1, "price": 2},
                       "event_id": 1, "schema_version": 1}).encode()
    count, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        now = datetime.now(UTC)
        message_id = f"msg_ceiling_{os.getpid()}_{count}"
        headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": webhook.sign(message_id, now, body), "Content-Type": "application/json"}
        response = session.post(url, data=body, headers=headers, timeout=10)
        response.raise_for_status()
        count += 1
    results.put(count)


def receiver_ceiling(*, receiver: str, secret: str, clients: int, seconds: float) -> float:
    """Requests/s one receiver answers (verifying and recording each) to `clients` processes,
    each one kept-alive connection sending signed messages back to back."""
    import requests

    name = "ceiling"
    requests.post(f"{receiver}/_config/{name}", json={"secrets": [secret]}, timeout=10).raise_for_status()
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_ceiling_client, args=(f"{receiver}/hooks/{name}", secret, seconds, results))
             for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(results.get(timeout=seconds + 60) for _ in procs)
    for p in procs:
        p.join(timeout=10)
    requests.post(f"{receiver}/_config/{name}", json={"secrets": []}, timeout=10).raise_for_status()
    return total / seconds


# --- where the CPU goes ---------------------------------------------------------------------

def cpu_seconds(processes: Processes) -> dict[str, float]:
    """CPU seconds (user + system) so far of each child process with its own children (the
    prefork pool), of this process, of PostgreSQL's backends, and of the machine."""
    import psutil

    def tree(process: psutil.Process) -> float:
        total = 0.0
        for member in [process, *process.children(recursive=True)]:
            try:
                times = member.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    out = {}
    for name, child, _log in processes.children:
        try:
            key = "receivers" if name.startswith("receiver") else name
            out[key] = out.get(key, 0.0) + tree(psutil.Process(child.pid))
        except psutil.NoSuchProcess:
            pass
    me = psutil.Process()
    out["bench (writer)"] = me.cpu_times().user + me.cpu_times().system
    # Per process, so that processes that come and go (other work's) do not skew the sums:
    # PostgreSQL's backends of the bench's database (WAL writer and checkpointer not counted).
    for proc in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["cpu_times"] is not None and (proc.info["name"] == "postgres" and DATABASE_NAME in cmdline):
            out[f"pg:{proc.pid}"] = proc.info["cpu_times"].user + proc.info["cpu_times"].system
    machine = psutil.cpu_times()
    out["machine"] = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    return out


def cpu_report(before: dict[str, float], after: dict[str, float], deliveries: int, seconds: float) -> None:
    say(f"      CPU per delivery (ms), over {seconds:.1f}s of the run:")
    used = {key: after[key] - before.get(key, 0.0) for key in after if not key.startswith("pg:")}
    used["postgres (bench db)"] = sum(after[key] - before.get(key, 0.0) for key in after if key.startswith("pg:"))
    known = sum(value for key, value in used.items() if key != "machine")
    for key, value in used.items():
        if key != "machine":
            say(f"        {key:<20}{value / max(deliveries, 1) * 1000:7.2f}   ({value:6.1f} s)")
    say(f"        {'other':<20}{(used['machine'] - known) / max(deliveries, 1) * 1000:7.2f}   "
        "(Redis, PostgreSQL's WAL writer and checkpointer, the kernel, other work on the machine)")
    say(f"        {'machine':<20}{used['machine'] / max(deliveries, 1) * 1000:7.2f}   ({used['machine']:6.1f} s of "
        f"{seconds * (os.cpu_count() or 1):.0f} core-seconds)")


# --- a run ---------------------------------------------------------------------------------

def events_write(*, endpoints: list[dict], events: int, per_transaction: int, rate: float) -> dict[int, float]:
    """Write `events` offer.price_changed events, round robin over the suppliers, paced at
    `rate`/s in transactions of `per_transaction`; returns {event id: commit time (epoch)}."""
    from django.db import transaction

    from okto88.services import NewOutboxEvent, outbox_events_write
    from suppliers.events import offer_price_changed_payload

    committed: dict[int, float] = {}
    began = time.monotonic()
    written = 0
    while written < events:
        due = began + written / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        n = min(per_transaction, events - written)
        batch = []
        for i in range(written, written + n):
            row = endpoints[i % len(endpoints)]
            payload = offer_price_changed_payload(offer_id=100_000 + i, supplier_id=row["supplier"], part_id=1,
                                                  sku=f"SKU-{i}", old_price=10_000 + i, price=10_500 + i)
            batch.append(NewOutboxEvent(topic="offer.price_changed", aggregate_type="offer",
                                        aggregate_id=100_000 + i, payload=payload))
        with transaction.atomic():
            ids = [event.pk for event in outbox_events_write(events=batch)]
        now = time.time()
        for event_id in ids:
            committed[event_id] = now
        written += n
    return committed


def deliveries_settled(endpoint_ids: list[int]) -> int:
    from partners.models import DeliveryStatus, WebhookDelivery

    return WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids, status=DeliveryStatus.SUCCEEDED).count()


def received(endpoints: list[dict]) -> dict[str, list[dict]]:
    import requests

    out = {}
    for row in endpoints:
        response = requests.get(f"{row['receiver']}/_received/{row['name']}", timeout=60)
        response.raise_for_status()
        out[row["name"]] = response.json()["received"]
    return out


def run(*, label: str, endpoints: list[dict], faulty: set[str], fault: str, slow_ms: int, events: int,
        per_transaction: int, rate: float, processes: Processes, timeout: float) -> dict:
    import requests

    for receiver in sorted({row["receiver"] for row in endpoints}):
        requests.post(f"{receiver}/_reset", timeout=10).raise_for_status()
    receivers_configure(endpoints, faulty, fault, slow_ms)
    healthy = [row for row in endpoints if row["name"] not in faulty]
    healthy_names = {row["name"] for row in healthy}
    expected = sum(1 for i in range(events) if endpoints[i % len(endpoints)]["name"] in healthy_names)
    from partners.models import WebhookDelivery

    before = deliveries_settled([row["endpoint"] for row in healthy])
    delivery_rows_before = WebhookDelivery.objects.count()
    say(f"  {label}: writing {events:,} events at {rate:.0f}/s in transactions of {per_transaction} "
        f"({len(faulty)} endpoints {'failing (500)' if fault == '500' else f'slow ({slow_ms} ms)'} "
        f"{'' if faulty else '— none'}) ...")
    cpu_before = cpu_seconds(processes)
    t = time.monotonic()
    committed = events_write(endpoints=endpoints, events=events, per_transaction=per_transaction, rate=rate)
    write_seconds = time.monotonic() - t
    say(f"    written in {write_seconds:5.1f}s ({events / write_seconds:.0f} events/s); waiting for "
        f"{expected:,} deliveries to the healthy endpoints ...")
    deadline, last_report = time.monotonic() + timeout, time.monotonic()
    while True:
        done = deliveries_settled([row["endpoint"] for row in healthy]) - before
        if done >= expected:
            break
        if time.monotonic() > deadline:
            say(f"    timed out after {timeout:.0f}s: {done:,} of {expected:,}")
            break
        if time.monotonic() - last_report > 10:
            say(f"    … {done:,} of {expected:,}")
            last_report = time.monotonic()
        processes.check_alive()
        time.sleep(0.5)
    cpu_after = cpu_seconds(processes)
    run_seconds = time.monotonic() - t
    got = received(endpoints)
    latencies, last_received, requests_total, duplicates = [], 0.0, 0, 0
    faulty_requests = 0
    for name, entries in got.items():
        requests_total += len(entries)
        if name not in healthy_names:
            faulty_requests += len(entries)
            continue
        seen = set()
        for entry in entries:
            if not 200 <= entry["status"] < 300:
                continue
            if entry["webhook_id"] in seen:
                duplicates += 1
                continue
            seen.add(entry["webhook_id"])
            event_id = json.loads(entry["body"])["event_id"]
            if event_id not in committed:
                continue
            latencies.append(entry["received_at"] - committed[event_id])
            last_received = max(last_received, entry["received_at"])
    first_commit = min(committed.values())
    delivered = len(latencies)
    seconds = last_received - first_commit if delivered else float("nan")
    unverified = sum(1 for entries in got.values() for e in entries if not e["verified_by"])
    return {"label": label, "delivered": delivered, "expected": expected, "seconds": seconds,
            "rate": delivered / seconds if delivered else 0.0, "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95), "p99": percentile(latencies, 99), "max": max(latencies, default=0),
            "requests": requests_total, "faulty_requests": faulty_requests, "duplicates": duplicates,
            "unverified": unverified, "write_rate": events / write_seconds,
            "delivery_rows": WebhookDelivery.objects.count() - delivery_rows_before,
            "cpu": (cpu_before, cpu_after, run_seconds)}


def report(result: dict) -> None:
    say(f"    {result['label']}: {result['delivered']:,} of {result['expected']:,} delivered "
        f"in {result['seconds']:.1f}s "
        f"= {result['rate']:.0f} deliveries/s; commit → received p50 {result['p50']:.3f}s, p95 {result['p95']:.3f}s, "
        f"p99 {result['p99']:.3f}s, max {result['max']:.3f}s")
    say(f"      requests received {result['requests']:,} (to the faulty endpoints {result['faulty_requests']:,}), "
        f"repeated webhook-ids {result['duplicates']}, unverified {result['unverified']}, "
        f"delivery rows {result['delivery_rows']:,}")
    cpu_before, cpu_after, run_seconds = result["cpu"]
    cpu_report(cpu_before, cpu_after, result["delivered"], run_seconds)


# --- main ----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--faulty", type=int, default=5, help="endpoints failing or slow in the second run")
    parser.add_argument("--fault", choices=["500", "slow"], default="500")
    parser.add_argument("--slow-ms", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=600, help="events written per second (offered load)")
    parser.add_argument("--per-transaction", type=int, default=20)
    parser.add_argument("--receivers", type=int, default=1, help="fake receiver processes")
    parser.add_argument("--ceiling-clients", type=int, default=2)
    parser.add_argument("--webhook-concurrency", type=int, default=16,
                        help="the webhooks worker's processes or threads (make run and compose: 16 threads)")
    parser.add_argument("--webhook-pool", default="threads", help="the webhooks worker's --pool")
    parser.add_argument("--batch-size", type=int, default=None, help="WEBHOOK_BATCH_SIZE (default: the setting)")
    parser.add_argument("--skip-faulty", action="store_true", help="the healthy run only")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a run's deliveries")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_WEBHOOK_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_WEBHOOK_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--log-dir", default=str(Path(tempfile.gettempdir()) / "okto88-webhookbench"))
    args = parser.parse_args()
    global DATABASE_NAME
    DATABASE_NAME = args.database_url.rsplit("/", 1)[-1]

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    receiver_ports = [free_port() for _ in range(args.receivers)]
    env = {
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "CELERY_QUEUE": QUEUE,
        "OUTBOX_STREAM": "webhookbench:events", "CACHE_KEY_PREFIX": "webhookbench", "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "okto88.settings", "PYTHONUNBUFFERED": "1",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true", "WEBHOOK_REQUIRE_HTTPS": "false",
    }
    if args.batch_size:
        env["WEBHOOK_BATCH_SIZE"] = str(args.batch_size)
    load_start = loadavg()
    say(f"webhooks bench: {args.events:,} events → {args.endpoints} endpoints, {args.receivers} receiver process(es), "
        f"webhooks worker --pool={args.webhook_pool} --concurrency={args.webhook_concurrency}; "
        f"{os.cpu_count()} cores; {load_start}")

    t = time.monotonic()
    database_recreate(args.database_url)
    django_setup(env)
    from django.core.management import call_command

    from okto88.redis_connection import redis_client

    call_command("migrate", interactive=False, verbosity=0)
    redis_client().flushdb()
    say(f"  database recreated and migrated, Redis db flushed ... {time.monotonic() - t:5.1f}s")

    child_env = {**os.environ, **env}
    processes = Processes(log_dir)
    results = []
    with ExitStack() as stack:
        stack.callback(processes.stop_all)
        manage = [sys.executable, str(ROOT / "manage.py")]
        for index, port in enumerate(receiver_ports):
            processes.start(f"receiver{index}", [*manage, "fake_receiver", "--port", str(port)], child_env)
        for port in receiver_ports:
            wait_port(port, processes)
        receiver_urls = [f"http://127.0.0.1:{port}" for port in receiver_ports]
        t = time.monotonic()
        endpoints = data_create(endpoints=args.endpoints, receiver_urls=receiver_urls)
        say(f"  data: {args.endpoints} suppliers, API clients, keys and endpoints ... {time.monotonic() - t:5.1f}s")

        ceiling = receiver_ceiling(receiver=receiver_urls[0], secret=endpoints[0]["secret"],
                                   clients=args.ceiling_clients, seconds=5)
        say(f"  one fake receiver alone: {ceiling:,.0f} requests/s ({args.ceiling_clients} client processes, "
            f"kept-alive connections, signed bodies verified and recorded)")

        names = [f"webhookbench-main@{socket.gethostname()}", f"webhookbench-hooks@{socket.gethostname()}"]
        processes.start("worker-main", [
            sys.executable, "-m", "celery", "-A", "okto88", "worker", "--loglevel=WARNING", "--concurrency=1",
            "-Q", QUEUE, "-n", names[0], "--without-gossip", "--without-mingle", "--without-heartbeat"], child_env)
        processes.start("worker-webhooks", [
            sys.executable, "-m", "celery", "-A", "okto88", "worker", "--loglevel=WARNING",
            f"--pool={args.webhook_pool}", f"--concurrency={args.webhook_concurrency}", "-Q", f"{QUEUE}.webhooks",
            "-n", names[1], "--without-gossip", "--without-mingle", "--without-heartbeat"], child_env)
        wait_workers(names, processes)
        say(f"  workers ready (logs in {log_dir})")

        common = {"endpoints": endpoints, "fault": args.fault, "slow_ms": args.slow_ms, "events": args.events,
                  "per_transaction": args.per_transaction, "rate": args.rate, "processes": processes,
                  "timeout": args.timeout}
        results.append(run(label="healthy", faulty=set(), **common))
        report(results[-1])
        if not args.skip_faulty and args.faulty:
            faulty = {row["name"] for row in endpoints[-args.faulty:]}
            results.append(run(label=f"{args.faulty} {'failing' if args.fault == '500' else 'slow'}",
                               faulty=faulty, **common))
            report(results[-1])
        load_end = loadavg()

    healthy = results[0]
    checks = [
        ("deliveries/s (healthy)", f"≥ {RATE_TARGET:.0f}", f"{healthy['rate']:.0f}",
         healthy["rate"] >= RATE_TARGET and healthy["delivered"] == healthy["expected"]),
        ("p95 commit → delivery (healthy)", f"≤ {P95_TARGET_S:.0f} s", f"{healthy['p95']:.3f} s",
         healthy["p95"] <= P95_TARGET_S),
    ]
    if len(results) > 1:
        faulty_run = results[1]
        ratio = faulty_run["p95"] / healthy["p95"] if healthy["p95"] else float("inf")
        checks.append((f"healthy endpoints' p95, {faulty_run['label']}", "≤ 1.20 ×",
                       f"{faulty_run['p95']:.3f} s = {ratio:.2f} ×",
                       ratio <= FAULTY_RATIO_TARGET and faulty_run["delivered"] == faulty_run["expected"]))
    say("")
    say(f"| {'check':<44} | {'target':<8} | {'result':<20} |      |")
    say(f"|{'-' * 46}|{'-' * 10}|{'-' * 22}|------|")
    for name, target, result, ok in checks:
        say(f"| {name:<44} | {target:<8} | {result:<20} | {'PASS' if ok else 'FAIL'} |")
    say("")
    say(f"start: {load_start}; end: {load_end}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
