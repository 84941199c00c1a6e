"""What per-client traffic counting adds to a request: the target is ≤ 0.3 ms (p50) per request.

    .venv/bin/python bench/traffic_bench.py        # --calls 200000 --rounds 40 --batch 50

Two measurements, in one run on one machine:

1. traffic_count() itself (okto88.client_traffic): the time per call for an API client's request
   on a route with an object id, over --calls calls, the median of 5 runs; the flusher thread
   runs meanwhile, as in production.
2. Requests through the whole middleware stack (Django test Client, in-process, DEBUG off) with
   SECURITY_TRAFFIC_ENABLED on and off: a browser page (--path) and an API request with a key on
   a route with an object id (--api-path, answered 404: what an enumeration looks like); --rounds
   rounds, each a batch of --batch requests on and one off, in alternating order; the figure is
   the median over rounds of (mean time per request on − off), so drift of the machine cancels out.

Uses the project's settings (DATABASE_URL/REDIS_URL, or the embedded servers); issues one API key
for the run and revokes it at the end. Prints each figure and PASS/FAIL against 0.3 ms; the exit
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
TARGET_MS = 0.3


def say(message: str) -> None:
    print(message, flush=True)


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")  # the API path measured, not its 429
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)


def count_cost_ms(calls: int) -> float:
    from okto88.client_traffic import traffic_count

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for index in range(calls):
            traffic_count(ident="client:1", status=404, endpoint="api/v1/orders/<str:number>/",
                          object_id=f"OK-2612-{index % 500:06d}", api_key_id=1)
        runs.append((time.perf_counter() - started) / calls * 1000)
    return statistics.median(runs)


def request_overhead_ms(client, path: str, rounds: int, batch: int, **headers) -> tuple[float, float, float]:
    from django.test import override_settings

    def batch_ms(enabled: bool) -> float:
        with override_settings(SECURITY_TRAFFIC_ENABLED=enabled):
            started = time.perf_counter()
            for _ in range(batch):
                client.get(path, **headers)
            return (time.perf_counter() - started) / batch * 1000

    for enabled in (True, False):  # warm up both paths
        batch_ms(enabled)
    on_times, off_times, differences = [], [], []
    for index in range(rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        times = {enabled: batch_ms(enabled) for enabled in order}
        on_times.append(times[True])
        off_times.append(times[False])
        differences.append(times[True] - times[False])
    return statistics.median(on_times), statistics.median(off_times), statistics.median(differences)


def verdict(name: str, value_ms: float) -> bool:
    ok = value_ms <= TARGET_MS
    say(f"{'PASS' if ok else 'FAIL'}  {name}: {value_ms * 1000:.1f} µs (target ≤ {TARGET_MS * 1000:.0f} µs)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--path", default="/accounts/login/")
    parser.add_argument("--api-path", default="/api/v1/orders/OK-2612-ZZZZZZ/")
    args = parser.parse_args()
    django_setup()
    from django.core.management import call_command
    from django.test import Client

    from okto88 import services
    from okto88.client_traffic import traffic_flush
    from okto88.models import ApiClient, Scope

    call_command("migrate", verbosity=0)
    results = []
    say(f"traffic_count() per call, median of 5 runs of {args.calls:,} calls:")
    results.append(verdict("traffic_count() of an API request with an object id", count_cost_ms(args.calls)))
    traffic_flush()

    api_client = ApiClient.objects.create(name="traffic bench", contact_email="bench@example.co.id")
    issued = services.api_key_issue(client=api_client, name="bench", scopes=list(Scope.values))
    try:
        client = Client()
        say(f"GET {args.path} through the middleware, {args.rounds} rounds of {args.batch} requests on and off:")
        on_ms, off_ms, overhead = request_overhead_ms(client, args.path, args.rounds, args.batch)
        say(f"      median per request: counting on {on_ms:.3f} ms, off {off_ms:.3f} ms")
        results.append(verdict("counting's cost per browser request (median of paired differences)",
                               max(overhead, 0.0)))
        say(f"GET {args.api_path} with an API key, {args.rounds} rounds of {args.batch} requests on and off:")
        on_ms, off_ms, overhead = request_overhead_ms(client, args.api_path, args.rounds, args.batch,
                                                      HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
        say(f"      median per request: counting on {on_ms:.3f} ms, off {off_ms:.3f} ms")
        results.append(verdict("counting's cost per API request (median of paired differences)",
                               max(overhead, 0.0)))
    finally:
        traffic_flush()
        services.api_key_revoke(api_key=issued.api_key)
        api_client.delete()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
