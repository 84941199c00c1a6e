"""Security monitoring against ordinary traffic: how many alerts do the detectors raise (false positives)?

    .venv/bin/python bench/security_replay_bench.py     # --minutes 3 --search-clients 4 --workshops 8

What it does, in one run (a few minutes):

1. Recreates its own database (default postgres://postgres@127.0.0.1:5432/okto88_securitybench)
   and flushes its own Redis database (default redis://127.0.0.1:6379/8). Never point it at a
   database you care about.
2. Data, with the other benches' own generators at a small scale: the catalog of
   bench/generate_catalog.py (--parts parts), then bench/order_bench.py's data_create (4
   suppliers with offers and stock, --workshops workshops each with a member, an address and a
   filled cart).
3. Callers, the ordinary traffic of the two benches, each its own API client and key:
   - --search-clients partner systems searching the catalog with bench/search_bench.py's request
     mix (vehicle + category, part-number lookups typed every which way, words with typos), each
     at --search-rate requests a minute on average (random, exponential gaps);
   - one workshop system per workshop (a client bound to it, scopes orders:read + catalog:read)
     that reads its cart and its orders list every --poll-seconds on average;
   - anonymous visitors loading the home and login pages (--page-rate a minute).
   These clients are established partners: their traffic history (ClientTrafficHour, the same hour
   of the week for the 4 weeks before, at their ordinary rate) is written first and the baselines
   computed from it, as four weeks of production would have left them (--no-history: new clients,
   judged against the floor baseline).
4. Serves it all from a real server (gunicorn, as bench/search_bench.py starts it) with every
   detector in ENFORCE mode (SECURITY_DETECTOR_MODES) and the platform's ordinary API throttle.
   The server counts each caller's requests (okto88.client_traffic); the bench runs the detectors
   every SECURITY_DETECT_EVERY_SECONDS as beat does (analytics.services.security_traffic_detect),
   and once more after the last request.
5. A positive control runs beside them (--no-control leaves it out): a workshop system walking
   order numbers that are not its own, once a second, each answered 404. It must raise an
   enumeration alert (and, enforcing, have its key suspended); its alerts are not counted as
   false positives. Without it a replay nobody watched would pass too.
6. Prints the requests sent by caller kind and status, what the server counted for the
   detectors, every alert raised (detector, who, figures), and PASS/FAIL lines: the control is
   caught, and ordinary traffic raised 0 alerts. Exit status non-zero on a FAIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_securitybench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
TARGET_ALERTS = 0
EVERY_MODE_ENFORCE = ",".join(f"{name}=enforce" for name in
                              ("volume", "error_ratio", "auth_failure", "enumeration", "fast_flow"))
HISTORY_WEEKS = 4


def say(message: str) -> None:
    print(message, flush=True)


def setup(args) -> None:
    """The bench's own database and Redis, every detector enforcing, for this process and the server."""
    import order_bench

    os.environ.update({"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "DEBUG": "false",
                       "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "okto88.settings",
                       "SECURITY_DETECTOR_MODES": EVERY_MODE_ENFORCE})
    order_bench.database_recreate(args.database_url)
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    from okto88.redis_connection import redis_client

    call_command("migrate", verbosity=0)
    redis_client().flushdb()


# --- the callers -------------------------------------------------------------------------

class Caller:
    def __init__(self, *, kind: str, key: str | None, paths, rate_per_minute: float, ident: str):
        self.kind, self.key, self.paths, self.rate, self.ident = kind, key, paths, rate_per_minute, ident
        self.statuses: Counter[int] = Counter()


def callers_create(args, rng: random.Random) -> list[Caller]:
    import order_bench
    import search_bench

    from okto88.models import ApiClient, Scope
    from okto88.services import api_key_issue
    from workshops.services import workshop_api_client_bind

    workshop_ids, _supplier_ids = order_bench.data_create(workshops=args.workshops, rng=rng)
    cases = search_bench.pick_cases(rng, 400)
    search_paths = [case.path for kind_cases in cases.values() for case in kind_cases]
    callers = []
    for index in range(args.search_clients):
        client = ApiClient.objects.create(name=f"Search partner {index}")
        key = api_key_issue(client=client, name="bench", scopes=[Scope.CATALOG_READ]).raw_key
        callers.append(Caller(kind="search partner", key=key, paths=search_paths, rate_per_minute=args.search_rate,
                              ident=f"client:{client.pk}"))
    for workshop_id in workshop_ids:
        client = ApiClient.objects.create(name=f"Workshop system {workshop_id}")
        workshop_api_client_bind(workshop_id=workshop_id, api_client=client)
        key = api_key_issue(client=client, name="bench", scopes=[Scope.ORDERS_READ, Scope.CATALOG_READ]).raw_key
        callers.append(Caller(kind="workshop system", key=key, paths=["/api/v1/cart/lines/", "/api/v1/orders/"],
                              rate_per_minute=2 * 60 / args.poll_seconds, ident=f"client:{client.pk}"))
    callers.append(Caller(kind="visitor pages", key=None, paths=["/", "/accounts/login/"],
                          rate_per_minute=args.page_rate, ident="ip:127.0.0.1"))
    return callers


def control_create(rng: random.Random) -> Caller:
    """The positive control: a workshop system walking order numbers that are not its own (each
    answered 404), the enumeration the detectors must catch; proof that the replay is watched."""
    from okto88.models import ApiClient, Scope
    from okto88.services import api_key_issue
    from workshops.models import Workshop
    from workshops.services import workshop_api_client_bind

    workshop = Workshop.objects.create(name="Bengkel Kontrol", phone="+6281234567890")
    client = ApiClient.objects.create(name="Control: order-number walker")
    workshop_api_client_bind(workshop_id=workshop.pk, api_client=client)
    key = api_key_issue(client=client, name="bench", scopes=[Scope.ORDERS_READ]).raw_key
    paths = [f"/api/v1/orders/OK-2612-{n:06d}/" for n in rng.sample(range(1_000_000), 2000)]
    return Caller(kind="control (enumerates)", key=key, paths=paths, rate_per_minute=60.0, ident=f"client:{client.pk}")


def history_write(callers: list[Caller], rng: random.Random, now: float) -> int:
    """Four weeks of each caller's ordinary rate in the same hour of the week (and the hour
    before, which the detectors' previous minute may fall in): ClientTrafficHour rows, then the
    baselines computed from them, as production would have them."""
    from analytics.models import ClientTrafficHour
    from analytics.services.security_traffic import client_baselines_refresh

    hour = dt.datetime.fromtimestamp((int(now) // 3600) * 3600, tz=dt.UTC)
    rows = []
    for caller in callers:
        for week in range(1, HISTORY_WEEKS + 1):
            for back in (0, 1):
                start = hour - dt.timedelta(weeks=week, hours=back)
                # Poisson counts (a rate of independent callers), by the normal approximation.
                minutes = [max(0, round(rng.gauss(caller.rate, math.sqrt(caller.rate)))) for _ in range(60)]
                rows.append(ClientTrafficHour(ident=caller.ident, hour=start, requests=sum(minutes),
                                              s2xx=sum(minutes), minute_requests=minutes))
    ClientTrafficHour.objects.bulk_create(rows)
    client_baselines_refresh(now=now)
    return len(rows)


def caller_run(caller: Caller, *, port: int, until: float, seed: int) -> None:
    import search_bench

    rng = random.Random(seed)
    http = search_bench.Client(port, caller.key)
    next_at = time.monotonic() + rng.uniform(0, 60 / caller.rate)
    try:
        while True:
            now = time.monotonic()
            if next_at >= until:
                return
            if next_at > now:
                time.sleep(next_at - now)
            status, _ms = http.get(rng.choice(caller.paths))
            caller.statuses[status] += 1
            next_at += rng.expovariate(caller.rate / 60)
    finally:
        http.close()


def detect_loop(stop: threading.Event, every: float, errors: list) -> None:
    from django.db import connection

    from analytics.services.security_traffic import security_traffic_detect

    try:
        while not stop.wait(every):
            security_traffic_detect()
    except Exception as exc:  # reported by main
        errors.append(exc)
    finally:
        connection.close()


# --- Main --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the traffic is replayed")
    parser.add_argument("--search-clients", type=int, default=4)
    parser.add_argument("--search-rate", type=float, default=40.0, help="requests a minute per search partner")
    parser.add_argument("--workshops", type=int, default=8, help="workshops, each with its own system polling")
    parser.add_argument("--poll-seconds", type=float, default=10.0, help="a workshop system reads every … s")
    parser.add_argument("--page-rate", type=float, default=20.0, help="anonymous page views a minute")
    parser.add_argument("--parts", type=int, default=3000, help="catalog size (bench/generate_catalog.py)")
    parser.add_argument("--no-history", dest="history", action="store_false",
                        help="no traffic history: every caller is new and judged against the floor baseline")
    parser.add_argument("--no-control", dest="control", action="store_false",
                        help="leave out the positive control (a caller enumerating order numbers)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_SECURITY_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_SECURITY_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    rng = random.Random(args.seed)

    started = time.monotonic()
    say(f"database {args.database_url}, redis {args.redis_url}; detectors: {EVERY_MODE_ENFORCE}")
    setup(args)
    import generate_catalog
    import search_bench
    from django.conf import settings
    from django.db import connection

    from analytics.models import SecurityAlert
    from analytics.services.security_traffic import security_traffic_detect

    generate_catalog.catalog_generate(parts=args.parts, variants=max(50, args.parts // 10),
                                      fitments=args.parts * 10, brands=40, seed=args.seed, vacuum=False)
    callers = callers_create(args, rng)
    if args.history:
        rows = history_write(callers, rng, time.time())
        say(f"traffic history: {rows} hour rows over {HISTORY_WEEKS} weeks for {len(callers)} callers")
    control = control_create(rng) if args.control else None
    say(f"data ready in {time.monotonic() - started:.0f}s: {args.parts} parts, {args.workshops} workshops, "
        f"{len(callers)} callers")
    connection.close()  # the server and the detector thread use their own connections

    port = search_bench.free_port()
    server = server_start(port, args)
    stop, errors = threading.Event(), []
    every = float(settings.CELERY_BEAT_SCHEDULE["analytics-security-traffic-detect"]["schedule"])
    detector = threading.Thread(target=detect_loop, args=(stop, every, errors), daemon=True)
    try:
        detector.start()
        first_minute = int(time.time() // 60)
        until = time.monotonic() + args.minutes * 60
        say(f"replaying {args.minutes:g} min of ordinary traffic on 127.0.0.1:{port} ...")
        threads = [threading.Thread(target=caller_run, args=(caller,), kwargs={"port": port, "until": until,
                                                                                 "seed": args.seed + index})
                   for index, caller in enumerate([*callers, *([control] if control else [])])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(settings.SECURITY_TRAFFIC_FLUSH_SECONDS + 2)  # the server's last counts reach Redis
        stop.set()
        detector.join(timeout=30)
        security_traffic_detect()
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    if errors:
        raise errors[0]

    by_kind: dict[str, Counter[int]] = {}
    for caller in [*callers, *([control] if control else [])]:
        by_kind.setdefault(caller.kind, Counter()).update(caller.statuses)
    say("requests sent, by caller kind and status:")
    for kind, statuses in by_kind.items():
        say(f"  {kind:16} {sum(statuses.values()):6}  " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    # The server did count them: what the detectors read, summed over the replay's minutes.
    from okto88.client_traffic import traffic_minutes_read

    minutes = list(range(first_minute, int(time.time() // 60) + 1))
    counted: Counter[str] = Counter()
    for per_ident in traffic_minutes_read(minutes=minutes).values():
        for ident, traffic in per_ident.items():
            counted[ident] += traffic.count("requests")
    say(f"requests the server counted for the detectors: {sum(counted.values())} from {len(counted)} callers")
    everything = list(SecurityAlert.objects.order_by("pk"))
    for alert in everything:
        who = " (the control)" if control and alert.ident == control.ident else ""
        say(f"  ALERT {alert.detector} {alert.ident}{who} ×{alert.occurrences} "
            f"action={alert.action_taken or '-'} {alert.details}")
    alerts = [alert for alert in everything if not (control and alert.ident == control.ident)]
    ok = len(alerts) <= TARGET_ALERTS
    if control:
        caught = any(a.ident == control.ident and a.detector == "enumeration" for a in everything)
        say(f"{'PASS' if caught else 'FAIL'}  the control's enumeration is caught: {'yes' if caught else 'no'} "
            f"(else the replay is not watched and the count below means nothing)")
        ok = ok and caught
    say(f"{'PASS' if len(alerts) <= TARGET_ALERTS else 'FAIL'}  alerts raised by ordinary traffic "
        f"(false positives): {len(alerts)} (target {TARGET_ALERTS}); done in {time.monotonic() - started:.0f}s")
    return 0 if ok else 1


def server_start(port: int, args) -> subprocess.Popen:
    """gunicorn as bench/search_bench.py starts it, but with the platform's ordinary API throttle
    (search_bench raises it for its throughput runs) and every detector enforcing."""
    import search_bench

    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "DEBUG": "false",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "okto88.settings",
           "SECURITY_DETECTOR_MODES": EVERY_MODE_ENFORCE}
    env.pop("API_THROTTLE_RATE", None)
    log_path = Path(tempfile.gettempdir()) / f"okto88-securitybench-gunicorn-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "okto88.wsgi", "-w", str(args.workers),
             "-b", f"127.0.0.1:{port}", "--worker-class", "gthread", "--threads", str(args.threads),
             "--keep-alive", "30", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if search_bench.http_get(port, "/healthz", None)[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


if __name__ == "__main__":
    sys.exit(main())
