"""Search benchmark through the real HTTP stack (gunicorn), on the generated catalog.

    .venv/bin/python bench/generate_catalog.py --parts 200000 --variants 20000 --fitments 5000000
    .venv/bin/python bench/search_bench.py

For each search kind — vehicle+category (`/api/v1/parts/?vehicle=&category=`), part-number
lookup (`/api/v1/parts/lookup/?number=`), words (`/api/v1/parts/?q=`) — it prints p50/p95/p99
of the HTTP latency (one client, sequential requests on one keep-alive connection, after a
warm-up), twice:
- cold: every request misses the search cache (each URL carries a parameter of its own,
  `_nonce`, which the API ignores but the cache key includes), so the endpoint runs its
  queries and serializes — and stores the page, as a first request does;
- warm: the same URLs again after one priming pass, so each is served from the cache.
And the raw SQL time of the same request: the queries the endpoint issued (captured once
in-process with Django's test client and the search cache off; API-key and session look-ups
left out) replayed with psycopg on a connection of its own. Then the requests/s of a trivial
JSON endpoint (`/healthz`) and of vehicle+category, warm and cold, with the same client
(several processes, each with its own keep-alive connection, so the GIL is not the limit),
in the same run, and the targets with pass/fail: the latency targets apply to the cold
figures; the throughput targets to vehicle+category warm (≥ 50% of /healthz) and cold, every
request a cache miss (≥ 20% of /healthz).

gunicorn runs `--worker-class gthread -w 2 --threads 2` by default (2 cores here; threads
keep a worker busy while one of its requests waits on PostgreSQL, and gthread keeps
connections alive) against the bench database, API_THROTTLE_RATE raised so the throttle does
not refuse, DEBUG off. The API key is issued here with okto88.services.api_key_issue (scope
catalog:read).
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

TARGETS = {"vehicle+category": 40.0, "number lookup": 15.0, "words": 30.0}
THROUGHPUT_TARGET = 0.5  # vehicle+category warm (served from the search cache), of /healthz
COLD_THROUGHPUT_TARGET = 0.2  # vehicle+category with every request a cache miss, of /healthz
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
    warm_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    queries: int = 0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


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

class Client:
    """One keep-alive HTTP/1.1 connection, reopened if the server closes it."""

    def __init__(self, port: int, key: str | None):
        self.port = port
        self.headers = {"Authorization": f"Api-Key {key}"} if key else {}
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, float]:
        began = time.perf_counter()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("GET", path, headers=self.headers)
                response = self.conn.getresponse()
                response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
                began = time.perf_counter()  # a stale kept-alive connection: not the server's time
                continue
            if response.will_close:
                self.close()
            return response.status, (time.perf_counter() - began) * 1000
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def http_get(port: int, path: str, key: str | None) -> tuple[int, float]:
    client = Client(port, key)
    try:
        return client.get(path)
    finally:
        client.close()


def cold(path: str, n: int) -> str:
    """`path` as no earlier request spelled it: the search cache cannot have it."""
    return f"{path}&_nonce={n}"


def _hammer(args) -> int:
    port, paths, key, seconds, nonce_base = args
    client = Client(port, key)
    done, i = 0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        status, _ms = client.get(cold(path, nonce_base + i) if nonce_base is not None else path)
        i += 1
        done += status == 200
    client.close()
    return done


def throughput(port: int, paths: list[str], key: str | None, *, clients: int, seconds: float,
               nonce_base: int | None = None) -> float:
    with multiprocessing.get_context("fork").Pool(clients) as pool:
        began = time.monotonic()
        counts = pool.map(_hammer, [(port, paths[i::clients] or paths, key, seconds,
                                     None if nonce_base is None else nonce_base + i * 10_000_000)
                                    for i in range(clients)])
        elapsed = time.monotonic() - began
    return sum(counts) / max(elapsed, seconds)


def gunicorn_start(port: int, *, database_url: str, redis_url: str, workers: int, threads: int,
                   worker_class: str, best_offers: bool) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "API_THROTTLE_RATE": "1000000/min", "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "okto88.settings"}
    application = "okto88.wsgi"
    if not best_offers:
        # Diagnostic only (--no-best-offers): the project's WSGI application with no best-offer
        # source registered (catalog.selectors.best_offer_source_set), to tell the catalog's own
        # time from the suppliers' lookup.
        folder = Path(tempfile.mkdtemp(prefix="okto88-bench-wsgi-"))
        (folder / "okto88_bench_wsgi.py").write_text(
            "from okto88.wsgi import application  # noqa: F401\n"
            "from catalog.selectors import best_offer_source_set\n\nbest_offer_source_set(None)\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH", "")]))
        application = "okto88_bench_wsgi:application"
    log = open(Path(tempfile.gettempdir()) / f"okto88-bench-gunicorn-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), application, "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--worker-class", worker_class, "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"],
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

def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--requests", type=int, default=300, help="measured requests per search kind")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--sql-samples", type=int, default=60, help="requests whose SQL is replayed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--clients", type=int, default=4, help="client processes for the throughput runs")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--no-best-offers", dest="best_offers", action="store_false",
                        help="diagnostic: serve without the suppliers' per-page best-offer lookup")
    args = parser.parse_args()

    # The in-process capture goes through the same throttle as gunicorn; keep the output a table.
    os.environ["API_THROTTLE_RATE"] = "1000000/min"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django_setup(args.database_url, args.redis_url)
    import psycopg
    from django.conf import settings
    from django.db import connection

    from catalog.selectors import best_offer_source, best_offer_source_set

    # The SQL capture below must run the queries, not read the search cache.
    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    if not args.best_offers:
        best_offer_source_set(None)
    source = best_offer_source()
    rng = random.Random(args.seed)
    cases = pick_cases(rng, args.warmup + args.requests)
    key = api_key()
    connection.close()
    port = args.port or free_port()
    nonce = time.time_ns() // 1000  # unique per run: a cold URL is never in the cache
    print(f"gunicorn --worker-class {args.worker_class} -w {args.workers} --threads {args.threads} "
          f"on 127.0.0.1:{port}, database {args.database_url}; best offers "
          f"{f'{source.__module__}.{source.__qualname__}' if source else 'off (--no-best-offers)'}; {load()}")
    server = gunicorn_start(port, database_url=args.database_url, redis_url=args.redis_url, workers=args.workers,
                            threads=args.threads, worker_class=args.worker_class, best_offers=args.best_offers)
    results: dict[str, Result] = {}
    try:
        client = Client(port, key)
        for kind, kind_cases in cases.items():
            result = results.setdefault(kind, Result(kind))
            # Warm-up on URLs of their own: the processes, connections and PostgreSQL's
            # buffers warm up, the search cache does not learn the measured URLs.
            for i, case in enumerate(kind_cases[: args.warmup]):
                client.get(cold(case.path, nonce - 1 - i))
            measured = kind_cases[args.warmup:]
            for i, case in enumerate(measured):
                status, ms = client.get(cold(case.path, nonce + i))
                result.count(status)
                result.latencies_ms.append(ms)
            for case in measured:  # priming: the first request of each URL
                client.get(case.path)
            for case in measured:
                status, ms = client.get(case.path)
                result.count(status)
                result.warm_ms.append(ms)
        client.close()
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
        vehicle_paths = [c.path for c in cases["vehicle+category"][args.warmup:]]
        trivial_rps = throughput(port, ["/healthz"], None, clients=args.clients, seconds=args.seconds)
        warm_rps = throughput(port, vehicle_paths, key, clients=args.clients, seconds=args.seconds)
        cold_rps = throughput(port, vehicle_paths, key, clients=args.clients, seconds=args.seconds,
                              nonce_base=nonce + 1_000_000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print()
    print(f"{'search':<18} {'n':>5} {'HTTP p50':>9} {'p95':>8} {'p99':>8} {'warm p50':>9} {'p95':>7} "
          f"{'SQL p50':>8} {'SQL p95':>8} {'queries':>7}  {'target p95':>10}  result   statuses")
    failures = 0
    for kind, result in results.items():
        p95 = percentile(result.latencies_ms, 95)
        ok = result.statuses.get(200, 0) == len(result.latencies_ms) + len(result.warm_ms) and p95 <= TARGETS[kind]
        failures += not ok
        print(f"{kind:<18} {len(result.latencies_ms):>5} {percentile(result.latencies_ms, 50):>7.1f}ms "
              f"{p95:>6.1f}ms {percentile(result.latencies_ms, 99):>6.1f}ms "
              f"{percentile(result.warm_ms, 50):>7.1f}ms {percentile(result.warm_ms, 95):>5.1f}ms "
              f"{percentile(result.sql_ms, 50):>6.1f}ms {percentile(result.sql_ms, 95):>6.1f}ms {result.queries:>7}  "
              f"{f'≤ {TARGETS[kind]:.0f} ms':>10}  {'PASS' if ok else 'FAIL':<7}  "
              f"{dict(sorted(result.statuses.items()))}")
    ratio = warm_rps / trivial_rps if trivial_rps else 0.0
    cold_ratio = cold_rps / trivial_rps if trivial_rps else 0.0
    warm_ok, cold_ok = ratio >= THROUGHPUT_TARGET, cold_ratio >= COLD_THROUGHPUT_TARGET
    failures += (not warm_ok) + (not cold_ok)
    print()
    print(f"throughput ({args.clients} client processes, keep-alive, {args.seconds:.0f}s each; gunicorn "
          f"{args.worker_class} -w {args.workers} --threads {args.threads}): /healthz {trivial_rps:,.0f} req/s")
    print(f"vehicle+category warm {warm_rps:,.0f} req/s = {ratio:.1%} of /healthz "
          f"(target ≥ {THROUGHPUT_TARGET:.0%}): {'PASS' if warm_ok else 'FAIL'}")
    print(f"vehicle+category cold (every request a cache miss) {cold_rps:,.0f} req/s = {cold_ratio:.1%} of /healthz "
          f"(target ≥ {COLD_THROUGHPUT_TARGET:.0%}): {'PASS' if cold_ok else 'FAIL'}")
    print(f"(HTTP = cold: every URL new to the search cache; warm = the same URLs served from it. "
          f"SQL = the endpoint's own queries, cache off, replayed with psycopg, best of 3. "
          f"Median URL {statistics.median([len(c.path) for c in cases['words']]):.0f} characters; {load()})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
