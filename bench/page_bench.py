"""Workshop page benchmark: server time per page on the demo data, against the 150 ms target.

    .venv/bin/python bench/page_bench.py             # --repeat 30 --warmup 3

What it does (about a minute):

1. Recreates its own database (DROP … WITH (FORCE), CREATE, migrate; default
   postgres://postgres@127.0.0.1:5432/okto88_pagebench) and loads the demo data with the
   project's loader (okto88.demo.demo_load_all, as `manage.py demo_load`). Never point it at a
   database you care about. It is dropped again at the end (--keep to leave it).
2. Starts the fake courier in this process (the cart and every offer's delivery estimate ask
   it for shipping quotes over HTTP, as in production; the fake answers in about a
   millisecond; "part page: quotes cold" empties the quote cache before each request) and places one order through
   the service so the orders list and the order page have something to show. Workflow tasks
   go to a queue nobody consumes, deleted at the end.
3. Logs in as the demo workshop (Django test Client, in-process, DEBUG off) and requests each
   page --warmup times unmeasured, then --repeat times measured: wall time of the request
   through the whole middleware stack and template rendering, and its SQL query count.
   The checkout places a real order each time (the cart is refilled, unmeasured, before each).

Prints per page p50/p95 (ms), the queries, the target and PASS/FAIL (p95 ≤ target); the exit
status is non-zero on a FAIL. Timings on a shared machine are noisy: compare runs made in the
same conditions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_pagebench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
QUEUE = "okto88-pagebench-unconsumed"
CACHE_PREFIX = "pagebench"
TARGET_MS = 150.0


def say(message: str) -> None:
    print(message, flush=True)


def database_connect_args(database_url: str) -> tuple[dict, str]:
    import dj_database_url

    cfg = dj_database_url.parse(database_url)
    conninfo = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None,
                "password": cfg["PASSWORD"] or None, "dbname": "postgres"}
    return {k: v for k, v in conninfo.items() if v}, cfg["NAME"]


def database_recreate(database_url: str, *, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    conninfo, name = database_connect_args(database_url)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Page:
    def __init__(self, name: str, method: str, url: str, data: dict | None = None, before=None, htmx: bool = False):
        self.name, self.method, self.url, self.data, self.before, self.htmx = name, method, url, data, before, htmx
        self.times: list[float] = []
        self.queries: list[int] = []
        self.first_ms: float | None = None


def request(client, page: Page) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if page.before:
        page.before()
    headers = {"HX-Request": "true"} if page.htmx else {}
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        if page.method == "POST":
            response = client.post(page.url, page.data() if callable(page.data) else page.data, headers=headers)
        else:
            response = client.get(page.url, page.data or {}, headers=headers)
        elapsed = (time.perf_counter() - start) * 1000
    if response.status_code not in (200, 302):
        raise SystemExit(f"{page.name}: HTTP {response.status_code} for {page.url}")
    return elapsed, len(ctx.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per page first")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PAGE_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_PAGE_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    os.environ.update({
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "CELERY_QUEUE": QUEUE,
        "OUTBOX_STREAM": f"{CACHE_PREFIX}:events", "CACHE_KEY_PREFIX": CACHE_PREFIX, "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "okto88.settings", "LOG_LEVEL": "WARNING",
    })
    sys.path.insert(0, str(ROOT))
    say(f"page bench: demo data, {args.repeat} requests per page after {args.warmup} warm-up; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t = time.monotonic()
    database_recreate(args.database_url)
    import django

    django.setup()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake courier's access log
    from django.conf import settings
    from django.core.management import call_command

    from okto88.redis_connection import redis_client

    call_command("migrate", interactive=False, verbosity=0)
    courier = None
    try:
        from logistics.fake_courier import start_fake_courier
        from okto88.demo import demo_load_all

        demo_load_all()
        say(f"database and demo data ready in {time.monotonic() - t:.1f} s")
        courier = start_fake_courier(api_key=settings.COURIER_API_KEY, webhook_secret=settings.COURIER_WEBHOOK_SECRET)
        settings.COURIER_URL = courier.url
        pages = pages_build(args)
        for page in pages:
            for index in range(args.warmup + args.repeat):
                elapsed, queries = request(pages_build.client, page)
                if index == 0:
                    page.first_ms = elapsed
                if index >= args.warmup:
                    page.times.append(elapsed)
                    page.queries.append(queries)
        return report(pages, args.target_ms)
    finally:
        if courier is not None:
            courier.stop()
        from django.db import connections

        connections.close_all()
        client = redis_client()
        client.delete(QUEUE)
        keys = list(client.scan_iter(match=f"{CACHE_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        if not args.keep:
            database_recreate(args.database_url, create=False)


def pages_build(args) -> list[Page]:
    """The demo workshop's member logged in, Avanza 2019 chosen, a cart and an order to show."""
    import uuid

    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from catalog.models import Fitment
    from okto88.demo import DEMO_LOGINS
    from okto88.models import User
    from orders import services as order_services
    from orders.selectors import cart_line_list
    from suppliers.models import Offer, Stock
    from suppliers.selectors import BUYABLE_OFFER_Q
    from suppliers.services import stock_adjust
    from vehicles.models import VehicleVariant
    from workshops.models import Workshop
    from workshops.selectors import address_default, workshop_for_actor
    from workshops.views import SESSION_VARIANT_KEY

    user = User.objects.get(email=DEMO_LOGINS["workshop"])
    workshop = workshop_for_actor(actor=user)
    address = address_default(workshop=workshop)
    # Every measured checkout is a real order on terms: room for all of them on credit.
    Workshop.objects.filter(pk=workshop.pk).update(credit_limit=10_000_000_000)
    workshop.refresh_from_db()
    variant = (VehicleVariant.objects.filter(model__make__name="Toyota", model__name="Avanza", year_from__lte=2019,
                                             year_to__gte=2019).order_by("pk").first())
    # A brake pad of the Avanza with the most offers: the part page compares them, the cart
    # buys from two suppliers. Every checkout takes one unit of each line: top their stock up
    # (through the service, so the ledger explains it).
    in_stock = Offer.objects.filter(BUYABLE_OFFER_Q, stocks__on_hand__gt=0)
    pad = (in_stock.filter(part__fitments__variant=variant, part__category__slug="kampas-rem")
           .values("part_id").annotate(n=Count("pk", distinct=True)).order_by("-n", "part_id")[0]["part_id"])
    offers = list(in_stock.filter(part_id=pad).distinct().order_by("price")[:2])
    other_offer = in_stock.filter(part__fitments__variant=variant).exclude(part_id=pad).order_by("pk").first()
    for offer in [*offers, other_offer]:
        stock = Stock.objects.filter(offer=offer, on_hand__gt=0).order_by("pk").first()
        stock_adjust(stock=stock, delta=args.repeat + args.warmup + 10, reference="page bench")
    fitted = Fitment.objects.filter(variant=variant).count()

    def cart_fill() -> None:
        if len(cart_line_list(workshop=workshop)) < 3:
            for offer in [*offers, other_offer]:
                order_services.cart_line_add(workshop=workshop, offer_id=offer.pk, quantity=1)

    cart_fill()
    order = order_services.order_place(
        workshop=workshop, actor=user, address=address, payment_method="terms",
        shipping_choices=shipping_choices(workshop, address), idempotency_key=uuid.uuid4().hex)
    cart_fill()

    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_VARIANT_KEY] = variant.pk
    session.save()
    pages_build.client = client
    pad_number = Offer.objects.get(pk=offers[0].pk).part.number
    say(f"Avanza variant {variant.pk} ({fitted} fitments), pad {pad} with {len(offers)} offers shown, "
        f"order {order.number}")

    def checkout_form() -> dict:
        return {"address": address.pk, "payment_method": "terms", "idempotency_token": uuid.uuid4().hex,
                **{f"ship_{s}": f"{c}|{level}" for s, (c, level) in shipping_choices(workshop, address).items()}}

    return [
        Page("parts list (Avanza)", "GET", reverse("workshops:parts")),
        Page("parts: category + sort", "GET", reverse("workshops:parts"),
             {"category": Offer.objects.get(pk=offers[0].pk).part.category_id, "sort": "price"}),
        Page("search: words", "GET", reverse("workshops:parts"), {"q": "kampas rem depan"}),
        Page("search: number", "GET", reverse("workshops:parts"), {"q": pad_number}),
        Page("part page", "GET", reverse("orders:part", args=[pad])),
        # Every offer's delivery asks the courier for each route not in the quote cache
        # (orders.services.delivery): emptied before each request, every route is asked.
        Page("part page: quotes cold", "GET", reverse("orders:part", args=[pad]), before=quote_cache_clear),
        Page("cart", "GET", reverse("orders:cart"), before=cart_fill),
        Page("cart: recompute (htmx)", "GET", reverse("orders:cart"), {"payment_method": "virtual_account"},
             before=cart_fill, htmx=True),
        Page("checkout (POST)", "POST", reverse("orders:checkout"), checkout_form, before=cart_fill),
        Page("orders list", "GET", reverse("orders:list")),
        Page("order page", "GET", reverse("orders:detail", args=[order.number])),
        Page("notifications", "GET", reverse("orders:notifications")),
        Page("garage", "GET", reverse("workshops:garage")),
    ]


def quote_cache_clear() -> None:
    """Forget every cached courier quote (logistics.services keeps them under courier-rates:…)."""
    from okto88.redis_connection import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"{CACHE_PREFIX}:*courier-rates:*", count=1000))
    if keys:
        client.delete(*keys)


def shipping_choices(workshop, address) -> dict[int, tuple[str, str]]:
    from orders import services as order_services

    preview = order_services.cart_checkout_preview(workshop=workshop, address=address)
    return {g.supplier_id: (g.choice.carrier_code, g.choice.service_level) for g in preview.groups}


def report(pages: list[Page], target_ms: float) -> int:
    say("")
    say(f"{'page':<26} {'first':>8} {'p50':>8} {'p95':>8} {'max':>8} {'queries':>8}  target   result")
    failed = 0
    for page in pages:
        p50, p95 = statistics.median(page.times), percentile(page.times, 95)
        queries = f"{min(page.queries)}" if min(page.queries) == max(page.queries) else \
            f"{min(page.queries)}-{max(page.queries)}"
        ok = p95 <= target_ms
        failed += not ok
        say(f"{page.name:<26} {page.first_ms:>6.1f}ms {p50:>6.1f}ms {p95:>6.1f}ms {max(page.times):>6.1f}ms "
            f"{queries:>8}  {target_ms:.0f} ms  {'PASS' if ok else 'FAIL'}")
    say(f"\n{len(pages) - failed}/{len(pages)} pages PASS (p95 ≤ {target_ms:.0f} ms); "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
