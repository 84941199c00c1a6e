"""Search benchmark through the real HTTP stack (gunicorn), on the generated catalog.

    .venv/bin/python bench/generate_catalog.py --parts 200000 --variants 20000 --fitments 5000000
    .venv/bin/python bench/search_bench.py

For each search kind — vehicle+category (`/api/v1/parts/?vehicle=&category=`), part-number
lookup (`/api/v1/parts/lookup/?number=`), words (`/api/v1/parts/?q=`) — it prints p50/p95/p99
of the HTTP latency (one client, sequential requests, after a warm-up), and the raw SQL time
of the same request: the queries the endpoint issued (captured once in-process with Django's
test client; API-key and session look-ups left out) replayed with psycopg on a connection of
its own. Then the throughput of vehicle+category and of a trivial JSON endpoint (`/healthz`)
in the same run, with the same client (several processes, so the GIL is not the limit), and
the targets with pass/fail.

gunicorn runs with `-w 2` (sync workers) against the bench database, API_THROTTLE_RATE raised
so the throttle does not count, DEBUG off. The API key is issued here with
okto88.services.api_key_issue (scope catalog:read).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from generate_catalog import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, django_setup  # noqa: E402

TARGETS = {"vehicle+category": 40.0, "number lookup": 15.0, "words": 80.0}
THROUGHPUT_TARGET = 0.5
AUTH_TABLES = ('"platform_apikey"', '"platform_apiclient"', '"django_session"', '"platform_user"')

WORD_QUERIES = [
    "kampas rem", "brake pad", "busi", "spark plug", "saringan oli", "oil filter", "aki", "battery",
    "kampas rem depan avanza", "shock absorber", "v-belt beat", "oli mesin", "wiper blade",
    "bohlam lampu depan", "kampas kopling", "roller cvt vario", "radiator", "bearing roda",
    "kampas rm", "bsui", "saringn oli", "brake pda", "ngk busi", "aisin", "denso", "filter udara",
]


@dataclass
class Case:
    kind: str
    path: str


@dataclass
class Result:
    kind: str
    latencies_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    queries: int = 0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Inputs -----------------------------------------------------------------------------

def pick_cases(rng: random.Random, n: int) -> dict[str, list[Case]]:
    """Realistic inputs: popular variants are searched more, numbers typed every which way."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Variants weighted by how many parts they carry; with a top-level category of theirs.
        cursor.execute(
            """
            WITH v AS (
                SELECT variant_id, count(*) AS n FROM catalog_fitment
                GROUP BY variant_id ORDER BY n DESC LIMIT 2000
            )
            SELECT v.variant_id, v.n, (
                SELECT coalesce(c.parent_id, c.id) FROM catalog_fitment f
                JOIN catalog_part p ON p.id = f.part_id JOIN catalog_category c ON c.id = p.category_id
                WHERE f.variant_id = v.variant_id LIMIT 1)
            FROM v ORDER BY v.n DESC
            """
        )
        variants = cursor.fetchall()
        cursor.execute("SELECT id FROM catalog_category WHERE parent_id IS NOT NULL ORDER BY id")
        leaves = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT number FROM catalog_part TABLESAMPLE SYSTEM (1) REPEATABLE (88) LIMIT 2000")
        numbers = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            "SELECT number FROM catalog_crossreference TABLESAMPLE SYSTEM (1) REPEATABLE (88) WHERE is_oe LIMIT 500"
        )
        oe_numbers = [r[0] for r in cursor.fetchall()]
    if not variants or not numbers:
        raise SystemExit("the bench database is empty: run bench/generate_catalog.py first")
    cases: dict[str, list[Case]] = {"vehicle+category": [], "number lookup": [], "words": []}
    weights = [n for _v, n, _c in variants]
    for _ in range(n):
        variant_id, _n, top_category = rng.choices(variants, weights=weights)[0]
        category = top_category if rng.random() < 0.5 else rng.choice(leaves)
        cases["vehicle+category"].append(
            Case("vehicle+category", "/api/v1/parts/?" + urlencode({"vehicle": variant_id, "category": category})))
        number = rng.choice(oe_numbers) if oe_numbers and rng.random() < 0.3 else rng.choice(numbers)
        style = rng.random()
        if style < 0.3:
            number = number.lower().replace("-", "").replace(" ", "")
        elif style < 0.4:
            number = number[:-1] + ("9" if number[-1] != "9" else "8")  # a typo: close matches
        cases["number lookup"].append(Case("number lookup", "/api/v1/parts/lookup/?" + urlencode({"number": number})))
        cases["words"].append(Case("words", "/api/v1/parts/?" + urlencode({"q": rng.choice(WORD_QUERIES)})))
    return cases


def api_key() -> str:
    from okto88.models import ApiClient, Scope
    from okto88.services import api_key_issue

    client, _ = ApiClient.objects.get_or_create(name="Search benchmark")
    return api_key_issue(client=client, name=f"bench {time.time():.0f}", scopes=[Scope.CATALOG_READ]).raw_key


# --- Raw SQL ----------------------------------------------------------------------------

def captured_sql(path: str, key: str) -> tuple[int, list[str]]:
    """The SQL an endpoint runs for `path`, as executed (parameters inlined by psycopg)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = Client().get(path, HTTP_AUTHORIZATION=f"Api-Key {key}")
    statements = [q["sql"] for q in queries.captured_queries
                  if not any(table in q["sql"] for table in AUTH_TABLES)
                  and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    return response.status_code, statements


def replay_ms(conn, statements: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for sql in statements:
            cursor = conn.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
        best = min(best, (time.perf_counter() - began) * 1000)
    return best


# --- HTTP -------------------------------------------------------------------------------

def http_get(port: int, path: str, key: str | None) -> tuple[int, float]:
    headers = {"Authorization": f"Api-Key {key}"} if key else {}
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    finally:
        conn.close()
    return status, (time.perf_counter() - began) * 1000


def _hammer(args) -> int:
    port, paths, key, seconds = args
    done, i = 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, _ms = http_get(port, paths[i % len(paths)], key)
        i += 1
        done += status == 200
    return done


def throughput(port: int, paths: list[str], key: str | None, *, clients: int, seconds: float) -> float:
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        began = time.monotonic()
        counts = pool.map(_hammer, [(port, paths[i::clients] or paths, key, seconds) for i in range(clients)])
        elapsed = time.monotonic() - began
    return sum(counts) / max(elapsed, seconds)


def gunicorn_start(port: int, *, database_url: str, redis_url: str, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "API_THROTTLE_RATE": "1000000/min", "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "okto88.settings"}
    log = open(Path(tempfile.gettempdir()) / f"okto88-bench-gunicorn-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "okto88.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http_get(port, "/healthz", None)[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log.name}")


# --- Main -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--requests", type=int, default=300, help="measured requests per search kind")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--sql-samples", type=int, default=60, help="requests whose SQL is replayed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4, help="client processes for the throughput run")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=88)
    args = parser.parse_args()

    # The in-process capture goes through the same throttle as gunicorn; keep the output a table.
    os.environ["API_THROTTLE_RATE"] = "1000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django_setup(args.database_url, args.redis_url)
    import psycopg
    from django.db import connection

    rng = random.Random(args.seed)
    cases = pick_cases(rng, args.warmup + args.requests)
    key = api_key()
    connection.close()
    port = args.port or free_port()
    print(f"gunicorn -w {args.workers} on 127.0.0.1:{port}, database {args.database_url}")
    server = gunicorn_start(port, database_url=args.database_url, redis_url=args.redis_url, workers=args.workers)
    results: dict[str, Result] = {}
    try:
        for kind, kind_cases in cases.items():
            result = results.setdefault(kind, Result(kind))
            for case in kind_cases[: args.warmup]:
                http_get(port, case.path, key)
            for case in kind_cases[args.warmup:]:
                status, ms = http_get(port, case.path, key)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.latencies_ms.append(ms)
        settings_dict = connection.settings_dict
        conninfo = {"host": settings_dict["HOST"] or None, "port": settings_dict["PORT"] or None,
                    "user": settings_dict["USER"] or None, "password": settings_dict["PASSWORD"] or None,
                    "dbname": settings_dict["NAME"]}
        with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as raw:
            for kind, kind_cases in cases.items():
                result = results[kind]
                for case in kind_cases[args.warmup: args.warmup + args.sql_samples]:
                    status, statements = captured_sql(case.path, key)
                    if status != 200:
                        continue
                    result.queries = max(result.queries, len(statements))
                    result.sql_ms.append(replay_ms(raw, statements))
        vehicle_paths = [c.path for c in cases["vehicle+category"]]
        trivial_rps = throughput(port, ["/healthz"], None, clients=args.clients, seconds=args.seconds)
        vehicle_rps = throughput(port, vehicle_paths, key, clients=args.clients, seconds=args.seconds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print()
    print(f"{'search':<18} {'n':>5} {'HTTP p50':>9} {'p95':>8} {'p99':>8} {'SQL p50':>8} {'SQL p95':>8} "
          f"{'queries':>7}  {'target p95':>10}  result   statuses")
    failures = 0
    for kind, result in results.items():
        p95 = percentile(result.latencies_ms, 95)
        ok = result.statuses.get(200, 0) == len(result.latencies_ms) and p95 <= TARGETS[kind]
        failures += not ok
        print(f"{kind:<18} {len(result.latencies_ms):>5} {percentile(result.latencies_ms, 50):>7.1f}ms "
              f"{p95:>6.1f}ms {percentile(result.latencies_ms, 99):>6.1f}ms "
              f"{percentile(result.sql_ms, 50):>6.1f}ms {percentile(result.sql_ms, 95):>6.1f}ms {result.queries:>7}  "
              f"{f'≤ {TARGETS[kind]:.0f} ms':>10}  {'PASS' if ok else 'FAIL':<7}  "
              f"{dict(sorted(result.statuses.items()))}")
    ratio = vehicle_rps / trivial_rps if trivial_rps else 0.0
    ok = ratio >= THROUGHPUT_TARGET
    failures += not ok
    print()
    print(f"throughput ({args.clients} client processes, {args.seconds:.0f}s each, gunicorn -w {args.workers}): "
          f"/healthz {trivial_rps:,.0f} req/s, vehicle+category {vehicle_rps:,.0f} req/s = {ratio:.0%} of trivial "
          f"(target ≥ {THROUGHPUT_TARGET:.0%}): {'PASS' if ok else 'FAIL'}")
    print(f"(median of {statistics.median([len(c.path) for c in cases['words']]):.0f}-character URLs; "
          "SQL = the endpoint's own queries replayed with psycopg, best of 3)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
