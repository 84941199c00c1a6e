"""`manage.py load_order_history`: the demo order history the operations pages show (analytics.demo).
`make run` runs it on first start; a second run adds only the orders still missing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.demo import DEFAULT_DAYS, DEFAULT_ORDERS, MAX_DAYS, MAX_ORDERS, history_loaded, order_history_load
from okto88.demo import demo_load_all


class Command(BaseCommand):
    help = "Load a demo order history through the services: orders over the past days, with retries and failures."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help=f"how many orders (1–{MAX_ORDERS})")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                            help=f"spread over the last N days (1–{MAX_DAYS})")
        parser.add_argument("--seed", type=int, default=13, help="the random seed (the same seed, the same history)")
        parser.add_argument("--with-demo", action="store_true",
                            help="load the demo data first (suppliers, offers, stock: what the history orders)")

    def handle(self, *args, orders: int, days: int, seed: int, with_demo: bool, **options) -> None:
        if not 1 <= orders <= MAX_ORDERS or not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--orders must be 1–{MAX_ORDERS} and --days 1–{MAX_DAYS}")
        if with_demo:
            demo_load_all()
        if history_loaded(orders=orders):
            self.stdout.write("order history already loaded")
            return
        self.stdout.write(f"loading the order history: {orders} orders over {days} days")
        result = order_history_load(orders=orders, days=days, seed=seed, progress=self.stdout.write)
        statuses = ", ".join(f"{status} {count}" for status, count in sorted(result.statuses.items()))
        self.stdout.write(self.style.SUCCESS(
            f"order history loaded: {result.placed} placed, {result.skipped} there already, in {result.seconds:.0f} s "
            f"({statuses})"))
