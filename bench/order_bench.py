"""Order workflow benchmark: orders end to end through real Celery workers, against the floor.

    .venv/bin/python bench/order_bench.py            # --orders 2000 --placements 800 --clients 16

What it does, in one run (about 8-12 minutes on 2 cores at the defaults):

1. Recreates its own database (DROP … WITH (FORCE), CREATE, migrate: default
   postgres://postgres@127.0.0.1:5432/okto88_orderbench) and flushes its Redis database
   (default redis://127.0.0.1:6379/5). Never point it at a database you care about.
2. Data: 4 suppliers (bulk insert, one member each), a warehouse per supplier
   (suppliers.services.warehouse_create: a real area), 200 parts (catalog.services.part_create),
   an offer each (suppliers.services.offer_create) with 1,000,000 units (stock_ensure +
   stock_adjust: the ledger explains every unit); one workshop per order (bulk insert:
   workshop, member, default address in Kota Bekasi, cart with 1-3 lines of 1-3 units, lines
   from one or two suppliers).
3. Spreads every sequence 10,000,000 ids apart (see 6), then copies the database
   (CREATE DATABASE … TEMPLATE, nothing connected): the state the workflow starts from.
4. Starts the fake courier and the fake gateway (`manage.py fake_courier` / `fake_gateway`,
   each its own process on a free port) and two worker processes
   (`celery -A okto88 worker --concurrency=1`, i.e. two independent workers as two replicas
   would be, each a pool of one) on a queue of the bench's own, with COURIER_URL /
   PAYMENT_GATEWAY_URL pointing at the fakes, DEBUG off, and `-I bench.statement_capture`.
5. Workflow: --orders `terms` orders placed by --place-clients client processes (each its own
   connection) with the workers running; a terms order is paid when placed and order_place
   enqueues its step when it commits. The suppliers' system is part of the bench (`erp_run`,
   a process of its own): it accepts every supplier order as soon as it waits for an answer
   and marks it ready to ship as soon as its stock is committed, through the same services as
   the supplier admin and the API. Measured from the first placement's start to the last
   supplier order's `book_courier` finishing (StepRun). Every statement every process issues
   for it is recorded (bench/statement_capture.py: an execute wrapper plus the connection's
   commit/rollback, per unit of work: an order_place call, a task, a supplier's answer), with
   the unit's run time and CPU time. The recording costs a few tens of µs a statement, printed
   with the results; it is in the measured run, i.e. against the workflow, not the floor.
6. Floor (bench/statement_replay.py), after the workers have stopped: the recorded statements
   of the workflow's window replayed with psycopg into the copy of step 3, over --workers
   connections, each order's units in their recorded order (placement, its tasks and answers),
   a unit of no one order (an outbox relay batch) on its own; client-side bound as Django
   binds, BEGIN/COMMIT where Django's transactions were. Ids the replay's INSERTs return
   replace the recorded ones in later parameters (the spread sequences make an id unambiguous).
   Floor = orders / replay wall time; per unit kind, the replay time of its statements.
7. order_place: --solo (200) calls by one client (server time: the call's wall time in the
   client, its statements counted in-process by an execute wrapper), then --clients (16)
   client processes, each its own connection and its own workshops/carts, --placements in
   total. Before these two phases the workers cancel their consumer (Celery control
   cancel_consumer) and finish the tasks they hold: the new orders' steps wait in the queue,
   so the figures are placement's own rather than placement competing with two workers
   that each want one of the two cores (the steps are measured in 5). Then the workflow's
   work is settled (database_settle: VACUUM (ANALYZE) of the bench's database, as autovacuum
   would have done meanwhile, then CHECKPOINT), and each client process places one order of a
   workshop of its own before the gun, untimed: the phases time placements, not a new
   process's first call (~35 ms of CPU: imports' first use, connections, compiled queries).
   Before each call the client previews that workshop's checkout (untimed), as the cart page
   or an API client's preview does before it places: the courier's rates for its routes are
   then kept (SHIPPING_QUOTE_CACHE_SECONDS) and the call's time is the placement's own. The
   workflow phase places without a preview: there each call also pays the courier's round trip.

Prints a table with the targets and PASS/FAIL (non-zero exit status on a FAIL) and the load
average at the start and the end. Workers and fake servers are stopped at the end, on errors too.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import pickle
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_orderbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
QUEUE = "okto88-orderbench"
RATIO_TARGET = 0.40  # end-to-end orders/s ÷ the replayed statements' orders/s
STEP_RATIO_TARGET = 2.0  # a step's p50 run time ÷ its statements' p50 replay time
PLACE_P50_TARGET_MS = 20.0
PLACE_STATEMENTS_TARGET = 20
SCALE_TARGET = 1.6  # placements/s with --clients ÷ with one client
SOLO = 200  # placements by a single client: order_place's own time
STEPS = ["open_for_acceptance", "commit_stock", "book_courier"]
STEP_TASKS = {"open_for_acceptance": "orders.step_open_for_acceptance",
              "commit_stock": "orders.supplier_order_step_commit_stock",
              "book_courier": "orders.supplier_order_step_book_courier"}
SHIPPING = ("jne", "REG")  # the fake courier quotes every carrier for every lane
FAKE_AREA = {"province": "Jawa Barat", "city": "Kota Bekasi", "district": "Bekasi Selatan", "postal_code": "17148",
             "region_code": "32.75.04"}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def say(message: str) -> None:
    print(message, flush=True)


# --- database and data -------------------------------------------------------------------

def database_recreate(database_url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(database_url)
    conninfo = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None,
                "password": cfg["PASSWORD"] or None, "dbname": "postgres"}
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(cfg["NAME"])))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def data_create(*, workshops: int, rng: random.Random) -> tuple[list[int], list[int]]:
    """Suppliers, warehouses, offers with stock (through the services), and `workshops`
    workshops each with a member, a default address and a filled cart (bulk inserts).
    Returns (workshop ids in creation order, supplier ids)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from catalog import services as catalog_services
    from catalog.models import Brand, BrandKind, Category
    from okto88.models import User
    from orders.models import Cart, CartLine
    from suppliers import services as supplier_services
    from suppliers.models import MemberRole, MovementReason, Supplier, SupplierMember, SupplierStatus
    from workshops.models import Address, Workshop, WorkshopMember

    password = make_password(None)  # unusable; nobody logs in
    brand = catalog_services.brand_save(brand=Brand(name="Bench Parts", slug="bench-parts",
                                                    kind=BrandKind.AFTERMARKET, country="Indonesia"))
    category = catalog_services.category_save(category=Category(slug="bench", name_id="Suku cadang bench",
                                                                name_en="Bench parts"))
    parts = [catalog_services.part_create(brand=brand, category=category, number=f"OB-{i:04d}",
                                          name_id=f"Kampas rem {i}", name_en=f"Brake pad {i}",
                                          weight_g=rng.randrange(200, 3000, 50)) for i in range(200)]
    suppliers = Supplier.objects.bulk_create([
        Supplier(legal_name=f"PT Bench Suku Cadang {i}", npwp=f"0{i + 1:012d}000", contact_name="Budi",
                 contact_email=f"sales{i}@bench-supplier.co.id", status=SupplierStatus.ACTIVE) for i in range(4)])
    supplier_users = User.objects.bulk_create([User(email=f"supplier{i}@bench-supplier.co.id", password=password,
                                                    full_name=f"Supplier {i}") for i in range(4)])
    SupplierMember.objects.bulk_create([SupplierMember(user=u, supplier=s, role=MemberRole.OWNER)
                                        for u, s in zip(supplier_users, suppliers, strict=True)])
    offers = []
    with transaction.atomic():  # one transaction: one outbox relay for all the stock events
        for index, supplier in enumerate(suppliers):
            warehouse = supplier_services.warehouse_create(
                supplier=supplier, code="JKT1", name="Gudang Jakarta", province="Daerah Khusus Ibukota Jakarta",
                city="Kota Administrasi Jakarta Selatan", district="Kebayoran Baru", postal_code="12110")
            for part in parts[index * 50:(index + 1) * 50]:
                offer = supplier_services.offer_create(supplier=supplier, part=part, sku=f"S{index}-{part.number}",
                                                       price=rng.randrange(20_000, 900_000, 500))
                stock = supplier_services.stock_ensure(offer=offer, warehouse=warehouse)
                supplier_services.stock_adjust(stock=stock, delta=1_000_000, reason=MovementReason.IMPORT,
                                               reference="bench")
                offers.append(offer)

    batch = 1000
    workshop_ids: list[int] = []
    for start in range(0, workshops, batch):
        n = min(batch, workshops - start)
        with transaction.atomic():
            ws = Workshop.objects.bulk_create([
                Workshop(name=f"Bengkel Bench {start + i}", npwp="", phone="+6281234567890",
                         credit_limit=10**12) for i in range(n)])
            users = User.objects.bulk_create([
                User(email=f"bengkel{start + i}@bench.example", password=password, full_name=f"Pemilik {start + i}")
                for i in range(n)])
            WorkshopMember.objects.bulk_create([WorkshopMember(user=u, workshop=w, role=MemberRole.OWNER)
                                                for u, w in zip(users, ws, strict=True)])
            Address.objects.bulk_create([
                Address(workshop=w, label="Bengkel", recipient_name="Budi Santoso", phone="+6281234567890",
                        street="Jl. Ahmad Yani No. 12", is_default=True, **FAKE_AREA) for w in ws])
            carts = Cart.objects.bulk_create([Cart(workshop=w) for w in ws])
            lines = []
            for cart in carts:
                # 1-3 lines from one or two suppliers: orders split like real ones.
                chosen_suppliers = rng.sample(range(4), rng.choice([1, 1, 2]))
                pool = [o for s in chosen_suppliers for o in offers[s * 50:(s + 1) * 50]]
                for offer in rng.sample(pool, rng.choice([1, 2, 3])):
                    lines.append(CartLine(cart=cart, offer=offer, quantity=rng.randint(1, 3), price_seen=offer.price))
            CartLine.objects.bulk_create(lines)
        workshop_ids += [w.pk for w in ws]
    return workshop_ids, [s.pk for s in suppliers]


# --- processes ---------------------------------------------------------------------------

class Processes:
    """Child processes (fakes, workers) stopped in reverse order at the end, on errors too."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen, object]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.children.append((name, process, log))
        return process

    def stop_all(self) -> None:
        for _name, process, _log in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        for _name, process, log in reversed(self.children):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()
        self.children.clear()

    def check_alive(self) -> None:
        for name, process, _log in self.children:
            if process.poll() is not None:
                tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")


def wait_port(port: int, processes: Processes, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def wait_workers(names: list[str], processes: Processes, timeout: float = 60) -> None:
    from okto88.celery import app

    deadline = time.monotonic() + timeout
    missing = set(names)
    while missing and time.monotonic() < deadline:
        processes.check_alive()
        for reply in app.control.ping(destination=sorted(missing), timeout=0.5) or []:
            missing -= set(reply)
    if missing:
        raise RuntimeError(f"workers not ready after {timeout}s: {sorted(missing)}")


def workers_pause(names: list[str], processes: Processes, timeout: float = 120) -> int:
    """The workers stop taking messages from the bench's queue (Celery control cancel_consumer)
    and finish what they hold; returns the messages left waiting in the queue. The order_place
    phases run so: their figures are placement's own, not placement's against two workers that
    each want a core (the workflow's steps are measured in phase 1)."""
    from okto88.celery import app

    app.control.cancel_consumer(QUEUE, destination=names, reply=True, timeout=5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        inspect = app.control.inspect(destination=names, timeout=1)
        busy = [task for replies in (inspect.active() or {}, inspect.reserved() or {})
                for tasks in replies.values() for task in tasks]
        if not busy:
            with app.connection_for_write() as connection:
                try:
                    return connection.default_channel.queue_declare(QUEUE, passive=True).message_count
                except connection.channel_errors:  # an empty queue is no queue on the Redis transport
                    return 0
        time.sleep(0.2)
    raise RuntimeError(f"workers still busy {timeout}s after their consumer was cancelled")


# --- placing orders (client processes) ---------------------------------------------------

class StatementCounter:
    """An execute wrapper that counts the statements Django sends (as assertNumQueries does)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _client(workshop_ids: list[int], supplier_ids: list[int], start, ready, results, capture: bool,
            warmup_ids: list[int] = ()) -> None:
    """One client: its own connection, its own workshops; one order_place per workshop. Counts
    each call's statements in-process; with `capture`, records them (bench/statement_capture.py).
    `warmup_ids`: workshops it previews and places for before the gun, untimed (see main)."""
    from django.db import connections

    from bench import statement_capture
    from okto88.errors import ApplicationError
    from orders import services
    from workshops.models import Address, Workshop, WorkshopMember

    try:
        every = [*workshop_ids, *warmup_ids]
        workshops = Workshop.objects.in_bulk(every)
        addresses = {a.workshop_id: a for a in Address.objects.filter(workshop_id__in=every, is_default=True)}
        users = {m.workshop_id: m.user for m in
                 WorkshopMember.objects.filter(workshop_id__in=every).select_related("user")}
        choices = {sid: SHIPPING for sid in supplier_ids}
        for wid in warmup_ids:
            services.cart_checkout_preview(workshop=workshops[wid], address=addresses[wid])
            services.order_place(workshop=workshops[wid], actor=users[wid], address=addresses[wid],
                                 payment_method="terms", shipping_choices=choices, idempotency_key=uuid.uuid4().hex)
        counter = StatementCounter()
        connections["default"].execute_wrappers.append(counter)
        if capture:
            statement_capture.install("placement")
        ready.put(os.getpid())
        start.wait()
        timings = []
        for wid in workshop_ids:
            if not capture:
                # The checkout as the cart page shows it, before the workshop places (untimed): the
                # courier's rates for its routes are then kept, as in the browser and the API flow.
                services.cart_checkout_preview(workshop=workshops[wid], address=addresses[wid])
            counter.count = 0
            with statement_capture.group("order_place") as group:
                began, t0 = time.time(), time.perf_counter()
                error = ""
                try:
                    order = services.order_place(workshop=workshops[wid], actor=users[wid], address=addresses[wid],
                                                 payment_method="terms", shipping_choices=choices,
                                                 idempotency_key=uuid.uuid4().hex)
                    group["labels"]["order_id"] = order.pk
                except ApplicationError as exc:
                    error = exc.code
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"[:200]
                timings.append((began, time.perf_counter() - t0, error, counter.count))
        statement_capture.uninstall()
        results.put(timings)
    except BaseException as exc:
        ready.put(os.getpid())  # the parent is not left waiting for the gun
        results.put([(time.time(), 0.0, f"client crashed: {type(exc).__name__}: {exc}"[:300], 0)])
        raise
    finally:
        connections.close_all()


def place_concurrently(*, workshop_ids: list[int], supplier_ids: list[int], clients: int,
                       capture: bool = False, warmup_ids: list[int] = ()) -> list[tuple[float, float, str, int]]:
    """Fork `clients` processes (connections closed first), start them together, collect
    (start epoch, seconds, error code, statements) per order_place call. `warmup_ids`: one
    workshop per client that it places for, untimed, before the gun."""
    from django.db import connections

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    start, ready, results = ctx.Event(), ctx.Queue(), ctx.Queue()
    shares = [workshop_ids[i::clients] for i in range(clients)]
    warmups = [list(warmup_ids[i:i + 1]) for i in range(clients)]
    procs = [ctx.Process(target=_client, args=(share, supplier_ids, start, ready, results, capture, warmup),
                         daemon=True)
             for share, warmup in zip(shares, warmups, strict=True) if share]
    for p in procs:
        p.start()
    for _ in procs:  # every client has loaded its rows (and warmed up) before the gun
        ready.get(timeout=120)
    start.set()
    timings: list[tuple[float, float, str, int]] = []
    try:
        for _ in procs:
            timings += results.get(timeout=600)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return timings


# --- measurements -------------------------------------------------------------------------

def order_status_counts() -> dict[str, int]:
    from django.db.models import Count

    from orders.models import Order

    return dict(Order.objects.values_list("status").annotate(n=Count("pk")))


def erp_run(stop) -> None:
    """The suppliers' system: accept what waits for an answer, mark ready what is committed, in
    batches, until `stop` is set (a process of its own, forked with no connection open)."""
    from django.db import connection

    from bench import statement_capture
    from orders import services
    from orders.models import StepRun, StepStatus, SupplierOrder, SupplierOrderStatus

    statement_capture.install("erp")
    try:
        while not stop.is_set():
            pending = list(SupplierOrder.objects.filter(status=SupplierOrderStatus.PENDING,
                                                        accept_by__isnull=False).order_by("pk")[:200])
            committed = list(SupplierOrder.objects.filter(
                status=SupplierOrderStatus.ACCEPTED,
                pk__in=StepRun.objects.filter(step="commit_stock", status=StepStatus.SUCCEEDED)
                .values("supplier_order_id")).order_by("pk")[:200])
            for supplier_order in pending:
                with statement_capture.group("erp.accept", supplier_order_id=supplier_order.pk):
                    services.supplier_order_accept(supplier_order=supplier_order)
            for supplier_order in committed:
                with statement_capture.group("erp.mark_ready", supplier_order_id=supplier_order.pk):
                    services.supplier_order_mark_ready(supplier_order=supplier_order)
            if not pending and not committed:
                time.sleep(0.05)
    finally:
        statement_capture.uninstall()
        connection.close()


def supplier_orders_booked() -> tuple[int, int]:
    from orders.models import SupplierOrder, SupplierOrderStatus

    return (SupplierOrder.objects.filter(status=SupplierOrderStatus.CONFIRMED).count(),
            SupplierOrder.objects.count())


def wait_workflow(*, expected: int, processes: Processes, timeout: float) -> dict[str, int]:
    """Until every order has left placed/pending/paid (in_fulfilment, or failed) and every
    supplier order is booked with the courier."""
    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        counts = order_status_counts()
        moving = sum(n for status, n in counts.items() if status in {"placed", "pending_payment", "paid"})
        booked, supplier_orders = supplier_orders_booked()
        if sum(counts.values()) >= expected and moving == 0 and booked == supplier_orders:
            return counts
        if time.monotonic() > deadline:
            raise RuntimeError(f"workflow not finished after {timeout:.0f}s: {counts}, "
                               f"{booked} of {supplier_orders} supplier orders booked")
        if time.monotonic() - last_report > 15:
            say(f"    … {counts}, {booked} of {supplier_orders} supplier orders booked")
            last_report = time.monotonic()
        processes.check_alive()
        time.sleep(0.25)


def step_stats() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT step, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
            FROM orders_steprun WHERE status = 'succeeded' GROUP BY step""")
        durations = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute("SELECT status, count(*) FROM orders_steprun WHERE status <> 'succeeded' GROUP BY status")
        other = dict(cursor.fetchall())
        # From the order's commit-ish time to the first step's start: the queue ahead of it.
        cursor.execute("""
            WITH first AS (SELECT order_id, min(started_at) AS s FROM orders_steprun
                           WHERE step = 'open_for_acceptance' GROUP BY order_id)
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.s - o.created_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM f.s - o.created_at))
            FROM first f JOIN orders_order o ON o.id = f.order_id""")
        start_delay = cursor.fetchone()
        # Between one step's end and the next step's start: broker + worker overhead.
        cursor.execute("""
            WITH s AS (SELECT order_id, step, started_at, finished_at,
                              lead(started_at) OVER (PARTITION BY order_id ORDER BY started_at) AS next_start
                       FROM orders_steprun WHERE status = 'succeeded')
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM next_start - finished_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM next_start - finished_at))
            FROM s WHERE next_start IS NOT NULL""")
        gap = cursor.fetchone()
        cursor.execute("""
            SELECT count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at))
            FROM platform_outboxevent WHERE topic = 'payment.settled' AND published_at IS NOT NULL""")
        relay = cursor.fetchone()
        # The message's wait: due (enqueued_at) → the step's start, per step.
        cursor.execute("""
            SELECT step, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - enqueued_at)),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - enqueued_at))
            FROM orders_steprun WHERE status = 'succeeded' AND enqueued_at IS NOT NULL GROUP BY step""")
        queue_wait = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM platform_outboxevent")
        events = cursor.fetchone()[0]
        cursor.execute("""SELECT extract(epoch FROM max(finished_at)) FROM orders_steprun
                          WHERE step = 'book_courier' AND status = 'succeeded'""")
        last_done = cursor.fetchone()[0]
    return {"durations": durations, "other": other, "start_delay": start_delay, "gap": gap, "relay": relay,
            "queue_wait": queue_wait,
            "events": events, "last_done": float(last_done) if last_done is not None else None}


# --- the floor: the recorded statements, replayed -----------------------------------------

def conninfo_of(database_url: str, *, name: str | None = None) -> dict:
    import dj_database_url

    cfg = dj_database_url.parse(database_url)
    info = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None,
            "password": cfg["PASSWORD"] or None, "dbname": name or cfg["NAME"]}
    return {k: v for k, v in info.items() if v}


def sequences_spread() -> int:
    """Every sequence starts 10,000,000 ids apart from the next, so a recorded id names one row
    of one table (bench/statement_replay.py maps them). Returns how many were moved."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, sequencename, max_value FROM pg_sequences ORDER BY 1, 2")
        moved = 0
        for index, (schema, name, max_value) in enumerate(cursor.fetchall()):
            base = 100_000_000 + index * 10_000_000
            if max_value < base + 10_000_000:
                continue
            cursor.execute("SELECT setval(format('%%I.%%I', %s::text, %s::text)::regclass, %s)", [schema, name, base])
            moved += 1
    return moved


def database_copy(database_url: str, copy: str) -> None:
    """CREATE DATABASE copy TEMPLATE the bench's (nothing may be connected to it: retried while
    autovacuum is)."""
    import psycopg
    from psycopg import sql

    source = conninfo_of(database_url)["dbname"]
    with psycopg.connect(**conninfo_of(database_url, name="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy)))
        for attempt in range(50):
            try:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy),
                                                                              sql.Identifier(source)))
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.2)


def database_settle(database_url: str) -> tuple[float, float]:
    """After the workflow, before the order_place phases: VACUUM (ANALYZE) the bench's database,
    then CHECKPOINT; returns the seconds of each. The workflow leaves ~14,000 dead order rows and
    ~28,000 dead outbox rows and no planner statistics, and autovacuum is off on the bench machine's
    server (in production it cleans and analyses those tables while the workflow runs); and its
    ~100 MB of WAL and dirty pages were otherwise written back during the one-client phase, whose
    commits waited behind them (bench/README.md §5, "The one-client phase after the workflow")."""
    import psycopg

    with psycopg.connect(**conninfo_of(database_url), autocommit=True) as conn:
        t = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        vacuumed = time.monotonic() - t
        t = time.monotonic()
        conn.execute("CHECKPOINT")
        return vacuumed, time.monotonic() - t


def database_drop(database_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(**conninfo_of(database_url, name="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def capture_load(directory: Path) -> tuple[list[dict], float, int]:
    """Every recorded unit of work; the capture's own time and statement count, all processes."""
    groups, overhead, statements = [], 0.0, 0
    for path in sorted(directory.glob("*.pickle")):
        with path.open("rb") as f:
            while True:
                try:
                    record = pickle.load(f)  # noqa: S301 - written by this bench's own processes
                except EOFError:
                    break
                if record["kind"] == "_overhead":
                    overhead += record["seconds"]
                    statements += record["statements"]
                else:
                    groups.append(record)
    return groups, overhead, statements


def replay_items(*, groups: list[dict], orders: set[int], window: tuple[float, float]) -> list[tuple]:
    """The workflow's units of work as replay items: per order its placement and every unit
    labelled with it (or with one of its supplier orders, or its number), by start time; a unit
    of no one order inside the workflow's window (an outbox relay) an item of its own."""
    from orders.models import Order, SupplierOrder

    to_order = dict(SupplierOrder.objects.filter(order_id__in=orders).values_list("pk", "order_id"))
    by_number = dict(Order.objects.filter(pk__in=orders).values_list("number", "pk"))
    per_order: dict[int, list[dict]] = {}
    shared = []
    for group in groups:
        labels = group["labels"]
        order_id = labels.get("order_id")
        if order_id is None and "supplier_order_id" in labels:
            order_id = to_order.get(labels["supplier_order_id"])
        if order_id is None and "reference" in labels:
            order_id = by_number.get(labels["reference"])
        if order_id in orders:
            per_order.setdefault(order_id, []).append(group)
        elif order_id is None and window[0] <= group["start"] <= window[1] and group["statements"]:
            shared.append(group)
    items = [(order_id, sorted(gs, key=lambda g: g["start"])) for order_id, gs in per_order.items()]
    items += [(None, [g]) for g in shared]
    items.sort(key=lambda item: item[1][0]["start"])
    return items


def latency_summary(timings: list[tuple[float, float, str, int]]) -> dict:
    ok = [seconds * 1000 for _, seconds, error, _ in timings if not error]
    statements = [n for _, _, error, n in timings if not error]
    errors: dict[str, int] = {}
    for _, _, error, _ in timings:
        if error:
            errors[error] = errors.get(error, 0) + 1
    first = min(t for t, _, _, _ in timings)
    last = max(t + s for t, s, _, _ in timings)
    return {"n": len(timings), "ok": len(ok), "errors": errors, "p50": percentile(ok, 50), "p95": percentile(ok, 95),
            "p99": percentile(ok, 99), "max": max(ok, default=float("nan")), "first": first, "last": last,
            "rate": len(timings) / (last - first) if last > first else float("nan"),
            "statements_p50": percentile(statements, 50), "statements_max": max(statements, default=0)}


def ms(seconds) -> str:
    return "-" if seconds is None or seconds != seconds else f"{float(seconds) * 1000:7.1f}"


# --- main ---------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="orders through the workflow (and replayed)")
    parser.add_argument("--place-clients", type=int, default=4, help="client processes placing the workflow orders")
    parser.add_argument("--placements", type=int, default=800, help="order_place calls for the concurrent figure")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for the concurrent figure")
    parser.add_argument("--solo", type=int, default=SOLO, help="order_place calls by one client")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes (and replay connections)")
    parser.add_argument("--concurrency", type=int, default=1, help="--concurrency of each worker")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for a phase")
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_ORDER_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_ORDER_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--log-dir", default=str(Path(tempfile.gettempdir()) / "okto88-orderbench"),
                        help="worker and fake server logs, and the recorded statements")
    args = parser.parse_args()

    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C so the finally block stops the children.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    capture_dir = log_dir / "statements"
    shutil.rmtree(capture_dir, ignore_errors=True)
    capture_dir.mkdir()
    courier_port, gateway_port = free_port(), free_port()
    env = {
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "CELERY_QUEUE": QUEUE,
        "OUTBOX_STREAM": "orderbench:events", "CACHE_KEY_PREFIX": "orderbench", "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "okto88.settings",
        "COURIER_URL": f"http://127.0.0.1:{courier_port}", "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "PYTHONUNBUFFERED": "1", "BENCH_CAPTURE_DIR": str(capture_dir),
    }
    load_start = loadavg()
    say(f"order bench: {args.orders:,} workflow orders, {args.placements:,} placements by {args.clients} clients, "
        f"{args.solo} by one; {args.workers} worker process(es) × concurrency {args.concurrency}; {load_start}")
    rng = random.Random(args.seed)
    replay_database = conninfo_of(args.database_url)["dbname"] + "_replay"

    t = time.monotonic()
    database_recreate(args.database_url)
    # The bench process forks its clients and the suppliers' system: no connection pool in it, so
    # none of them inherits a pooled connection the others use (the workers keep the pool).
    pool_size = os.environ.get("DATABASE_POOL_SIZE")
    django_setup({**env, "DATABASE_POOL_SIZE": "0"})
    from django.core.management import call_command
    from django.db import connections

    from okto88.redis_connection import redis_client

    call_command("migrate", interactive=False, verbosity=0)
    redis_client().flushdb()
    say(f"  database recreated and migrated, Redis db flushed ... {time.monotonic() - t:5.1f}s")

    t = time.monotonic()
    warmups = 1 + args.clients  # one per client of the order_place phases (see place_concurrently)
    workshop_ids, supplier_ids = data_create(workshops=args.orders + args.placements + args.solo + warmups, rng=rng)
    spread = sequences_spread()
    connections.close_all()
    database_copy(args.database_url, replay_database)
    say(f"  data: 4 suppliers, 200 offers in stock, {len(workshop_ids):,} workshops with carts; {spread} sequences "
        f"spread; copied to {replay_database} for the replay ... {time.monotonic() - t:5.1f}s")
    workflow_ids = workshop_ids[:args.orders]
    latency_ids = workshop_ids[args.orders:args.orders + args.placements]
    solo_ids = workshop_ids[args.orders + args.placements:args.orders + args.placements + args.solo]
    warmup_ids = workshop_ids[args.orders + args.placements + args.solo:]

    child_env = {**os.environ, **env}
    child_env.pop("DATABASE_POOL_SIZE")
    if pool_size is not None:
        child_env["DATABASE_POOL_SIZE"] = pool_size
    processes = Processes(log_dir)
    try:
        with ExitStack() as stack:
            stack.callback(processes.stop_all)
            t = time.monotonic()
            manage = [sys.executable, str(ROOT / "manage.py")]
            processes.start("fake-courier", [*manage, "fake_courier", "--port", str(courier_port)], child_env)
            processes.start("fake-gateway", [*manage, "fake_gateway", "--port", str(gateway_port)], child_env)
            wait_port(courier_port, processes)
            wait_port(gateway_port, processes)
            names = []
            for i in range(args.workers):
                name = f"orderbench{i}@{socket.gethostname()}"
                names.append(name)
                processes.start(f"worker{i}", [
                    sys.executable, "-m", "celery", "-A", "okto88", "worker", "--loglevel=INFO",
                    f"--concurrency={args.concurrency}", "-Q", QUEUE, "-n", name, "-I", "bench.statement_capture",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"], child_env)
            wait_workers(names, processes)
            # The setup's stock events are relayed first, so the workflow starts on an empty queue.
            deadline = time.monotonic() + 60
            from okto88.models import OutboxEvent

            while OutboxEvent.objects.filter(published_at__isnull=True).exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            say(f"  fake courier :{courier_port}, fake gateway :{gateway_port}, {args.workers} workers ready ... "
                f"{time.monotonic() - t:5.1f}s   (logs in {log_dir})")

            # 1. the workflow, every statement recorded
            say(f"  workflow: placing {args.orders:,} terms orders with {args.place_clients} clients, "
                "workers running, statements recorded ...")
            t = time.monotonic()
            connections.close_all()  # the ERP process opens its own
            fork = multiprocessing.get_context("fork")
            erp_stop = fork.Event()
            erp = fork.Process(target=erp_run, args=(erp_stop,), name="erp", daemon=True)
            erp.start()
            stack.callback(erp_stop.set)
            placed = place_concurrently(workshop_ids=workflow_ids, supplier_ids=supplier_ids,
                                        clients=args.place_clients, capture=True)
            placed_summary = latency_summary(placed)
            counts = wait_workflow(expected=placed_summary["ok"], processes=processes, timeout=args.timeout)
            erp_stop.set()
            erp.join(timeout=30)
            if erp.is_alive():
                erp.kill()
            stats = step_stats()
            workflow_end = stats["last_done"] or time.time()
            workflow_seconds = workflow_end - placed_summary["first"]
            in_fulfilment = counts.get("in_fulfilment", 0)
            workflow_rate = in_fulfilment / workflow_seconds
            say(f"    done in {time.monotonic() - t:5.1f}s: {counts}; placement errors {placed_summary['errors'] or 0}")

            # 2. order_place alone, then under 16 clients, the workers paused
            waiting = workers_pause(names, processes)
            say(f"  workers' consumer cancelled, the tasks they held done ({waiting} message(s) left queued)")
            vacuumed, checkpointed = database_settle(args.database_url)
            say(f"  the workflow's work settled: VACUUM (ANALYZE) {vacuumed:.1f}s, CHECKPOINT {checkpointed:.1f}s")
            say(f"  order_place: {args.solo} placements by one client, workers paused ...")
            solo = latency_summary(place_concurrently(workshop_ids=solo_ids, supplier_ids=supplier_ids, clients=1,
                                                      warmup_ids=warmup_ids[:1]))
            say(f"  order_place: {args.placements:,} placements by {args.clients} concurrent clients, "
                "workers paused ...")
            t = time.monotonic()
            latency = latency_summary(place_concurrently(workshop_ids=latency_ids, supplier_ids=supplier_ids,
                                                         clients=args.clients, warmup_ids=warmup_ids[1:]))
            say(f"    done in {time.monotonic() - t:5.1f}s; errors {latency['errors'] or 0}")
            connections.close_all()
        # Workers stopped (their files closed): the machine is quiet for the replay.
        groups, capture_overhead, captured_statements = capture_load(capture_dir)
        placed_orders = {g["labels"]["order_id"] for g in groups
                         if g["kind"] == "order_place" and "order_id" in g["labels"]}
        items = replay_items(groups=groups, orders=placed_orders, window=(placed_summary["first"], workflow_end))
        connections.close_all()
        replayed_statements = sum(len(g["statements"]) for _, gs in items for g in gs)
        say(f"  floor: replaying {replayed_statements:,} recorded statements of {len(placed_orders):,} orders "
            f"({len(items) - len(placed_orders)} units of no one order) over {args.workers} connections ...")
        from bench.statement_replay import replay

        floor = replay(conninfo=psycopg_conninfo(args.database_url, replay_database), items=items,
                       connections=args.workers)
        say(f"    done in {floor['seconds']:5.1f}s; {floor['errors']} statement(s) failed "
            f"{floor['error_samples'][:3] or ''}")
        load_end = loadavg()
    finally:
        database_drop(args.database_url, replay_database)

    # --- report ---
    floor_rate = len(placed_orders) / floor["seconds"]
    ratio = workflow_rate / floor_rate
    task_seconds: dict[str, list[float]] = {}
    task_cpu: dict[str, list[float]] = {}
    task_wait: dict[str, list[float]] = {}  # runnable, waiting for a core (the thread's schedstat)
    task_sql: dict[str, list[float]] = {}  # inside its statements' execute calls
    for group in groups:
        if placed_summary["first"] <= group["start"] <= workflow_end:
            task_seconds.setdefault(group["kind"], []).append(group["end"] - group["start"])
            task_cpu.setdefault(group["kind"], []).append(group["cpu"])
            if group.get("sched_wait") is not None:
                task_wait.setdefault(group["kind"], []).append(group["sched_wait"])
            if group.get("statement_seconds") is not None:
                task_sql.setdefault(group["kind"], []).append(group["statement_seconds"])
    replay_seconds: dict[str, list[float]] = {}
    per_order: dict[int, float] = {}
    for kind, order_id, seconds, _n in floor["timings"]:
        replay_seconds.setdefault(kind, []).append(seconds)
        if order_id is not None:
            per_order[order_id] = per_order.get(order_id, 0.0) + seconds
    statements_per_kind: dict[str, list[int]] = {}
    for _, gs in items:
        for g in gs:
            statements_per_kind.setdefault(g["kind"], []).append(len(g["statements"]))

    say("")
    say(f"workflow: {in_fulfilment:,} of {args.orders:,} orders in_fulfilment in {workflow_seconds:.1f}s "
        f"(first placement → last supplier order booked) = {workflow_rate:.1f} orders/s")
    say(f"  placement alone: {placed_summary['rate']:.1f} orders/s with {args.place_clients} clients "
        f"(p50 {placed_summary['p50']:.1f} ms, p95 {placed_summary['p95']:.1f} ms)")
    say(f"  outbox events written: {stats['events']:,}; StepRun rows not succeeded: {stats['other'] or 'none'}")
    say(f"  capture: {captured_statements:,} statements recorded, {capture_overhead:.2f}s of bookkeeping in all "
        f"processes ({capture_overhead / max(1, captured_statements) * 1e6:.0f} µs a statement)")
    say(f"floor: {len(placed_orders):,} orders' statements replayed in {floor['seconds']:.1f}s over {args.workers} "
        f"connections = {floor_rate:.1f} orders/s; one order's statements p50 "
        f"{percentile(list(per_order.values()), 50) * 1000:.1f} ms")
    server_cpu = floor.get("server_cpu_seconds")
    say(f"  PostgreSQL per order: {'?' if server_cpu is None else f'{server_cpu / len(placed_orders) * 1000:.1f} ms'} "
        f"of its backends' CPU, {floor['wal_bytes'] / len(placed_orders) / 1024:.1f} KiB of WAL "
        f"(the replay's; the capacity plan in bench/README.md starts from these)")
    say("")
    say("where an order's time goes (p50 / p95 ms; run = the unit's own time in its process, cpu = the CPU "
        "its thread used meanwhile, wait = the time it was runnable but waiting for a core (schedstat), "
        "sql = the time inside its statements' execute calls, replay = its statements replayed):")
    say(f"  {'unit':<40}{'runs':>7}{'run p50':>9}{'p95':>9}{'cpu p50':>9}{'wait p50':>9}{'sql p50':>9}"
        f"{'stmts':>7}{'replay p50':>12}{'p95':>9}")
    kinds = ["order_place", *STEP_TASKS.values(), "erp.accept", "erp.mark_ready"]
    kinds += sorted(k for k in task_seconds if k not in kinds)
    for kind in kinds:
        runs = task_seconds.get(kind, [])
        rep = replay_seconds.get(kind, [])
        say(f"  {kind:<40}{len(runs):>7}{ms(percentile(runs, 50)):>9}{ms(percentile(runs, 95)):>9}"
            f"{ms(percentile(task_cpu.get(kind, []), 50)):>9}{ms(percentile(task_wait.get(kind, []), 50)):>9}"
            f"{ms(percentile(task_sql.get(kind, []), 50)):>9}"
            f"{percentile(statements_per_kind.get(kind, []), 50):>7}{ms(percentile(rep, 50)):>12}"
            f"{ms(percentile(rep, 95)):>9}")
    for step in STEPS:
        wait = stats["queue_wait"].get(step, (None, None))
        say(f"  {'queue wait before ' + step:<40}{'':>7}{ms(wait[0]):>9}{ms(wait[1]):>9}"
            "   the message due → the step starts (StepRun)")
    say(f"  {'start (order created → step 1)':<40}{'':>7}{ms(stats['start_delay'][0]):>9}"
        f"{ms(stats['start_delay'][1]):>9}")
    say(f"  {'between steps':<40}{'':>7}{ms(stats['gap'][0]):>9}{ms(stats['gap'][1]):>9}"
        "   a step's end → the next's start (broker, queue, the supplier's answer)")
    say(f"  {'outbox relay delay (payment.settled)':<40}{stats['relay'][0]:>7}{ms(stats['relay'][1]):>9}"
        f"{ms(stats['relay'][2]):>9}   created_at → published_at")
    say("")
    say(f"order_place, 1 client:   {solo['ok']:,} ok of {solo['n']:,}, p50 {solo['p50']:.1f} ms, "
        f"p95 {solo['p95']:.1f} ms, {solo['rate']:.1f} placements/s; statements p50 {solo['statements_p50']}, "
        f"max {solo['statements_max']}")
    say(f"order_place, {args.clients} clients: {latency['ok']:,} ok of {latency['n']:,}, "
        f"p50 {latency['p50']:.1f} ms, p95 {latency['p95']:.1f} ms, p99 {latency['p99']:.1f} ms, "
        f"max {latency['max']:.1f} ms, {latency['rate']:.1f} placements/s")
    say("")
    checks = [
        ("workflow throughput / replayed statements", f"≥ {RATIO_TARGET:.0%}",
         f"{ratio:.1%} ({workflow_rate:.1f} / {floor_rate:.1f} per s)", ratio >= RATIO_TARGET and not floor["errors"]),
    ]
    for step, kind in STEP_TASKS.items():
        run, rep = percentile(task_seconds.get(kind, []), 50), percentile(replay_seconds.get(kind, []), 50)
        checks.append((f"{step} p50 / its statements' replay", f"≤ {STEP_RATIO_TARGET:.0f}×",
                       f"{run / rep:.2f}× ({run * 1000:.1f} / {rep * 1000:.1f} ms)", run <= STEP_RATIO_TARGET * rep))
    checks += [
        ("order_place p50, 1 client", f"≤ {PLACE_P50_TARGET_MS:.0f} ms", f"{solo['p50']:.1f} ms",
         solo["p50"] <= PLACE_P50_TARGET_MS and not solo["errors"]),
        ("order_place SQL statements (max)", f"≤ {PLACE_STATEMENTS_TARGET}", f"{solo['statements_max']}",
         solo["statements_max"] <= PLACE_STATEMENTS_TARGET),
        (f"placements/s, {args.clients} clients ÷ 1", f"≥ {SCALE_TARGET}×",
         f"{latency['rate'] / solo['rate']:.2f}× ({latency['rate']:.1f} / {solo['rate']:.1f})",
         latency["rate"] >= SCALE_TARGET * solo["rate"] and not latency["errors"]),
        ("workflow orders in_fulfilment", f"{args.orders:,}", f"{in_fulfilment:,}", in_fulfilment == args.orders),
    ]
    say(f"| {'check':<42} | {'target':<9} | {'result':<32} |      |")
    say(f"|{'-' * 44}|{'-' * 11}|{'-' * 34}|------|")
    for name, target, result, ok in checks:
        say(f"| {name:<42} | {target:<9} | {result:<32} | {'PASS' if ok else 'FAIL'} |")
    say("")
    say(f"start: {load_start}; end: {load_end}")
    return 0 if all(ok for *_, ok in checks) else 1


def psycopg_conninfo(database_url: str, name: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**conninfo_of(database_url, name=name))


if __name__ == "__main__":
    sys.exit(main())
