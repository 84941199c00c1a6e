"""Extend the generated catalog with suppliers, warehouses, offers and stock, with COPY.

    .venv/bin/python bench/generate_suppliers.py --suppliers 300 --offers 1000000

Needs the catalog of bench/generate_catalog.py in the same database (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/okto88_bench). REPLACES every supplier row of that database
(TRUNCATE suppliers_* ... CASCADE). Deterministic (--seed).

Shape: --suppliers suppliers in Indonesian cities (1-4 warehouses each, real areas), offer
counts per supplier log-normal (a few big distributors, a long tail of small shops), each
offer on a random catalog part (popular parts get more offers), a price in whole rupiah
(multiples of Rp 500), stock in 1-2 of its supplier's warehouses, 5% of stock partly
reserved. Every non-zero stock row gets its ledger rows (an `import` movement, plus a
`reservation` one when reserved), so on_hand == sum of the ledger as the services keep it.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_catalog import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    Timer,
    copy_lines,
    database_create,
    django_setup,
    secondary_schema,
)

CREATED_AT = "2026-01-01 00:00:00+00"
# (city, province, district, postal code, region code, warehouse code prefix)
CITIES = [
    ("Kota Administrasi Jakarta Selatan", "Daerah Khusus Ibukota Jakarta", "Kebayoran Baru", "12110", "31.74.07",
     "JKT"),
    ("Kota Administrasi Jakarta Utara", "Daerah Khusus Ibukota Jakarta", "Penjaringan", "14440", "31.72.01", "JKU"),
    ("Kota Surabaya", "Jawa Timur", "Genteng", "60275", "35.78.09", "SBY"),
    ("Kota Bandung", "Jawa Barat", "Sumur Bandung", "40111", "32.73.19", "BDG"),
    ("Kota Semarang", "Jawa Tengah", "Semarang Tengah", "50132", "33.74.10", "SMG"),
    ("Kota Medan", "Sumatera Utara", "Medan Kota", "20212", "12.71.07", "MDN"),
    ("Kota Makassar", "Sulawesi Selatan", "Ujung Pandang", "90111", "73.71.03", "MKS"),
    ("Kota Denpasar", "Bali", "Denpasar Barat", "80112", "51.71.03", "DPS"),
    ("Kota Yogyakarta", "Daerah Istimewa Yogyakarta", "Gondokusuman", "55221", "34.71.06", "YOG"),
    ("Kota Palembang", "Sumatera Selatan", "Ilir Barat I", "30137", "16.71.05", "PLM"),
    ("Kota Balikpapan", "Kalimantan Timur", "Balikpapan Kota", "76111", "64.71.05", "BPN"),
    ("Kota Tangerang", "Banten", "Tangerang", "15111", "36.71.01", "TNG"),
]
NAMES = ["Sumber", "Jaya", "Makmur", "Sentosa", "Abadi", "Mitra", "Karya", "Sinar", "Mulia", "Prima", "Utama",
         "Bintang", "Cahaya", "Harapan", "Maju", "Berkah", "Sejahtera", "Mandiri", "Perkasa", "Global"]
TABLES = ("suppliers_offer", "suppliers_stock", "suppliers_stockmovement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--offers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    timer = Timer()
    print(f"generating into {args.database_url}: {args.suppliers} suppliers, {args.offers:,} offers, seed {args.seed}")
    with timer.step("database and migrations"):
        django_setup(args.database_url, args.redis_url)
        database_create(args.database_url)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    suppliers_generate(suppliers=args.suppliers, offers=args.offers, seed=args.seed, timer=timer)


def suppliers_generate(*, suppliers: int, offers: int, seed: int = 88, timer: Timer | None = None,
                       vacuum: bool = True) -> None:
    """Generate the suppliers into the database Django is set up on, over its catalog (main()
    sets it up). Without `vacuum` (inside a transaction, as in a test) VACUUM is left out."""
    timer = timer or Timer()
    n_suppliers = suppliers  # `suppliers` becomes the generated rows

    from django.db import connection

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id), count(*) FROM catalog_part")
        low, high, n_parts = cursor.fetchone()
        if not n_parts:
            sys.exit("the catalog is empty: run bench/generate_catalog.py first")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        with timer.step("truncate suppliers and drop secondary indexes/constraints"):
            cursor.execute("TRUNCATE suppliers_stockmovement, suppliers_stock, suppliers_offer, suppliers_feedimport, "
                           "suppliers_warehouse, suppliers_supplierapiclient, suppliers_suppliermember, "
                           "suppliers_supplier RESTART IDENTITY CASCADE")
            recreate = []
            for table in TABLES:
                recreate += secondary_schema(cursor, table)

        suppliers, warehouses = [], []  # warehouses: (id, supplier_id)
        by_supplier: dict[int, list[int]] = {}
        for s in range(1, n_suppliers + 1):
            city = CITIES[s % len(CITIES)]
            name = f"PT {rng.choice(NAMES)} {rng.choice(NAMES)} Parts {s}"
            suppliers.append(f"{s}\t{name}\t0{s:012d}000\tBudi {s}\tsales{s}@supplier{s}.co.id\t\tactive\t"
                             f"{CREATED_AT}\t{CREATED_AT}\n")
            for w in range(rng.choice([1, 1, 2, 2, 3, 4])):
                wcity = CITIES[(s + w) % len(CITIES)] if w else city
                wid = len(warehouses) + 1
                warehouses.append(f"{wid}\t{s}\t{wcity[5]}{w + 1}\tGudang {wcity[0]}\t{wcity[1]}\t{wcity[0]}\t"
                                  f"{wcity[2]}\t{wcity[3]}\tJl. Raya No. {s}\t{wcity[4]}\tt\t{CREATED_AT}\n")
                by_supplier.setdefault(s, []).append(wid)
        weights = [rng.lognormvariate(0, 1.2) for _ in range(n_suppliers)]
        scale = offers / sum(weights)
        counts = [max(1, int(w * scale)) for w in weights]
        counts[-1] += offers - sum(counts)
        with timer.step(f"COPY {len(suppliers)} suppliers, {len(warehouses)} warehouses"):
            copy_lines(cursor, "suppliers_supplier", ["id", "legal_name", "npwp", "contact_name", "contact_email",
                                                      "contact_phone", "status", "created_at", "updated_at"],
                       suppliers)
            copy_lines(cursor, "suppliers_warehouse", ["id", "supplier_id", "code", "name", "province", "city",
                                                       "district", "postal_code", "address_line", "region_code",
                                                       "is_active", "created_at"], warehouses)

        stock_rows: list[tuple[int, int, int, int, int]] = []  # (stock id, offer id, warehouse, on_hand, reserved)

        def offer_lines():
            offer_id = 0
            for s, count in enumerate(counts, start=1):
                for n in range(count):
                    offer_id += 1
                    # Popular parts get more offers: a square skews towards low ids.
                    part_id = low + int((high - low) * rng.random() ** 2)
                    price = rng.randrange(20, 10_000) * 500
                    yield (f"{offer_id}\t{s}\t{part_id}\tS{s}-{n:07d}\t{price}\t1\t1\t{rng.choice([1, 1, 2, 3, 7])}"
                           f"\tt\t{CREATED_AT}\t{CREATED_AT}\n")
                    whs = by_supplier[s]
                    for wid in rng.sample(whs, min(len(whs), rng.choice([1, 1, 2]))):
                        on_hand = rng.choice([0, 0, 1, 2, 5, 10, 20, 50, 100])
                        reserved = rng.randint(1, on_hand) if on_hand and rng.random() < 0.05 else 0
                        stock_rows.append((len(stock_rows) + 1, offer_id, wid, on_hand, reserved))

        with timer.step(f"COPY offers ({offers:,})"):
            copy_lines(cursor, "suppliers_offer", ["id", "supplier_id", "part_id", "sku", "price", "min_order_qty",
                                                   "pack_size", "lead_time_days", "is_active", "created_at",
                                                   "updated_at"], offer_lines())
        with timer.step(f"COPY stock ({len(stock_rows):,})"):
            copy_lines(cursor, "suppliers_stock", ["id", "offer_id", "warehouse_id", "on_hand", "reserved",
                                                   "updated_at"],
                       (f"{i}\t{o}\t{w}\t{h}\t{r}\t{CREATED_AT}\n" for i, o, w, h, r in stock_rows))

        def movement_lines():
            mid = 0
            for sid, _o, _w, on_hand, reserved in stock_rows:
                if on_hand:
                    mid += 1
                    yield f"{mid}\t{sid}\timport\t{on_hand}\t0\t{on_hand}\t0\tgenerator\t{CREATED_AT}\n"
                if reserved:
                    mid += 1
                    yield f"{mid}\t{sid}\treservation\t0\t{reserved}\t{on_hand}\t{reserved}\tgenerator\t{CREATED_AT}\n"

        with timer.step("COPY the stock ledger"):
            n_moves = copy_lines(cursor, "suppliers_stockmovement",
                                 ["id", "stock_id", "reason", "on_hand_delta", "reserved_delta", "on_hand_after",
                                  "reserved_after", "reference", "created_at"], movement_lines())
        with timer.step("identity sequences"):
            for table in ("suppliers_supplier", "suppliers_warehouse", *TABLES):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        with timer.step(f"recreate {len(recreate)} indexes and constraints"):
            for ddl in recreate:
                cursor.execute(ddl)
        with timer.step("best offer per part (suppliers.services.part_best_offer_rebuild)"):
            from suppliers.services import part_best_offer_rebuild

            part_best_offer_rebuild()
        if vacuum:
            with timer.step("VACUUM ANALYZE"):
                for table in ("suppliers_supplier", "suppliers_warehouse", *TABLES, "suppliers_partbestoffer"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT (SELECT count(*) FROM suppliers_offer), (SELECT count(*) FROM suppliers_stock), "
                       "pg_size_pretty(pg_database_size(current_database()))")
        n_offers, n_stock, size = cursor.fetchone()
    print(f"done in {timer.total():.1f}s: {n_suppliers} suppliers, {len(warehouses)} warehouses, "
          f"{n_offers:,} offers, {n_stock:,} stock rows, {n_moves:,} ledger rows; database {size}")


if __name__ == "__main__":
    main()
