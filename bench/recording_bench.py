"""What recording costs the calling path: the target is ≤ 0.1 ms per recorded request or partner call.

    .venv/bin/python bench/recording_bench.py        # --calls 200000 --rounds 40 --batch 50 --path /accounts/login/

Two measurements, in one run on one machine:

1. record() itself: the time per call of okto88.recording.record("partner", …) (what an adapter
   adds to a partner call) and of record("request", …), over --calls calls, the median of 5
   runs; the flusher thread runs meanwhile, as in production.
2. A request through the whole middleware stack (Django test Client, in-process, DEBUG off) on
   --path, with RECORDING_ENABLED on and off: --rounds rounds, each a batch of --batch requests
   with recording on and one with it off, in alternating order; the figure is the median over
   rounds of (mean time per request on − mean time per request off), so drift of the machine
   during the run cancels out.

Uses the project's settings (DATABASE_URL/REDIS_URL, or the embedded servers). Prints each figure
and PASS/FAIL against 0.1 ms; the exit status is non-zero on a FAIL. Timings on a shared machine
are noisy: compare runs made in the same conditions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 0.1


def say(message: str) -> None:
    print(message, flush=True)


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # the measured requests' log lines are not the point here


def record_cost_ms(kind: str, labels: tuple[str, ...], outcome: str, calls: int) -> float:
    from okto88.recording import record

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for index in range(calls):
            record(kind, labels, 0.001 * (index % 500), outcome)
        runs.append((time.perf_counter() - started) / calls * 1000)
    return statistics.median(runs)


def request_overhead_ms(path: str, rounds: int, batch: int) -> tuple[float, float, float]:
    from django.test import Client, override_settings

    client = Client()

    def batch_ms(enabled: bool) -> float:
        with override_settings(RECORDING_ENABLED=enabled):
            started = time.perf_counter()
            for _ in range(batch):
                client.get(path)
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
    parser.add_argument("--path", default="/accounts/login/")  # a page, no query, no throttle
    args = parser.parse_args()
    django_setup()
    from okto88.recording import recording_flush

    results = []
    say(f"record() per call, median of 5 runs of {args.calls:,} calls:")
    partner = record_cost_ms("partner", ("courier", "book"), "ok", args.calls)
    results.append(verdict("record() of a partner call", partner))
    request = record_cost_ms("request", ("GET", "api/v1/parts/"), "2xx", args.calls)
    results.append(verdict("record() of a request", request))
    recording_flush()

    say(f"GET {args.path} through the middleware, {args.rounds} rounds of {args.batch} requests on and off:")
    on_ms, off_ms, overhead = request_overhead_ms(args.path, args.rounds, args.batch)
    say(f"      median per request: recording on {on_ms:.3f} ms, off {off_ms:.3f} ms")
    results.append(verdict("recording's cost per request (median of paired differences)", max(overhead, 0.0)))
    recording_flush()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
