"""Operations view benchmark: p95 of every /ops/ page and /api/v1/ops/ endpoint on the generated
history, against the 300 ms target.

    .venv/bin/python bench/generate_ops_history.py    # first: 1,000,000 orders, 5,000,000 step runs
    .venv/bin/python bench/ops_bench.py               # --repeat 20 --warmup 2

What it measures, on the database the generator filled (default
postgres://postgres@127.0.0.1:5432/okto88_opsbench; nothing is written but a staff user, an API
client and its key): for each section of analytics.pages.SECTIONS and each period (1h, 24h, 7d,
30d), the page /ops/<section>/?period=… (as a staff user) and the endpoint
/api/v1/ops/<section>/?period=… (an API key with ops:read); then the dashboard /ops/, the
stalled orders (page and endpoint) and one order's timeline (page and endpoint: a failed order,
the one with most attempts). Django's test Client in this process, DEBUG off, the request's
whole middleware stack and rendering: --warmup unmeasured requests, then --repeat measured.

One line per URL with p50/p95/max and the SQL query count, PASS when p95 ≤ --target-ms; the exit
status is non-zero on any FAIL. A shared machine is noisy: compare runs made in the same
conditions, and read the load average printed first and last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_opsbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
CACHE_PREFIX = "opsbench"
TARGET_MS = 300.0
PERIODS = ("1h", "24h", "7d", "30d")
OPS_READ = "ops:read"


def say(message: str) -> None:
    print(message, flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Target:
    def __init__(self, name: str, url: str, *, api: bool):
        self.name, self.url, self.api = name, url, api
        self.times: list[float] = []
        self.queries: list[int] = []


def targets_build() -> list[Target]:
    from django.db import connection

    from analytics.pages import SECTIONS

    targets = [Target("dashboard", "/ops/", api=False)]
    for section in SECTIONS:
        for period in PERIODS:
            targets.append(Target(f"{section.slug} {period}", f"/ops/{section.slug}/?period={period}", api=False))
            targets.append(Target(f"api {section.slug} {period}", f"/api/v1/ops/{section.slug}/?period={period}",
                                  api=True))
    targets += [Target("stalled", "/ops/stalled/", api=False), Target("api stalled", "/api/v1/ops/stalled/", api=True)]
    with connection.cursor() as cursor:
        # The order whose timeline has most to draw: a failed one with all its booking attempts.
        cursor.execute("""
            SELECT o.number FROM orders_order o JOIN orders_steprun r ON r.order_id = o.id
            WHERE o.status = 'failed' GROUP BY o.id, o.number ORDER BY count(*) DESC, o.id LIMIT 1
        """)
        row = cursor.fetchone()
    if row:
        targets += [Target("timeline", f"/ops/orders/{row[0]}/", api=False),
                    Target("api timeline", f"/api/v1/ops/orders/{row[0]}/timeline/", api=True)]
    return targets


def clients_build():
    """A staff member's browser session and an API client with ops:read."""
    from django.test import Client

    from okto88.models import User
    from okto88.services import api_client_ensure, api_key_issue

    staff, _ = User.objects.get_or_create(email="ops-bench-staff@okto88.id",
                                          defaults={"full_name": "Ops bench", "is_staff": True})
    browser = Client()
    browser.force_login(staff)
    issued = api_key_issue(client=api_client_ensure(name="Ops bench"), name="ops bench", scopes=[OPS_READ])
    api = Client(headers={"Authorization": f"Api-Key {issued.raw_key}"})
    return browser, api


def measure(client, target: Target) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The log is a deque of at most 9,000 queries: once full, the context's slice of it is empty.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(target.url)
        elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{target.name}: HTTP {response.status_code} for {target.url}")
    return elapsed, len(captured.captured_queries)


def report(targets: list[Target], target_ms: float) -> int:
    say("")
    say(f"{'page or endpoint':<26} {'p50':>8} {'p95':>8} {'max':>8} {'queries':>8}  target   result")
    failed = 0
    for target in targets:
        p50, p95 = statistics.median(target.times), percentile(target.times, 95)
        queries = f"{min(target.queries)}" if min(target.queries) == max(target.queries) else \
            f"{min(target.queries)}-{max(target.queries)}"
        ok = p95 <= target_ms
        failed += not ok
        say(f"{target.name:<26} {p50:>6.1f}ms {p95:>6.1f}ms {max(target.times):>6.1f}ms {queries:>8}  "
            f"{target_ms:.0f} ms  {'PASS' if ok else 'FAIL'}")
    say(f"\n{len(targets) - failed}/{len(targets)} PASS (p95 ≤ {target_ms:.0f} ms); load average {load_average()}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="measured requests per URL")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured requests per URL first")
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    os.environ.update({
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "okto88.settings", "LOG_LEVEL": "WARNING",
        "API_THROTTLE_RATE": "1000000/min", "ALLOWED_HOSTS": "testserver,localhost",
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    say(f"ops bench on {args.database_url}: {args.repeat} requests per URL after {args.warmup} warm-up; "
        f"load average {load_average()}")
    browser, api = clients_build()
    targets = targets_build()
    for target in targets:
        client = api if target.api else browser
        for index in range(args.warmup + args.repeat):
            elapsed, queries = measure(client, target)
            if index >= args.warmup:
                target.times.append(elapsed)
                target.queries.append(queries)
        say(f"  {target.name}: p95 {percentile(target.times, 95):.1f} ms")
    return report(targets, args.target_ms)


if __name__ == "__main__":
    sys.exit(main())
